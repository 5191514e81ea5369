/**
 * The trust settings of a server: everything that decides what a full handshake would
 * grant right now, folded into one fingerprint, as HAProxy folds them into its session
 * id context. Resumption skips certificate verification and restores what the original
 * handshake authenticated, so a session may only resume where those settings are the
 * same; the library binds every session and ticket to the fingerprint through the
 * session id context (see `effectiveSessionIdContext`), which OpenSSL checks for
 * session ids, stateful tickets and stateless tickets alike.
 *
 * What goes in:
 * - `requestCert` and `rejectUnauthorized` (whether client certificates are asked for
 *   and required);
 * - with `requestCert`: the CA set (`ca`, each certificate by its SHA-256 fingerprint,
 *   order and PEM formatting ignored; Node's default roots when none is given) and the
 *   CRLs (`crl`);
 * - the server certificate's identity: subject and subjectAltName of each `cert`
 *   (renewing a certificate for the same names keeps sessions; a `pfx` counts by its
 *   bytes, since it cannot be read without its passphrase);
 * - each `addContext(name, options)` context: its name and the same settings.
 *
 * Read from the fields Node's tls.Server keeps (`server.ca`, `server.crl`, ...), set by
 * its constructor and `setSecureContext()`. Not covered: contexts a user's SNICallback
 * returns (Node does not show their options; the README says so).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';

/** The options of a secure context that bear on trust, as Node keeps them. */
export interface TrustOptions {
  requestCert?: unknown;
  rejectUnauthorized?: unknown;
  ca?: unknown;
  crl?: unknown;
  cert?: unknown;
  pfx?: unknown;
}

const PEM_BLOCK = /-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/g;

function items(value: unknown): (string | Buffer)[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string | Buffer => typeof v === 'string' || Buffer.isBuffer(v));
}

/** Each certificate or CRL in a PEM/DER option, as a list of its DER-ish pieces. */
function pieces(value: unknown): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  for (const item of items(value)) {
    const text = typeof item === 'string' ? item : item.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? item.toString('latin1') : undefined;
    if (text === undefined) out.push(item);
    else for (const block of text.match(PEM_BLOCK) ?? []) out.push(block);
  }
  return out;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function certFingerprint(piece: string | Buffer): string {
  try {
    return new X509Certificate(piece).fingerprint256;
  } catch {
    return `raw:${sha256(typeof piece === 'string' ? piece.replace(/\s+/g, '') : piece)}`;
  }
}

function certIdentity(piece: string | Buffer): string {
  try {
    const cert = new X509Certificate(piece);
    return `${cert.subject}|${cert.subjectAltName ?? ''}`;
  } catch {
    return `raw:${sha256(piece)}`;
  }
}

/** One context's settings, canonical (order-independent), as text. */
function describe(options: TrustOptions, server: { requestCert: boolean }): string {
  const identity = pieces(options.cert).map(certIdentity).sort();
  const pfx = items(options.pfx).map((p) => `pfx:${sha256(p)}`);
  const parts = [`id=${[...identity, ...pfx].join(',')}`];
  if (server.requestCert) {
    const ca = options.ca === undefined ? ['node-default-roots'] : pieces(options.ca).map(certFingerprint).sort();
    parts.push(`ca=${ca.join(',')}`, `crl=${pieces(options.crl).map((c) => sha256(typeof c === 'string' ? c.replace(/\s+/g, '') : c)).sort().join(',')}`);
  }
  return parts.join(';');
}

/**
 * The fingerprint of `server`'s trust settings now, with the options of its addContext
 * contexts (name to options). 64 hex characters; the same on every host configured alike.
 */
export function trustFingerprint(server: tls.Server, sniContexts: ReadonlyMap<string, TrustOptions | undefined>): string {
  const fields = server as unknown as TrustOptions;
  const requestCert = fields.requestCert === true;
  const text = [
    `requestCert=${requestCert}`,
    `rejectUnauthorized=${fields.rejectUnauthorized !== false}`,
    `default:${describe(fields, { requestCert })}`,
    ...[...sniContexts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, options]) => `sni ${name.toLowerCase()}:${options === undefined ? 'opaque' : describe(options, { requestCert })}`),
  ].join('\n');
  return sha256(text);
}

/**
 * The session id context set on OpenSSL: the configured one bound to the trust
 * fingerprint, 32 ASCII characters (SSL_MAX_SID_CTX_LENGTH). Hosts with the same
 * context and the same trust settings agree on it; any difference in either gives
 * another value, and OpenSSL then refuses the session or ticket (a full handshake).
 */
export function effectiveSessionIdContext(configured: string, fingerprint: string): string {
  return createHash('sha256')
    .update('tls-resumption sid_ctx v1\0')
    .update(configured, 'utf8')
    .update('\0')
    .update(fingerprint)
    .digest('base64url')
    .slice(0, 32);
}
