/**
 * The bytes a session is kept as outside the process (before sealing): the DER
 * OpenSSL gave us plus what the cache knows of it that the DER lacks: the SNI name it
 * was made for (a Node 20/26 server's DER has none), the trust settings' fingerprint it
 * was made under, and the time of the full handshake that authenticated it.
 *
 *   struct {
 *     uint8  format = 2;
 *     uint8  name_state;            // 0: no SNI, 1: name follows, 2: unknown
 *     opaque server_name<0..255>;   // present when name_state == 1 (ASCII)
 *     opaque trust<0..255>;         // the fingerprint as ASCII hex; empty: unknown
 *     uint64 auth_time_ms;          // 0: unknown (the DER's own time applies)
 *     opaque der[rest];             // i2d_SSL_SESSION
 *   } StoredSession;
 *
 * Format 1 (no trust, no auth time) is still read. Decoding never throws; anything
 * else is `undefined` (a counted invalid entry).
 */
const FORMAT_1 = 1;
const FORMAT = 2;
const NO_NAME = 0;
const NAME = 1;
const UNKNOWN = 2;

export interface StoredSession {
  der: Buffer;
  /** undefined: the client sent no SNI; null: not known. */
  serverName: string | undefined | null;
  /** The trust fingerprint; undefined when not known. */
  trust: string | undefined;
  /** The full handshake's time in ms; undefined when not known. */
  authTimeMs: number | undefined;
}

export function encodeStoredSession(session: StoredSession): Buffer {
  const name = session.serverName;
  const named = typeof name === 'string' && name.length > 0 && name.length <= 255;
  const nameBytes = named ? Buffer.from(name, 'latin1') : Buffer.alloc(0);
  const state = named ? NAME : name === null || typeof name === 'string' ? UNKNOWN : NO_NAME;
  const trust = session.trust !== undefined && session.trust.length <= 255 ? Buffer.from(session.trust, 'latin1') : Buffer.alloc(0);
  const head = Buffer.alloc(named ? 3 : 2);
  head[0] = FORMAT;
  head[1] = state;
  if (named) head[2] = nameBytes.length;
  const authTime = Buffer.alloc(8);
  authTime.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(session.authTimeMs ?? 0))));
  return Buffer.concat([head, nameBytes, Buffer.from([trust.length]), trust, authTime, session.der]);
}

export function decodeStoredSession(bytes: Buffer): StoredSession | undefined {
  if (bytes.length < 3 || (bytes[0] !== FORMAT && bytes[0] !== FORMAT_1)) return undefined;
  let offset = 2;
  let serverName: string | undefined | null;
  switch (bytes[1]) {
    case NO_NAME:
      serverName = undefined;
      break;
    case UNKNOWN:
      serverName = null;
      break;
    case NAME: {
      const length = bytes[2]!;
      if (length === 0 || bytes.length < 3 + length + 1) return undefined;
      serverName = bytes.subarray(3, 3 + length).toString('latin1');
      offset = 3 + length;
      break;
    }
    default:
      return undefined;
  }
  if (bytes[0] === FORMAT_1) return { der: bytes.subarray(offset), serverName, trust: undefined, authTimeMs: undefined };
  if (bytes.length < offset + 1) return undefined;
  const trustLength = bytes[offset]!;
  if (bytes.length < offset + 1 + trustLength + 8 + 1) return undefined;
  const trust = trustLength > 0 ? bytes.subarray(offset + 1, offset + 1 + trustLength).toString('latin1') : undefined;
  offset += 1 + trustLength;
  const authTime = Number(bytes.readBigUInt64BE(offset));
  return { der: bytes.subarray(offset + 8), serverName, trust, authTimeMs: authTime > 0 ? authTime : undefined };
}
