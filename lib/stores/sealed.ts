/**
 * A store wrapper that seals every value on the way out and opens it on the way in,
 * so the inner store only ever holds AES-256-GCM ciphertext bound to its key.
 * See `seal.ts` for the format and the security argument.
 */
import type { SessionStore } from './store.js';
import { SessionSealer } from './seal.js';
import { deprecationCodes, renamedOption } from '../deprecations.js';

/** Options of `SealedStore`. */
export interface SealedStoreOptions {
  /**
   * Seal keys, newest first, each at least 32 random bytes. Seals with `sealKeys[0]`,
   * opens with any. The same option as RedisStore's and ClusterStore's.
   */
  sealKeys?: Buffer[];
  /** @deprecated Since 0.2: `sealKeys`. Still read, with a DeprecationWarning (TLS_RESUMPTION_DEP_SEALED_KEYS). */
  keys?: Buffer[];
}

/**
 * Wraps any `SessionStore` so it holds sealed values only.
 *
 * - `get` resolves `undefined` when the inner store has nothing, and REJECTS with
 *   ERR_TLS_RESUMPTION_UNSEAL for an entry that is truncated, tampered, sealed with a
 *   key not in `sealKeys`, or moved from another store key. The guard (`GuardedStore`)
 *   counts that as `tampered`, a miss: such bytes never reach OpenSSL.
 * - Errors of the inner store pass through unchanged.
 * - Key rotation: construct with `[newKey, ...oldKeys]`; entries sealed with any of
 *   them still open, new entries use `newKey`.
 */
export class SealedStore implements SessionStore {
  /** Always true: this store never hands plaintext to the inner store. */
  readonly sealed = true as const;
  readonly #inner: SessionStore;
  readonly #sealer: SessionSealer;
  /** Set-if-absent (sealed), present only when the inner store has `add`. */
  readonly add?: (key: string, value: Buffer, ttlMs: number) => Promise<boolean>;
  /** The inner store's readiness, present only when the inner store has it. */
  readonly ready?: () => Promise<void>;
  /** The inner store's ready events, present only when the inner store has them. */
  readonly onReady?: (listener: () => void) => () => void;

  constructor(inner: SessionStore, options: SealedStoreOptions) {
    this.#inner = inner;
    const given = (options ?? {}) as Record<string, unknown>;
    const sealKeys = renamedOption(given, { old: 'keys', new: 'sealKeys', where: 'SealedStore options' }, deprecationCodes.KEYS_IS_SEAL_KEYS);
    this.#sealer = new SessionSealer(sealKeys as readonly Buffer[], `SealedStore options.${given.sealKeys === undefined && given.keys !== undefined ? 'keys' : 'sealKeys'}`);
    if (typeof inner.add === 'function') {
      this.add = async (key, value, ttlMs) => inner.add!(key, this.#sealer.seal(key, value), ttlMs);
    }
    if (typeof inner.ready === 'function') this.ready = () => inner.ready!();
    if (typeof inner.onReady === 'function') this.onReady = (listener) => inner.onReady!(listener);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const entry = await this.#inner.get(key);
    if (entry === undefined || entry === null) return undefined;
    return this.#sealer.open(key, entry);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.#inner.set(key, this.#sealer.seal(key, value), ttlMs);
  }

  async delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }

  async close(): Promise<void> {
    await this.#inner.close?.();
  }
}
