/**
 * A ticket key ring: which key encrypts new tickets and which keys still decrypt, as a
 * pure function of the keys held and the time passed in (rustls's rotating ticketer,
 * Go's ticket key rotation). Knows nothing of sockets or stores.
 *
 * Rotating rings divide time into periods of `rotateEveryMs`, aligned on the Unix epoch
 * so that every host agrees on the boundaries without talking: period i is
 * [i * P, (i + 1) * P). The key published for period p is
 *
 *   next      during period p - 1   decrypts (a host whose clock runs ahead already encrypts with it)
 *   current   during period p       encrypts; decrypts
 *   previous  periods p+1..p+keep-1 decrypts and asks OpenSSL to renew the ticket under the current key
 *   gone      from period p + keep  zeroed and dropped: forward secrecy is bounded by keep periods
 *
 * So a ticket stays decryptable for at least (keep - 1) * P and at most keep * P after
 * it was issued, and a host whose clock is off by less than a period still reads the
 * tickets of its peers. Static rings (keys a user brings) have no periods: the first
 * key is current, the others previous.
 *
 * Key names are unique in a ring: a key whose name equals another's with different
 * material replaces it, counted as `nameClashes` and logged, never left to fail
 * silently. Generated names start with the period number (see `keyNamePrefix`), so keys
 * of different periods cannot clash at all.
 *
 * Lookups by name compare every held name in constant time and never exit early.
 */
import { makeError } from '../errors.js';
import { timingSafeEqual } from 'node:crypto';
import { logger } from '../debug.js';
import { destroyTicketKey, keyLabel, sameTicketKey, TICKET_KEY_NAME_LENGTH, type TicketKey } from './key.js';

const log = logger('tickets');

/** What a held key does now. */
export type TicketKeyRole = 'current' | 'previous' | 'next';

/** Counters of a ring; see `TicketKeyRing.stats()`. */
export interface TicketKeyRingStats {
  /** Tickets encrypted with the current key. */
  encrypted: number;
  /** Tickets encrypted with an older key because the current period's key was not available (store down). */
  encryptedStale: number;
  /** Tickets not issued because no usable key was held (the client does a full handshake next time). */
  notIssued: number;
  /** Tickets decrypted with the current key. */
  decryptedCurrent: number;
  /** Tickets decrypted with a previous key (each one renewed under the current key). */
  decryptedPrevious: number;
  /** Tickets decrypted with the next period's key (issued by a host whose clock runs ahead). */
  decryptedNext: number;
  /** Renewals asked of OpenSSL: a fresh ticket under the current key replaces an old one. */
  renewed: number;
  /** Tickets whose key name the ring does not hold (expired, foreign, forged): full handshake. */
  unknownKey: number;
  /** Keys that arrived with the name of a different held key; the newer one replaced it. */
  nameClashes: number;
  /** Keys of a period replaced by another key for the same period (the store is the authority). */
  replaced: number;
  /** Times the encrypting key changed. */
  rotations: number;
  /** Keys held now. */
  keys: number;
}

/** The result of looking a ticket's key name up. */
export interface TicketKeyLookup {
  readonly key: TicketKey;
  readonly role: TicketKeyRole;
  /** True for previous keys: ask OpenSSL to issue a fresh ticket under the current key. */
  readonly renew: boolean;
}

/**
 * A synchronous key source for rotating rings: returns the key of `period`, or
 * undefined. `past` is true for periods before the current one (a random source has
 * nothing to give for those; a derived one does).
 */
export type TicketKeySource = (period: number, past: boolean) => TicketKey | undefined;

/** Options of a rotating ring. */
export interface RotatingRingOptions {
  /** Period length in ms. */
  rotateEveryMs: number;
  /** Keys that decrypt, the current one included (>= 1). */
  keep: number;
  /** The clock, ms since the epoch. Default `Date.now`. Tests drive it. */
  now?: () => number;
  /** Fills missing periods synchronously (random or derived keys); omit for store-fed rings. */
  source?: TicketKeySource;
}

/** What `setKey` did with a key handed to it. */
export type SetKeyResult = 'added' | 'same' | 'replaced' | 'name-clash' | 'outside-window';

interface Slot {
  readonly period: number;
  readonly key: TicketKey;
  /** The period's encrypting key; false once another key for the same period replaced it. */
  primary: boolean;
  role: TicketKeyRole;
}

