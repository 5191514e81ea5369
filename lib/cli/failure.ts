/**
 * Turns what Node reports for a failed connection into one of a few kinds, each with a
 * one-line message a person can act on. Pure: the caller passes the error and what it
 * was doing; nothing here touches sockets.
 */

/** Why a connection did not produce a TLS session. */
export type FailureKind =
  /** The name does not resolve. */
  | 'dns'
  /** Nothing listens there (ECONNREFUSED). */
  | 'refused'
  /** No route, network down, reset before any reply. */
  | 'unreachable'
  /** No TCP connection or no handshake within the deadline. */
  | 'timeout'
  /** The handshake completed but the certificate is not trusted for this name. */
  | 'certificate'
  /** The peer answered with something that is not TLS (HTTP, SSH, ...). */
  | 'not-tls'
  /** The server refused the protocol version the probe asked for. */
  | 'protocol-version'
  /** The peer closed the connection during the handshake without a TLS alert. */
  | 'closed'
  /** Any other TLS failure: an alert, no shared cipher, ... */
  | 'handshake';

/** A classified connection failure. `message` is one line, no stack, no secrets. */
export interface Failure {
  readonly kind: FailureKind;
  readonly message: string;
  /** Node's or OpenSSL's error code, when there was one. */
  readonly code: string | undefined;
}

// X.509 verification results as Node names them (OpenSSL's X509_V_ERR_* without the prefix).
const certificateCodes = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// OpenSSL's record layer rejecting the first bytes the peer sent: they are not a TLS record.
const notTlsCodes = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LENGTH_MISMATCH',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_HTTPS_PROXY_REQUEST',
]);

const versionCodes = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_WRONG_SSL_VERSION',
  'ERR_SSL_VERSION_TOO_LOW',
  'ERR_SSL_VERSION_TOO_HIGH',
]);

const unreachableCodes = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN', 'EPIPE']);

/** What the connection was doing when it failed; shapes the message. */
export interface FailureContext {
  /** `host:port` as shown to the user. */
  readonly where: string;
  /** The name the certificate was checked against, if any. */
  readonly servername: string | undefined;
}

/** Classifies a Node/OpenSSL error from a TLS connection attempt. */
export function classifyError(err: unknown, context: FailureContext): Failure {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as {
    code?: unknown;
    reason?: unknown;
    message?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const reason = typeof e.reason === 'string' ? e.reason : undefined;
  const message = firstLine(typeof e.message === 'string' ? e.message : String(err));
  const { where } = context;

  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') {
    const host = where.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    return { kind: 'dns', code, message: `cannot resolve ${host}: no such host (${code})` };
  }
  if (code === 'ECONNREFUSED') {
    return { kind: 'refused', code, message: `connection refused by ${where}: nothing listens on that port` };
  }
  if (code === 'ETIMEDOUT') return { kind: 'timeout', code, message: `timed out connecting to ${where}` };
  if (code !== undefined && unreachableCodes.has(code)) {
    return { kind: 'unreachable', code, message: `cannot reach ${where} (${code})` };
  }
  if (code !== undefined && certificateCodes.has(code)) {
    const detail =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
        ? `the certificate is not valid for ${context.servername ?? where.replace(/:\d+$/, '')}`
        : verifyText(message);
    return {
      kind: 'certificate',
      code,
      message: `certificate problem at ${where}: ${detail} (${code}); pass --ca <file> to trust its CA, or --insecure to probe anyway`,
    };
  }
  if (code !== undefined && notTlsCodes.has(code)) {
    return {
      kind: 'not-tls',
      code,
      message: `${where} does not speak TLS: its reply is not a TLS record (${reason ?? code}); is this a plain HTTP or other non-TLS port?`,
    };
  }
  if (code !== undefined && versionCodes.has(code)) {
    return { kind: 'protocol-version', code, message: `${where} refused the TLS version offered (${reason ?? code})` };
  }
  if (code === 'ECONNRESET' || /disconnected before secure TLS connection/.test(message)) {
    return {
      kind: 'closed',
      code,
      message: `${where} closed the connection during the TLS handshake without a TLS alert (not a TLS port, or it rejected the ClientHello)`,
    };
  }
  if (code !== undefined && code.startsWith('ERR_SSL_')) {
    return { kind: 'handshake', code, message: `TLS handshake with ${where} failed: ${reason ?? message}` };
  }
  return { kind: 'handshake', code, message: `connection to ${where} failed: ${message}${code ? ` (${code})` : ''}` };
}

/** The failure for a connection that hit the deadline; `connected` says whether TCP got through. */
export function timeoutFailure(context: FailureContext, timeoutMs: number, connected: boolean): Failure {
  const seconds = `${Number((timeoutMs / 1000).toFixed(3))} s`;
  return {
    kind: 'timeout',
    code: undefined,
    message: connected
      ? `${context.where} accepted the connection but sent no TLS handshake reply within ${seconds} (is this a TLS port?)`
      : `timed out after ${seconds} connecting to ${context.where}`,
  };
}

/**
 * OpenSSL's verify-error text alone. Node 24.22.3 and 26.12.1 (not 20.20.2 nor 22.23.5;
 * measured) append advice for Node programs after a semicolon ("unable to verify the
 * first certificate; if the root CA is installed locally, try running Node.js with
 * --use-system-ca"); the message here gives this command's own advice instead.
 * OpenSSL's X509_verify_cert_error_string texts hold no semicolon.
 */
function verifyText(message: string): string {
  const cut = message.indexOf('; ');
  return cut === -1 ? message : message.slice(0, cut);
}

function firstLine(text: string): string {
  // OpenSSL messages carry "error:0A00010B:SSL routines:..." lines; keep the first line only.
  return (text.split('\n')[0] ?? text).trim();
}
