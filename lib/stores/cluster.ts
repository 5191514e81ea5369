/**
 * Sessions shared by the workers of one machine through Node's `cluster` primary.
 *
 *   // primary                                   // each worker
 *   ClusterStore.primary({ cacheSize: 20480 });        attachSessionCache(server, {
 *   cluster.fork(); cluster.fork();                sessionIdContext: 'shop', store: new ClusterStore() });
 *
 * Each call is one IPC round trip to the primary (see `ClusterStore.primary()`).
 *
 * Sealing is on by default: without `sealKeys`, a worker asks the primary once for the
 * cluster's random seal key and seals with it, so the primary's cache holds AES-256-GCM
 * ciphertext only. That key lives in the primary, so this keeps secrets out of the
 * cache's data (entry dumps, debug tools) but not out of a full memory dump of the
 * primary; pass the same `sealKeys` to every worker (e.g. through `cluster.fork(env)`)
 * and the primary never holds a key. `insecurePlaintext: true` stores in clear.
 *
 * Known limitations: the primary is a single event loop serving every worker; a primary
 * blocked by application code delays every lookup (the guard's deadline turns that into
 * misses). A cluster worker exits by itself when its primary dies (Node's behaviour);
 * after a graceful disconnect, pending calls reject at once and later calls fail fast
 * with ERR_TLS_RESUMPTION_STORE_UNAVAILABLE. An open ClusterStore listens on the IPC
 * channel, which keeps its worker alive (as any 'message' listener does): `close()` it
 * or disconnect the worker to let the worker exit.
 */
import nodeCluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from './store.js';
import { SessionSealer } from './seal.js';
import { warnInsecurePlaintext } from './insecure-warning.js';
import { serveClusterSessions, type ClusterPrimaryOptions, type ClusterSessionServer } from './cluster-primary.js';
import {
  CLUSTER_MESSAGE_TAG,
  parseClusterReply,
  type ClusterOp,
  type ClusterReply,
  type ClusterRequest,
} from './cluster-messages.js';
import { makeError } from '../errors.js';
import { logger, shortId } from '../debug.js';
import type { Milliseconds } from '../units.js';

const debug = logger('store:cluster');

/** Options of `ClusterStore` (the worker side). */
export interface ClusterStoreOptions {
  /**
   * How long a request may wait for the primary before it rejects, in ms. Default 1000.
   * This only bounds bookkeeping; the handshake's own deadline is the guard's (50 ms).
   */
  requestTimeoutMs?: Milliseconds;
  /**
   * Seal keys, newest first, the same in every worker. Default: the cluster's random key,
   * fetched from the primary once.
   */
  sealKeys?: Buffer[];
  /** Store sessions in clear in the primary. INSECURE; warns once (TLS_RESUMPTION_INSECURE_PLAINTEXT). */
  insecurePlaintext?: boolean;
}