/**
 * The first 8 bytes of a generated key name: the period number, big-endian. Keys of
 * different periods therefore never share a name, and the remaining 8 random (or
 * derived) bytes keep two keys of one period apart.
 */
export function keyNamePrefix(period: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(period));
  return b;
}

const STATIC_PERIOD = 0;

/** See the file comment. Create with `TicketKeyRing.rotating()` or `TicketKeyRing.fixed()`. */
export class TicketKeyRing {
  /** Period length in ms; Infinity for a static ring. */
  readonly rotateEveryMs: number;
  /** Keys that decrypt, the current one included; the number of keys for a static ring. */
  readonly keep: number;
  readonly #now: () => number;
  readonly #source: TicketKeySource | undefined;
  readonly #static: boolean;
  #slots: Slot[] = [];
  #period = Number.NaN;
  #validFrom = Number.POSITIVE_INFINITY;
  #validUntil = Number.NEGATIVE_INFINITY;
  #current: TicketKey | undefined;
  #currentStale = false;
  #destroyed = false;
  readonly #listeners = new Set<(current: TicketKey | undefined) => void>();
  readonly #stats: TicketKeyRingStats = {
    encrypted: 0,
    encryptedStale: 0,
    notIssued: 0,
    decryptedCurrent: 0,
    decryptedPrevious: 0,
    decryptedNext: 0,
    renewed: 0,
    unknownKey: 0,
    nameClashes: 0,
    replaced: 0,
    rotations: 0,
    keys: 0,
  };

  private constructor(rotateEveryMs: number, keep: number, now: () => number, source: TicketKeySource | undefined) {
    this.rotateEveryMs = rotateEveryMs;
    this.keep = keep;
    this.#now = now;
    this.#source = source;
    this.#static = rotateEveryMs === Number.POSITIVE_INFINITY;
  }

  /** A ring that rotates every `rotateEveryMs`, keeping `keep` keys that decrypt. */
  static rotating(options: RotatingRingOptions): TicketKeyRing {
    const { rotateEveryMs, keep } = options;
    if (!(Number.isFinite(rotateEveryMs) && rotateEveryMs > 0) || !(Number.isInteger(keep) && keep >= 1)) {
      throw makeError('ERR_TLS_RESUMPTION_OUT_OF_RANGE', 'rotateEveryMs must be > 0 and keep an integer >= 1');
    }
    return new TicketKeyRing(rotateEveryMs, keep, options.now ?? Date.now, options.source);
  }

  /**
   * A ring of fixed keys, newest first: `keys[0]` encrypts, every key decrypts, older
   * ones renewing. Names must be unique (validate with `validateTicketKeysOption`).
   * Replace the whole set with `replaceKeys()` (like reloading nginx's key files).
   */
  static fixed(keys: readonly TicketKey[]): TicketKeyRing {
    const ring = new TicketKeyRing(Number.POSITIVE_INFINITY, keys.length, Date.now, undefined);
    ring.replaceKeys(keys);
    return ring;
  }

  /** The clock this ring reads. */
  now(): number {
    return this.#now();
  }

  /** The period containing `now` (0 for a static ring). */
  periodAt(now: number): number {
    return this.#static ? STATIC_PERIOD : Math.floor(now / this.rotateEveryMs);
  }

  /** The periods whose keys the ring wants at `now`: oldest decrypting to next. */
  wantedPeriods(now: number = this.#now()): number[] {
    if (this.#static) return [];
    const i = this.periodAt(now);
    const out: number[] = [];
    for (let p = i - this.keep + 1; p <= i + 1; p++) out.push(p);
    return out;
  }

  /** Milliseconds until the encrypting key changes by itself (Infinity for a static ring). */
  msUntilNextPeriod(now: number = this.#now()): number {
    if (this.#static) return Number.POSITIVE_INFINITY;
    return (this.periodAt(now) + 1) * this.rotateEveryMs - now;
  }

  /**
   * The key to encrypt a new ticket with at `now`, or undefined (then no ticket is
   * issued). Counts the encryption. Hot path: one comparison unless the period changed.
   */
  encryptionKey(now: number = this.#now()): TicketKey | undefined {
    if (now >= this.#validUntil || now < this.#validFrom) this.#refresh(now);
    const key = this.#current;
    if (key === undefined) {
      this.#stats.notIssued++;
      return undefined;
    }
    if (this.#currentStale) this.#stats.encryptedStale++;
    else this.#stats.encrypted++;
    return key;
  }

  /**
   * The key named `name` (the first 16 bytes of a ticket), with its role, or undefined
   * for an unknown name. Compares against every held key in constant time. Counts the
   * outcome. Never throws for any input.
   */
  decryptionKey(name: Uint8Array, now: number = this.#now()): TicketKeyLookup | undefined {
    if (now >= this.#validUntil || now < this.#validFrom) this.#refresh(now);
    let found: Slot | undefined;
    if (name instanceof Uint8Array && name.length === TICKET_KEY_NAME_LENGTH) {
      for (const slot of this.#slots) {
        // No early exit: the time taken depends on how many keys are held, not on the name.
        if (timingSafeEqual(slot.key.name, name) && found === undefined) found = slot;
      }
    }
    if (found === undefined) {
      this.#stats.unknownKey++;
      return undefined;
    }
    const role = found.role;
    if (role === 'current') this.#stats.decryptedCurrent++;
    else if (role === 'next') this.#stats.decryptedNext++;
    else {
      this.#stats.decryptedPrevious++;
      this.#stats.renewed++;
    }
    return { key: found.key, role, renew: role === 'previous' };
  }

  /** The key that encrypts at `now` without counting anything (for `setTicketKeys` and tests). */
  currentKey(now: number = this.#now()): TicketKey | undefined {
    if (now >= this.#validUntil || now < this.#validFrom) this.#refresh(now);
    return this.#current;
  }

  /** The keys held at `now`, with their periods and roles (names only matter to callers; keys stay secret). */
  keys(now: number = this.#now()): { period: number; name: Buffer; role: TicketKeyRole; primary: boolean }[] {
    if (now >= this.#validUntil || now < this.#validFrom) this.#refresh(now);
    return this.#slots.map((s) => ({ period: s.period, name: Buffer.from(s.key.name), role: s.role, primary: s.primary }));
  }

  /** True when the ring holds a key for `period` (rotating rings). */
  hasPeriod(period: number): boolean {
    return this.#slots.some((s) => s.period === period && s.primary);
  }

  /**
   * Hands a key for `period` to a rotating ring (from a store). The ring owns it from
   * now on and zeroes it when it leaves. A different key already held for the same
   * period is demoted to decrypt-only ('replaced'): the store is the authority, and
   * tickets under the demoted key still resume (and are renewed).
   */
  setKey(period: number, key: TicketKey, now: number = this.#now()): SetKeyResult {
    if (this.#static || this.#destroyed) {
      destroyTicketKey(key);
      return 'outside-window';
    }
    this.#refresh(now);
    const i = this.#period;
    if (period < i - this.keep + 1 || period > i + 1) {
      destroyTicketKey(key);
      return 'outside-window';
    }
    const result = this.#insert(period, key);
    this.#assignRoles(now);
    return result;
  }

  /** Replaces every key of a static ring (newest first), zeroing the old ones. */
  replaceKeys(keys: readonly TicketKey[]): void {
    if (!this.#static) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'replaceKeys() is for static rings; rotating rings take setKey()');
    const old = this.#slots;
    this.#slots = keys.map((key, index) => ({
      period: STATIC_PERIOD,
      key,
      primary: index === 0,
      role: index === 0 ? ('current' as const) : ('previous' as const),
    }));
    for (const s of old) if (!keys.includes(s.key)) destroyTicketKey(s.key);
    this.#validFrom = Number.NEGATIVE_INFINITY;
    this.#validUntil = Number.POSITIVE_INFINITY;
    this.#setCurrent(keys[0], false);
    this.#stats.keys = this.#slots.length;
  }

  /**
   * Brings the ring up to `now`: drops and zeroes expired keys, fills missing periods
   * from the source, and tells listeners when the encrypting key changed. The hot paths
   * call this on their own at a period boundary; timers call it for `setTicketKeys()`.
   */
  tick(now: number = this.#now()): void {
    this.#refresh(now, true);
  }

  /** Calls `listener(currentKey)` whenever the encrypting key changes. Returns an unsubscribe function. */
  onChange(listener: (current: TicketKey | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A snapshot of the counters. */
  stats(): TicketKeyRingStats {
    return { ...this.#stats, keys: this.#slots.length };
  }

  /** Zeroes and drops every key; the ring encrypts and decrypts nothing afterwards. */
  destroy(): void {
    this.#destroyed = true;
    for (const s of this.#slots) destroyTicketKey(s.key);
    this.#slots = [];
    this.#validFrom = Number.NEGATIVE_INFINITY;
    this.#validUntil = Number.POSITIVE_INFINITY;
    this.#setCurrent(undefined, false);
  }

  #refresh(now: number, force = false): void {
    if (this.#static || this.#destroyed) return;
    const i = this.periodAt(now);
    if (i === this.#period && !force) {
      this.#validFrom = i * this.rotateEveryMs;
      this.#validUntil = (i + 1) * this.rotateEveryMs;
      return;
    }
    this.#period = i;
    this.#validFrom = i * this.rotateEveryMs;
    this.#validUntil = (i + 1) * this.rotateEveryMs;
    const first = i - this.keep + 1;
    const kept: Slot[] = [];
    for (const s of this.#slots) {
      if (s.period >= first && s.period <= i + 1) kept.push(s);
      else {
        log('key %s of period %d expired: zeroed', keyLabel(s.key.name), s.period);
        destroyTicketKey(s.key);
      }
    }
    this.#slots = kept;
    if (this.#source) {
      for (let p = first; p <= i + 1; p++) {
        if (this.hasPeriod(p)) continue;
        const key = this.#source(p, p < i);
        if (key) this.#insert(p, key);
      }
    }
    this.#assignRoles(now);
  }

  #insert(period: number, key: TicketKey): SetKeyResult {
    const samePeriod = this.#slots.find((s) => s.period === period && s.primary);
    if (samePeriod && sameTicketKey(samePeriod.key, key)) {
      if (samePeriod.key !== key) destroyTicketKey(key);
      return 'same';
    }
    let result: SetKeyResult = 'added';
    const clash = this.#slots.find((s) => timingSafeEqual(s.key.name, key.name));
    if (clash && sameTicketKey(clash.key, key)) {
      // The same key again (say, one that had been demoted): keep one copy, no clash.
      this.#slots = this.#slots.filter((s) => s !== clash);
      destroyTicketKey(clash.key);
    } else if (clash) {
      // Two keys under one name: only one can be looked up, so the newer one wins and the
      // clash is counted and logged. Tickets under the old one now get a full handshake.
      this.#stats.nameClashes++;
      log('key name clash on %s (period %d): the new key replaces the old one', keyLabel(key.name), period);
      this.#slots = this.#slots.filter((s) => s !== clash);
      destroyTicketKey(clash.key);
      result = 'name-clash';
    }
    const stillSamePeriod = this.#slots.find((s) => s.period === period && s.primary);
    if (stillSamePeriod) {
      stillSamePeriod.primary = false;
      this.#stats.replaced++;
      log('period %d: key %s replaced by %s, kept for decryption', period, keyLabel(stillSamePeriod.key.name), keyLabel(key.name));
      if (result === 'added') result = 'replaced';
    }
    this.#slots.push({ period, key, primary: true, role: 'previous' });
    this.#slots.sort((a, b) => b.period - a.period || Number(b.primary) - Number(a.primary));
    return result;
  }

  #assignRoles(now: number): void {
    const i = this.periodAt(now);
    let current: TicketKey | undefined;
    let stale: TicketKey | undefined;
    for (const s of this.#slots) {
      if (s.period > i) s.role = 'next';
      else if (s.period === i && s.primary) {
        s.role = 'current';
        current = s.key;
      } else {
        s.role = 'previous';
        // Slots are sorted newest first: the first older primary key is the freshest fallback.
        if (stale === undefined && s.primary) stale = s.key;
      }
    }
    this.#stats.keys = this.#slots.length;
    if (current) this.#setCurrent(current, false);
    else {
      if (stale && !this.#currentStale) log('no key for period %d yet: encrypting with the previous key %s', i, keyLabel(stale.name));
      this.#setCurrent(stale, stale !== undefined);
    }
  }

  #setCurrent(key: TicketKey | undefined, stale: boolean): void {
    const previous = this.#current;
    this.#current = key;
    this.#currentStale = stale;
    if (previous === key) return;
    if (previous !== undefined && key !== undefined) this.#stats.rotations++;
    log('encrypting key is now %s%s', key ? keyLabel(key.name) : 'none', stale ? ' (stale)' : '');
    for (const listener of this.#listeners) {
      try {
        listener(key);
      } catch (err) {
        log('ticket key change listener failed: %s', (err as Error).message);
      }
    }
  }
}
