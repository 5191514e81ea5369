/**
 * Units in the public types. Every duration or instant the library takes or reports is
 * one of these, so the unit shows where the option is read, not only in its comment:
 * names ending in `Ms` are milliseconds; OpenSSL's own names (`timeout`,
 * `flush(atTimeSeconds)`, a session's lifetime) keep OpenSSL's seconds.
 */

/** A duration or an instant in seconds (instants since the Unix epoch), as OpenSSL counts session times. */
export type Seconds = number;

/** A duration or an instant in milliseconds (instants since the Unix epoch, as `Date.now()`). */
export type Milliseconds = number;

/**
 * A duration as the ticket key options take it: milliseconds, or a string with units
 * (`'30s'`, `'15m'`, `'12h'`, `'1d'`, `'1h30m'`), which is why those options carry no
 * `Ms` suffix.
 */
export type Duration = Milliseconds | string;
