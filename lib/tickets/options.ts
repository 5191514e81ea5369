/**
 * The `ticketKeys` option, checked once: either the keys a user brings (static, like
 * nginx's `ssl_session_ticket_key` files) or a rotation schedule with a source that all
 * workers and hosts share.
 *
 *   ticketKeys: [key0, key1, ...]                       // 48- or 80-byte Buffers, newest first
 *   ticketKeys: { rotateEvery: '12h', keep: 2 }         // shared through the session store
 *   ticketKeys: { rotateEvery: '1h', secret }           // derived per period from a shared secret
 *   ticketKeys: { rotateEvery: '1h', local: true }      // one process only, nothing shared
 *
 * Bad input throws at configuration time, never on the handshake path: a TypeError or
 * RangeError with an ERR_TLS_RESUMPTION_* code naming the option.
 */
import { makeError } from '../errors.js';
import type { SessionStore } from '../stores/store.js';
import { parseTicketKey, type TicketKey } from './key.js';
import type { Duration } from '../units.js';

/** Default rotation period: 12 hours, as in the example and nginx/HAProxy practice. */
export const DEFAULT_ROTATE_EVERY_MS = 12 * 60 * 60 * 1000;
/** Default number of keys that decrypt: the current one and one previous. */
export const DEFAULT_KEEP = 2;
/** Shortest rotation period accepted. */
export const MIN_ROTATE_EVERY_MS = 1000;
/** Longest rotation period accepted: TLS 1.3 caps a ticket's lifetime at 7 days (RFC 8446 4.6.1). */
export const MAX_ROTATE_EVERY_MS = 7 * 24 * 60 * 60 * 1000;
/** Most keys kept for decryption. */
export const MAX_KEEP = 16;
/** Most static keys accepted. */
export const MAX_STATIC_KEYS = 16;
/** Shortest secret for derived keys, in bytes. */
export const MIN_SECRET_LENGTH = 32;
/** Default deadline for one store call while syncing keys. */
export const DEFAULT_STORE_TIMEOUT_MS = 2000;
/** Longest default interval between two reads of the store. */
export const MAX_DEFAULT_REFRESH_MS = 5 * 60 * 1000;
/** Default store key prefix. */
export const DEFAULT_NAMESPACE = 'tickets';

/** The rotating form of the `ticketKeys` option. */
export interface RotatingTicketKeysOptions {
  /** How long each key encrypts: milliseconds, or '30s', '15m', '12h', '1d', '1h30m'. Default '12h'. */
  rotateEvery?: Duration;
  /** How many keys decrypt, the current one included (>= 1). Default 2. */
  keep?: number;
  /** Shared store for the keys; defaults to the session cache's store. Must be sealed and have `add()`. */
  store?: SessionStore;
  /** Derive each period's key from this shared secret (>= 32 bytes) instead of a store. */
  secret?: Uint8Array;
  /** One process only: random keys, nothing shared. */
  local?: boolean;
  /** Prefix of the store keys (`<namespace>:<rotateEveryMs>:<period>`). Default 'tickets'. */
  namespace?: string;
  /** How often the store is read again (a key published by another host, a forgotten key). */
  refreshEvery?: Duration;
  /** Deadline for each store call. Default 2 s. */
  storeTimeout?: Duration;
}

/** What the `ticketKeys` option accepts. */
export type TicketKeysOption = readonly Uint8Array[] | RotatingTicketKeysOptions;

/** Static keys, validated. */
export interface StaticTicketKeysConfig {
  readonly kind: 'static';
  /** Newest first: `keys[0]` encrypts, all decrypt. */
  readonly keys: readonly TicketKey[];
}

/** A rotation schedule, validated. */
export interface RotatingTicketKeysConfig {
  readonly kind: 'rotating';
  readonly source: 'store' | 'secret' | 'local';
  readonly rotateEveryMs: number;
  readonly keep: number;
  readonly store?: SessionStore;
  readonly secret?: Buffer;
  readonly namespace: string;
  readonly refreshEveryMs: number;
  readonly storeTimeoutMs: number;
}

