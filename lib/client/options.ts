import { DEFAULT_CACHE_SIZE, SESS_CACHE_CLIENT } from '../constants.js';
import { makeError } from '../errors.js';
import { parseMode, type ModeInput } from '../cache/mode.js';
import { deprecationCodes, renamedOption } from '../deprecations.js';
import type { Milliseconds, Seconds } from '../units.js';

/** RFC 8446 section 4.6.1: a client must not keep a ticket longer than seven days. */
export const MAX_TICKET_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

/** How many TLS 1.3 tickets are kept per destination unless told otherwise. */
export const DEFAULT_TICKETS_PER_DESTINATION = 4;

/** Options of `new ClientSessionCache(options)`. Every field is optional. */
export interface ClientSessionCacheOptions {
  /**
   * The most sessions kept across all destinations (each TLS 1.3 ticket counts as
   * one). Beyond it the least recently used session is evicted. Default 20480,
   * OpenSSL's default cache size (SSL_CTX_sess_set_cache_size).
   */
  cacheSize?: number;
  /** @deprecated Since 0.2: `cacheSize`. Still read, with a DeprecationWarning (TLS_RESUMPTION_DEP_MAX). */
  max?: number;
  /**
   * Cache mode, OpenSSL's SSL_CTX_set_session_cache_mode(3) values or names
   * (`'client'`, `'off'`, `'both'`, `['client', 'no-auto-clear']`, `0x81`...).
   * Sessions are stored automatically only when the mode includes CLIENT and not
   * NO_INTERNAL_STORE. Default `SESS_CACHE_CLIENT`.
   */
  mode?: ModeInput;
  /** TLS 1.3 tickets kept per destination, newest first; older ones are evicted. Default 4. */
  ticketsPerDestination?: number;
  /**
   * Upper bound on how long any session is kept, in seconds, whatever the server's
   * lifetime hint or timeout says. Default and maximum: 604800 (7 days, RFC 8446).
   */
  maxLifetime?: Seconds;
  /**
   * Wall clock in milliseconds, like `Date.now` (the default). Session times in
   * OpenSSL's session are wall-clock seconds, so an injected clock must be one too
   * (tests use `() => Date.now() + offset`).
   */
  now?: () => Milliseconds;
}

/** The validated, frozen options a ClientSessionCache runs with. */
export interface ClientSessionCacheConfig {
  readonly cacheSize: number;
  readonly mode: number;
  readonly ticketsPerDestination: number;
  readonly maxLifetime: number;
  readonly now: () => number;
}

const defaults: ClientSessionCacheConfig = Object.freeze({
  cacheSize: DEFAULT_CACHE_SIZE,
  mode: SESS_CACHE_CLIENT,
  ticketsPerDestination: DEFAULT_TICKETS_PER_DESTINATION,
  maxLifetime: MAX_TICKET_LIFETIME_SECONDS,
  now: Date.now,
});

/** The deprecated names still accepted (lib/deprecations.ts). */
const known = new Set([...Object.keys(defaults), 'max']);

function positiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `options.${name} must be an integer, got ${describe(value)}`);
  }
  if (value < 1 || value > max) {
    throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', `options.${name} must be between 1 and ${max}, got ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/**
 * Checks `options` eagerly and returns them merged over frozen defaults, frozen.
 * Unknown keys: TypeError ERR_TLS_RESUMPTION_UNKNOWN_OPTION. Wrong types:
 * ERR_TLS_RESUMPTION_INVALID_OPTION. Bad mode: ERR_TLS_RESUMPTION_INVALID_MODE.
 * Numbers out of range: RangeError ERR_TLS_RESUMPTION_OUT_OF_RANGE.
 */
export function validateClientOptions(options: unknown): ClientSessionCacheConfig {
  if (options === undefined) return defaults;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `options must be an object, got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      throw makeError(
        'ERR_TLS_RESUMPTION_UNKNOWN_OPTION',
        `options.${name} is not a ClientSessionCache option (known: ${Object.keys(defaults).join(", ")})`,
      );
    }
  }
  const config = { ...defaults };
  const cacheSize = renamedOption(given, { old: 'max', new: 'cacheSize', where: 'ClientSessionCache options' }, deprecationCodes.MAX_IS_CACHE_SIZE);
  if (cacheSize !== undefined) config.cacheSize = positiveInteger(given.cacheSize === undefined ? 'max' : 'cacheSize', cacheSize);
  if (given.mode !== undefined) config.mode = parseMode(given.mode, 'options.mode');
  if (given.ticketsPerDestination !== undefined) {
    config.ticketsPerDestination = positiveInteger('ticketsPerDestination', given.ticketsPerDestination, 1024);
  }
  if (given.maxLifetime !== undefined) {
    config.maxLifetime = positiveInteger('maxLifetime', given.maxLifetime, MAX_TICKET_LIFETIME_SECONDS);
  }
  if (given.now !== undefined) {
    if (typeof given.now !== 'function') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `options.now must be a function, got ${describe(given.now)}`);
    }
    config.now = given.now as () => number;
  }
  return Object.freeze(config);
}
