/**
 * What a peer that does not complete a TLS handshake is: one plain TCP connection that
 * sends a line of text and reads what comes back. Used only when the first TLS
 * connection failed in a way that could mean "not TLS" (no reply to the ClientHello,
 * an unexpected message, a non-TLS record), so that `check` can say what the server is
 * ("it echoed our ClientHello back", "it answered in a plain-text protocol: -ERR ...")
 * and exit 4 promptly instead of waiting out the deadline.
 *
 * The line names this tool and is no valid command of any common protocol, so servers
 * answer it with their error (Redis `-ERR unknown command`, HTTP `400 Bad Request`,
 * memcached `ERROR`) and do nothing else. A TLS server answers it with an alert or by
 * closing: "tls" or "unknown" here, never taken as proof of anything.
 */
import * as net from 'node:net';

/** The line sent. Ends in CRLF so line protocols act on it at once. */
export const PROBE_LINE = 'tls-resumption-check: is this TLS?\r\n';

/** What the peer did with the line. */
export type PeerIdentity =
  /** It sent the line back: an echo service. */
  | { readonly kind: 'echo' }
  /** It answered with text: its first line, trimmed and shortened. */
  | { readonly kind: 'text'; readonly firstLine: string }
  /** It answered with bytes that are neither text nor TLS: the first few, in hex. */
  | { readonly kind: 'binary'; readonly firstBytes: string }
  /** It answered with a TLS record (an alert): a TLS server after all. */
  | { readonly kind: 'tls' }
  /** Nothing came back before it closed or the wait ended. */
  | { readonly kind: 'unknown' };

/** Longest first line quoted in a message. */
const MAX_QUOTED = 100;
/** Enough bytes to decide; the read stops there. */
const ENOUGH = 256;

/** Connects to `address:port`, sends PROBE_LINE, classifies the reply. Never rejects. */
export function identifyPeer(address: string, port: number, timeoutMs: number): Promise<PeerIdentity> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const socket = net.connect({ host: address, port });
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(classifyReply(Buffer.concat(chunks, length)));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.once('connect', () => socket.write(PROBE_LINE));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      const data = Buffer.concat(chunks, length);
      // A line is a complete answer for line protocols; a TLS record header is enough to know.
      if (data.includes(0x0a) || length >= ENOUGH || (looksLikeTlsRecord(data) && length >= 5)) finish();
    });
    socket.on('error', finish);
    socket.on('end', finish);
    socket.on('close', finish);
  });
}

/** Classifies the bytes a peer sent back after PROBE_LINE. Pure. */
export function classifyReply(data: Buffer): PeerIdentity {
  if (data.length === 0) return { kind: 'unknown' };
  const sent = Buffer.from(PROBE_LINE);
  const n = Math.min(data.length, sent.length);
  if (n >= 8 && data.subarray(0, n).equals(sent.subarray(0, n))) return { kind: 'echo' };
  if (looksLikeTlsRecord(data)) return { kind: 'tls' };
  const lineEnd = data.indexOf(0x0a);
  const line = data.subarray(0, lineEnd === -1 ? data.length : lineEnd);
  if (line.length > 0 && line.every((b) => b === 0x09 || b === 0x0d || (b >= 0x20 && b <= 0x7e))) {
    const text = line.toString('latin1').trim();
    if (text !== '') return { kind: 'text', firstLine: text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text };
  }
  return { kind: 'binary', firstBytes: [...data.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ') };
}

/** A TLS record header: content type 20-23, then major version 3. */
function looksLikeTlsRecord(data: Buffer): boolean {
  const type = data[0] ?? 0;
  return type >= 20 && type <= 23 && (data.length < 2 || data[1] === 3);
}

/** True when the identity proves the peer is not a TLS server. */
export function provesNotTls(identity: PeerIdentity): boolean {
  return identity.kind === 'echo' || identity.kind === 'text' || identity.kind === 'binary';
}

/** The words for what the peer is, e.g. `it answered in a plain-text protocol: -ERR ...`; undefined when unknown. */
export function describePeer(identity: PeerIdentity, how: { echoedClientHello: boolean }): string | undefined {
  switch (identity.kind) {
    case 'echo':
      return how.echoedClientHello
        ? 'it echoed our ClientHello back (an echo service)'
        : 'it sends back whatever it receives (an echo service)';
    case 'text':
      return `it answered in a plain-text protocol: ${identity.firstLine}`;
    case 'binary':
      return `it answered with data that is neither text nor TLS (${identity.firstBytes} ...)`;
    default:
      return undefined;
  }
}
