/**
 * Sealing: authenticated encryption of a session before it leaves the process.
 *
 * A stored session (OpenSSL SSL_SESSION DER) holds the master secret in clear and,
 * on an mTLS server, the client's certificate identity. Whoever can read a shared
 * store could decrypt recorded traffic; whoever can write it could forge an identity.
 * So everything that leaves the process is sealed with AES-256-GCM from `node:crypto`.
 *
 * Wire format, version 1 (all lengths in bytes):
 *
 *   struct {
 *     uint8  version;        // 1
 *     opaque key_id[4];      // HKDF(seal key, "key-id"), picks the opening key
 *     opaque nonce[12];      // random per seal
 *     opaque ciphertext<0..>;
 *     opaque tag[16];        // GCM authentication tag
 *   } SealedEntry;
 *
 *   AAD = "tls-resumption sealed session v1" || 0x00 || version || key_id || store key (UTF-8)
 *
 * The store key is in the AAD, and the cache's store keys embed a tag of the session
 * id context, so an entry copied to another key or another application's namespace
 * fails to open. The AES key is derived with HKDF-SHA256 per purpose from each seal key,
 * so a seal key can be shared with other uses without reusing the same AES key.
 *
 * Security notes: a 96-bit random nonce allows about 2^32 seals per key before the
 * collision risk matters (NIST SP 800-38D); rotate seal keys well before that. The key
 * id is derived one way from the key and says nothing about it.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync, timingSafeEqual } from 'node:crypto';
import { makeError } from '../errors.js';

/** The format version this code writes. */
export const SEAL_VERSION = 1;
/** Shortest seal key accepted, in bytes: AES-256 wants 256 bits of key material. */
export const MIN_SEAL_KEY_LENGTH = 32;

const KEY_ID_LENGTH = 4;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + NONCE_LENGTH;
/** Shortest well-formed entry: header and tag around an empty ciphertext. */
export const SEAL_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;

const HKDF_SALT = Buffer.from('tls-resumption', 'utf8');
const INFO_AES = Buffer.from('tls-resumption v1 seal aes-256-gcm', 'utf8');
const INFO_KEY_ID = Buffer.from('tls-resumption v1 seal key-id', 'utf8');
const AAD_LABEL = Buffer.from('tls-resumption sealed session v1\0', 'utf8');

/**
 * Nonces come from a pool filled 256 at a time: one CSPRNG call per nonce costs about
 * as much as the encryption itself. Every nonce is still 96 fresh random bits, used once.
 */
const NONCE_POOL_SIZE = NONCE_LENGTH * 256;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

function writeNonce(into: Buffer, at: number): void {
  if (nonceOffset + NONCE_LENGTH > noncePool.length) {
    noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_POOL_SIZE));
    nonceOffset = 0;
  }
  noncePool.copy(into, at, nonceOffset, nonceOffset + NONCE_LENGTH);
  nonceOffset += NONCE_LENGTH;
}

interface DerivedKey {
  readonly id: Buffer;
  readonly aes: Buffer;
}

function derive(key: Buffer): DerivedKey {
  return {
    id: Buffer.from(hkdfSync('sha256', key, HKDF_SALT, INFO_KEY_ID, KEY_ID_LENGTH)),
    aes: Buffer.from(hkdfSync('sha256', key, HKDF_SALT, INFO_AES, 32)),
  };
}

function aad(header: Buffer, storeKey: string): Buffer {
  return Buffer.concat([AAD_LABEL, header.subarray(0, 1 + KEY_ID_LENGTH), Buffer.from(storeKey, 'utf8')]);
}

/**
 * Checks a list of seal keys: a non-empty array of Buffers (or Uint8Arrays) of at least
 * 32 bytes each. Throws ERR_TLS_RESUMPTION_SEAL_KEY naming the bad entry.
 */