export type TicketKeysConfig = StaticTicketKeysConfig | RotatingTicketKeysConfig;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Milliseconds from a number (ms) or a string such as '500ms', '30s', '15m', '12h',
 * '1d' or '1h30m'. Throws ERR_TLS_RESUMPTION_INVALID_OPTION naming `name`.
 */
export function parseDuration(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `${name} must be a finite number of milliseconds`);
    return value;
  }
  if (typeof value === 'string' && DURATION.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(DURATION_PART)) ms += Number(m[1]) * UNITS[m[2]!]!;
    return ms;
  }
  throw makeError(
    'ERR_TLS_RESUMPTION_INVALID_OPTION',
    `${name} must be milliseconds or a duration such as '30m', '12h' or '1d', got ${JSON.stringify(value) ?? typeof value}`,
  );
}

function inRange(ms: number, name: string, min: number, max: number): number {
  if (!(ms >= min && ms <= max)) {
    throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `${name} must be between ${min} and ${max} ms, got ${ms}`);
  }
  return Math.floor(ms);
}

const ROTATING_KEYS = new Set([
  'rotateEvery',
  'keep',
  'store',
  'secret',
  'local',
  'namespace',
  'refreshEvery',
  'storeTimeout',
]);

/**
 * Checks a store for sharing ticket keys: a SessionStore with `add()` (to elect one
 * creator per period) that seals values (`store.sealed === true`, as SealedStore):
 * ticket keys must never sit in a shared store in clear. Throws
 * ERR_TLS_RESUMPTION_TICKET_STORE saying what is missing.
 */
export function checkTicketKeyStore(store: unknown, name = 'ticketKeys.store'): SessionStore {
  const s = store as Partial<SessionStore> & { sealed?: unknown };
  if (typeof store !== 'object' || store === null || typeof s.get !== 'function' || typeof s.set !== 'function' || typeof s.delete !== 'function') {
    throw makeError('ERR_TLS_RESUMPTION_TICKET_STORE', `${name} must be a SessionStore (get, set, delete)`);
  }
  if (typeof s.add !== 'function') {
    throw makeError(
      'ERR_TLS_RESUMPTION_TICKET_STORE',
      `${name} has no add() (set-if-absent), which elects the one host that creates each period's key; RedisStore and the cluster store have it`,
    );
  }
  if (s.sealed !== true) {
    throw makeError(
      'ERR_TLS_RESUMPTION_TICKET_STORE',
      `${name} does not seal values (store.sealed !== true): wrap it in SealedStore, ticket keys must never be stored in clear`,
    );
  }
  return store as SessionStore;
}

/**
 * Validates the `ticketKeys` option and returns a frozen config. `context.store` is the
 * session cache's store, used when the option names no store of its own.
 *
 * Rotating keys need exactly one source: a store (explicit or the cache's), a `secret`,
 * or `local: true`. Without one this throws ERR_TLS_RESUMPTION_TICKET_STORE: silently
 * falling back to per-process keys is the very problem this option exists to solve.
 */
