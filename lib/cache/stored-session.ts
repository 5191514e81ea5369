/**
 * The bytes a session is kept as outside the process (before sealing): the DER
 * OpenSSL gave us plus the SNI name it was made for, which a Node server's DER lacks.
 *
 *   struct {
 *     uint8  format = 1;
 *     uint8  name_state;            // 0: no SNI, 1: name follows, 2: unknown
 *     opaque server_name<0..255>;   // present when name_state == 1 (ASCII)
 *     opaque der[rest];             // i2d_SSL_SESSION
 *   } StoredSession;
 *
 * Decoding never throws; anything else is `undefined` (a counted invalid entry).
 */
const FORMAT = 1;
const NO_NAME = 0;
const NAME = 1;
const UNKNOWN = 2;

export interface StoredSession {
  der: Buffer;
  /** undefined: the client sent no SNI; null: not known. */
  serverName: string | undefined | null;
}

export function encodeStoredSession(session: StoredSession): Buffer {
  const name = session.serverName;
  if (typeof name === 'string' && name.length > 0 && name.length <= 255) {
    const nameBytes = Buffer.from(name, 'latin1');
    return Buffer.concat([Buffer.from([FORMAT, NAME, nameBytes.length]), nameBytes, session.der]);
  }
  return Buffer.concat([Buffer.from([FORMAT, name === null || typeof name === 'string' ? UNKNOWN : NO_NAME]), session.der]);
}

export function decodeStoredSession(bytes: Buffer): StoredSession | undefined {
  if (bytes.length < 3 || bytes[0] !== FORMAT) return undefined;
  switch (bytes[1]) {
    case NO_NAME:
      return { der: bytes.subarray(2), serverName: undefined };
    case UNKNOWN:
      return { der: bytes.subarray(2), serverName: null };
    case NAME: {
      const length = bytes[2]!;
      if (length === 0 || bytes.length < 3 + length + 1) return undefined;
      return { der: bytes.subarray(3 + length), serverName: bytes.subarray(3, 3 + length).toString('latin1') };
    }
    default:
      return undefined;
  }
}
