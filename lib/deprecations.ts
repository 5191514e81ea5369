/**
 * The names 0.1 used where the library had two names for one idea, kept working for
 * 0.x and removed in 1.0. Each old name still does what it did and emits one
 * `DeprecationWarning` with its code per process (Node's convention: `--no-deprecation`
 * silences them, `--throw-deprecation` finds the callers). Codes are never reused.
 *
 * The vocabulary the library settled on is OpenSSL's where OpenSSL has a name:
 * `cacheSize` (SSL_CTX_sess_set_cache_size), `stats().number` (SSL_CTX_sess_number),
 * `getMode()`/`setMode()` (SSL_CTX_get/set_session_cache_mode); `sealKeys` for the keys
 * that seal stored sessions, everywhere; one way to do each thing.
 */
import { makeError } from './errors.js';
import { emitWarningOnce } from './warnings.js';

export const deprecationCodes = Object.freeze({
  /** `max` (ClientSessionCache, ClusterStore.primary) is `cacheSize`. */
  MAX_IS_CACHE_SIZE: 'TLS_RESUMPTION_DEP_MAX',
  /** `stats().size` (ClientSessionCache, ClusterStore.primary) is `stats().number`. */
  SIZE_IS_NUMBER: 'TLS_RESUMPTION_DEP_STATS_SIZE',
  /** SealedStore's `keys` is `sealKeys`, as on RedisStore and ClusterStore. */
  KEYS_IS_SEAL_KEYS: 'TLS_RESUMPTION_DEP_SEALED_KEYS',
  /** ClientSessionCache's `mode` property is `getMode()`, as on the server's SessionCache. */
  MODE_IS_GET_MODE: 'TLS_RESUMPTION_DEP_CLIENT_MODE',
  /** `serveClusterSessions(cluster)` is `ClusterStore.primary()`. */
  SERVE_CLUSTER_SESSIONS: 'TLS_RESUMPTION_DEP_SERVE_CLUSTER_SESSIONS',
  /** `new ClientSessionAgent(sessions)` is `sessions.agent()`. */
  NEW_CLIENT_SESSION_AGENT: 'TLS_RESUMPTION_DEP_CLIENT_SESSION_AGENT',
} as const);

export type DeprecationCode = (typeof deprecationCodes)[keyof typeof deprecationCodes];

/** Emits a DeprecationWarning under `code`, once per process. */
export function deprecate(code: DeprecationCode, message: string): void {
  emitWarningOnce(code, message, 'DeprecationWarning');
}

/**
 * Reads an option that was renamed: the new name's value, else the old name's (with its
 * deprecation warning). Both given: ERR_TLS_RESUMPTION_INVALID_OPTION, since which one
 * was meant cannot be known.
 */
export function renamedOption(
  given: Record<string, unknown>,
  names: { old: string; new: string; where: string },
  code: DeprecationCode,
): unknown {
  const oldValue = given[names.old];
  if (oldValue === undefined) return given[names.new];
  if (given[names.new] !== undefined) {
    throw makeError(
      'ERR_TLS_RESUMPTION_INVALID_OPTION',
      `${names.where}: give ${names.new} only (${names.old} is its deprecated name), not both`,
    );
  }
  deprecate(code, `${names.where}: ${names.old} is deprecated, use ${names.new}`);
  return oldValue;
}

/**
 * Adds the deprecated `size` to a stats snapshot as a non-enumerable getter for
 * `number`, so it still reads but does not show in logs, JSON or comparisons.
 */
export function withDeprecatedSize<T extends { number: number }>(stats: T, where: string): T & { readonly size: number } {
  return Object.defineProperty(stats, 'size', {
    get() {
      deprecate(deprecationCodes.SIZE_IS_NUMBER, `${where}: stats().size is deprecated, use stats().number`);
      return stats.number;
    },
    enumerable: false,
  }) as T & { readonly size: number };
}
