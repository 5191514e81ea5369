import { DEFAULT_CACHE_SIZE, DEFAULT_TIMEOUT_SECONDS, MAX_SESSION_ID_LENGTH, SESS_CACHE_SERVER } from '../constants.js';
import { makeError } from '../errors.js';
import type { SessionStore } from '../stores/store.js';
import { GUARD_DEFAULTS } from '../stores/guarded.js';
import { validateTicketKeysOption, type TicketKeysOption } from '../tickets/options.js';
import { parseMode, type ModeInput } from '../cache/mode.js';
import type { GenerateSessionKey } from '../cache/session-key.js';
import { normalizeSessionIdContext } from '../cache/session-id-context.js';
import type { Milliseconds, Seconds } from '../units.js';

/** Options of `attachSessionCache(server, options)`. Every field is optional. */
export interface SessionCacheOptions {
  /** OpenSSL cache mode: a number, a name (`'server'`), or a list (`['server', 'no-auto-clear']`). Default SERVER. */
  mode?: ModeInput;
  /**
   * Session id context (at most 32 bytes). Default: the server's own (Node derives it
   * from process.argv). Required with a shared `store`: see the README.
   */
  sessionIdContext?: string | Buffer;
  /** Session lifetime in seconds for sessions this server makes (SSL_CTX_set_timeout). Default 300. */
  timeout?: Seconds;
  /** The most sessions in the internal store; 0 = unbounded. Default 20480, as OpenSSL. */
  cacheSize?: number;
  /**
   * `'node'` keeps Node's stateless tickets; `'off'` sets SSL_OP_NO_TICKET so TLS 1.2
   * resumes by session id and TLS 1.3 by stateful tickets this cache serves. `'auto'`
   * (default): `'off'` where SNI binding applies (SNI contexts, an SNICallback, client
   * certificates, or `serverNameBinding: 'always'`) and no `ticketKeys` are given,
   * because OpenSSL decrypts stateless tickets without asking the cache and Node 20 and
   * 26 do not bind them to names; `'node'` elsewhere.
   */
  tickets?: 'auto' | 'node' | 'off';
  /**
   * Refuse to resume a session under another SNI name than it was made for (RFC 6066 §3).
   * `'auto'` (default) checks whenever the ClientHello is parsed: with `tickets: 'off'`,
   * with SNI contexts (addContext, SNICallback) or client certificates. `'always'` parses
   * every ClientHello to check; `'off'` never checks.
   */
  serverNameBinding?: 'auto' | 'always' | 'off';
  /** Bytes every storage key starts with (a host or shard tag), at most 32 bytes. */
  sessionKeyPrefix?: string | Buffer;
  /** A pure function naming the storage key of a wire id (1..32 bytes). See the README. */
  generateSessionKey?: GenerateSessionKey;
  /** An external store shared by workers or hosts (RedisStore, ClusterStore, your own). */
  store?: SessionStore;
  /** Deadline for one external store call, in ms. Default 50. */
  storeTimeoutMs?: Milliseconds;
  /** Consecutive store timeouts or errors after which the store is skipped. Default 5. */
  storeFailureThreshold?: number;
  /** How long a failing store is skipped before one probe call, in ms. Default 5000. */
  storeCooldownMs?: Milliseconds;
  /**
   * Hold a TLS 1.2 handshake until its new session is written to the external store
   * (or the deadline passes). TLS 1.3 sessions are never held: see the README. Default false.
   */
  waitForStoreWrites?: boolean;
  /**
   * Stateless ticket keys: `{ rotateEvery: '12h', keep: 2 }` shared through `store` (or a
   * `secret`, or `local: true`), or a list of 48- or 80-byte keys, newest first. Needs
   * tickets on (`tickets: 'node'`). See the README's "Ticket keys".
   */
  ticketKeys?: TicketKeysOption;
  /**
   * Where the ClientHello pre-parse runs: the longest wait, in ms, for a complete
   * ClientHello before the socket is handed to Node unparsed (that connection then
   * resumes only by a TLS 1.2 session id, and Node's own `handshakeTimeout` takes
   * over). Bounds how long a slow or stalled client is held before Node sees it.
   * Default 10000.
   */
  helloTimeoutMs?: Milliseconds;
  /** The clock, in ms since the epoch (tests). Default Date.now. */
  now?: () => Milliseconds;
}

/** Options after validation: defaults merged, frozen. */
export interface ResolvedOptions {
  readonly mode: number;
  readonly sessionIdContext: string | undefined;
  readonly timeout: number;
  readonly cacheSize: number;
  readonly tickets: 'auto' | 'node' | 'off';
  readonly serverNameBinding: 'auto' | 'always' | 'off';
  readonly sessionKeyPrefix: Buffer;
  readonly generateSessionKey: GenerateSessionKey | undefined;
  readonly store: SessionStore | undefined;
  readonly storeTimeoutMs: number;
  readonly storeFailureThreshold: number;
  readonly storeCooldownMs: number;
  readonly waitForStoreWrites: boolean;
  readonly ticketKeys: TicketKeysOption | undefined;
  readonly helloTimeoutMs: number;
  readonly now: () => number;
}

const DEFAULTS = Object.freeze({
  mode: SESS_CACHE_SERVER,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  cacheSize: DEFAULT_CACHE_SIZE,
  tickets: 'auto' as const,
  serverNameBinding: 'auto' as const,
  // One copy of the guard's defaults (stores/guarded.ts), under this option's names.
  storeTimeoutMs: GUARD_DEFAULTS.timeoutMs,
  storeFailureThreshold: GUARD_DEFAULTS.failureThreshold,
  storeCooldownMs: GUARD_DEFAULTS.cooldownMs,
  waitForStoreWrites: false,
  helloTimeoutMs: 10_000,
});

