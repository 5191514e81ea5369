import { DEFAULT_TIMEOUT_SECONDS } from '../constants.js';
import { shortId } from '../debug.js';
import { parseSessionDer } from '../protocol/session-der.js';
import type { ClientSessionEntry } from './session-pool.js';

/** ssl_version of TLS 1.3 in an SSL_SESSION. */
const TLS1_3_VERSION = 0x0304;
/** OpenSSL's lifetime for a session whose timeout field is absent (d2i_SSL_SESSION). */
const ABSENT_TIMEOUT_SECONDS = 3;

/**
 * Turns a session's DER into a pool entry, reading its protocol and lifetime.
 *
 * Lifetime: from the session's creation time, the shortest of its timeout, the
 * server's ticket lifetime hint and `maxLifetime`. A TLS 1.3 hint of 0 means
 * "discard immediately" (RFC 8446 section 4.6.1); a TLS 1.2 hint of 0 means "not
 * specified" (RFC 5077 section 3.3).
 *
 * Returns undefined for a session that cannot be resumed (no id and no ticket)
 * and, when `socketProtocol` is not given (a session added by hand), for bytes
 * that do not parse. A session from a live socket that does not parse (a future
 * OpenSSL field, say) is still kept, for DEFAULT_TIMEOUT_SECONDS, with the
 * socket's protocol: OpenSSL produced it, so OpenSSL can use it.
 */
export function sessionEntry(
  destination: string,
  der: Buffer,
  config: { readonly maxLifetime: number; readonly now: () => number },
  socketProtocol: string | null | undefined,
): ClientSessionEntry | undefined {
  const parsed = parseSessionDer(der);
  if (!parsed.ok) {
    if (socketProtocol === undefined) return undefined;
    const lifetime = Math.min(DEFAULT_TIMEOUT_SECONDS, config.maxLifetime);
    return {
      destination,
      session: der,
      tls13: socketProtocol === 'TLSv1.3',
      expiresAt: config.now() + lifetime * 1000,
      shortId: '?',
    };
  }
  const facts = parsed.session;
  if (facts.sessionId.length === 0 && !facts.hasTicket) return undefined;
  const tls13 = facts.protocolVersion === TLS1_3_VERSION;
  let lifetime = facts.timeout > 0 ? facts.timeout : ABSENT_TIMEOUT_SECONDS;
  const hint = facts.ticketLifetimeHint;
  if (hint !== undefined && (hint > 0 || tls13)) lifetime = Math.min(lifetime, hint);
  lifetime = Math.min(lifetime, config.maxLifetime);
  const created = facts.time > 0 ? facts.time * 1000 : config.now();
  return {
    destination,
    session: der,
    tls13,
    expiresAt: created + lifetime * 1000,
    shortId: shortId(facts.sessionId),
  };
}
