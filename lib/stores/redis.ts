/**
 * A session store in Redis, for servers on many hosts. Works with Redis Cluster and
 * Sentinel through the client's own support (every command touches one key).
 *
 * Layout: one string per session at `<keyPrefix><store key>`, where the store key the
 * cache passes is `<ctxTag>:<id prefix><session id hex>`, so applications with different
 * session id contexts or different key prefixes never read each other's entries. The
 * value is the base64 text of a sealed entry (see `seal.ts`), bound to that full Redis
 * key; expiry is Redis's own (SET PX with the session's remaining lifetime).
 */
import type { SessionStore } from './store.js';
import { SessionSealer } from './seal.js';
import { adaptRedisClient, connectRedisUrl, type RedisCommands } from './redis-client.js';
import { makeError } from '../errors.js';
import { warnInsecurePlaintext } from './insecure-warning.js';
export { INSECURE_PLAINTEXT_WARNING } from './insecure-warning.js';
import { logger } from '../debug.js';

const debug = logger('store:redis');

/** Options of `RedisStore`. Exactly one of `client` and `url`; `sealKeys` unless `insecurePlaintext`. */
export interface RedisStoreOptions {
  /**
   * A connected client of the `redis` package (v4/v5: `createClient`, `createCluster`,
   * `createSentinel`) or of `ioredis` (`Redis`, `Cluster`). The store never closes it.
   */
  client?: unknown;
  /** A Redis URL (`redis://`, `rediss://`); the store creates, owns and closes its client. */
  url?: string;
  /** Prepended to every key. Default `'tls-resumption:'`. */
  keyPrefix?: string;
  /** Seal keys, newest first, each at least 32 random bytes: every value is AES-256-GCM sealed. */
  sealKeys?: Buffer[];
  /**
   * Store sessions in clear. INSECURE: anyone who can read Redis can decrypt recorded
   * traffic, and anyone who can write it can forge a session (and, on an mTLS server, a
   * client identity). Emits a TLS_RESUMPTION_INSECURE_PLAINTEXT warning once per process.
   */
  insecurePlaintext?: boolean;
}

/** The default key prefix. */
export const DEFAULT_REDIS_KEY_PREFIX = 'tls-resumption:';
const OPTION_NAMES = new Set(['client', 'url', 'keyPrefix', 'sealKeys', 'insecurePlaintext']);
const MAX_KEY_PREFIX_LENGTH = 256;