const KNOWN = new Set<string>([
  'mode',
  'sessionIdContext',
  'timeout',
  'cacheSize',
  'tickets',
  'serverNameBinding',
  'sessionKeyPrefix',
  'generateSessionKey',
  'store',
  'storeTimeoutMs',
  'storeFailureThreshold',
  'storeCooldownMs',
  'waitForStoreWrites',
  'ticketKeys',
  'helloTimeoutMs',
  'now',
]);

function invalid(name: string, expected: string, value: unknown): never {
  const shown = typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? String(value);
  throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `options.${name} must be ${expected}; got ${shown}`);
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) invalid(name, 'an integer', value);
  if (value < min || value > max) {
    throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `options.${name} must be between ${min} and ${max}; got ${value}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) invalid(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

function isStore(value: unknown): value is SessionStore {
  const s = value as SessionStore;
  return typeof s === 'object' && s !== null && typeof s.get === 'function' && typeof s.set === 'function' && typeof s.delete === 'function';
}

/**
 * Validates `attachSessionCache` options once, at attach time: unknown names and
 * wrong types throw a TypeError, values out of range a RangeError, each with a code
 * and the option's name. Returns a frozen object with defaults merged.
 */
export function validateOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'options must be an object');
  }
  const o = options as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!KNOWN.has(name)) {
      throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `options.${name} is not an option of attachSessionCache`);
    }
  }
  const given = (name: string) => o[name] !== undefined;

  const prefix = given('sessionKeyPrefix') ? o.sessionKeyPrefix : '';
  if (typeof prefix !== 'string' && !Buffer.isBuffer(prefix)) invalid('sessionKeyPrefix', 'a string or a Buffer', prefix);
  const prefixBytes = Buffer.from(prefix as string | Buffer);
  if (prefixBytes.length >= MAX_SESSION_ID_LENGTH) {
    throw makeError(
      'ERR_TLS_RESUMPTION_OUT_OF_RANGE',
      `options.sessionKeyPrefix is ${prefixBytes.length} bytes; keys are at most ${MAX_SESSION_ID_LENGTH} bytes, so it must be shorter`,
    );
  }
  if (given('generateSessionKey') && typeof o.generateSessionKey !== 'function') {
    invalid('generateSessionKey', 'a function (wireId, maxLength) => Buffer', o.generateSessionKey);
  }
  if (given('generateSessionKey') && prefixBytes.length > 0) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'options.sessionKeyPrefix and options.generateSessionKey exclude each other: put the prefix in the generator');
  }
  if (given('store') && !isStore(o.store)) invalid('store', 'a SessionStore (get, set, delete)', o.store);
  if (given('waitForStoreWrites') && typeof o.waitForStoreWrites !== 'boolean') invalid('waitForStoreWrites', 'a boolean', o.waitForStoreWrites);
  if (given('now') && typeof o.now !== 'function') invalid('now', 'a function returning ms since the epoch', o.now);
  if (given('ticketKeys')) {
    if (o.tickets === 'off') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', "options.ticketKeys needs tickets; with tickets: 'off' the server issues none");
    }
    // Validated here too, so a bad option throws before anything is attached.
    validateTicketKeysOption(o.ticketKeys, isStore(o.store) ? { store: o.store } : {});
  }

  return Object.freeze({
    mode: given('mode') ? parseMode(o.mode, 'options.mode') : DEFAULTS.mode,
    sessionIdContext: given('sessionIdContext') ? normalizeSessionIdContext(o.sessionIdContext, 'options.sessionIdContext') : undefined,
    // OpenSSL takes a long; a session's lifetime of more than a year is a mistake.
    timeout: given('timeout') ? integer('timeout', o.timeout, 1, 366 * 24 * 3600) : DEFAULTS.timeout,
    cacheSize: given('cacheSize') ? integer('cacheSize', o.cacheSize, 0, 2 ** 31 - 1) : DEFAULTS.cacheSize,
    tickets: given('tickets') ? oneOf('tickets', o.tickets, ['auto', 'node', 'off'] as const) : DEFAULTS.tickets,
    serverNameBinding: given('serverNameBinding')
      ? oneOf('serverNameBinding', o.serverNameBinding, ['auto', 'always', 'off'] as const)
      : DEFAULTS.serverNameBinding,
    sessionKeyPrefix: prefixBytes,
    generateSessionKey: o.generateSessionKey as GenerateSessionKey | undefined,
    store: o.store as SessionStore | undefined,
    storeTimeoutMs: given('storeTimeoutMs') ? integer('storeTimeoutMs', o.storeTimeoutMs, 1, 60_000) : DEFAULTS.storeTimeoutMs,
    storeFailureThreshold: given('storeFailureThreshold')
      ? integer('storeFailureThreshold', o.storeFailureThreshold, 1, 1_000_000)
      : DEFAULTS.storeFailureThreshold,
    storeCooldownMs: given('storeCooldownMs') ? integer('storeCooldownMs', o.storeCooldownMs, 1, 3_600_000) : DEFAULTS.storeCooldownMs,
    waitForStoreWrites: given('waitForStoreWrites') ? (o.waitForStoreWrites as boolean) : DEFAULTS.waitForStoreWrites,
    ticketKeys: o.ticketKeys as TicketKeysOption | undefined,
    helloTimeoutMs: given('helloTimeoutMs') ? integer('helloTimeoutMs', o.helloTimeoutMs, 1, 120_000) : DEFAULTS.helloTimeoutMs,
    now: (o.now as (() => number) | undefined) ?? Date.now,
  });
}
