/**
 * Prometheus metrics for the session cache (and, when given, the ticket key ring and
 * the client cache), through `prom-client`, an optional peer dependency that the
 * application passes in, so this package never loads it by itself.
 *
 * Values are read from `stats()` at scrape time (prom-client's `collect`), so the
 * handshake path pays nothing for metrics. Totals are counters (`_total`); values that
 * go up and down (sessions held, keys held, the circuit breaker) are gauges.
 *
 * Several sources (two caches, two servers) share one metric family per name in a
 * registry: each registration adds its own series, told apart by its constant `labels`.
 * What cannot be told apart is refused with ERR_TLS_RESUMPTION_METRICS_CONFLICT before
 * anything is registered, never with prom-client's uncoded error. See docs/metrics.md.
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
interface MetricConfig<T> {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers?: unknown[];
  collect?: (this: T) => void;
}
interface PromClientApi {
  Counter: new (config: MetricConfig<CounterLike>) => CounterLike;
  Gauge: new (config: MetricConfig<GaugeLike>) => GaugeLike;
  register: unknown;
}
interface CounterLike {
  reset(): void;
  inc(labels: Record<string, string>, value: number): void;
}
interface GaugeLike {
  reset(): void;
  set(labels: Record<string, string>, value: number): void;
}
interface RegistryLike {
  getSingleMetric?(name: string): unknown;
}

/** Anything with a `stats()`; its known fields are exported (see docs/metrics.md). */
export interface StatsSource {
  stats(): object;
}

export interface MetricsOptions {
  /**
   * The session cache (`attachSessionCache()`'s result). With `ticketKeys`, its ring's
   * counters are exported too (as `tickets` below).
   */
  cache?: { stats(): SessionCacheStats; ticketKeyStats?(): object | undefined };
  /** The ticket key ring (`attachTicketKeys()`'s result): `<prefix>ticket_*` metrics. */
  tickets?: StatsSource;
  /** The client session cache (`ClientSessionCache`): `<prefix>client_*` metrics. */
  client?: StatsSource;
  /** Registry to register in (a prom-client `Registry`); default prom-client's global `register`. */
  registry?: unknown;
  /** Metric name prefix; default `tls_resumption_`. A different prefix makes separate metric families. */
  prefix?: string;
  /**
   * Constant labels on every series of this registration, e.g. `{ server: 'shop' }`.
   * Required to register a second source of the same metrics in one registry: each
   * registration needs the same label names and its own values.
   */
  labels?: Record<string, string>;
}

type Samples = [Record<string, string>, number][];

/** One metric this module exports: its name after the prefix, type, help and reader. */
interface MetricSpec {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly read: () => Samples;
}

/** A metric family created in one registry, and the sources it reports. */
interface Family {
  readonly metric: unknown;
  readonly type: 'counter' | 'gauge';
  /** Constant label names, sorted, as the first registration gave them. */
  readonly constantNames: readonly string[];
  /** Per source: its constant label values (key: canonical JSON) and reader. */
  readonly sources: Map<string, { labels: Record<string, string>; read: () => Samples }>;
}

/** Families per registry object, so a second registration adds series instead of failing. */
const familiesByRegistry = new WeakMap<object, Map<string, Family>>();

const one = (value: number): Samples => [[{}, value]];
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

