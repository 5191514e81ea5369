/**
 * Shares a rotating ring's keys through a SessionStore: Redis across hosts, the cluster
 * primary across the workers of one machine.
 *
 * Each period's key lives under `<namespace>:<rotateEveryMs>:<period>`. For the current
 * and the next period, a host that finds no key generates one and offers it with the
 * store's `add()` (set-if-absent; Redis: SET NX PX): exactly one offer wins, every
 * other host reads the winner's key. Keys of past periods are only ever read, never
 * created, so a key the store has dropped is gone for good. The next period's key is
 * published one whole period ahead, so hosts whose clocks differ by less than a period
 * agree on it before any of them uses it.
 *
 * Stored value (then sealed by the store), version 1:
 *
 *   struct {
 *     uint8  version;          // 1
 *     int64  period;           // big-endian; must equal the period of the store key
 *     opaque key[48];          // name16 | hmac16 | aes16; name starts with the period
 *   } SharedTicketKey;
 *
 * A value that does not parse, names another period, or fails to unseal is counted as
 * `invalid` and never used. Every store call has a deadline; failures are counted and
 * the ring keeps the keys it has (see TicketKeyRing for what it encrypts with then).
 *
 * Until the store has given the current period's key (a store still connecting at
 * attach time, or down), the ring encrypts with a local random key for the current
 * period, so one server still resumes its own tickets; the store's key replaces it as
 * soon as it arrives (the local key keeps decrypting, and its tickets are renewed under
 * the shared key). While the shared key is missing, syncs are retried with a short
 * backoff (100 ms doubling, at most RETRY_MAX_MS) and at once on the store's ready
 * event (`store.onReady`), so the shared keys are in place within a second of the store
 * becoming reachable. `stats().shared` says whether the current key is the store's.
 *
 * Security: the store must seal values (checked: `store.sealed === true`), the entry's
 * TTL ends (keep + 1) periods after publication plus a small clock-skew grace, and the
 * library never logs keys or writes them to disk.
 */
import { logger } from '../debug.js';
import { makeError } from '../errors.js';
import type { SessionStore } from '../stores/store.js';
import { destroyTicketKey, encodeTicketKey, generateTicketKey, keyLabel, parseTicketKey, type RandomBytes, type TicketKey } from './key.js';
import { checkTicketKeyStore, DEFAULT_NAMESPACE, DEFAULT_STORE_TIMEOUT_MS } from './options.js';
import { keyNamePrefix, type TicketKeyRing } from './ring.js';

const log = logger('tickets');

/** Format version of a stored key. */
export const SHARED_KEY_VERSION = 1;
const VALUE_LENGTH = 1 + 8 + 48;
/** Longest extra store lifetime given to a key for hosts whose clocks lag. */
export const MAX_SKEW_GRACE_MS = 60_000;
/** First retry delay while the current period's shared key is missing. */
export const RETRY_MIN_MS = 100;
/** Longest retry delay while the current period's shared key is missing. */
export const RETRY_MAX_MS = 500;
/** How long the first sync may take before a local key stands in. */
export const FIRST_SYNC_GRACE_MS = 100;

/** Options of `SharedTicketKeys`. */
export interface SharedTicketKeysOptions {
  /** A sealed store with `add()`. */
  store: SessionStore;
  /** A rotating ring without a source of its own: this class feeds it. */
  ring: TicketKeyRing;
  /** Store key prefix. Default 'tickets'. */
  namespace?: string;
  /** Deadline for each store call. Default 2000 ms. */
  storeTimeoutMs?: number;
  /** How often `start()` re-reads the store. Default a quarter period, at most 5 minutes. */
  refreshEveryMs?: number;
  /** Randomness for new keys. */
  random?: RandomBytes;
}