function ttl(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', `ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/**
 * Sessions in Redis. Requires `sealKeys` unless `insecurePlaintext: true`.
 *
 * - `get` resolves `undefined` for an absent key and rejects with
 *   ERR_TLS_RESUMPTION_UNSEAL for an entry that is not base64 or fails to open
 *   (garbage, truncated, tampered, foreign key, moved from another key or context).
 * - Every command fails at once with ERR_TLS_RESUMPTION_STORE_UNAVAILABLE while the
 *   client is not ready; the guard turns that into a counted miss.
 * - A client passed in gets a debug-logging 'error' listener if it has none, so a
 *   Redis outage cannot crash the process through an unhandled 'error' event.
 */
export class RedisStore implements SessionStore {
  /** True when values are sealed (`sealKeys` given). */
  readonly sealed: boolean;
  /** The prefix of every key this store writes. */
  readonly keyPrefix: string;
  readonly #sealer: SessionSealer | undefined;
  readonly #commands: Promise<RedisCommands>;
  readonly #owned: boolean;
  #ready: RedisCommands | undefined;
  #closed = false;
  readonly #readyListeners = new Set<() => void>();
  #waiters: { resolve(): void; reject(err: Error): void }[] = [];
  #unsubscribe: (() => void) | undefined;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'RedisStore needs an options object: { client | url, sealKeys }');
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `unknown RedisStore option: ${name}`);
    }
    const { client, url, keyPrefix = DEFAULT_REDIS_KEY_PREFIX, sealKeys, insecurePlaintext = false } = options;
    if ((client === undefined) === (url === undefined)) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'RedisStore needs exactly one of client and url');
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'url must be a redis:// or rediss:// URL');
    }
    if (typeof keyPrefix !== 'string' || keyPrefix.length > MAX_KEY_PREFIX_LENGTH) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `keyPrefix must be a string of at most ${MAX_KEY_PREFIX_LENGTH} characters`);
    }
    if (typeof insecurePlaintext !== 'boolean') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'insecurePlaintext must be a boolean');
    }
    if (insecurePlaintext && sealKeys !== undefined) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'give either sealKeys or insecurePlaintext: true, not both');
    }
    if (!insecurePlaintext && sealKeys === undefined) {
      throw makeError(
        'ERR_TLS_RESUMPTION_SEAL_KEY',
        'RedisStore needs sealKeys (newest first, each at least 32 random bytes) so that sessions are encrypted at rest; ' +
          'to store them in clear, pass insecurePlaintext: true',
      );
    }
    this.#sealer = sealKeys === undefined ? undefined : new SessionSealer(sealKeys, 'sealKeys');
    this.sealed = this.#sealer !== undefined;
    this.keyPrefix = keyPrefix;
    if (client !== undefined) {
      const commands = adaptRedisClient(client);
      const emitter = client as Partial<NodeJS.EventEmitter>;
      if (typeof emitter.on === 'function' && typeof emitter.listenerCount === 'function' && emitter.listenerCount('error') === 0) {
        emitter.on('error', (err: Error) => debug('redis client error: %s', err?.message));
      }
      this.#ready = commands;
      this.#commands = Promise.resolve(commands);
      this.#owned = false;
      this.#unsubscribe = commands.onReady(() => this.#emitReady());
    } else {
      this.#commands = connectRedisUrl(url!);
      this.#commands.then(
        (c) => {
          this.#ready = c;
          if (this.#closed) {
            c.disconnect().catch(() => {});
            return;
          }
          this.#unsubscribe = c.onReady(() => this.#emitReady());
          // Connected before the listener was there: the event is gone, say it now.
          if (c.isReady()) this.#emitReady();
        },
        (err: Error) => debug('cannot create a client for the url: %s', err.message),
      );
      this.#owned = true;
    }
    if (insecurePlaintext) warnInsecurePlaintext('RedisStore');
    debug('created: %s, prefix %j, %s', client !== undefined ? 'client given' : 'own client', keyPrefix, this.sealed ? 'sealed' : 'PLAINTEXT');
  }

  async get(key: string): Promise<Buffer | undefined> {
    const redisKey = this.keyPrefix + key;
    const text = await (await this.#client()).get(redisKey);
    if (text === null) return undefined;
    const raw = Buffer.from(text, 'base64');
    // Buffer.from skips what is not base64; an entry that does not round-trip was not
    // written by this library.
    if (raw.toString('base64') !== text) {
      throw makeError('ERR_TLS_RESUMPTION_UNSEAL', 'entry in Redis is not base64');
    }
    return this.#sealer === undefined ? raw : this.#sealer.open(redisKey, raw);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    const ms = ttl(ttlMs);
    const redisKey = this.keyPrefix + key;
    await (await this.#client()).set(redisKey, this.#encode(redisKey, value), ms);
  }

  async delete(key: string): Promise<boolean> {
    return (await (await this.#client()).del(this.keyPrefix + key)) > 0;
  }

  /** SET NX PX: stores `value` only if the key is empty; resolves true if stored. */
  async add(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    const ms = ttl(ttlMs);
    const redisKey = this.keyPrefix + key;
    return (await this.#client()).setIfAbsent(redisKey, this.#encode(redisKey, value), ms);
  }

  /** True while the Redis client accepts commands. */
  get isReady(): boolean {
    return !this.#closed && this.#ready !== undefined && this.#ready.isReady();
  }

  /**
   * Resolves once the client accepts commands: at once for a connected client, after
   * the first connection for `{ url }` or a client still connecting. Rejects when the
   * store is closed first, or when `{ url }` finds no client library
   * (ERR_TLS_RESUMPTION_NO_REDIS_CLIENT). Waiting is optional: meanwhile every call
   * fails at once (a counted miss), and the cache and the ticket ring catch up by
   * themselves on the client's 'ready' event.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the RedisStore is closed'));
    if (this.isReady) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      // A url store: report a missing client library; a client that is already up by
      // the time it exists was ready before our listener: settle now.
      this.#commands.then(
        () => {
          if (this.isReady) this.#settleWaiters();
        },
        (err: Error) => this.#settleWaiters(err),
      );
    });
  }

  /**
   * Calls `listener` each time the client becomes ready: its first connection and every
   * reconnection after an outage. Returns a function that removes the listener.
   */
  onReady(listener: () => void): () => void {
    const wrapped = () => listener();
    this.#readyListeners.add(wrapped);
    return () => {
      this.#readyListeners.delete(wrapped);
    };
  }

  /** Disconnects the client this store created from `url`; a client passed in is left alone. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#readyListeners.clear();
    this.#settleWaiters(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the RedisStore was closed before it was ready'));
    if (this.#owned && this.#ready) await this.#ready.disconnect();
  }

  #settleWaiters(err?: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve();
    }
  }

  #emitReady(): void {
    if (this.#closed || !this.isReady) return;
    debug('client ready');
    this.#settleWaiters();
    for (const l of [...this.#readyListeners]) {
      try {
        l();
      } catch (err) {
        debug('ready listener threw: %s', (err as Error)?.message);
      }
    }
  }

  #encode(redisKey: string, value: Buffer): string {
    if (!(value instanceof Uint8Array)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'value must be a Buffer');
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value);
    const bytes = this.#sealer === undefined ? buf : this.#sealer.seal(redisKey, buf);
    return bytes.toString('base64');
  }

  #client(): Promise<RedisCommands> | RedisCommands {
    if (this.#closed) throw makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the RedisStore is closed');
    return this.#ready ?? this.#commands;
  }
}
