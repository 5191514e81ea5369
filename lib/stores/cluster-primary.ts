/**
 * The primary's side of the cluster store: one bounded LRU + TTL cache in the
 * `cluster` primary that every worker reaches over IPC (see `ClusterStore`).
 *
 * Cost: each worker lookup is one IPC round trip (JSON over a pipe, through the
 * primary's event loop), measured in bench/stores.ts and docs/stores.md. The primary
 * stores the values as the base64 text the workers send and never decodes them.
 *
 * Sealing: the primary makes one random 32-byte seal key per `ClusterStore.primary()`
 * and hands it to any worker that asks (op `seal-key`), so workers seal by default and
 * the cache holds ciphertext only. That key lives in the primary's memory: it keeps
 * sessions out of the cache's data, not out of a full memory dump of the primary.
 * Workers given their own `sealKeys` never ask, and then the primary holds no key.
 */
import type { Cluster, Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { MemoryStore } from './memory.js';
import {
  CLUSTER_MESSAGE_TAG,
  parseClusterRequest,
  type ClusterReply,
  type ClusterRequest,
} from './cluster-messages.js';
import { DEFAULT_CACHE_SIZE, AUTO_CLEAR_EVERY } from '../constants.js';
import { makeError } from '../errors.js';
import { logger } from '../debug.js';
import { deprecate, deprecationCodes, renamedOption, withDeprecatedSize } from '../deprecations.js';
import type { Milliseconds } from '../units.js';

const debug = logger('store:cluster');
const kServing = Symbol.for('tls-resumption.cluster-sessions');

/** Options of `ClusterStore.primary(options)`. */
export interface ClusterPrimaryOptions {
  /** Most sessions held; least recently used are evicted beyond it. Default 20480 (OpenSSL's SSL_CTX_sess_set_cache_size). */
  cacheSize?: number;
  /** @deprecated Since 0.2: `cacheSize`. Still read, with a DeprecationWarning (TLS_RESUMPTION_DEP_MAX). */
  max?: number;
  /** Clock for expiry, in milliseconds. Default `Date.now`. */
  now?: () => Milliseconds;
}

/** Counters of the primary's cache. */
export interface ClusterPrimaryStats {
  /** Sessions held now, expired ones until flushed (SSL_CTX_sess_number). */
  number: number;
  /** @deprecated Since 0.2: `number`. Not enumerable; reading it emits a DeprecationWarning. */
  readonly size: number;
  gets: number;
  hits: number;
  sets: number;
  deletes: number;
  /** Entries evicted because the cache was full. */
  evicted: number;
  /** Messages of this protocol that were malformed. */
  rejected: number;
}

/** What `ClusterStore.primary()` returns. */
export interface ClusterSessionServer {
  stats(): ClusterPrimaryStats;
  /** Stops answering workers and drops the cache. */
  close(): void;
}

/**
 * Makes the cluster primary hold the shared session cache; the public call is
 * `ClusterStore.primary(options)`. Once, in the primary, before or after forking;
 * workers then use `new ClusterStore()`.
 *
 * Throws ERR_TLS_RESUMPTION_CLUSTER_ROLE outside the primary and
 * ERR_TLS_RESUMPTION_ALREADY_ATTACHED if this cluster is already served.
 */
export function serveClusterSessions(cluster: Cluster, options: ClusterPrimaryOptions = {}): ClusterSessionServer {
  if (cluster === null || typeof cluster !== 'object' || typeof cluster.on !== 'function') {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', "the cluster session server needs Node's cluster module");
  }
  if (!cluster.isPrimary) {
    throw makeError('ERR_TLS_RESUMPTION_CLUSTER_ROLE', 'ClusterStore.primary() must run in the cluster primary; workers use new ClusterStore()');
  }
  if ((cluster as unknown as Record<symbol, unknown>)[kServing]) {
    throw makeError('ERR_TLS_RESUMPTION_ALREADY_ATTACHED', 'this cluster already serves sessions');
  }
  for (const name of Object.keys(options)) {
    if (name !== 'cacheSize' && name !== 'max' && name !== 'now') {
      throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `unknown option: ${name}`);
    }
  }
  const { now = Date.now } = options;
  const given = renamedOption(
    options as Record<string, unknown>,
    { old: 'max', new: 'cacheSize', where: 'ClusterStore.primary() options' },
    deprecationCodes.MAX_IS_CACHE_SIZE,
  );
  const cacheSize = given ?? DEFAULT_CACHE_SIZE;
  if (typeof cacheSize !== 'number' || !Number.isSafeInteger(cacheSize) || cacheSize < 1) {
    throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `cacheSize must be a positive integer, got ${String(cacheSize)}`);
  }
  if (typeof now !== 'function') throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'now must be a function');

  const cache = new MemoryStore<string>({ max: cacheSize });
  const defaultSealKey = randomBytes(32).toString('base64');
  const counts = { gets: 0, hits: 0, sets: 0, deletes: 0, evicted: 0, rejected: 0 };
  let writesSinceFlush = 0;

  const answer = (req: ClusterRequest): ClusterReply => {
    const base = { tlsResumption: CLUSTER_MESSAGE_TAG, ch: req.ch, id: req.id } as const;
    const t = now();
    switch (req.op) {
      case 'get': {
        counts.gets++;
        const value = cache.get(req.key, t) ?? null;
        if (value !== null) counts.hits++;
        return { ...base, ok: true, value };
      }
      case 'set':
      case 'add': {
        // OpenSSL flushes every 255 connections; here every 255 writes does the same job.
        if (++writesSinceFlush >= AUTO_CLEAR_EVERY) {
          writesSinceFlush = 0;
          cache.flush(t);
        }
        if (req.op === 'add' && cache.get(req.key, t) !== undefined) return { ...base, ok: true, result: false };
        counts.sets++;
        counts.evicted += cache.set(req.key, req.value!, t + req.ttlMs!);
        return { ...base, ok: true, result: true };
      }
      case 'delete':
        counts.deletes++;
        return { ...base, ok: true, result: cache.delete(req.key) };
      case 'seal-key':
        return { ...base, ok: true, value: defaultSealKey };
    }
  };

  const onMessage = (worker: Worker, message: unknown) => {
    const req = parseClusterRequest(message);
    if (req === undefined) return; // the application's own message
    let reply: ClusterReply;
    if ('bad' in req) {
      counts.rejected++;
      reply = { tlsResumption: CLUSTER_MESSAGE_TAG, ch: req.ch, id: req.id, ok: false, error: req.bad };
    } else {
      reply = answer(req);
    }
    if (!worker.isConnected()) return;
    try {
      worker.send(reply, undefined, (err: Error | null) => {
        if (err) debug('reply to worker %d failed: %s', worker.id, err.message);
      });
    } catch (err) {
      debug('reply to worker %d failed: %s', worker.id, (err as Error).message);
    }
  };

  cluster.on('message', onMessage);
  Object.defineProperty(cluster, kServing, { value: true, configurable: true });
  debug('primary serves sessions, cache size %d', cacheSize);

  return {
    stats: () => withDeprecatedSize({ number: cache.size, ...counts }, 'ClusterStore.primary()'),
    close() {
      cluster.off('message', onMessage);
      delete (cluster as unknown as Record<symbol, unknown>)[kServing];
      cache.clear();
    },
  };
}

/**
 * @deprecated Since 0.2: `ClusterStore.primary(options)`, one way to do it. Emits a
 * DeprecationWarning (TLS_RESUMPTION_DEP_SERVE_CLUSTER_SESSIONS).
 */
export function deprecatedServeClusterSessions(cluster: Cluster, options?: ClusterPrimaryOptions): ClusterSessionServer {
  deprecate(deprecationCodes.SERVE_CLUSTER_SESSIONS, 'serveClusterSessions(cluster) is deprecated, use ClusterStore.primary()');
  return serveClusterSessions(cluster, options);
}
