/**
 * The internal session store: a bounded LRU with per-entry expiry, synchronous
 * because it sits on the handshake path of every connection.
 *
 * - `max` bounds the number of entries (0 = unbounded, as OpenSSL's cache size 0).
 *   Adding to a full store evicts the least recently used entry and reports it, as
 *   OpenSSL's SSL_CTX_add_session does (counted as `cache_full`).
 * - Expired entries are never returned; `flush(now)` removes them all at once
 *   (OpenSSL's SSL_CTX_flush_sessions), which the cache runs every 255 connections.
 *
 * A JavaScript Map keeps insertion order, so "touch" = delete + set moves an entry to
 * the most-recent end and the first key is always the least recently used.
 */
export interface MemoryStoreOptions {
  /** The most entries kept; 0 means no bound. */
  max: number;
}

interface Slot<V> {
  value: V;
  expiresAtMs: number;
}

export class MemoryStore<V = Buffer> {
  #max: number;
  readonly #map = new Map<string, Slot<V>>();

  constructor(options: MemoryStoreOptions) {
    this.#max = options.max;
  }

  /** How many entries are held, expired ones included until flushed. */
  get size(): number {
    return this.#map.size;
  }

  /** The bound; 0 = unbounded. */
  get max(): number {
    return this.#max;
  }

  /** Changes the bound; shrinking evicts least recently used entries. Returns how many. */
  setMax(max: number): number {
    this.#max = max;
    return this.#evictOverflow(0);
  }

  /** The live value under `key` (marking it most recently used), or undefined. */
  get(key: string, nowMs: number): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAtMs <= nowMs) {
      this.#map.delete(key);
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, slot);
    return slot.value;
  }

  /** The value under `key` whether expired or not, without touching LRU order. */
  peek(key: string): { value: V; expiresAtMs: number } | undefined {
    const slot = this.#map.get(key);
    return slot && { value: slot.value, expiresAtMs: slot.expiresAtMs };
  }

  /** True when `key` is present (expired or not). */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /**
   * Stores `value` until `expiresAtMs`, replacing any entry under `key`.
   * Returns how many other entries were evicted to make room.
   */
  set(key: string, value: V, expiresAtMs: number): number {
    this.#map.delete(key);
    const evicted = this.#evictOverflow(1);
    this.#map.set(key, { value, expiresAtMs });
    return evicted;
  }

  /** Removes `key`; true if it was present. */
  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  /** Removes every entry that has expired at `nowMs`; returns how many. */
  flush(nowMs: number): number {
    let removed = 0;
    for (const [key, slot] of this.#map) {
      if (slot.expiresAtMs <= nowMs) {
        this.#map.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** Removes everything. */
  clear(): void {
    this.#map.clear();
  }

  /** Live entries, least recently used first (for tests and admin tools). */
  *entries(nowMs: number): IterableIterator<[string, V]> {
    for (const [key, slot] of this.#map) if (slot.expiresAtMs > nowMs) yield [key, slot.value];
  }

  #evictOverflow(room: number): number {
    if (this.#max <= 0) return 0;
    let evicted = 0;
    while (this.#map.size + room > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
      evicted++;
    }
    return evicted;
  }
}
