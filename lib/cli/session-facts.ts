import { unwrapClientSession } from '../node/client-session.js';
import { parseSessionDer } from '../protocol/session-der.js';

/**
 * Whether the server put a session id in its TLS 1.2 ServerHello, read from the
 * client's session (either form Node hands out: its wrapper or the bare DER). An empty
 * id means the server will not cache the session (RFC 5246 7.4.1.3); a non-empty one
 * means it may, which only a resumption attempt shows. null when there is no session
 * or it does not parse. Reads the id's length only; the session's secrets are not touched.
 */
export function sessionIdIssued(session: Buffer | undefined): boolean | null {
  if (session === undefined) return null;
  const form = unwrapClientSession(session);
  if (form.form === 'malformed') return null;
  const parsed = parseSessionDer(form.der);
  return parsed.ok ? parsed.session.sessionId.length > 0 : null;
}
