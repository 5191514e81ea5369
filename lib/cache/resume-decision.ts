import type { CachedSession } from './cached-session.js';

/**
 * Why a proposed session was not resumed. Each is counted in `stats()` and printed
 * by `debug` (namespace tls-resumption:cache).
 */
export type MissReason =
  | 'absent' // not in the internal store, nor the external one
  | 'expired' // found, but its time + timeout has passed
  | 'auth-expired' // the full handshake that authenticated it is older than the timeout
  | 'trust-mismatch' // made under other trust settings (CA set, client certificate policy, certificate identity)
  | 'peer-cert-expired' // the client certificate it restores is no longer (or not yet) valid
  | 'sid-ctx-mismatch' // made under another session id context
  | 'server-name-mismatch' // made for another SNI name (RFC 6066 §3)
  | 'protocol-mismatch' // a TLS 1.2 session offered in a TLS 1.3 handshake or the reverse
  | 'removed' // removed with cache.remove() while a store delete is in flight
  | 'invalid' // the stored bytes are not a session OpenSSL made
  | 'store-timeout'
  | 'store-error'
  | 'store-tampered' // a sealed entry failed to open: tampered, truncated or foreign
  | 'store-skipped'; // the store's circuit breaker is open

/**
 * Recognises sessions made under the server's current session id context. Node may
 * store the context as is or bound to the SNI name (lib/node/session-id-context.ts),
 * so the check takes the session's name too.
 */
export interface SessionIdContextCheck {
  /**
   * How `sidCtx` (DER tag [4]) was derived from this context for a session of
   * `serverName` (a name such as 'literal'), or undefined when it was made under another.
   */
  derivationOf(sidCtx: Buffer, serverName: string | undefined | null): string | undefined;
}

/** What the resuming ClientHello asks for, as far as it is known. */
export interface ResumeRequest {
  /** The server's current session id context. */
  readonly sidCtx: SessionIdContextCheck;
  /** The fingerprint of the server's current trust settings. */
  readonly trust: string;
  /** The SNI name in the ClientHello; null when the hello was not parsed (unknown). */
  readonly serverName: string | undefined | null;
  /** The version the handshake will negotiate; undefined when unknown. */
  readonly protocolVersion: number | undefined;
}

export type ResumeDecision = { readonly resume: true } | { readonly resume: false; readonly reason: MissReason };

const RESUME: ResumeDecision = Object.freeze({ resume: true });
const refuse = (reason: MissReason): ResumeDecision => ({ resume: false, reason });

/**
 * Decides whether a stored session may be handed to OpenSSL for this handshake.
 * A pure function of (session, request, now), written as a flat list of early
 * returns, each naming why a full handshake happens instead.
 */
export function decideResume(session: CachedSession | undefined, request: ResumeRequest, nowMs: number): ResumeDecision {
  if (session === undefined) return refuse('absent');
  // SSL_CTX_set_timeout(3): a session past its time + timeout is not reused.
  if (session.expiresAtMs <= nowMs) return refuse('expired');
  // RFC 8446 §4.6.1: a server may bound how long an authentication is restored for,
  // whatever fresh tickets a chain of resumptions was given.
  if (session.authExpiresAtMs <= nowMs) return refuse('auth-expired');
  // A resumption restores what the full handshake authenticated: only where a full
  // handshake would grant the same now (HAProxy's rule; Go CVE-2025-68121, nginx
  // CVE-2025-23419).
  if (session.trust !== undefined && session.trust !== request.trust) return refuse('trust-mismatch');
  // SSL_CTX_set_session_id_context(3): sessions are reused only under the context
  // they were made in; OpenSSL would refuse it too, but we count it.
  if (request.sidCtx.derivationOf(session.sidCtx, session.serverName) === undefined) return refuse('sid-ctx-mismatch');
  // RFC 6066 §3: a server MUST NOT resume a session for a different server_name.
  if (request.serverName !== null && session.serverName !== null && request.serverName !== session.serverName) {
    return refuse('server-name-mismatch');
  }
  // RFC 8446 §4.6.1 / §2.2: TLS 1.3 resumes only TLS 1.3 sessions, and the reverse.
  if (request.protocolVersion !== undefined && request.protocolVersion !== session.protocolVersion) {
    return refuse('protocol-mismatch');
  }
  // A full handshake would reject the client certificate now (CERT_HAS_EXPIRED or
  // CERT_NOT_YET_VALID); resuming would restore it anyway.
  const validity = session.peerCertValidity;
  if (validity !== undefined && (nowMs >= validity.notAfterMs || nowMs < validity.notBeforeMs)) return refuse('peer-cert-expired');
  return RESUME;
}
