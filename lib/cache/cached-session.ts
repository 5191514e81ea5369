import { X509Certificate } from 'node:crypto';
import { logger } from '../debug.js';
import { parseSessionDer } from '../protocol/session-der.js';

const log = logger('cache');

/**
 * What the cache keeps for one session: the DER OpenSSL gave us (secret: it holds the
 * master secret) and the few facts the resume decision needs, parsed once.
 */
export interface CachedSession {
  /** i2d_SSL_SESSION bytes, handed back to OpenSSL on resumption. Secret. */
  readonly der: Buffer;
  /** The session id on the wire (TLS 1.2) or the PSK identity (TLS 1.3 stateful tickets). */
  readonly wireId: Buffer;
  /** The session id context the session was made under (DER tag [4]). */
  readonly sidCtx: Buffer;
  /**
   * The SNI name of the full handshake, lower case; undefined when the client sent
   * none; null when it could not be learned (then SNI binding cannot apply to it).
   */
  readonly serverName: string | undefined | null;
  /** 0x0303 for TLS 1.2, 0x0304 for TLS 1.3. */
  readonly protocolVersion: number;
  /** When the session stops being resumable, in ms since the epoch. */
  readonly expiresAtMs: number;
  /**
   * When the authentication behind it is too old to restore, in ms since the epoch: the
   * full handshake's time plus the cache's timeout, inherited along a chain of TLS 1.3
   * resumptions (each issues a fresh ticket with a fresh lifetime; RFC 8446 §4.6.1
   * lets a server bound the chain).
   */
  readonly authExpiresAtMs: number;
  /** The trust settings' fingerprint it was made under; undefined when not known (add()). */
  readonly trust: string | undefined;
  /** The peer certificate's validity window, in ms since the epoch, when it carries one. */
  readonly peerCertValidity: { readonly notBeforeMs: number; readonly notAfterMs: number } | undefined;
}

/** What the cache knows of a session beyond its DER. */
export interface SessionFacts {
  /** The id it is looked up by; undefined: the session id inside the DER. */
  readonly wireId?: Buffer | undefined;
  /** The SNI name of its full handshake, used when the DER names none (see CachedSession). */
  readonly serverName: string | undefined | null;
  /** The trust settings' fingerprint it was made under; undefined when not known. */
  readonly trust: string | undefined;
  /** The time of the full handshake that authenticated it, in ms; undefined: the DER's own time. */
  readonly authTimeMs: number | undefined;
}

/**
 * Parses and bounds a DER: the session as the cache keeps it, or undefined when it is
 * not a usable session. `timeoutMs` is the cache's timeout, which caps the session's
 * own. Never throws; has no effect but a debug line for a DER that does not parse.
 */
export function cachedSessionFromDer(der: Buffer, facts: SessionFacts, timeoutMs: number): CachedSession | undefined {
  const parsed = parseSessionDer(der);
  if (!parsed.ok) {
    log('unusable session DER (%d bytes): %s', der.length, parsed.reason);
    return undefined;
  }
  const s = parsed.session;
  const id = facts.wireId ?? s.sessionId;
  if (id.length === 0) return undefined;
  // The session's own time + timeout, capped by this cache's timeout.
  const ownMs = (s.time + s.timeout) * 1000;
  const capMs = s.time * 1000 + timeoutMs;
  // The authentication's age counts from the chain's full handshake, never later
  // than this session's own creation.
  const authTimeMs = Math.min(facts.authTimeMs ?? s.time * 1000, s.time * 1000);
  return {
    der,
    wireId: id,
    sidCtx: s.sidCtx,
    // Node servers leave DER tag [6] empty; the wiring tells us the name instead.
    serverName: s.hostname !== undefined ? s.hostname.toLowerCase() : facts.serverName,
    protocolVersion: s.protocolVersion,
    expiresAtMs: Math.min(ownMs, capMs),
    authExpiresAtMs: authTimeMs + timeoutMs,
    trust: facts.trust,
    peerCertValidity: s.peerCert === undefined ? undefined : certificateValidity(s.peerCert),
  };
}

/**
 * A client certificate's validity window; one that cannot be read as X.509 is treated
 * as never valid, so its session is not resumed (a full handshake verifies it anew).
 */
function certificateValidity(der: Buffer): { notBeforeMs: number; notAfterMs: number } {
  try {
    const cert = new X509Certificate(der);
    const notBeforeMs = Date.parse(cert.validFrom);
    const notAfterMs = Date.parse(cert.validTo);
    if (Number.isFinite(notBeforeMs) && Number.isFinite(notAfterMs)) return { notBeforeMs, notAfterMs };
  } catch {
    // fall through
  }
  return { notBeforeMs: Infinity, notAfterMs: -Infinity };
}
