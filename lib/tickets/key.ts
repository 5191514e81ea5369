/**
 * One stateless-ticket key: a 16-byte name that travels in clear at the start of every
 * ticket, an HMAC-SHA256 key and an AES-CBC key, in the two layouts nginx, HAProxy and
 * Node read from files:
 *
 *   48 bytes:  opaque name[16] || opaque hmac_key[16] || opaque aes_key[16]   (Node, nginx AES-128)
 *   80 bytes:  opaque name[16] || opaque hmac_key[32] || opaque aes_key[32]   (nginx AES-256)
 *
 * What Node can use: its ticket-key callback and `setTicketKeys()` only drive
 * AES-128-CBC with HMAC-SHA256, and `setTicketKeys()` only takes 16-byte HMAC keys. So
 * every key has a "Node form" (`nodeHmacKey`, `nodeAesKey`, 16 bytes each): for a
 * 48-byte key, its own parts; for an 80-byte key, each part is shortened with
 * HKDF-SHA256 (one way, domain-separated), so both paths (callback and fallback) issue
 * the same tickets. Known limitation: tickets minted under an 80-byte key are therefore
 * NOT readable by nginx/HAProxy using the same key file with AES-256, and the other way
 * round. 48-byte keys use the same layout and cipher as nginx's 48-byte keys.
 *
 * The OpenSSL ticket wire format this key protects (RFC 5077 section 4, as OpenSSL and
 * Node write it):
 *
 *   struct {
 *     opaque key_name[16];
 *     opaque iv[16];
 *     opaque encrypted_state<0..2^16-1>;   // AES-CBC
 *     opaque mac[32];                      // HMAC-SHA256 over the above
 *   } ticket;
 *
 * Security notes: key material is secret. Never log it (log `keyLabel(key.name)` at
 * most: the name is public, it is in every ticket). `destroyTicketKey` zeroes the
 * library's copies when a key leaves the ring; Node's native copies are overwritten
 * when the next key is installed.
 */
import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { makeError } from '../errors.js';

/** Length of a ticket key name, which prefixes every ticket. */
export const TICKET_KEY_NAME_LENGTH = 16;
/** Length of the short (Node, nginx AES-128) key layout. */
export const TICKET_KEY_LENGTH_SHORT = 48;
/** Length of the long (nginx AES-256) key layout. */
export const TICKET_KEY_LENGTH_LONG = 80;

/** A parsed ticket key. Buffers are the library's own copies; treat them as read-only. */
export interface TicketKey {
  /** The key name, sent in clear at the start of each ticket (16 bytes). */
  readonly name: Buffer;
  /** The HMAC key as given: 16 or 32 bytes. Secret. */
  readonly hmacKey: Buffer;
  /** The AES key as given: 16 or 32 bytes. Secret. */
  readonly aesKey: Buffer;
  /** The 16-byte HMAC-SHA256 key Node is handed. Secret. */
  readonly nodeHmacKey: Buffer;
  /** The 16-byte AES-128-CBC key Node is handed. Secret. */
  readonly nodeAesKey: Buffer;
}

const HKDF_SALT = Buffer.from('tls-resumption', 'utf8');
const INFO_HMAC = Buffer.from('tls-resumption v1 ticket hmac-sha256 key for node', 'utf8');
const INFO_AES = Buffer.from('tls-resumption v1 ticket aes-128-cbc key for node', 'utf8');

function shorten(key: Buffer, info: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, HKDF_SALT, info, 16));
}

/**
 * Parses a 48- or 80-byte ticket key (layouts above). Copies the bytes, so the caller
 * may wipe its buffer afterwards. Throws ERR_TLS_RESUMPTION_TICKET_KEY (TypeError) for
 * anything else; `label` names the offending option in the message. Never echoes the bytes.
 */
