/**
 * Which form of client session the running Node hands out and expects back, found by
 * behaviour, once per process, without a network connection: a TLSSocket over an idle
 * in-memory stream is given a made-up SSL_SESSION (setSession) and asked for it back
 * (getSession). Nothing is sent anywhere; the socket is destroyed at once.
 *
 * - 'bare': Node returns the DER itself (Node 20 and older releases of 22, 24, 26).
 * - 'wrapped': Node returns its wrapper (lib/node/client-session.ts) and will offer a
 *   session only under the name it is bound to.
 * - 'unknown': anything else (a future wrapper version, an error). Sessions are then
 *   kept exactly as Node gave them, and a bare DER added by hand is kept as given.
 *
 * The probe socket does not verify the server (`rejectUnauthorized: false`), because a
 * wrapping Node ignores a bare session on a verifying socket and would return nothing.
 */
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { hasWrapperPrefix, unwrapClientSession } from '../node/client-session.js';

export type NodeSessionForm = 'bare' | 'wrapped' | 'unknown';

/**
 * A minimal TLS 1.2 SSL_SESSION in DER: version 1, TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256,
 * a 32-byte id of 0x01, a 48-byte master key of 0x02, time 1, timeout 300. It resumes
 * nothing (no server knows it); OpenSSL's d2i_SSL_SESSION accepts it.
 */
export const PROBE_SESSION_DER = Buffer.from(
  '306a020101020203030402c02f0420' +
    '01'.repeat(32) +
    '0430' +
    '02'.repeat(48) +
    'a103020101a2040202012c',
  'hex',
);

let detected: NodeSessionForm | undefined;

/** The form this Node uses, detected on first call and remembered. Never throws. */
export function nodeSessionForm(): NodeSessionForm {
  detected ??= detect();
  return detected;
}

/** Runs the probe again (tests). */
export function detectNodeSessionForm(): NodeSessionForm {
  return detect();
}

function detect(): NodeSessionForm {
  let socket: tls.TLSSocket | undefined;
  try {
    const idle = new Duplex({ read() {}, write(_chunk, _encoding, callback) { callback(); } });
    socket = new tls.TLSSocket(idle, { rejectUnauthorized: false });
    // Public since Node 0.11 (tlsSocket.setSession), missing from @types/node 20.
    (socket as tls.TLSSocket & { setSession(session: Buffer): void }).setSession(PROBE_SESSION_DER);
    const back: unknown = socket.getSession();
    if (!Buffer.isBuffer(back) || back.length === 0) return 'unknown';
    if (hasWrapperPrefix(back)) return unwrapClientSession(back).form === 'wrapped' ? 'wrapped' : 'unknown';
    // OpenSSL re-encodes the session (it adds fields), so compare the shape, not the bytes.
    return back[0] === 0x30 ? 'bare' : 'unknown';
  } catch {
    return 'unknown';
  } finally {
    socket?.destroy();
  }
}