interface Pending {
  resolve(reply: ClusterReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** IPC as a worker sees it: `process` in a cluster worker. */
type WorkerProcess = Pick<NodeJS.Process, 'on' | 'off' | 'send' | 'connected'>;

/**
 * One 'message' and one 'disconnect' listener per process, whatever the number of
 * stores (a worker may run many servers): replies are routed by channel id.
 */
interface Endpoint {
  receive(reply: ClusterReply): void;
  gone(reason: string): void;
}
const endpoints = new Map<string, Endpoint>();
const routeReply = (message: unknown) => {
  const reply = parseClusterReply(message);
  if (reply !== undefined) endpoints.get(reply.ch)?.receive(reply);
};
const routeDisconnect = () => {
  for (const e of [...endpoints.values()]) e.gone('the IPC channel to the primary closed');
};
function register(channel: string, endpoint: Endpoint): void {
  if (endpoints.size === 0) {
    process.on('message', routeReply);
    process.on('disconnect', routeDisconnect);
  }
  endpoints.set(channel, endpoint);
}
function unregister(channel: string): void {
  if (!endpoints.delete(channel) || endpoints.size > 0) return;
  process.off('message', routeReply);
  process.off('disconnect', routeDisconnect);
}

/**
 * The worker's view of the primary's session cache. Construct it in a cluster worker
 * whose primary runs `ClusterStore.primary()`; elsewhere it throws
 * ERR_TLS_RESUMPTION_CLUSTER_ROLE. Calls reject (never hang past `requestTimeoutMs`)
 * when the primary does not answer, and at once once the IPC channel is closed.
 */
export class ClusterStore implements SessionStore {
  /** True unless `insecurePlaintext`. */
  readonly sealed: boolean;
  /** The sealer; a promise while the cluster's default key is being fetched; undefined in plaintext mode. */
  #sealer: SessionSealer | Promise<SessionSealer> | undefined;
  readonly #channel = randomBytes(8).toString('hex');
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  readonly #proc: WorkerProcess;
  #nextId = 1;
  #gone = false;
  #isReady = false;
  #readyPromise: Promise<void> | undefined;
  readonly #readyListeners = new Set<() => void>();

  /**
   * One call, in the primary: serve the workers' sessions from one bounded cache.
   * Throws ERR_TLS_RESUMPTION_CLUSTER_ROLE outside the primary and
   * ERR_TLS_RESUMPTION_ALREADY_ATTACHED when called twice.
   */
  static primary(options?: ClusterPrimaryOptions): ClusterSessionServer {
    return serveClusterSessions(nodeCluster, options);
  }

  constructor(options: ClusterStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'ClusterStore options must be an object');
    }
    for (const name of Object.keys(options)) {
      if (name !== 'requestTimeoutMs' && name !== 'sealKeys' && name !== 'insecurePlaintext') {
        throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `unknown ClusterStore option: ${name}`);
      }
    }
    const { requestTimeoutMs = 1000, sealKeys, insecurePlaintext = false } = options;
    if (typeof insecurePlaintext !== 'boolean') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'insecurePlaintext must be a boolean');
    }
    if (insecurePlaintext && sealKeys !== undefined) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'give either sealKeys or insecurePlaintext: true, not both');
    }
    if (typeof requestTimeoutMs !== 'number' || !Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0 || requestTimeoutMs > 2 ** 31 - 1) {
      throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `requestTimeoutMs must be a positive number of milliseconds, got ${requestTimeoutMs}`);
    }
    if (typeof process.send !== 'function' || nodeCluster.isPrimary) {
      throw makeError(
        'ERR_TLS_RESUMPTION_CLUSTER_ROLE',
        'new ClusterStore() runs in a cluster worker; in the primary call ClusterStore.primary()',
      );
    }
    this.#timeoutMs = requestTimeoutMs;
    if (sealKeys !== undefined) this.#sealer = new SessionSealer(sealKeys, 'sealKeys');
    this.sealed = !insecurePlaintext;
    if (insecurePlaintext) warnInsecurePlaintext('ClusterStore');
    this.#proc = process;
    register(this.#channel, {
      receive: (reply) => this.#receive(reply),
      gone: (reason) => this.#primaryGone(reason),
    });
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#withSealer((sealer) =>
      this.#request('get', key).then((reply) => {
        if (typeof reply.value !== 'string') return undefined;
        const raw = Buffer.from(reply.value, 'base64');
        return sealer === undefined ? raw : sealer.open(key, raw);
      }),
    );
  }

  set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    return this.#withSealer(async (sealer) => {
      await this.#request('set', key, this.#encode(sealer, key, value), ttlMs);
    });
  }

  add(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    return this.#withSealer(async (sealer) => (await this.#request('add', key, this.#encode(sealer, key, value), ttlMs)).result === true);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#request('delete', key)).result === true;
  }

  /** True once the primary has answered a call of this store (and the IPC channel is open). */
  get isReady(): boolean {
    return this.#isReady && !this.#gone && this.#proc.connected;
  }

  /**
   * Resolves once the primary answers: one IPC round trip (the seal-key fetch when the
   * store uses the cluster's key, a lookup otherwise), retried every `requestTimeoutMs`
   * while the primary does not answer yet (it may call `ClusterStore.primary()` after
   * forking). Rejects once the IPC channel is closed or the store is. Waiting is
   * optional: calls made before go to the primary as usual.
   */
  ready(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    this.#readyPromise ??= this.#waitReady().finally(() => {
      this.#readyPromise = undefined;
    });
    return this.#readyPromise;
  }

  /**
   * Calls `listener` when the store becomes ready (the primary answered for the first
   * time). IPC does not reconnect: a worker whose primary is gone exits. Returns a
   * function that removes the listener.
   */
  onReady(listener: () => void): () => void {
    const wrapped = () => listener();
    this.#readyListeners.add(wrapped);
    return () => {
      this.#readyListeners.delete(wrapped);
    };
  }

  async #waitReady(): Promise<void> {
    for (;;) {
      if (this.isReady) return;
      try {
        if (this.sealed && this.#sealer === undefined) await this.#getSealer();
        else await this.#request('get', 'tls-resumption:ready');
        return;
      } catch (err) {
        if (this.#gone || !this.#proc.connected) throw err;
        // The primary did not answer (yet): ask again, at once (the request waited its timeout).
        if ((err as { code?: string }).code !== 'ERR_TLS_RESUMPTION_STORE_TIMEOUT') {
          await new Promise((r) => setTimeout(r, Math.min(100, this.#timeoutMs)).unref());
        }
      }
    }
  }

  #markReady(): void {
    if (this.#isReady) return;
    this.#isReady = true;
    for (const l of [...this.#readyListeners]) {
      try {
        l();
      } catch (err) {
        debug('ready listener threw: %s', (err as Error)?.message);
      }
    }
  }

  /** Stops listening to IPC and rejects pending calls. The primary's cache is untouched. */
  async close(): Promise<void> {
    this.#primaryGone('the ClusterStore is closed');
  }

  /** Requests waiting for the primary (for tests and leak checks). */
  get pending(): number {
    return this.#pending.size;
  }

  #encode(sealer: SessionSealer | undefined, key: string, value: Buffer): string {
    if (!(value instanceof Uint8Array)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'value must be a Buffer');
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value);
    return (sealer === undefined ? buf : sealer.seal(key, buf)).toString('base64');
  }

  /**
   * Runs `fn` with the sealer: at once when it is known (so a call is on the wire before
   * the method returns), after the first fetch of the cluster key otherwise.
   */
  #withSealer<T>(fn: (sealer: SessionSealer | undefined) => Promise<T>): Promise<T> {
    const sealer = this.#getSealer();
    if (sealer instanceof Promise) return sealer.then(fn);
    try {
      return fn(sealer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The sealer, fetching the cluster's default key from the primary on first use. */
  #getSealer(): SessionSealer | Promise<SessionSealer> | undefined {
    if (this.#sealer !== undefined || !this.sealed) return this.#sealer;
    const fetching = this.#request('seal-key', '-').then((reply) => {
      if (typeof reply.value !== 'string') {
        throw makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the cluster primary sent no seal key');
      }
      const sealer = new SessionSealer([Buffer.from(reply.value, 'base64')], 'the cluster seal key');
      this.#sealer = sealer;
      return sealer;
    });
    this.#sealer = fetching;
    // A failed fetch is retried by the next call.
    fetching.catch(() => {
      if (this.#sealer === fetching) this.#sealer = undefined;
    });
    return fetching;
  }

  #request(op: ClusterOp, key: string, value?: string, ttlMs?: number): Promise<Extract<ClusterReply, { ok: true }>> {
    if (this.#gone || !this.#proc.connected) {
      return Promise.reject(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'the cluster primary is not reachable'));
    }
    if (op === 'set' || op === 'add') {
      if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
        return Promise.reject(makeError('ERR_TLS_RESUMPTION_INVALID_ARG', `ttlMs must be a positive number, got ${ttlMs}`));
      }
    }
    const id = this.#nextId++;
    const message: ClusterRequest = { tlsResumption: CLUSTER_MESSAGE_TAG, ch: this.#channel, id, op, key };
    if (value !== undefined) message.value = value;
    if (ttlMs !== undefined) message.ttlMs = Math.ceil(ttlMs);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        const p = this.#pending.get(id);
        if (p === undefined) return; // already settled
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(err);
      };
      const timer = setTimeout(
        () => fail(makeError('ERR_TLS_RESUMPTION_STORE_TIMEOUT', `the cluster primary did not answer ${op} within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      this.#pending.set(id, {
        resolve: (reply) => {
          if (reply.ok) resolve(reply);
          else reject(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', `the cluster primary refused ${op}: ${reply.error}`));
        },
        reject,
        timer,
      });
      try {
        this.#proc.send!(message, undefined, {}, (err: Error | null) => {
          if (err) fail(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', `IPC send failed: ${err.message}`, err));
        });
      } catch (err) {
        fail(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', `IPC send failed: ${(err as Error).message}`, err));
      }
    });
  }

  #receive(reply: ClusterReply): void {
    const p = this.#pending.get(reply.id);
    if (p === undefined) return; // answered after its timeout
    this.#pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
    this.#markReady();
  }

  #primaryGone(reason: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#readyListeners.clear();
    unregister(this.#channel);
    debug('%s; rejecting %d pending calls (channel %s)', reason, this.#pending.size, shortId(this.#channel));
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(makeError('ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', reason));
    }
  }
}