export function validateTicketKeysOption(value: unknown, context: { store?: SessionStore } = {}): TicketKeysConfig {
  if (Array.isArray(value)) return validateStatic(value);
  if (typeof value !== 'object' || value === null) {
    throw makeError(
      'ERR_TLS_RESUMPTION_INVALID_OPTION',
      `ticketKeys must be an array of 48- or 80-byte keys (newest first) or { rotateEvery, keep }, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!ROTATING_KEYS.has(k)) {
      throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `ticketKeys.${k} is not an option (known: ${[...ROTATING_KEYS].join(', ')})`);
    }
  }

  const rotateEveryMs = inRange(
    o.rotateEvery === undefined ? DEFAULT_ROTATE_EVERY_MS : parseDuration(o.rotateEvery, 'ticketKeys.rotateEvery'),
    'ticketKeys.rotateEvery',
    MIN_ROTATE_EVERY_MS,
    MAX_ROTATE_EVERY_MS,
  );
  const keep = o.keep === undefined ? DEFAULT_KEEP : o.keep;
  if (typeof keep !== 'number' || !Number.isInteger(keep)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `ticketKeys.keep must be an integer, got ${typeof keep}`);
  }
  if (keep < 1 || keep > MAX_KEEP) {
    throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `ticketKeys.keep must be between 1 and ${MAX_KEEP}, got ${keep}`);
  }
  const namespace = o.namespace === undefined ? DEFAULT_NAMESPACE : o.namespace;
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 64) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'ticketKeys.namespace must be a non-empty string of at most 64 characters');
  }
  const refreshEveryMs = inRange(
    o.refreshEvery === undefined
      ? Math.min(Math.max(rotateEveryMs / 4, MIN_ROTATE_EVERY_MS), MAX_DEFAULT_REFRESH_MS)
      : parseDuration(o.refreshEvery, 'ticketKeys.refreshEvery'),
    'ticketKeys.refreshEvery',
    100,
    rotateEveryMs,
  );
  const storeTimeoutMs = inRange(
    o.storeTimeout === undefined ? DEFAULT_STORE_TIMEOUT_MS : parseDuration(o.storeTimeout, 'ticketKeys.storeTimeout'),
    'ticketKeys.storeTimeout',
    1,
    60_000,
  );
  if (o.local !== undefined && typeof o.local !== 'boolean') {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `ticketKeys.local must be a boolean, got ${typeof o.local}`);
  }

  const base = { kind: 'rotating' as const, rotateEveryMs, keep, namespace, refreshEveryMs, storeTimeoutMs };
  const sources = [o.store !== undefined && 'store', o.secret !== undefined && 'secret', o.local === true && 'local'].filter(Boolean);
  if (sources.length > 1) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `ticketKeys takes one key source, got ${sources.join(' and ')}`);
  }
  if (o.local === true) return Object.freeze({ ...base, source: 'local' as const });
  if (o.secret !== undefined) {
    if (!(o.secret instanceof Uint8Array)) {
      throw makeError('ERR_TLS_RESUMPTION_TICKET_KEY', `ticketKeys.secret must be a Buffer, got ${typeof o.secret}`);
    }
    if (o.secret.length < MIN_SECRET_LENGTH) {
      throw makeError(
        'ERR_TLS_RESUMPTION_TICKET_KEY',
        `ticketKeys.secret is ${o.secret.length} bytes; it needs at least ${MIN_SECRET_LENGTH} random bytes`,
      );
    }
    const secret = Buffer.alloc(o.secret.length);
    secret.set(o.secret);
    return Object.freeze({ ...base, source: 'secret' as const, secret });
  }
  const store = o.store ?? context.store;
  if (store === undefined) {
    throw makeError(
      'ERR_TLS_RESUMPTION_TICKET_STORE',
      'ticketKeys needs a store to share keys across workers and hosts (RedisStore, the cluster store), ' +
        'or `secret` to derive them, or `local: true` for a single process',
    );
  }
  return Object.freeze({
    ...base,
    source: 'store' as const,
    store: checkTicketKeyStore(store, o.store !== undefined ? 'ticketKeys.store' : 'store'),
  });
}

function validateStatic(list: unknown[]): StaticTicketKeysConfig {
  if (list.length === 0 || list.length > MAX_STATIC_KEYS) {
    throw makeError(
      'ERR_TLS_RESUMPTION_TICKET_KEY',
      `ticketKeys must list between 1 and ${MAX_STATIC_KEYS} keys (newest first), got ${list.length}`,
    );
  }
  const keys = list.map((k, i) => parseTicketKey(k, `ticketKeys[${i}]`));
  const names = new Map<string, number>();
  keys.forEach((k, i) => {
    const hex = k.name.toString('hex');
    const first = names.get(hex);
    if (first !== undefined) {
      // A clash would make one of the two keys silently unable to decrypt: refuse it here.
      throw makeError('ERR_TLS_RESUMPTION_TICKET_KEY', `ticketKeys[${i}] has the same name as ticketKeys[${first}]; key names must be unique`);
    }
    names.set(hex, i);
  });
  return Object.freeze({ kind: 'static' as const, keys: Object.freeze(keys) });
}