export function parseTicketKey(bytes: unknown, label = 'ticket key'): TicketKey {
  if (!(bytes instanceof Uint8Array)) {
    throw makeError('ERR_TLS_RESUMPTION_TICKET_KEY', `${label} must be a Buffer of 48 or 80 bytes, got ${describe(bytes)}`);
  }
  const len = bytes.length;
  if (len !== TICKET_KEY_LENGTH_SHORT && len !== TICKET_KEY_LENGTH_LONG) {
    throw makeError(
      'ERR_TLS_RESUMPTION_TICKET_KEY',
      `${label} is ${len} bytes; a ticket key is 48 bytes (name16|hmac16|aes16) or 80 bytes (name16|hmac32|aes32)`,
    );
  }
  // Buffer.alloc, not Buffer.from: secrets stay out of Node's shared allocation pool.
  const copy = Buffer.alloc(len);
  copy.set(bytes);
  const part = len === TICKET_KEY_LENGTH_SHORT ? 16 : 32;
  const name = copy.subarray(0, TICKET_KEY_NAME_LENGTH);
  const hmacKey = copy.subarray(TICKET_KEY_NAME_LENGTH, TICKET_KEY_NAME_LENGTH + part);
  const aesKey = copy.subarray(TICKET_KEY_NAME_LENGTH + part);
  if (len === TICKET_KEY_LENGTH_SHORT) return Object.freeze({ name, hmacKey, aesKey, nodeHmacKey: hmacKey, nodeAesKey: aesKey });
  return Object.freeze({
    name,
    hmacKey,
    aesKey,
    nodeHmacKey: shorten(hmacKey, INFO_HMAC),
    nodeAesKey: shorten(aesKey, INFO_AES),
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Source of random bytes; injectable so tests and deterministic derivation can supply their own. */
export type RandomBytes = (size: number) => Buffer;

/**
 * A fresh random 48-byte key. `namePrefix` (at most 16 bytes) fixes the start of the
 * name, the rest is random: the ring puts the period number there so that keys of
 * different periods can never share a name.
 */
export function generateTicketKey(namePrefix: Buffer = Buffer.alloc(0), random: RandomBytes = randomBytes): TicketKey {
  if (namePrefix.length > TICKET_KEY_NAME_LENGTH) {
    throw makeError('ERR_TLS_RESUMPTION_TICKET_KEY', `key name prefix is ${namePrefix.length} bytes; at most 16`);
  }
  const secret = random(TICKET_KEY_LENGTH_SHORT - namePrefix.length);
  const bytes = Buffer.concat([namePrefix, secret]);
  const key = parseTicketKey(bytes);
  bytes.fill(0);
  secret.fill(0);
  return key;
}

/** The key's bytes in the layout it was given in (48 or 80). A new buffer: wipe it after use. */
export function encodeTicketKey(key: TicketKey): Buffer {
  return Buffer.concat([key.name, key.hmacKey, key.aesKey]);
}

/** The 48 bytes `setTicketKeys()` takes: name | node HMAC key | node AES key. A new buffer. */
export function nodeTicketKeyBytes(key: TicketKey): Buffer {
  return Buffer.concat([key.name, key.nodeHmacKey, key.nodeAesKey]);
}

/**
 * A short label for logs: 4 bytes from the random half of the name (generated names
 * start with the period number, so their first bytes look alike). Names are public.
 */
export function keyLabel(name: Buffer): string {
  return name.subarray(8, 12).toString('hex');
}

/** True when both keys hold the same material (constant time in the key bytes). */
export function sameTicketKey(a: TicketKey, b: TicketKey): boolean {
  const x = encodeTicketKey(a);
  const y = encodeTicketKey(b);
  const same = x.length === y.length && timingSafeEqual(x, y);
  x.fill(0);
  y.fill(0);
  return same;
}

/**
 * Zeroes the library's copies of a key's secrets. The name is public and kept, so late
 * lookups still find "unknown key" rather than matching a zeroed entry.
 */
export function destroyTicketKey(key: TicketKey): void {
  key.hmacKey.fill(0);
  key.aesKey.fill(0);
  key.nodeHmacKey.fill(0);
  key.nodeAesKey.fill(0);
}
