/**
 * The sessions in the external store: its one key space, the bytes an entry is kept as
 * (stored-session.ts), writes with a TTL, reads verified before OpenSSL sees them, and
 * the tombstones of removed keys. Knows nothing of modes: the policy decides whether
 * to read or write, and what to do with a session read.
 */
import { logger, shortId } from '../debug.js';
import type { GuardedSessionStore } from '../stores/store.js';
import type { CacheAccounting, StoreFailure } from './accounting.js';
import { cachedSessionFromDer, type CachedSession } from './cached-session.js';
import type { MissReason } from './resume-decision.js';
import { decodeStoredSession, encodeStoredSession } from './stored-session.js';

const log = logger('cache');

/**
 * The external store's key for a session key: one namespace for every context, so a
 * host whose context or trust settings differ from its fleet's finds the others'
 * sessions and counts them (sidCtxMismatch, trustMismatch) instead of seeing a cold
 * cache; the resume decision refuses them all the same. The sealing binds each entry
 * to this key.
 */
export function externalSessionKey(key: string): string {
  return `s:${key}`;
}

/** A read's outcome: the session stored for the id, or why there is none. */
export type ExternalRead = CachedSession | MissReason;

export interface ExternalSessionsConfig {
  /** The external store behind its guard. */
  store: GuardedSessionStore;
  /** Where failed writes are counted. */
  accounting: CacheAccounting;
  /** The cache's timeout in ms: caps every session read, and dates the authentication of one written. */
  timeoutMs: number;
  now: () => number;
}

/** A store write's outcome as a failure kind. */
function storeFailureOf(outcome: string): StoreFailure {
  return outcome === 'timeout' || outcome === 'skipped' || outcome === 'tampered' ? outcome : 'error';
}

/** The store's get outcome as the read's answer when it is not a hit. */
function missOf(outcome: string): MissReason {
  switch (outcome) {
    case 'miss':
      return 'absent';
    case 'timeout':
      return 'store-timeout';
    case 'tampered':
      return 'store-tampered';
    case 'skipped':
      return 'store-skipped';
    default:
      return 'store-error';
  }
}

export class ExternalSessions {
  readonly #store: GuardedSessionStore;
  readonly #acct: CacheAccounting;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  /** Keys removed while their external delete is in flight: never served meanwhile. */
  readonly #tombstones = new Set<string>();

  constructor(config: ExternalSessionsConfig) {
    this.#store = config.store;
    this.#acct = config.accounting;
    this.#timeoutMs = config.timeoutMs;
    this.#now = config.now;
  }

  /**
   * Writes `session` under the session key `key` for as long as it may resume (until
   * it or its authentication expires, whichever is first); a failed write is counted and
   * logged. The promise settles once the store has answered; undefined when no time is
   * left, so nothing is written.
   */
  write(key: string, session: CachedSession): Promise<void> | undefined {
    const ttlMs = Math.min(session.expiresAtMs, session.authExpiresAtMs) - this.#now();
    if (ttlMs <= 0) return undefined;
    const stored = encodeStoredSession({
      der: session.der,
      serverName: session.serverName,
      trust: session.trust,
      authTimeMs: session.authExpiresAtMs - this.#timeoutMs,
    });
    return this.#store.set(externalSessionKey(key), stored, ttlMs).then((outcome) => {
      if (outcome !== 'ok') {
        this.#acct.storeWriteFailed(storeFailureOf(outcome), key);
        log('store write %s: %s', shortId(key), outcome);
      }
    });
  }

  /**
   * Reads the session stored for `wireId` under the session key `key` and calls `then`
   * with it, or with why there is none, in the very callback the store answers in: no
   * remove() can come between the removal check and what `then` does with the session.
   * Should `then` throw, that is logged and `then` is called again with 'store-error'
   * (so it answers its own caller once whatever happens).
   */
  read(key: string, wireId: Buffer, then: (found: ExternalRead) => void): void {
    this.#store.get(externalSessionKey(key)).then(
      (result) => {
        try {
          then(this.#found(key, wireId, result.outcome, result.value));
        } catch (err) {
          log('external lookup %s failed: %s', shortId(key), (err as Error)?.message);
          then('store-error');
        }
      },
      () => then('store-error'),
    );
  }

  #found(key: string, wireId: Buffer, outcome: string, value: Buffer | undefined): ExternalRead {
    if (outcome !== 'hit') return missOf(outcome);
    if (this.#tombstones.has(key)) return 'removed';
    const stored = value && decodeStoredSession(value);
    const session = stored && cachedSessionFromDer(stored.der, stored, this.#timeoutMs);
    // An entry is verified before OpenSSL sees it: it must be a session, for this id.
    if (session === undefined || !session.wireId.equals(wireId)) return 'invalid';
    return session;
  }

  /**
   * SSL_CTX_remove_session(3) for the external store: deletes the entry of `key` and
   * refuses the key (isRemoved) until the delete has landed.
   */
  remove(key: string): void {
    this.#tombstones.add(key);
    void this.#store.delete(externalSessionKey(key)).then((outcome) => {
      // Keep refusing the key if the delete did not land: the entry may still be there.
      if (outcome === 'ok') this.#tombstones.delete(key);
    });
  }

  /** Whether `key` was removed and may still be in the store: its sessions are not served. */
  isRemoved(key: string): boolean {
    return this.#tombstones.has(key);
  }

  /** A new session is cached under `key`: the key is no longer refused as removed. */
  renewed(key: string): void {
    this.#tombstones.delete(key);
  }

  /** The guard's counters and circuit state. */
  stats(): ReturnType<GuardedSessionStore['stats']> {
    return this.#store.stats();
  }
}