export function validateSealKeys(keys: unknown, name = 'sealKeys'): Buffer[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw makeError(
      'ERR_TLS_RESUMPTION_SEAL_KEY',
      `${name} must be a non-empty array of keys of at least ${MIN_SEAL_KEY_LENGTH} random bytes, newest first`,
    );
  }
  return keys.map((k, i) => {
    if (!(k instanceof Uint8Array)) {
      throw makeError('ERR_TLS_RESUMPTION_SEAL_KEY', `${name}[${i}] must be a Buffer, got ${typeof k}`);
    }
    if (k.length < MIN_SEAL_KEY_LENGTH) {
      throw makeError(
        'ERR_TLS_RESUMPTION_SEAL_KEY',
        `${name}[${i}] is ${k.length} bytes; a seal key needs at least ${MIN_SEAL_KEY_LENGTH} random bytes`,
      );
    }
    return Buffer.from(k);
  });
}

/**
 * Seals and opens values bound to a store key, with a ring of keys: seals with the
 * first (newest), opens with any, so keys rotate by prepending a new key, waiting one
 * session lifetime, then dropping the oldest.
 *
 * `open` throws ERR_TLS_RESUMPTION_UNSEAL for anything that is not an entry this ring
 * sealed for exactly this store key: truncated, wrong version, unknown key id,
 * tampered, or moved from another key. The message says which, never the bytes.
 */
export class SessionSealer {
  readonly #keys: readonly DerivedKey[];

  /** `keys`: newest first, each at least 32 random bytes; `name` is the option named in errors. */
  constructor(keys: readonly Buffer[], name = 'sealKeys') {
    this.#keys = Object.freeze(validateSealKeys(keys as unknown, name).map(derive));
  }

  /** Seals `plaintext` for `storeKey` with the newest key. */
  seal(storeKey: string, plaintext: Buffer): Buffer {
    const k = this.#keys[0]!;
    const out = Buffer.allocUnsafe(HEADER_LENGTH + plaintext.length + TAG_LENGTH);
    out[0] = SEAL_VERSION;
    k.id.copy(out, 1);
    writeNonce(out, 1 + KEY_ID_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', k.aes, out.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH), {
      authTagLength: TAG_LENGTH,
    });
    cipher.setAAD(aad(out, storeKey));
    // GCM is a stream mode: update() returns exactly as many bytes as it was given.
    cipher.update(plaintext).copy(out, HEADER_LENGTH);
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER_LENGTH + plaintext.length);
    return out;
  }

  /** Opens an entry read back from `storeKey`; throws ERR_TLS_RESUMPTION_UNSEAL if it is not genuine. */
  open(storeKey: string, sealed: Uint8Array): Buffer {
    if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD) {
      throw makeError('ERR_TLS_RESUMPTION_UNSEAL', 'sealed entry is truncated');
    }
    const entry = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (entry[0] !== SEAL_VERSION) {
      throw makeError('ERR_TLS_RESUMPTION_UNSEAL', `sealed entry has unknown format version ${entry[0]}`);
    }
    const id = entry.subarray(1, 1 + KEY_ID_LENGTH);
    const nonce = entry.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH);
    const body = entry.subarray(HEADER_LENGTH, entry.length - TAG_LENGTH);
    const tag = entry.subarray(entry.length - TAG_LENGTH);
    const additional = aad(entry, storeKey);
    let knownId = false;
    // Key ids are 4 bytes, so two keys of a ring may share one: try every match.
    for (const k of this.#keys) {
      if (!timingSafeEqual(k.id, id)) continue;
      knownId = true;
      const decipher = createDecipheriv('aes-256-gcm', k.aes, nonce, { authTagLength: TAG_LENGTH });
      decipher.setAAD(additional);
      decipher.setAuthTag(tag);
      const plain = decipher.update(body);
      try {
        decipher.final();
        return plain;
      } catch {
        plain.fill(0);
      }
    }
    throw makeError(
      'ERR_TLS_RESUMPTION_UNSEAL',
      knownId
        ? 'sealed entry failed authentication (tampered, or sealed for another store key)'
        : 'sealed entry was sealed with a key this server does not hold',
    );
  }
}
