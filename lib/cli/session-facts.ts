import { parseSessionDer } from '../protocol/session-der.js';

/**
 * Whether the server put a session id in its TLS 1.2 ServerHello, read from the
 * client's session (DER). An empty id means the server will not cache the session
 * (RFC 5246 7.4.1.3); a non-empty one means it may, which only a resumption attempt
 * shows. null when there is no session or it does not parse. Reads the id's length
 * only; the session's secrets are not touched.
 */
export function sessionIdIssued(der: Buffer | undefined): boolean | null {
  if (der === undefined) return null;
  const parsed = parseSessionDer(der);
  return parsed.ok ? parsed.session.sessionId.length > 0 : null;
}
