/**
 * The guard every external store is driven through: a deadline on every call, a
 * circuit breaker, and counters. A store that is slow, down, broken or hostile costs
 * at most one deadline per call and then nothing while the circuit is open; it never
 * costs more than a full handshake.
 *
 * Breaker states (as in Nygard's "Release It!"):
 *   closed    --(failureThreshold consecutive timeouts/errors)--> open
 *   open      --(cooldownMs elapsed, next call)-----------------> half-open (that call is the probe)
 *   half-open --(probe answers, even with a miss)---------------> closed
 *   half-open --(probe times out or errors)---------------------> open (cooldown restarts)
 * While open, and while a probe is in flight, calls resolve `skipped` at once. A store
 * that reports it (re)connected (`store.onReady`: the Redis client's 'ready' event)
 * closes the circuit at once, so recovery follows the reconnection, not the timer; if
 * the store still fails, `failureThreshold` more failures open it again.
 *
 * The deadline measures the store, not this process's event loop:
 * - it starts once the request is on its way: in the loop's check phase after the call,
 *   where the Redis client (node-redis) writes what was queued in the meantime; a loop
 *   busy with handshakes when the call is made does not eat into it;
 * - when its timer fires, the answer is looked for first: one more poll phase reads
 *   the sockets before the call is declared timed out, so an answer that arrived in time
 *   but waited in the socket while the loop was busy counts as an answer (`lagged`);
 * - a timer that fired more than a whole deadline late (the loop itself was blocked
 *   that long) still ends the call as a timeout for the handshake, but is not counted
 *   as a store failure by the breaker (`lagTimeouts`).
 */
import { performance } from 'node:perf_hooks';
import type { SessionStore } from './store.js';
import { makeError } from '../errors.js';
import { logger, shortId } from '../debug.js';

const debug = logger('store');

/** Options of `GuardedStore`. */
export interface GuardOptions {
  /** Deadline of each `get`, in milliseconds. Default 50. */
  timeoutMs?: number;
  /** Deadline of each `set` and `delete`, in milliseconds. Default: `timeoutMs`. */
  writeTimeoutMs?: number;
  /** Consecutive timeouts or errors that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long an open circuit skips the store before one probe call, in ms. Default 5000. */
  cooldownMs?: number;
  /** Clock for the breaker, in milliseconds. Default `Date.now`. Deadlines use real timers. */
  now?: () => number;
  /** Called with `true` when the circuit opens and `false` when it closes again. Must not throw. */
  onCircuitChange?: (open: boolean) => void;
}

/** Defaults of `GuardOptions`. */
export const GUARD_DEFAULTS = Object.freeze({
  timeoutMs: 50,
  failureThreshold: 5,
  cooldownMs: 5000,
});

/**
 * What a guarded lookup came to. Only `hit` carries a value; every other outcome is a
 * miss for the handshake (a full handshake follows).
 * - `miss`: the store answered and has nothing.
 * - `timeout`: no answer within the deadline.
 * - `error`: the store rejected, threw, or returned something that is not bytes.
 * - `tampered`: the entry failed to unseal (ERR_TLS_RESUMPTION_UNSEAL).
 * - `skipped`: the circuit is open; the store was not called.
 */
export type GetOutcome = 'hit' | 'miss' | 'timeout' | 'error' | 'tampered' | 'skipped';
/** What a guarded write came to. */
export type WriteOutcome = 'ok' | 'timeout' | 'error' | 'skipped';

/** Counters of a `GuardedStore`, all since construction. */
export interface GuardStats {
  hits: number;
  misses: number;
  /** Calls of any kind that hit their deadline. */
  timeouts: number;
  /** Calls of any kind that rejected, threw or returned a non-Buffer. */
  errors: number;
  /** Lookups whose entry failed to unseal. */
  tampered: number;
  /** Calls not made because the circuit was open. */
  skipped: number;
  /** Successful writes and deletes. */
  writes: number;
  circuitOpen: boolean;
  /** How many times the circuit has opened, counting re-opens after a failed probe. */
  circuitOpened: number;
  /**
   * Answers found only after their deadline timer had fired, in the poll phase the
   * guard waits for before declaring a timeout: they arrived while the event loop was
   * busy, and count as answers.
   */
  lagged: number;
  /**
   * Timeouts whose timer fired more than a whole deadline late (the event loop was
   * blocked): counted in `timeouts`, but not as store failures by the breaker.
   */
  lagTimeouts: number;
  /** Times the store reported it (re)connected while the circuit was open, which closed it. */
  readyCloses: number;
}

type Settled<T> = { kind: 'ok'; value: T } | { kind: 'timeout'; lag: boolean } | { kind: 'error'; err: unknown };

const OPTION_NAMES = new Set(['timeoutMs', 'writeTimeoutMs', 'failureThreshold', 'cooldownMs', 'now', 'onCircuitChange']);

