/**
 * Prometheus metrics for the session cache (and, when given, the ticket key ring and
 * the client cache), through `prom-client`, an optional peer dependency that the
 * application passes in, so this package never loads it by itself.
 *
 * Values are read from `stats()` at scrape time (prom-client's `collect`), so the
 * handshake path pays nothing for metrics.
 */
import type { SessionCacheStats } from '../cache/stats.js';
import { makeError } from '../errors.js';

/** The `prom-client` module (v14 and later), as the application imports it. */
export interface PromClientLike {
  Counter: new (config: never) => unknown;
  Gauge: new (config: never) => unknown;
  register: unknown;
}

/** The parts of prom-client this module uses. */
interface PromClientApi {
  Counter: new (config: {
    name: string;
    help: string;
    labelNames?: readonly string[];
    registers?: unknown[];
    collect?: (this: CounterLike) => void;
  }) => CounterLike;
  Gauge: new (config: {
    name: string;
    help: string;
    labelNames?: readonly string[];
    registers?: unknown[];
    collect?: (this: GaugeLike) => void;
  }) => GaugeLike;
  register: unknown;
}
interface CounterLike {
  reset(): void;
  inc(labels: Record<string, string>, value: number): void;
}
interface GaugeLike {
  set(labels: Record<string, string>, value: number): void;
}

/** Anything with a `stats()` returning numbers and booleans. */
export interface StatsSource {
  stats(): object;
}

export interface MetricsOptions {
  /**
   * The session cache (`attachSessionCache()`'s result). With `ticketKeys`, its ring's
   * counters are exported too (as `tickets` below).
   */
  cache?: { stats(): SessionCacheStats; ticketKeyStats?(): object | undefined };
  /** The ticket key ring or any other source whose numeric stats become `<prefix>ticket_<name>_total`. */
  tickets?: StatsSource;
  /** The client session cache; its counters become `<prefix>client_<name>_total`. */
  client?: StatsSource;
  /** Registry to register in; default prom-client's global one. */
  registry?: unknown;
  /** Metric name prefix; default `tls_resumption_`. */
  prefix?: string;
  /** Constant labels on every series (e.g. `{ server: 'shop' }`). */
  labels?: Record<string, string>;
}

/** Lookup results: stats field -> `result` label of `<prefix>lookups_total`. */
const LOOKUP_RESULTS: readonly [keyof SessionCacheStats, string][] = [
  ['internalHits', 'internal_hit'],
  ['cbHits', 'external_hit'],
  ['misses', 'miss'],
  ['timeouts', 'expired'],
  ['sidCtxMismatch', 'sid_ctx_mismatch'],
  ['serverNameMismatch', 'server_name_mismatch'],
  ['protocolMismatch', 'protocol_mismatch'],
  ['removedHits', 'removed'],
  ['invalidSessions', 'invalid'],
];
const STORE_FAILURES: readonly [keyof SessionCacheStats, string][] = [
  ['storeTimeouts', 'timeout'],
  ['storeErrors', 'error'],
  ['storeTampered', 'tampered'],
  ['storeSkipped', 'skipped'],
  ['storeWriteFailures', 'write'],
];

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * Registers the metrics and returns their names. Call once per registry.
 *
 * Cache metrics: `sessions` (gauge), `handshakes_total{result=started|completed|failed}`,
 * `resumed_total`, `hit_ratio` (gauge: resumed / completed), `lookups_total{result}`,
 * `evictions_total`, `store_failures_total{kind}`, `store_circuit_open` (gauge),
 * `sessions_not_cached_total`.
 */
export function registerMetrics(client: PromClientLike, options: MetricsOptions): string[] {
  const promClient = client as unknown as PromClientApi;
  if (typeof promClient?.Counter !== 'function' || typeof promClient?.Gauge !== 'function') {
    throw makeError('ERR_TLS_RESUMPTION_NO_PROM_CLIENT', "registerMetrics(promClient, options): pass the 'prom-client' module itself");
  }
  const prefix = options.prefix ?? 'tls_resumption_';
  const constant = options.labels ?? {};
  const constantNames = Object.keys(constant);
  const registers = [options.registry ?? promClient.register];
  const names: string[] = [];
  const with_ = (labels: Record<string, string> = {}) => ({ ...constant, ...labels });

  const counter = (name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]) => {
    names.push(prefix + name);
    new promClient.Counter({
      name: prefix + name,
      help,
      labelNames: [...constantNames, ...labelNames],
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of values()) this.inc(with_(labels), value);
      },
    });
  };
  const gauge = (name: string, help: string, value: () => number) => {
    names.push(prefix + name);
    new promClient.Gauge({
      name: prefix + name,
      help,
      labelNames: constantNames,
      registers,
      collect() {
        this.set(with_(), value());
      },
    });
  };

  const cache = options.cache;
  if (cache !== undefined) {
    gauge('sessions', 'Sessions in the in-process session cache.', () => cache.stats().number);
    counter('handshakes_total', 'TLS handshakes by result.', ['result'], () => {
      const s = cache.stats();
      return [
        [{ result: 'started' }, s.accept],
        [{ result: 'completed' }, s.acceptGood],
        [{ result: 'failed' }, s.acceptFailed],
      ];
    });
    counter('resumed_total', 'Handshakes that resumed a session (ids and tickets).', [], () => [[{}, cache.stats().hits]]);
    gauge('hit_ratio', 'Resumed handshakes / completed handshakes since start.', () => {
      const s = cache.stats();
      return s.acceptGood === 0 ? 0 : s.hits / s.acceptGood;
    });
    counter('lookups_total', 'Session lookups by result.', ['result'], () => {
      const s = cache.stats();
      return LOOKUP_RESULTS.map(([field, result]) => [{ result }, s[field] as number]);
    });
    counter('evictions_total', 'Sessions evicted because the cache was full.', [], () => [[{}, cache.stats().cacheFull]]);
    counter('sessions_not_cached_total', 'New sessions not cached (no key, key clash).', [], () => [[{}, cache.stats().notCached]]);
    counter('store_failures_total', 'External store failures by kind.', ['kind'], () => {
      const s = cache.stats();
      return STORE_FAILURES.map(([field, kind]) => [{ kind }, s[field] as number]);
    });
    gauge('store_circuit_open', '1 while the external store is skipped after failures.', () => (cache.stats().circuitOpen ? 1 : 0));
  }
  const ring = cache?.ticketKeyStats;
  const tickets: StatsSource | undefined =
    options.tickets ?? (cache !== undefined && ring?.call(cache) !== undefined ? { stats: () => ring.call(cache) ?? {} } : undefined);
  for (const [area, source] of [
    ['ticket', tickets],
    ['client', options.client],
  ] as const) {
    if (source === undefined) continue;
    const fields = Object.entries(source.stats()).filter(([, v]) => typeof v === 'number').map(([k]) => k);
    for (const field of fields) {
      counter(`${area}_${snake(field)}_total`, `${area} ${field} (stats().${field}).`, [], () => [
        [{}, Number((source.stats() as Record<string, unknown>)[field]) || 0],
      ]);
    }
  }
  return names;
}
