/**
 * Every error this library throws carries a stable `code` (`ERR_TLS_RESUMPTION_*`)
 * and the base class that fits it (`TypeError` for a wrong type or unknown option,
 * `RangeError` for a value out of bounds). One registry, so codes are never reused
 * and a test checks each key equals its code.
 *
 * Errors are branded with `Symbol.for('tls-resumption.error')` so that
 * `isTlsResumptionError()` works across duplicate installs of the package.
 */

const kBrand = Symbol.for('tls-resumption.error');

type Base = typeof Error | typeof TypeError | typeof RangeError;

const registry = {
  // options and arguments
  ERR_TLS_RESUMPTION_INVALID_OPTION: TypeError,
  ERR_TLS_RESUMPTION_UNKNOWN_OPTION: TypeError,
  ERR_TLS_RESUMPTION_INVALID_ARG: TypeError,
  ERR_TLS_RESUMPTION_INVALID_MODE: TypeError,
  ERR_TLS_RESUMPTION_OUT_OF_RANGE: RangeError,
  ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG: RangeError,
  // server wiring
  ERR_TLS_RESUMPTION_NOT_A_TLS_SERVER: TypeError,
  ERR_TLS_RESUMPTION_ALREADY_ATTACHED: Error,
  ERR_TLS_RESUMPTION_DETACHED: Error,
  ERR_TLS_RESUMPTION_DEFAULT_SID_CTX: Error,
  // sessions and stores
  ERR_TLS_RESUMPTION_INVALID_SESSION: TypeError,
  ERR_TLS_RESUMPTION_STORE_TIMEOUT: Error,
  ERR_TLS_RESUMPTION_STORE_UNAVAILABLE: Error,
  ERR_TLS_RESUMPTION_SEAL_KEY: TypeError,
  ERR_TLS_RESUMPTION_UNSEAL: Error,
  ERR_TLS_RESUMPTION_NO_REDIS_CLIENT: Error,
  ERR_TLS_RESUMPTION_CLUSTER_ROLE: Error,
  // ticket keys
  ERR_TLS_RESUMPTION_TICKET_KEY: TypeError,
  ERR_TLS_RESUMPTION_TICKET_ROTATION: Error,
  ERR_TLS_RESUMPTION_TICKET_STORE: TypeError,
  // client cache
  ERR_TLS_RESUMPTION_TIMEOUT: Error,
  ERR_TLS_RESUMPTION_SESSION_SERVERNAME: Error,
  // metrics
  ERR_TLS_RESUMPTION_NO_PROM_CLIENT: Error,
  ERR_TLS_RESUMPTION_METRICS_CONFLICT: Error,
} as const satisfies Record<string, Base>;

/** All error codes this library can throw, as a readonly map of code -> code. */
export type ErrorCode = keyof typeof registry;
export const codes: { readonly [K in ErrorCode]: K } = Object.freeze(
  Object.fromEntries(Object.keys(registry).map((k) => [k, k])),
) as { readonly [K in ErrorCode]: K };

/** An error thrown by this library: a normal Error subclass with a `code`. */
export interface TlsResumptionError extends Error {
  readonly code: ErrorCode;
}

/** Creates the error for `code` with `message`; `cause` is kept as `error.cause`. */
export function makeError(code: ErrorCode, message: string, cause?: unknown): TlsResumptionError {
  const Ctor = registry[code];
  const err = (cause === undefined ? new Ctor(message) : new Ctor(message, { cause })) as Error & {
    code: ErrorCode;
  };
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  Object.defineProperty(err, kBrand, { value: true });
  Error.captureStackTrace?.(err, makeError);
  return err as TlsResumptionError;
}

/** True for errors made by any copy of this library. */
export function isTlsResumptionError(err: unknown): err is TlsResumptionError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kBrand] === true;
}
