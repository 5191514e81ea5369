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
}

/** What one sync pass did, per period. */
export interface SyncReport {
  /** The current period at the time of the sync. */
  period: number;
  created: number[];
  fetched: number[];
  missing: number[];
  failed: number[];
  /** True when the ring holds the current period's key afterwards. */
  ok: boolean;
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
  readonly #stats: SharedTicketKeysStats = {
    syncs: 0,
    created: 0,
    lostElections: 0,
    fetched: 0,
    missing: 0,
    invalid: 0,
    storeErrors: 0,
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
    return { ...this.#stats };
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
   * once). Resolves with the first pass's report; never rejects.
   */
  start(): Promise<SyncReport> {
    if (this.#running) return this.sync();
    this.#running = true;
    return this.sync().then((report) => {
      this.#schedule();
      return report;
    });
  }

  /** Stops the timer (idempotent). Keys already in the ring stay there. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!this.#running) return;
    const untilBoundary = this.#ring.msUntilNextPeriod() + 50;
    const jitter = Math.floor(Math.random() * Math.min(1000, this.#refreshMs / 10));
    const wait = Math.max(250, Math.min(this.#refreshMs, untilBoundary) + jitter);
    this.#timer = setTimeout(() => {
      this.sync().finally(() => this.#schedule());
    }, Math.min(wait, 2 ** 31 - 1));
    this.#timer.unref();
  }

  async #sync(now: number): Promise<SyncReport> {
    this.#stats.syncs++;
    const period = this.#ring.periodAt(now);
    const report: SyncReport = { period, created: [], fetched: [], missing: [], failed: [], ok: false };
    await Promise.all(this.#ring.wantedPeriods(now).map((p) => this.#syncPeriod(p, p >= period, now, report)));
    report.ok = this.#ring.hasPeriod(period);
    if (!report.ok) log('sync: no key for the current period %d (store unavailable?)', period);
    return report;
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
          this.#ring.setKey(p, candidate, now);
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
      this.#ring.setKey(p, key, now);
    } catch (err) {
      this.#stats.storeErrors++;
      report.failed.push(p);
      log('ticket key store failed for period %d: %s', p, (err as Error)?.message);
    }
  }
}