/** Counters of a SharedTicketKeys. */
export interface SharedTicketKeysStats {
  /** Sync passes run. */
  syncs: number;
  /** Keys this host created (elections it won). */
  created: number;
  /** Elections lost: another host's key was already there or got there first. */
  lostElections: number;
  /** Keys read from the store. */
  fetched: number;
  /** Periods the store had no key for (past periods are never recreated). */
  missing: number;
  /** Stored values rejected: unparseable, another period's, or failing to unseal. */
  invalid: number;
  /** Store calls that failed or missed their deadline. */
  storeErrors: number;
  /** Local keys made because the store had not given the current period's key (yet). */
  localKeys: number;
  /** True when the key encrypting now is the store's (shared with every host), false for a local or no key. */
  shared: boolean;
}

/** What one sync pass did, per period. */
export interface SyncReport {
  /** The current period at the time of the sync. */
  period: number;
  created: number[];
  fetched: number[];
  missing: number[];
  failed: number[];
  /** True when the ring holds the store's key of the current period afterwards (a local key is not enough). */
  ok: boolean;
  /** True when this pass put a local key in place because the store gave none. */
  local: boolean;
}

function encodeValue(period: number, key: TicketKey): Buffer {
  const raw = encodeTicketKey(key);
  const value = Buffer.alloc(VALUE_LENGTH);
  value[0] = SHARED_KEY_VERSION;
  value.writeBigInt64BE(BigInt(period), 1);
  raw.copy(value, 9);
  raw.fill(0);
  return value;
}

function decodeValue(period: number, value: Uint8Array): TicketKey | undefined {
  if (!(value instanceof Uint8Array) || value.length !== VALUE_LENGTH || value[0] !== SHARED_KEY_VERSION) return undefined;
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.readBigInt64BE(1) !== BigInt(period)) return undefined;
  const key = parseTicketKey(buf.subarray(9));
  if (!key.name.subarray(0, 8).equals(keyNamePrefix(period))) return undefined;
  return key;
}

function withDeadline<T>(start: () => Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(makeError('ERR_TLS_RESUMPTION_STORE_TIMEOUT', `${what} took longer than ${ms} ms`)),
      ms,
    );
    Promise.resolve()
      .then(start)
      .then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
  });
}

