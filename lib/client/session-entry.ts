import { DEFAULT_TIMEOUT_SECONDS } from '../constants.js';
import { shortId } from '../debug.js';
import { makeError, type TlsResumptionError } from '../errors.js';
import { parseSessionDer } from '../protocol/session-der.js';
import { sessionIdentity, unwrapClientSession, wrapClientSession, type SessionIdentityOptions } from '../node/client-session.js';
import type { NodeSessionForm } from './node-session-form.js';
import type { ClientSessionEntry } from './session-pool.js';
import { TLS1_3_VERSION } from '../constants.js';

/** ssl_version of TLS 1.3 in an SSL_SESSION. */
/** OpenSSL's lifetime for a session whose timeout field is absent (d2i_SSL_SESSION). */
const ABSENT_TIMEOUT_SECONDS = 3;

/**
 * Turns a session as Node gave it (the 'session' event, or `add()` once normalised by
 * `sessionForNode`) into a pool entry. `session` is kept byte for byte, since it is
 * what Node takes back (its wrapper on wrapping Nodes); the facts are read from the
 * SSL_SESSION DER inside it.
 *
 * Lifetime: from the session's creation time, the shortest of its timeout, the
 * server's ticket lifetime hint and `maxLifetime`. A TLS 1.3 hint of 0 means
 * "discard immediately" (RFC 8446 section 4.6.1); a TLS 1.2 hint of 0 means "not
 * specified" (RFC 5077 section 3.3).
 *
 * Returns undefined for a session that cannot be resumed (no id and no ticket)
 * and, when `socketProtocol` is not given (a session added by hand), for bytes
 * that do not parse. A session from a live socket that does not parse (a future
 * OpenSSL field or wrapper version, say) is still kept, for DEFAULT_TIMEOUT_SECONDS,
 * with the socket's protocol: Node produced it, so Node can use it.
 */
export function sessionEntry(
  destination: string,
  session: Buffer,
  config: { readonly maxLifetime: number; readonly now: () => number },
  socketProtocol: string | null | undefined,
): ClientSessionEntry | undefined {
  const form = unwrapClientSession(session);
  const der = form.form === 'malformed' ? session : form.der;
  const parsed = parseSessionDer(der);
  if (!parsed.ok) {
    if (socketProtocol === undefined) return undefined;
    const lifetime = Math.min(DEFAULT_TIMEOUT_SECONDS, config.maxLifetime);
    return {
      destination,
      session,
      der,
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
    session,
    der,
    tls13,
    expiresAt: created + lifetime * 1000,
    shortId: shortId(facts.sessionId),
  };
}

/** The SSL_SESSION DER inside a session in either form (the bytes themselves when not wrapped). */
export function derOf(session: Buffer): Buffer {
  const form = unwrapClientSession(session);
  return form.form === 'malformed' ? session : form.der;
}

/**
 * A session given by the application (`add()`), in the form this Node takes back,
 * for `destination` (tls.connect options):
 *
 * - wrapped for the destination's identity (`servername || host`, as Node checks it):
 *   kept on a wrapping Node, unwrapped to the DER on a bare one;
 * - wrapped for another name: refused (ERR_TLS_RESUMPTION_SESSION_SERVERNAME). Node
 *   would never offer it, and rewrapping it would resume, without any certificate
 *   check, a session authenticated for one name on a connection to another;
 * - a bare DER: kept on a bare Node; wrapped for the destination's identity on a
 *   wrapping Node. Adding a session is the application saying which server it belongs
 *   to, as SSL_CTX_add_session(3) and SSL_set_session(3) are in OpenSSL: the caller
 *   vouches for it (a DER carries no name Node could check). On a Node of unknown form
 *   it is kept as given;
 * - anything that is not an SSL_SESSION: ERR_TLS_RESUMPTION_INVALID_SESSION.
 */
export function sessionForNode(
  session: Buffer,
  destination: SessionIdentityOptions,
  form: NodeSessionForm,
): { ok: true; session: Buffer } | { ok: false; error: TlsResumptionError } {
  const given = unwrapClientSession(session);
  if (given.form === 'malformed') {
    return { ok: false, error: makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', `add(destination, session): ${given.reason}`) };
  }
  if (!parseSessionDer(given.der).ok) {
    const what = given.form === 'wrapped' ? 'wraps no SSL_SESSION in DER' : 'not an SSL_SESSION in DER';
    return { ok: false, error: makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', `add(destination, session): ${what}`) };
  }
  const identity = sessionIdentity(destination);
  if (given.form === 'wrapped') {
    if (given.servername !== identity) {
      return {
        ok: false,
        error: makeError(
          'ERR_TLS_RESUMPTION_SESSION_SERVERNAME',
          `add(destination, session): the session is bound to ${JSON.stringify(given.servername)}, the destination is ${JSON.stringify(identity)}`,
        ),
      };
    }
    return { ok: true, session: form === 'bare' ? Buffer.from(given.der) : session };
  }
  if (form !== 'wrapped') return { ok: true, session };
  const wrapped = wrapClientSession(given.der, identity);
  if (wrapped === undefined) {
    return { ok: false, error: makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'add(destination, session): the server name is too long') };
  }
  return { ok: true, session: wrapped };
}
