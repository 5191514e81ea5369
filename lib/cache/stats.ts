import type { MissReason } from './resume-decision.js';

/**
 * The cache's counters. The first eight mirror OpenSSL's SSL_CTX_sess_*(3) counters;
 * the rest say why a resumption did not happen. Counters only grow; `number` and
 * `circuitOpen` are current values. The shape is stable and documented in the README.
 */
export interface SessionCacheStats {
  /** Sessions in the internal store now (SSL_CTX_sess_number). */
  number: number;
  /** Handshakes started in server mode (SSL_CTX_sess_accept). */
  accept: number;
  /** Handshakes completed (SSL_CTX_sess_accept_good). */
  acceptGood: number;
  /** Handshakes that resumed a session, by any mechanism, tickets included (SSL_CTX_sess_hits). */
  hits: number;
  /** Sessions served from the external store (SSL_CTX_sess_cb_hits). */
  cbHits: number;
  /**
   * Proposed sessions found nowhere, store failures included (SSL_CTX_sess_misses). Where
   * the ClientHello is not parsed on a server that allows TLS 1.3, an unknown id counts
   * once its handshake completes as TLS 1.2 (a TLS 1.3 client's legacy id is random).
   */
  misses: number;
  /** Proposed sessions found but expired (SSL_CTX_sess_timeouts). */
  timeouts: number;
  /** Sessions evicted because the internal store was full (SSL_CTX_sess_cache_full). */
  cacheFull: number;

  /** Sessions served from the internal store. */
  internalHits: number;
  /** Proposed sessions made under another session id context. */
  sidCtxMismatch: number;
  /**
   * Proposed sessions made under other trust settings (client certificate policy, CA
   * set, CRLs, certificate identity): after `setSecureContext()` changed them, or from
   * a host configured differently. A full handshake decides instead.
   */
  trustMismatch: number;
  /** Proposed sessions whose full handshake is older than `timeout` (a chain of TLS 1.3 resumptions). */
  authExpired: number;
  /** Proposed sessions whose client certificate has expired (or is not yet valid) since. */
  peerCertExpired: number;
  /**
   * Proposed sessions made for another SNI name; also, where SNI binding is enforced,
   * sessions offered in a ClientHello the pre-parse could not read (name unknown).
   */
  serverNameMismatch: number;
  /** Proposed sessions of another protocol version than the handshake's. */
  protocolMismatch: number;
  /** Proposed sessions removed by `remove()` while their store delete was in flight. */
  removedHits: number;
  /** Stored entries that are not sessions (unparsable DER). */
  invalidSessions: number;
  /** New sessions not cached: no key could be named, or the key held another session. */
  notCached: number;
  /** Of `notCached`, those whose key held a different session (a generator that shortens keys). */
  keyClashes: number;
  /** New TLS 1.3 sessions not cached because tickets are stateless (`tickets: 'node'`). */
  statelessSkipped: number;
  /** Expired sessions removed by automatic or explicit flush. */
  flushed: number;

  /** External store lookups that timed out. */
  storeTimeouts: number;
  /** External store calls that failed. */
  storeErrors: number;
  /** External entries that failed to open (tampered, truncated, foreign key or context). */
  storeTampered: number;
  /** External calls skipped while the circuit breaker was open. */
  storeSkipped: number;
  /** New sessions whose external write failed or timed out. */
  storeWriteFailures: number;
  /** Whether the external store is being skipped now. */
  circuitOpen: boolean;

  /** Connections whose ClientHello the pre-parse read (TLS 1.3 stateful tickets, SNI binding). */
  helloParsed: number;
  /** Connections handed on without a parsed ClientHello (garbage, timeout, too large). */
  helloUnparsed: number;
  /** Handshakes that failed before completion (Node's tlsClientError). */
  acceptFailed: number;
}

/** Counter names, for exporters (prom-client). */
export type CounterName = Exclude<keyof SessionCacheStats, 'number' | 'circuitOpen'>;

export function emptyStats(): SessionCacheStats {
  return {
    number: 0,
    accept: 0,
    acceptGood: 0,
    hits: 0,
    cbHits: 0,
    misses: 0,
    timeouts: 0,
    cacheFull: 0,
    internalHits: 0,
    sidCtxMismatch: 0,
    trustMismatch: 0,
    authExpired: 0,
    peerCertExpired: 0,
    serverNameMismatch: 0,
    protocolMismatch: 0,
    removedHits: 0,
    invalidSessions: 0,
    notCached: 0,
    keyClashes: 0,
    statelessSkipped: 0,
    flushed: 0,
    storeTimeouts: 0,
    storeErrors: 0,
    storeTampered: 0,
    storeSkipped: 0,
    storeWriteFailures: 0,
    circuitOpen: false,
    helloParsed: 0,
    helloUnparsed: 0,
    acceptFailed: 0,
  };
}

/** The counter a miss reason is tallied in. */
export const MISS_COUNTER: Readonly<Record<MissReason, CounterName | undefined>> = Object.freeze({
  absent: 'misses',
  expired: 'timeouts',
  'auth-expired': 'authExpired',
  'trust-mismatch': 'trustMismatch',
  'peer-cert-expired': 'peerCertExpired',
  'sid-ctx-mismatch': 'sidCtxMismatch',
  'server-name-mismatch': 'serverNameMismatch',
  'protocol-mismatch': 'protocolMismatch',
  removed: 'removedHits',
  invalid: 'invalidSessions',
  'store-timeout': 'misses',
  'store-error': 'misses',
  'store-tampered': 'misses',
  'store-skipped': 'misses',
});