function positive(options: GuardOptions, name: 'timeoutMs' | 'writeTimeoutMs' | 'failureThreshold' | 'cooldownMs', fallback: number, integer = false): number {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `${name} must be a number, got ${typeof v}`);
  }
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)) || v > 2 ** 31 - 1) {
    throw makeError(
      'ERR_TLS_RESUMPTION_OUT_OF_RANGE',
      `${name} must be a ${integer ? 'positive integer' : 'positive number'} below 2^31, got ${v}`,
    );
  }
  return v;
}

/**
 * Drives a `SessionStore` so that the caller never waits past a deadline and never
 * sees a rejection. Every method resolves with an outcome; nothing it calls can throw
 * into the caller, and a store's late answers after the deadline are ignored (their
 * rejections are caught, so none is unhandled).
 *
 * Values are passed through as the store returns them; a hit is just bytes that still
 * have to be verified (sid_ctx, expiry, DER) before OpenSSL sees them.
 */
export class GuardedStore {
  /** The store being guarded. */
  readonly store: SessionStore;
  readonly #timeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #onChange: ((open: boolean) => void) | undefined;

  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #openedAt = 0;
  #consecutiveFailures = 0;
  #stats: Omit<GuardStats, 'circuitOpen'> = {
    hits: 0,
    misses: 0,
    timeouts: 0,
    errors: 0,
    tampered: 0,
    skipped: 0,
    writes: 0,
    circuitOpened: 0,
    lagged: 0,
    lagTimeouts: 0,
    readyCloses: 0,
  };
  #unsubscribeReady: (() => void) | undefined;

  constructor(store: SessionStore, options: GuardOptions = {}) {
    if (store === null || typeof store !== 'object' || typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.delete !== 'function') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'store must be a SessionStore with get, set and delete methods');
    }
    if (options === null || typeof options !== 'object') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'guard options must be an object');
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) throw makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', `unknown guard option: ${name}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'now must be a function returning milliseconds');
    }
    if (options.onCircuitChange !== undefined && typeof options.onCircuitChange !== 'function') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'onCircuitChange must be a function');
    }
    this.store = store;
    this.#timeoutMs = positive(options, 'timeoutMs', GUARD_DEFAULTS.timeoutMs);
    this.#writeTimeoutMs = positive(options, 'writeTimeoutMs', this.#timeoutMs);
    this.#threshold = positive(options, 'failureThreshold', GUARD_DEFAULTS.failureThreshold, true);
    this.#cooldownMs = positive(options, 'cooldownMs', GUARD_DEFAULTS.cooldownMs);
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onCircuitChange;
    if (typeof store.onReady === 'function') {
      // Held weakly: a guard dropped with its cache does not stay alive through the store.
      const self = new WeakRef(this);
      let unsubscribe: (() => void) | undefined;
      try {
        unsubscribe = store.onReady(() => {
          const guard = self.deref();
          if (guard === undefined) unsubscribe?.();
          else guard.#storeReady();
        });
        this.#unsubscribeReady = typeof unsubscribe === 'function' ? unsubscribe : undefined;
      } catch (err) {
        debug('store.onReady threw: %s', describe(err));
      }
    }
  }

  /** Looks `key` up; resolves within the deadline, never rejects. */
  async get(key: string): Promise<{ outcome: GetOutcome; value?: Buffer }> {
    const probe = this.#admit();
    if (probe === undefined) {
      this.#stats.skipped++;
      return { outcome: 'skipped' };
    }
    const r = await this.#call(() => this.store.get(key), this.#timeoutMs);
    if (r.kind === 'timeout') {
      this.#failed(probe, 'timeout', r.lag);
      debug('get %s: timeout after %d ms', shortId(key), this.#timeoutMs);
      return { outcome: 'timeout' };
    }
    if (r.kind === 'error') {
      if ((r.err as { code?: unknown } | null)?.code === 'ERR_TLS_RESUMPTION_UNSEAL') {
        // The store answered; the entry is bad. Not a store failure, so the breaker
        // does not count it, but the caller must treat it as a miss.
        this.#answered(probe);
        this.#stats.tampered++;
        debug('get %s: entry failed to unseal: %s', shortId(key), describe(r.err));
        return { outcome: 'tampered' };
      }
      this.#failed(probe, 'error');
      debug('get %s: error: %s', shortId(key), describe(r.err));
      return { outcome: 'error' };
    }
    const value = r.value as unknown;
    if (value === undefined || value === null) {
      this.#answered(probe);
      this.#stats.misses++;
      return { outcome: 'miss' };
    }
    if (!(value instanceof Uint8Array)) {
      this.#failed(probe, 'error');
      debug('get %s: store returned %s, not bytes', shortId(key), typeof value);
      return { outcome: 'error' };
    }
    this.#answered(probe);
    this.#stats.hits++;
    return { outcome: 'hit', value: Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }

  /** Stores `value` under `key` for `ttlMs`; resolves within the write deadline, never rejects. */
  set(key: string, value: Buffer, ttlMs: number): Promise<WriteOutcome> {
    return this.#write('set', key, () => this.store.set(key, value, ttlMs));
  }

  /** Deletes `key`; resolves within the write deadline, never rejects. */
  delete(key: string): Promise<WriteOutcome> {
    return this.#write('delete', key, () => this.store.delete(key));
  }

  /** A snapshot of the counters and the circuit state. */
  stats(): GuardStats {
    return { ...this.#stats, circuitOpen: this.#state !== 'closed' };
  }

  /** Closes the inner store if it has `close`; never rejects. */
  async close(): Promise<void> {
    this.#unsubscribeReady?.();
    this.#unsubscribeReady = undefined;
    try {
      await this.store.close?.();
    } catch (err) {
      debug('close: %s', describe(err));
    }
  }

  async #write(op: 'set' | 'delete', key: string, fn: () => Promise<unknown>): Promise<WriteOutcome> {
    const probe = this.#admit();
    if (probe === undefined) {
      this.#stats.skipped++;
      return 'skipped';
    }
    const r = await this.#call(fn, this.#writeTimeoutMs);
    if (r.kind === 'ok') {
      this.#answered(probe);
      this.#stats.writes++;
      return 'ok';
    }
    this.#failed(probe, r.kind, r.kind === 'timeout' && r.lag);
    debug('%s %s: %s', op, shortId(key), r.kind === 'error' ? describe(r.err) : 'timeout');
    return r.kind;
  }

  /**
   * Runs `fn` against a deadline. A synchronous throw, a rejection and a thenable that
   * never settles all end here. The deadline starts in the check phase after the call
   * (the request is written by then) and, when its timer fires, waits one more poll
   * phase for an answer already in the socket (see the file comment).
   */
  #call<T>(fn: () => Promise<T>, ms: number): Promise<Settled<T>> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let expired = false;
      const finish = (r: Settled<T>) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        if (expired && r.kind !== 'timeout') this.#stats.lagged++;
        resolve(r);
      };
      // Not unref'd: a caller awaiting the outcome must get it even when nothing else
      // keeps the event loop alive; the timers hold the process for `ms` at most.
      setImmediate(() => {
        if (settled) return;
        const due = performance.now() + ms;
        timer = setTimeout(() => {
          timer = undefined;
          if (settled) return;
          expired = true;
          const late = performance.now() - due;
          // Answers that came in while the loop was busy are read in this poll phase.
          setImmediate(() => finish({ kind: 'timeout', lag: late > ms }));
        }, ms);
      });
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(fn());
      } catch (err) {
        finish({ kind: 'error', err });
        return;
      }
      pending.then(
        (value) => finish({ kind: 'ok', value }),
        (err: unknown) => finish({ kind: 'error', err }),
      );
    });
  }

  /**
   * Decides whether a call may go to the store. Returns undefined to skip it, false for
   * an ordinary call, true when this call is the half-open probe.
   */
  #admit(): boolean | undefined {
    if (this.#state === 'closed') return false;
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) {
      this.#state = 'half-open';
      debug('circuit half-open: probing the store');
      return true;
    }
    return undefined;
  }

  /** The store answered (hit, miss, or a bad entry): it is alive. */
  #answered(probe: boolean): void {
    if (probe && this.#state === 'half-open') {
      this.#state = 'closed';
      this.#consecutiveFailures = 0;
      debug('circuit closed: the store answered the probe');
      this.#notify(false);
    } else if (this.#state === 'closed') {
      this.#consecutiveFailures = 0;
    }
    // A straggler admitted before the circuit opened says nothing about now.
  }

  #failed(probe: boolean, kind: 'timeout' | 'error', lag = false): void {
    if (kind === 'timeout') this.#stats.timeouts++;
    else this.#stats.errors++;
    // A probe overtaken by a ready event (the circuit closed meanwhile) is a straggler.
    probe = probe && this.#state === 'half-open';
    if (lag) {
      // The loop, not the store, was stuck for longer than the deadline: no verdict.
      this.#stats.lagTimeouts++;
      if (probe) this.#state = 'open'; // the next call after the cooldown probes again
      debug('timeout while the event loop was blocked for over %d ms: not counted against the store', this.#timeoutMs);
      return;
    }
    if (probe) {
      this.#open('the probe failed');
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures >= this.#threshold) this.#open(`${this.#consecutiveFailures} consecutive failures`);
  }

  /** The store says it (re)connected: close the circuit now rather than after the cooldown. */
  #storeReady(): void {
    this.#consecutiveFailures = 0;
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stats.readyCloses++;
    debug('circuit closed: the store reports it reconnected');
    this.#notify(false);
  }

  #open(reason: string): void {
    const wasClosed = this.#state === 'closed';
    this.#state = 'open';
    this.#openedAt = this.#now();
    this.#stats.circuitOpened++;
    debug('circuit open for %d ms: %s', this.#cooldownMs, reason);
    if (wasClosed) this.#notify(true);
  }

  #notify(open: boolean): void {
    try {
      this.#onChange?.(open);
    } catch (err) {
      debug('onCircuitChange threw: %s', describe(err));
    }
  }
}

/** A short description of a rejection reason for logs; never throws, whatever `err` is. */
function describe(err: unknown): string {
  try {
    if (err instanceof Error) {
      const code = (err as Error & { code?: unknown }).code;
      return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
    }
    return typeof err === 'string' ? err : Object.prototype.toString.call(err);
  } catch {
    return '(unprintable error)';
  }
}
