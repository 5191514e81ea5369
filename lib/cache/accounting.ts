/**
 * All of a cache's counters in one place, and the one place that publishes its
 * decisions on `diagnostics_channel` (lib/diagnostics.ts). The policy and the server
 * wiring report outcomes here; nothing else counts. `stats()` reads a snapshot.
 */
import { shortId } from '../debug.js';
import { lookupChannel, sessionChannel, storeFailureChannel, type SessionMessage } from '../diagnostics.js';
import type { MissReason } from './resume-decision.js';
import { emptyStats, MISS_COUNTER, type SessionCacheStats } from './stats.js';

/** What became of a new session. */
export type NewSessionOutcome = SessionMessage['result'] | 'key-clash';

/** Store failures as the guarded store reports them. */
export type StoreFailure = 'timeout' | 'error' | 'tampered' | 'skipped';

const STORE_FAILURE_OF: Partial<Record<MissReason, StoreFailure>> = {
  'store-timeout': 'timeout',
  'store-error': 'error',
  'store-tampered': 'tampered',
  'store-skipped': 'skipped',
};

export class CacheAccounting {
  readonly #stats = emptyStats();

  /** A proposed session was served. */
  hit(source: 'internal' | 'external', key: Buffer | string): void {
    if (source === 'internal') this.#stats.internalHits++;
    else this.#stats.cbHits++;
    if (lookupChannel.hasSubscribers) lookupChannel.publish({ result: 'hit', source, id: shortId(key) });
  }

  /** A proposed session was not served, for `reason` (counted in exactly one counter). */
  miss(reason: MissReason, key: Buffer | string): void {
    const counter = MISS_COUNTER[reason];
    if (counter !== undefined) this.#stats[counter]++;
    if (lookupChannel.hasSubscribers) lookupChannel.publish({ result: 'miss', reason, id: shortId(key) });
    const failure = STORE_FAILURE_OF[reason];
    if (failure !== undefined && storeFailureChannel.hasSubscribers) {
      storeFailureChannel.publish({ operation: 'get', kind: failure, id: shortId(key) });
    }
  }

  /** What became of a new session. */
  newSession(outcome: NewSessionOutcome, key: Buffer | string): void {
    switch (outcome) {
      case 'invalid':
        this.#stats.invalidSessions++;
        break;
      case 'stateless-skipped':
        this.#stats.statelessSkipped++;
        break;
      case 'key-clash':
        this.#stats.keyClashes++;
        this.#stats.notCached++;
        break;
      case 'not-cached':
        this.#stats.notCached++;
        break;
      case 'stored':
        break;
    }
    if (sessionChannel.hasSubscribers) {
      sessionChannel.publish({ result: outcome === 'key-clash' ? 'not-cached' : outcome, id: shortId(key) });
    }
  }

  /** An external write did not land. */
  storeWriteFailed(kind: StoreFailure, key: Buffer | string): void {
    this.#stats.storeWriteFailures++;
    if (storeFailureChannel.hasSubscribers) storeFailureChannel.publish({ operation: 'set', kind, id: shortId(key) });
  }

  evicted(n: number): void {
    this.#stats.cacheFull += n;
  }
  flushed(n: number): void {
    this.#stats.flushed += n;
  }

  // ---- connections (reported by the server wiring) ----
  accepted(): void {
    this.#stats.accept++;
  }
  acceptFailed(): void {
    this.#stats.acceptFailed++;
  }
  hello(parsed: boolean): void {
    if (parsed) this.#stats.helloParsed++;
    else this.#stats.helloUnparsed++;
  }
  /** A handshake completed; returns how many have (for OpenSSL's auto-clear every 255). */
  completed(resumed: boolean): number {
    this.#stats.acceptGood++;
    if (resumed) this.#stats.hits++;
    return this.#stats.acceptGood;
  }

  /** A fresh copy of the counters, with the values only the caller knows. */
  snapshot(current: Pick<SessionCacheStats, 'number'> & Partial<SessionCacheStats>): SessionCacheStats {
    return { ...this.#stats, ...current };
  }
}
