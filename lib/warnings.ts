/**
 * Every warning this library emits, with its code: soft problems that leave the server
 * running safely (full handshakes) but do less than the user asked for. Each code is
 * emitted once per process through `process.emitWarning` (type TlsResumptionWarning),
 * so a restart loop or many servers do not train people to ignore it. Codes are never
 * reused for another meaning.
 */

export const warningCodes = Object.freeze({
  /** A shared store that does not seal: sessions hold master secrets. */
  UNSEALED_STORE: 'TLS_RESUMPTION_UNSEALED_STORE',
  /** Settings cannot reach some of the server's OpenSSL contexts. */
  CONTEXTS_UNREACHABLE: 'TLS_RESUMPTION_CONTEXTS_UNREACHABLE',
  /** Session events cannot be tied to their connection: no SNI names, no TLS 1.3 stateful tickets. */
  NO_CONNECTION_FACTS: 'TLS_RESUMPTION_NO_CONNECTION_FACTS',
  /** Sessions carry a session id context this library cannot derive: none is cached. */
  SID_CTX_UNKNOWN: 'TLS_RESUMPTION_SID_CTX_UNKNOWN',
  /** The ticket key ring falls back to setTicketKeys(): one key at a time. */
  NO_TICKET_KEY_CALLBACK: 'TLS_RESUMPTION_NO_TICKET_KEY_CALLBACK',
  /** A store built with `insecurePlaintext: true` stores sessions, master secrets included, in clear. */
  INSECURE_PLAINTEXT: 'TLS_RESUMPTION_INSECURE_PLAINTEXT',
} as const);

export type WarningCode = (typeof warningCodes)[keyof typeof warningCodes];

const emitted = new Set<string>();

/**
 * Emits `message` as a `type` warning under `code`, once per process; returns whether it
 * was emitted now. The one place the library calls process.emitWarning (deprecations.ts
 * uses it too).
 */
export function emitWarningOnce(code: string, message: string, type: 'TlsResumptionWarning' | 'DeprecationWarning'): boolean {
  if (emitted.has(code)) return false;
  emitted.add(code);
  process.emitWarning(message, { code, type });
  return true;
}

/** Emits `message` under `code`, once per process; returns whether it was emitted now. */
export function warnOnce(code: WarningCode, message: string): boolean {
  return emitWarningOnce(code, message, 'TlsResumptionWarning');
}