function cacheMetrics(cache: NonNullable<MetricsOptions['cache']>): MetricSpec[] {
  const s = () => cache.stats();
  const counter = (name: string, help: string, labelNames: readonly string[], read: () => Samples): MetricSpec => ({
    name,
    type: 'counter',
    help,
    labelNames,
    read,
  });
  return [
    {
      name: 'sessions',
      type: 'gauge',
      help: 'TLS sessions held now in this process\'s session cache (resumable by session id or stateful ticket).',
      labelNames: [],
      read: () => one(s().number),
    },
    counter('handshakes_total', 'TLS handshakes on this server: started, completed, or failed before completing.', ['result'], () => {
      const x = s();
      return [
        [{ result: 'started' }, x.accept],
        [{ result: 'completed' }, x.acceptGood],
        [{ result: 'failed' }, x.acceptFailed],
      ];
    }),
    counter(
      'resumed_total',
      'Completed handshakes that resumed a session (session id or ticket) instead of a full handshake. Resumption rate: rate(resumed_total) / rate(handshakes_total{result="completed"}).',
      [],
      () => one(s().hits),
    ),
    counter(
      'lookups_total',
      'Sessions clients proposed, by what the cache found: internal_hit/external_hit resumed; every other result meant a full handshake (miss: unknown session; expired; sid_ctx_mismatch: made under another session id context; trust_mismatch: made under other client-certificate or CA settings; auth_expired: its full handshake is older than timeout; peer_cert_expired: its client certificate expired since; server_name_mismatch: made for another SNI name; protocol_mismatch; removed; invalid: unreadable stored entry).',
      ['result'],
      () => {
        const x = s();
        return LOOKUP_RESULTS.map(([field, result]) => [{ result }, x[field] as number]);
      },
    ),
    counter(
      'evictions_total',
      'Sessions dropped to make room because the cache was full (cacheSize); a steady rate means cacheSize is too small for the traffic.',
      [],
      () => one(s().cacheFull),
    ),
    counter('sessions_expired_total', 'Expired sessions removed from the in-process cache by a flush.', [], () => one(s().flushed)),
    counter(
      'sessions_not_cached_total',
      'New sessions that could not be cached, so their clients get a full handshake next time: no_key (generateSessionKey threw or returned a bad key), key_clash (the key already held another session).',
      ['reason'],
      () => {
        const x = s();
        return [
          [{ reason: 'no_key' }, Math.max(0, x.notCached - x.keyClashes)],
          [{ reason: 'key_clash' }, x.keyClashes],
        ];
      },
    ),
    counter(
      'stateless_sessions_skipped_total',
      'TLS 1.3 sessions not cached because the server issues stateless tickets (tickets: \'node\'); expected, these resume from the ticket itself.',
      [],
      () => one(s().statelessSkipped),
    ),
    counter(
      'store_failures_total',
      'External session store problems, each costing at most a full handshake: timeout (lookup past storeTimeoutMs), error, tampered (entry failed authentication), skipped (circuit open), write (a new session was not written).',
      ['kind'],
      () => {
        const x = s();
        return STORE_FAILURES.map(([field, kind]) => [{ kind }, x[field] as number]);
      },
    ),
    {
      name: 'store_circuit_open',
      type: 'gauge',
      help: '1 while the external session store is being skipped after repeated failures (sessions from other processes or hosts do not resume), else 0.',
      labelNames: [],
      read: () => one(s().circuitOpen ? 1 : 0),
    },
    counter(
      'client_hello_preparse_total',
      'Connections whose ClientHello the pre-parse read (parsed) or handed on unread (unparsed: garbage, too large, or stalled past helloTimeoutMs).',
      ['result'],
      () => {
        const x = s();
        return [
          [{ result: 'parsed' }, x.helloParsed],
          [{ result: 'unparsed' }, x.helloUnparsed],
        ];
      },
    ),
  ];
}

