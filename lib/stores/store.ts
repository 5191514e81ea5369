/**
 * The one interface every external session store implements: Redis across hosts,
 * the cluster primary across workers, or a user's own.
 *
 * Contract (read it before writing a store):
 * - Keys are untrusted input derived from what a client sent: treat them as opaque
 *   strings, never as paths or commands.
 * - Values are secret (an SSL_SESSION holds the master secret). A store outside the
 *   process must only ever see sealed values: wrap it in `SealedStore`, which the
 *   cache does by default.
 * - A store may forget anything at any time; `get` of a forgotten key resolves
 *   `undefined`. It must never resolve a value for another key.
 * - `delete` must really delete: a removed session must never resume again.
 * - Methods may reject or hang: the caller puts a deadline on every call and turns
 *   failures into counted misses. A store must not throw synchronously.
 */
export interface SessionStore {
  /** The value stored under `key`, or `undefined`. */
  get(key: string): Promise<Buffer | undefined>;
  /** Stores `value` under `key` for `ttlMs` milliseconds (> 0), replacing any value. */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** Deletes `key`; resolves true if something was deleted. */
  delete(key: string): Promise<boolean>;
  /**
   * Optional: stores `value` only if `key` holds nothing; resolves true if stored.
   * Used to elect one writer (ticket key rotation). Redis: SET NX PX.
   */
  add?(key: string, value: Buffer, ttlMs: number): Promise<boolean>;
  /**
   * Optional: resolves once the store can serve calls (its client connected, the
   * cluster primary answered). Nobody has to wait for it: until then calls fail fast
   * and the cache counts them as misses. Resolves at once when already ready; rejects
   * only when the store can never become ready (closed, no client library).
   */
  ready?(): Promise<void>;
  /** Optional: true while the store can serve calls (RedisStore, ClusterStore). */
  readonly isReady?: boolean;
  /**
   * Optional: calls `listener` each time the store becomes ready, the first connection
   * and every reconnection after an outage included. Returns a function that removes
   * the listener. The cache's guard uses it to probe a store at once when it comes back
   * instead of waiting out its cooldown; the ticket ring uses it to fetch shared keys.
   * A listener must not throw.
   */
  onReady?(listener: () => void): () => void;
  /** Optional: releases connections the store opened itself. */
  close?(): Promise<void>;
  /**
   * Optional: true when every value is sealed (AES-256-GCM, see `SealedStore`) before it
   * leaves the process, so the store never sees a master secret in clear. The cache
   * warns once when an external store does not say `sealed: true`. Absent means false.
   */
  readonly sealed?: boolean;
}

/**
 * The in-process store the cache policy keeps sessions in: a bounded LRU with expiry
 * (`MemoryStore`). `set` returns how many entries it evicted to make room.
 */
export interface InternalStore<V> {
  readonly size: number;
  get(key: string, nowMs: number): V | undefined;
  peek(key: string): { value: V; expiresAtMs: number } | undefined;
  set(key: string, value: V, expiresAtMs: number): number;
  delete(key: string): boolean;
  flush(nowMs: number): number;
}

/**
 * An external store as the cache policy calls it: behind a deadline and a circuit
 * breaker (`GuardedStore`), so every call settles, with an outcome instead of a throw.
 */
export interface GuardedSessionStore {
  get(key: string): Promise<{ outcome: 'hit' | 'miss' | 'timeout' | 'error' | 'tampered' | 'skipped'; value?: Buffer }>;
  set(key: string, value: Buffer, ttlMs: number): Promise<'ok' | 'timeout' | 'error' | 'skipped'>;
  delete(key: string): Promise<'ok' | 'timeout' | 'error' | 'skipped'>;
  stats(): { timeouts: number; errors: number; tampered: number; skipped: number; circuitOpen: boolean };
}
