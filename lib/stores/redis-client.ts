/**
 * Adapts the two Redis clients people use, the official `redis` package (node-redis
 * v4/v5, including its cluster and sentinel clients) and `ioredis` (including
 * `Redis.Cluster`), to the four commands a session store needs: GET, SET PX, SET NX PX
 * and DEL. Neither package is a dependency: the caller hands a client in, or names a
 * URL and the package is loaded on demand.
 *
 * Known limitations:
 * - Commands are sent only while the client says it is ready (`isReady` / `status`);
 *   otherwise they fail at once with ERR_TLS_RESUMPTION_STORE_UNAVAILABLE. A client's
 *   offline queue would otherwise grow by one command per handshake during an outage.
 *   A client that is still connecting therefore misses for its first few handshakes.
 * - Readiness: `isReady()` and the client's 'ready' events (`onReady`), which node-redis
 *   and ioredis emit on the first connection and on every reconnection.
 * - Values are written as base64 text: node-redis returns strings unless each call
 *   asks for Buffers in a version-specific way, and base64 keeps entries identical
 *   whichever client a host uses.
 */
import { makeError } from '../errors.js';
import { logger } from '../debug.js';

const debug = logger('store:redis');

/** The four commands, in the one shape `RedisStore` uses. */
export interface RedisCommands {
  /** Which client library this is, for logs and tests. */
  readonly flavour: 'node-redis' | 'ioredis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** SET NX PX; true when stored. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(key: string): Promise<number>;
  /** Disconnects the client at once (pending commands fail). */
  disconnect(): Promise<void>;
  /** True while the client accepts commands. */
  isReady(): boolean;
  /**
   * Calls `listener` on each 'ready' event of the client (first connection and every
   * reconnection). Returns the function that removes it. A client without events
   * never calls it.
   */
  onReady(listener: () => void): () => void;
}

/** The longest wait between two reconnection attempts of a client the store creates itself. */
export const MAX_RECONNECT_DELAY_MS = 500;

/** Reconnection backoff of clients made from a url: 50 ms doubling, at most MAX_RECONNECT_DELAY_MS. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS);
}

/**
 * One 'ready' listener per client object, however many stores share the client (so a
 * client shared by many stores never trips Node's MaxListeners warning); it fans out
 * to the stores' listeners and goes away with the last of them.
 */
const readyFanOut = new WeakMap<object, Set<() => void>>();

function readyEvents(c: Record<string, unknown>): (listener: () => void) => () => void {
  const emitter = c as Partial<NodeJS.EventEmitter>;
  return (listener) => {
    if (typeof emitter.on !== 'function' || typeof emitter.off !== 'function') return () => {};
    let listeners = readyFanOut.get(c);
    if (listeners === undefined) {
      const set = new Set<() => void>();
      listeners = set;
      readyFanOut.set(c, set);
      const onReady = () => {
        for (const l of [...set]) {
          try {
            l();
          } catch (err) {
            debug('ready listener threw: %s', (err as Error)?.message);
          }
        }
        if (set.size === 0) {
          emitter.off!('ready', onReady);
          if (readyFanOut.get(c) === set) readyFanOut.delete(c);
        }
      };
      emitter.on('ready', onReady);
    }
    const own = () => listener();
    listeners.add(own);
    const set = listeners;
    return () => {
      set.delete(own);
    };
  };
}

type AnyClient = Record<string, unknown> & {
  get: (...args: unknown[]) => Promise<unknown>;
  set: (...args: unknown[]) => Promise<unknown>;
  del: (...args: unknown[]) => Promise<unknown>;
};

function unavailable(): Error {
  return makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the Redis client is not connected');
}

function asString(reply: unknown): string | null {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'string') return reply;
  // A client configured to return Buffers: base64 text is ASCII.
  if (reply instanceof Uint8Array) return Buffer.from(reply).toString('latin1');
  throw makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', `the Redis client returned ${typeof reply} for GET`);
}

/** True for something that looks like an ioredis client (`Redis` or `Cluster`). */
function isIoredis(c: Record<string, unknown>): boolean {
  return typeof c.status === 'string' && typeof c.getBuffer === 'function';
}

/** True for something that looks like a node-redis client, cluster or sentinel. */
function isNodeRedis(c: Record<string, unknown>): boolean {
  return typeof c.isOpen === 'boolean' && typeof c.sendCommand === 'function';
}

/**
 * Wraps a client of `redis` (v4/v5) or `ioredis`. Throws ERR_TLS_RESUMPTION_INVALID_OPTION
 * for anything else.
 */