/** Lookup results: stats field -> `result` label of `<prefix>lookups_total`. */
const LOOKUP_RESULTS: readonly [keyof SessionCacheStats, string][] = [
  ['internalHits', 'internal_hit'],
  ['cbHits', 'external_hit'],
  ['misses', 'miss'],
  ['timeouts', 'expired'],
  ['sidCtxMismatch', 'sid_ctx_mismatch'],
  ['trustMismatch', 'trust_mismatch'],
  ['authExpired', 'auth_expired'],
  ['peerCertExpired', 'peer_cert_expired'],
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

function ticketMetrics(source: StatsSource): MetricSpec[] {
  const s = () => source.stats() as Record<string, unknown>;
  const store = () => (s().store ?? {}) as Record<string, unknown>;
  const counter = (name: string, help: string, field: string, from = s): MetricSpec => ({
    name,
    type: 'counter',
    help,
    labelNames: [],
    read: () => one(num(from()[field])),
  });
  const specs: MetricSpec[] = [
    counter('ticket_encrypted_total', 'Session tickets issued, encrypted with the current ticket key.', 'encrypted'),
    counter(
      'ticket_encrypted_stale_total',
      'Session tickets encrypted with an older key because the current period\'s key was not available (key store unreachable at rotation).',
      'encryptedStale',
    ),
    counter(
      'ticket_not_issued_total',
      'Session tickets not issued because no usable key was held; those clients get a full handshake next time.',
      'notIssued',
    ),
    {
      name: 'ticket_decrypted_total',
      type: 'counter',
      help: 'Session tickets decrypted (resumable), by key: current; previous (renewed under the current key); next (issued by a host whose clock runs ahead).',
      labelNames: ['key'],
      read: () => {
        const x = s();
        return [
          [{ key: 'current' }, num(x.decryptedCurrent)],
          [{ key: 'previous' }, num(x.decryptedPrevious)],
          [{ key: 'next' }, num(x.decryptedNext)],
        ];
      },
    },
    counter('ticket_renewed_total', 'Tickets under an older key replaced by a fresh ticket under the current key.', 'renewed'),
    counter(
      'ticket_unknown_key_total',
      'Tickets whose key is not held (expired past keep, foreign, forged): a full handshake each. A steady rate after a deploy means hosts do not share keys.',
      'unknownKey',
    ),
    counter('ticket_key_name_clashes_total', 'Keys received with the name of a different held key (the newer one replaced it).', 'nameClashes'),
    counter('ticket_keys_replaced_total', 'Keys of a period replaced by the key store\'s key for that period.', 'replaced'),
    counter('ticket_key_rotations_total', 'Times the key that encrypts new tickets changed.', 'rotations'),
    {
      name: 'ticket_keys',
      type: 'gauge',
      help: 'Ticket keys held now (current, previous and next).',
      labelNames: [],
      read: () => one(num(s().keys)),
    },
  ];
  const first = source.stats() as Record<string, unknown>;
  if (typeof first.path === 'string') {
    specs.push({
      name: 'ticket_key_path',
      type: 'gauge',
      help: 'How ticket keys reach OpenSSL, as a label (value always 1): callback (all held keys decrypt) or setTicketKeys (the fallback: one key, older tickets need a full handshake after each rotation).',
      labelNames: ['path'],
      read: () => [[{ path: String(s().path) }, 1]],
    });
  }
  if (typeof first.store === 'object' && first.store !== null) {
    specs.push(
      counter('ticket_store_syncs_total', 'Sync passes with the shared ticket key store.', 'syncs', store),
      counter('ticket_keys_created_total', 'Ticket keys this host created (elections it won).', 'created', store),
      counter('ticket_key_elections_lost_total', 'Key elections lost: another host\'s key for the period was there first.', 'lostElections', store),
      counter('ticket_keys_fetched_total', 'Ticket keys read from the shared store.', 'fetched', store),
      counter('ticket_keys_missing_total', 'Periods the shared store had no key for (past periods are never recreated).', 'missing', store),
      counter('ticket_keys_invalid_total', 'Stored ticket keys rejected: unparsable, another period\'s, or failing to unseal.', 'invalid', store),
      counter('ticket_store_errors_total', 'Ticket key store calls that failed or missed their deadline.', 'storeErrors', store),
    );
  }
  return specs;
}

function clientMetrics(source: StatsSource): MetricSpec[] {
  const s = () => source.stats() as Record<string, unknown>;
  const counter = (name: string, help: string, field: string): MetricSpec => ({
    name,
    type: 'counter',
    help,
    labelNames: [],
    read: () => one(num(s()[field])),
  });
  return [
    {
      name: 'client_sessions',
      type: 'gauge',
      help: 'Sessions the client session cache holds now, for all destinations (each TLS 1.3 ticket counts once).',
      labelNames: [],
      read: () => one(num(s().number)),
    },
    counter('client_sessions_stored_total', 'Sessions the client cache stored (from servers, or added by hand).', 'stored'),
    counter('client_sessions_offered_total', 'Sessions the client cache handed out to offer to a server.', 'offered'),
    counter(
      'client_resumed_total',
      'Client connections the server resumed. Client resumption rate: rate(client_resumed_total) / rate(client_sessions_offered_total).',
      'resumed',
    ),
    counter('client_declined_total', 'Client connections whose offered session the server declined (a full handshake instead).', 'declined'),
    counter('client_sessions_expired_total', 'Client sessions dropped because their lifetime passed.', 'expired'),
    counter('client_sessions_evicted_total', 'Client sessions dropped to stay within max or ticketsPerDestination.', 'evicted'),
    counter('client_sessions_failed_total', 'Client sessions dropped because a connection that used or produced them failed.', 'failed'),
  ];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OWN_LABELS = new Set(['result', 'kind', 'reason', 'key', 'path']);

/**
 * Registers the metrics and returns their full names. Call once per source; a second
 * cache in the same registry needs its own `labels` values (same label names), another
 * `prefix`, or another `registry`. A registration that would clash with one already in
 * the registry throws ERR_TLS_RESUMPTION_METRICS_CONFLICT and registers nothing.
 *
 * Cache metrics: `sessions` (gauge), `handshakes_total{result}`, `resumed_total`,
 * `lookups_total{result}`, `evictions_total`, `sessions_expired_total`,
 * `sessions_not_cached_total{reason}`, `stateless_sessions_skipped_total`,
 * `store_failures_total{kind}`, `store_circuit_open` (gauge),
 * `client_hello_preparse_total{result}`. Ticket ring: `ticket_*`; client cache:
 * `client_*` (docs/metrics.md lists them all).
 */
export function registerMetrics(client: PromClientLike, options: MetricsOptions): string[] {
  const promClient = client as unknown as PromClientApi;
  if (typeof promClient?.Counter !== 'function' || typeof promClient?.Gauge !== 'function') {
    throw makeError('ERR_TLS_RESUMPTION_NO_PROM_CLIENT', "registerMetrics(promClient, options): pass the 'prom-client' module itself");
  }
  const prefix = options.prefix ?? 'tls_resumption_';
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `registerMetrics: prefix must match ${METRIC_NAME} (got ${JSON.stringify(prefix)})`);
  }
  const labels = options.labels ?? {};
  if (typeof labels !== 'object' || labels === null) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'registerMetrics: labels must be an object of label name -> string value');
  }
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || OWN_LABELS.has(name)) {
      throw makeError(
        'ERR_TLS_RESUMPTION_INVALID_OPTION',
        `registerMetrics: label name "${name}" is not allowed (letters, digits and _; not starting with __; not one of ${[...OWN_LABELS].join(', ')})`,
      );
    }
    if (typeof value !== 'string') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `registerMetrics: label "${name}" must have a string value`);
    }
  }
  const registry = (options.registry ?? promClient.register) as RegistryLike;
  if (typeof registry !== 'object' || registry === null) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'registerMetrics: registry must be a prom-client Registry');
  }

  const specs: MetricSpec[] = [];
  const cache = options.cache;
  if (cache !== undefined) specs.push(...cacheMetrics(cache));
  const ring = cache?.ticketKeyStats;
  const tickets: StatsSource | undefined =
    options.tickets ?? (cache !== undefined && ring?.call(cache) !== undefined ? { stats: () => ring.call(cache) ?? {} } : undefined);
  if (tickets !== undefined) specs.push(...ticketMetrics(tickets));
  if (options.client !== undefined) specs.push(...clientMetrics(options.client));

  const constantNames = Object.keys(labels).sort();
  const sourceKey = JSON.stringify(constantNames.map((n) => [n, labels[n]]));
  let families = familiesByRegistry.get(registry);
  if (families === undefined) {
    families = new Map();
    familiesByRegistry.set(registry, families);
  }

  // Check every metric first, so a refused registration leaves the registry as it was.
  const plan: { spec: MetricSpec; fullName: string; family: Family | undefined }[] = [];
  for (const spec of specs) {
    const fullName = prefix + spec.name;
    let family = families.get(fullName);
    const present = registry.getSingleMetric?.(fullName);
    if (family !== undefined && present !== family.metric) {
      // The registry was cleared or the metric removed: start this family afresh.
      families.delete(fullName);
      family = undefined;
    }
    if (family === undefined && present !== undefined) {
      throw conflict(`a metric named ${fullName} is already registered in this registry by other code; pass another prefix or registry`);
    }
    if (family !== undefined) {
      if (family.type !== spec.type || family.constantNames.join(',') !== constantNames.join(',')) {
        throw conflict(
          `${fullName} is already registered with labels {${family.constantNames.join(', ')}}, and this registration has {${constantNames.join(', ')}}: ` +
            'every source of one metric in a registry needs the same label names (e.g. labels: { server: ... } on each), or another prefix or registry',
        );
      }
      if (family.sources.has(sourceKey)) {
        throw conflict(
          `${fullName} already reports a source with labels ${describe(labels)}: give this cache its own labels (e.g. { server: 'b' }), another prefix or another registry`,
        );
      }
    }
    plan.push({ spec, fullName, family });
  }
  if (new Set(plan.map((p) => p.fullName)).size !== plan.length) {
    throw conflict('options.tickets and options.cache with ticketKeys would export the same ticket metrics twice; pass one of them');
  }

  for (const { spec, fullName, family: existing } of plan) {
    let family = existing;
    if (family === undefined) {
      const sources: Family['sources'] = new Map();
      const collectInto = (metric: { reset(): void }, put: (labels: Record<string, string>, value: number) => void) => {
        metric.reset();
        for (const source of sources.values()) {
          for (const [own, value] of source.read()) put({ ...source.labels, ...own }, value);
        }
      };
      const config = { name: fullName, help: spec.help, labelNames: [...constantNames, ...spec.labelNames], registers: [registry] };
      const metric =
        spec.type === 'counter'
          ? new promClient.Counter({
              ...config,
              collect(this: CounterLike) {
                collectInto(this, (l, v) => this.inc(l, v));
              },
            })
          : new promClient.Gauge({
              ...config,
              collect(this: GaugeLike) {
                collectInto(this, (l, v) => this.set(l, v));
              },
            });
      family = { metric, type: spec.type, constantNames, sources };
      families.set(fullName, family);
    }
    family.sources.set(sourceKey, { labels: { ...labels }, read: spec.read });
  }
  return plan.map((p) => p.fullName);
}

function conflict(message: string) {
  return makeError('ERR_TLS_RESUMPTION_METRICS_CONFLICT', `registerMetrics: ${message}`);
}

function describe(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '{} (none)' : `{${entries.map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}