/** See the file comment. */
export class SharedTicketKeys {
  readonly #store: SessionStore;
  readonly #ring: TicketKeyRing;
  readonly #namespace: string;
  readonly #timeoutMs: number;
  readonly #refreshMs: number;
  readonly #random: RandomBytes | undefined;
  #inflight: Promise<SyncReport> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #retryMs = RETRY_MIN_MS;
  #unsubscribeReady: (() => void) | undefined;
  /** Periods whose primary key in the ring is a local one, not the store's. */
  readonly #localPeriods = new Set<number>();
  readonly #stats: SharedTicketKeysStats = {
    syncs: 0,
    created: 0,
    lostElections: 0,
    fetched: 0,
    missing: 0,
    invalid: 0,
    storeErrors: 0,
    localKeys: 0,
    shared: false,
  };

  constructor(options: SharedTicketKeysOptions) {
    this.#store = checkTicketKeyStore(options.store);
    this.#ring = options.ring;
    if (!Number.isFinite(options.ring.rotateEveryMs)) {
      throw makeError('ERR_TLS_RESUMPTION_TICKET_ROTATION', 'SharedTicketKeys needs a rotating ring, not a static one');
    }
    this.#namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.#timeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.#refreshMs = options.refreshEveryMs ?? Math.min(Math.max(options.ring.rotateEveryMs / 4, 1000), 5 * 60_000);
    this.#random = options.random;
  }

  /** The store key of `period`'s ticket key. */
  storeKey(period: number): string {
    return `${this.#namespace}:${this.#ring.rotateEveryMs}:${period}`;
  }

  /** A snapshot of the counters. */
  stats(): SharedTicketKeysStats {
    return { ...this.#stats, shared: this.hasSharedKey() };
  }

  /** True when the ring holds the store's key for the period at `now` (not a local stand-in). */
  hasSharedKey(now: number = this.#ring.now()): boolean {
    const period = this.#ring.periodAt(now);
    return this.#ring.hasPeriod(period) && !this.#localPeriods.has(period);
  }

  /**
   * One pass at `now`: reads every wanted period's key, creates (by election) missing
   * current/next keys, and hands what it got to the ring. Never rejects; concurrent
   * calls share one pass.
   */
  sync(now: number = this.#ring.now()): Promise<SyncReport> {
    if (this.#inflight) return this.#inflight;
    const pass = this.#sync(now).finally(() => {
      this.#inflight = undefined;
    });
    this.#inflight = pass;
    return pass;
  }

  /**
   * Runs a first sync, then re-syncs every `refreshEveryMs` and right after each period
   * boundary (timers unref'd, with a little jitter so hosts do not all hit the store at
   * once); while the current shared key is missing, every RETRY_MIN_MS..RETRY_MAX_MS
   * and on the store's ready event. When the first pass gets no shared key and the
   * store has `ready()`, waits for it (at most the store deadline) and syncs again.
   * Resolves with the last of those reports (`ok`: shared keys obtained); never rejects.
   */
  start(): Promise<SyncReport> {
    if (this.#running) return this.sync();
    this.#running = true;
    this.#subscribeReady();
    // A store that says it cannot answer yet gets a local key at once; any other store
    // has FIRST_SYNC_GRACE_MS to answer before one stands in (a hung store's first sync
    // takes its whole deadline).
    let grace: NodeJS.Timeout | undefined;
    if (this.#store.isReady === false) this.#localFallback(this.#ring.periodAt(this.#ring.now()), this.#ring.now());
    else {
      grace = setTimeout(() => {
        if (this.#running && !this.hasSharedKey()) this.#localFallback(this.#ring.periodAt(this.#ring.now()), this.#ring.now());
      }, FIRST_SYNC_GRACE_MS);
      grace.unref();
    }
    return this.sync().then(async (first) => {
      clearTimeout(grace);
      let report = first;
      const store = this.#store;
      if (!report.ok && this.#running && typeof store.ready === 'function') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.resolve()
            .then(() => store.ready!())
            .catch(() => {}),
          new Promise<void>((r) => {
            timer = setTimeout(r, this.#timeoutMs);
            timer.unref();
          }),
        ]);
        clearTimeout(timer);
        if (this.#running && !this.hasSharedKey()) report = await this.sync();
      }
      if (this.#running) this.#schedule();
      return report.ok || !this.hasSharedKey() ? report : { ...report, ok: true };
    });
  }

  /** Stops the timer and the ready listener (idempotent). Keys already in the ring stay there. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribeReady?.();
    this.#unsubscribeReady = undefined;
  }

  #subscribeReady(): void {
    if (typeof this.#store.onReady !== 'function') return;
    try {
      const unsubscribe = this.#store.onReady(() => {
        if (!this.#running) return;
        log('the store is ready: syncing ticket keys');
        void this.sync().then(() => this.#schedule());
      });
      this.#unsubscribeReady = typeof unsubscribe === 'function' ? unsubscribe : undefined;
    } catch (err) {
      log('store.onReady threw: %s', (err as Error)?.message);
    }
  }

  #schedule(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    let wait: number;
    if (!this.hasSharedKey()) {
      // The current key is missing or local: retry soon, backing off a little.
      wait = this.#retryMs;
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    } else {
      this.#retryMs = RETRY_MIN_MS;
      const untilBoundary = this.#ring.msUntilNextPeriod() + 50;
      const jitter = Math.floor(Math.random() * Math.min(1000, this.#refreshMs / 10));
      wait = Math.max(250, Math.min(this.#refreshMs, untilBoundary) + jitter);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sync().finally(() => this.#schedule());
    }, Math.min(wait, 2 ** 31 - 1));
    this.#timer.unref();
  }

  async #sync(now: number): Promise<SyncReport> {
    this.#stats.syncs++;
    const period = this.#ring.periodAt(now);
    const report: SyncReport = { period, created: [], fetched: [], missing: [], failed: [], ok: false, local: false };
    const wanted = this.#ring.wantedPeriods(now);
    for (const p of this.#localPeriods) if (p < wanted[0]!) this.#localPeriods.delete(p);
    await Promise.all(wanted.map((p) => this.#syncPeriod(p, p >= period, now, report)));
    report.ok = this.hasSharedKey(now);
    if (!report.ok) {
      log('sync: no shared key for the current period %d (store unavailable?)', period);
      report.local = this.#localFallback(period, now);
    }
    return report;
  }

  /**
   * Puts a local random key in place for `period` when the ring has nothing to encrypt
   * with (no shared key, and no older one still within its lifetime): one server keeps
   * resuming its own tickets. Returns true when it made one.
   */
  #localFallback(period: number, now: number): boolean {
    if (this.#ring.currentKey(now) !== undefined) return false;
    const key = generateTicketKey(keyNamePrefix(period), this.#random);
    if (this.#ring.setKey(period, key, now) !== 'added') return false;
    this.#localPeriods.add(period);
    this.#stats.localKeys++;
    log('no shared ticket key yet: encrypting with local key %s for period %d until the store answers', keyLabel(key.name), period);
    return true;
  }

  /** Hands a key from the store to the ring: it replaces any local stand-in for that period. */
  #setSharedKey(p: number, key: TicketKey, now: number): void {
    this.#ring.setKey(p, key, now);
    if (this.#localPeriods.delete(p)) log('period %d: the shared key replaces the local one (kept for decryption)', p);
  }

  async #read(p: number): Promise<TicketKey | undefined | 'invalid'> {
    const key = this.storeKey(p);
    let value: Buffer | undefined;
    try {
      value = await withDeadline(() => this.#store.get(key), this.#timeoutMs, 'ticket key store get');
    } catch (err) {
      if ((err as { code?: string })?.code === 'ERR_TLS_RESUMPTION_UNSEAL') {
        this.#stats.invalid++;
        log('stored ticket key for period %d failed to unseal: ignored', p);
        return 'invalid';
      }
      throw err;
    }
    if (value === undefined || value === null) return undefined;
    let parsed: TicketKey | undefined;
    try {
      parsed = decodeValue(p, value);
    } catch {
      parsed = undefined;
    }
    value.fill(0);
    if (!parsed) {
      this.#stats.invalid++;
      log('stored ticket key for period %d is malformed: ignored', p);
      return 'invalid';
    }
    return parsed;
  }

  async #syncPeriod(p: number, mayCreate: boolean, now: number, report: SyncReport): Promise<void> {
    try {
      let key = await this.#read(p);
      if (key === undefined && mayCreate) {
        const candidate = generateTicketKey(keyNamePrefix(p), this.#random);
        const value = encodeValue(p, candidate);
        // The entry lives until its last decrypting period ends, plus a little for clock skew.
        const grace = Math.min(this.#ring.rotateEveryMs, MAX_SKEW_GRACE_MS);
        const ttl = Math.max(1, (p + this.#ring.keep) * this.#ring.rotateEveryMs - now + grace);
        let won: boolean;
        try {
          won = await withDeadline(() => this.#store.add!(this.storeKey(p), value, ttl), this.#timeoutMs, 'ticket key store add');
        } catch (err) {
          destroyTicketKey(candidate);
          throw err;
        } finally {
          value.fill(0);
        }
        if (won) {
          this.#stats.created++;
          report.created.push(p);
          log('created ticket key %s for period %d', keyLabel(candidate.name), p);
          this.#setSharedKey(p, candidate, now);
          return;
        }
        destroyTicketKey(candidate);
        this.#stats.lostElections++;
        key = await this.#read(p);
      }
      if (key === undefined) {
        this.#stats.missing++;
        report.missing.push(p);
        return;
      }
      if (key === 'invalid') {
        report.failed.push(p);
        return;
      }
      this.#stats.fetched++;
      report.fetched.push(p);
      this.#setSharedKey(p, key, now);
    } catch (err) {
      this.#stats.storeErrors++;
      report.failed.push(p);
      log('ticket key store failed for period %d: %s', p, (err as Error)?.message);
    }
  }
}