export function adaptRedisClient(client: unknown): RedisCommands {
  if (client === null || typeof client !== 'object') {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'client must be a client of the `redis` or `ioredis` package');
  }
  const c = client as AnyClient;
  if (typeof c.get !== 'function' || typeof c.set !== 'function' || typeof c.del !== 'function') {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'client must be a client of the `redis` or `ioredis` package (no get/set/del)');
  }
  if (isIoredis(c)) {
    const ready = () => c.status === 'ready';
    return {
      flavour: 'ioredis',
      async get(key) {
        if (!ready()) throw unavailable();
        return asString(await c.get(key));
      },
      async set(key, value, ttlMs) {
        if (!ready()) throw unavailable();
        await c.set(key, value, 'PX', ttlMs);
      },
      async setIfAbsent(key, value, ttlMs) {
        if (!ready()) throw unavailable();
        return (await c.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
      },
      async del(key) {
        if (!ready()) throw unavailable();
        return Number(await c.del(key));
      },
      async disconnect() {
        (c.disconnect as () => void)();
      },
      isReady: ready,
      onReady: readyEvents(c),
    };
  }
  if (isNodeRedis(c)) {
    // Standalone and sentinel clients have isReady; the cluster client only isOpen.
    const ready = () => (typeof c.isReady === 'boolean' ? c.isReady : c.isOpen === true);
    return {
      flavour: 'node-redis',
      async get(key) {
        if (!ready()) throw unavailable();
        return asString(await c.get(key));
      },
      async set(key, value, ttlMs) {
        if (!ready()) throw unavailable();
        // The PX/NX option names work in v4 and v5 (deprecated in v5 for `expiration`).
        await c.set(key, value, { PX: ttlMs });
      },
      async setIfAbsent(key, value, ttlMs) {
        if (!ready()) throw unavailable();
        return (await c.set(key, value, { PX: ttlMs, NX: true })) === 'OK';
      },
      async del(key) {
        if (!ready()) throw unavailable();
        return Number(await c.del(key));
      },
      async disconnect() {
        const destroy = (c.destroy ?? c.disconnect) as (() => unknown) | undefined;
        await destroy?.call(c);
      },
      isReady: ready,
      onReady: readyEvents(c),
    };
  }
  throw makeError(
    'ERR_TLS_RESUMPTION_INVALID_OPTION',
    'client must be a client of the `redis` (v4/v5) or `ioredis` package; this one has neither shape',
  );
}

/** Loads an optional peer dependency by name; undefined when it is not installed. */
async function load(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || (err as { code?: string }).code === 'MODULE_NOT_FOUND') {
      return undefined;
    }
    throw err;
  }
}

/**
 * Creates and connects a client for `url` with `redis` if installed, else `ioredis`.
 * The client fails commands at once while disconnected (no offline queue) and keeps
 * reconnecting in the background; its errors go to the debug log, never to an
 * unhandled 'error' event. Rejects with ERR_TLS_RESUMPTION_NO_REDIS_CLIENT when
 * neither package is installed.
 */
export async function connectRedisUrl(url: string): Promise<RedisCommands> {
  const nodeRedis = await load('redis');
  const createClient = (nodeRedis?.createClient ?? (nodeRedis?.default as Record<string, unknown> | undefined)?.createClient) as
    | ((o: unknown) => AnyClient)
    | undefined;
  if (typeof createClient === 'function') {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      // A short backoff: once Redis accepts connections again the store is back within
      // MAX_RECONNECT_DELAY_MS (an attempt against a refused port costs next to nothing).
      socket: { reconnectStrategy: reconnectDelay },
    });
    (client as unknown as NodeJS.EventEmitter).on('error', (err: Error) => debug('redis client error: %s', err.message));
    (client.connect as () => Promise<unknown>)().catch((err: Error) => debug('redis connect: %s', err.message));
    return adaptRedisClient(client);
  }
  const ioredis = await load('ioredis');
  const Redis = (ioredis?.default ?? ioredis?.Redis) as (new (url: string, o: unknown) => AnyClient) | undefined;
  if (typeof Redis === 'function') {
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (times: number) => reconnectDelay(times - 1) });
    (client as unknown as NodeJS.EventEmitter).on('error', (err: Error) => debug('ioredis client error: %s', err.message));
    return adaptRedisClient(client);
  }
  throw makeError(
    'ERR_TLS_RESUMPTION_NO_REDIS_CLIENT',
    'RedisStore({ url }) needs the `redis` or `ioredis` package: npm install redis',
  );
}
