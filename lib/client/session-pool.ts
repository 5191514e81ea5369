/**
 * The client cache's policy, without sockets: which session to offer to a
 * destination, what to keep, what to drop. Time is passed in.
 *
 * - Sessions are filed per destination (see DestinationKeys) and never handed to
 *   another one.
 * - TLS 1.3 tickets: several per destination, each handed out once and removed
 *   as it is handed out (RFC 8446 section C.4: reusing a ticket lets a passive
 *   observer link the connections). At most `ticketsPerDestination` are kept; a
 *   new ticket pushes out the oldest.
 * - TLS 1.2 sessions (session ids and RFC 5077 tickets) may be offered again and
 *   again until they expire, as OpenSSL clients do; a destination keeps only its
 *   newest one, so a renewed ticket replaces the old.
 * - The newest live session is offered first: it is the one most likely to be
 *   accepted (a server that rotated its ticket keys still knows it).
 * - Bounded: beyond `max` sessions the least recently used (stored or offered)
 *   is evicted. A JavaScript Set keeps insertion order, so "touch" is delete + add
 *   and the first element is the least recently used.
 * - Expired sessions are never handed out: they are dropped when met, and
 *   `flushExpired` drops them all (OpenSSL's SSL_CTX_flush_sessions).
 */

/** One cached client session. Immutable; the pool works with the object's identity. */
export interface ClientSessionEntry {
  /** The destination key it was filed under. */
  readonly destination: string;
  /**
   * The session in the form Node takes back as `session`: on Nodes that wrap client
   * sessions (lib/node/client-session.ts) the wrapper, else the DER. Secret: never log it.
   */
  readonly session: Buffer;
  /** The SSL_SESSION DER inside `session` (the same bytes when not wrapped); sessions are compared by it. */
  readonly der: Buffer;
  /** True for a TLS 1.3 ticket (offered once); false for a TLS 1.2 session. */
  readonly tls13: boolean;
  /** Wall-clock milliseconds after which it is never offered. */
  readonly expiresAt: number;
  /** A short id prefix for logs. */
  readonly shortId: string;
}

/** Counters kept by the pool itself. */
export interface SessionPoolCounters {
  /** Sessions dropped because they had expired. */
  expired: number;
  /** Sessions dropped to keep a bound (the global `max` or the per-destination ticket count). */
  evicted: number;
}

export class ClientSessionPool {
  readonly #max: number;
  readonly #ticketsPerDestination: number;
  /** Oldest first, per destination. */
  readonly #byDestination = new Map<string, ClientSessionEntry[]>();
  /** Least recently used first. */
  readonly #lru = new Set<ClientSessionEntry>();
  readonly counters: SessionPoolCounters = { expired: 0, evicted: 0 };

  constructor(max: number, ticketsPerDestination: number) {
    this.#max = max;
    this.#ticketsPerDestination = ticketsPerDestination;
  }

  /** Sessions held, expired ones included until they are met or flushed. */
  get size(): number {
    return this.#lru.size;
  }

  /** How many destinations hold at least one session. */
  get destinations(): number {
    return this.#byDestination.size;
  }

  /**
   * Stores `entry`. Returns false, storing nothing, when it has already expired or
   * an entry with the same bytes is held for that destination (that one is then
   * marked as recently used).
   */
  add(entry: ClientSessionEntry, now: number): boolean {
    if (entry.expiresAt <= now) {
      this.counters.expired++;
      return false;
    }
    let list = this.#byDestination.get(entry.destination);
    if (list === undefined) {
      list = [];
      this.#byDestination.set(entry.destination, list);
    }
    const same = list.find((e) => e.der.equals(entry.der));
    if (same !== undefined) {
      this.#touch(same);
      return false;
    }
    if (!entry.tls13) {
      // One TLS 1.2 session per destination: the newest replaces the rest
      // (a renewed RFC 5077 ticket, or a new id after a declined resumption).
      for (const old of list.filter((e) => !e.tls13)) this.remove(old);
      list = this.#byDestination.get(entry.destination) ?? [];
      this.#byDestination.set(entry.destination, list);
    }
    list.push(entry);
    this.#lru.add(entry);
    if (entry.tls13) {
      let tickets = list.filter((e) => e.tls13);
      while (tickets.length > this.#ticketsPerDestination) {
        this.remove(tickets[0]!);
        this.counters.evicted++;
        tickets = tickets.slice(1);
      }
    }
    while (this.#lru.size > this.#max) {
      const oldest = this.#lru.values().next().value as ClientSessionEntry;
      this.remove(oldest);
      this.counters.evicted++;
    }
    return this.#lru.has(entry);
  }

  /**
   * The session to offer to `destination`: the newest live one. A TLS 1.3 ticket
   * is removed as it is returned, so it is never offered twice; a TLS 1.2 session
   * stays and is marked as recently used. Expired sessions met on the way are
   * dropped and counted.
   */
  take(destination: string, now: number): ClientSessionEntry | undefined {
    const list = this.#byDestination.get(destination);
    if (list === undefined) return undefined;
    for (const entry of list.filter((e) => e.expiresAt <= now)) {
      this.remove(entry);
      this.counters.expired++;
    }
    const newest = list.at(-1);
    if (newest === undefined) return undefined;
    if (newest.tls13) this.remove(newest);
    else this.#touch(newest);
    return newest;
  }

  /** The live sessions held for `destination`, oldest first, without changing anything. */
  peek(destination: string, now: number): readonly ClientSessionEntry[] {
    return (this.#byDestination.get(destination) ?? []).filter((e) => e.expiresAt > now);
  }

  /** Removes this very entry. Returns false if it was no longer held. */
  remove(entry: ClientSessionEntry): boolean {
    if (!this.#lru.delete(entry)) return false;
    const list = this.#byDestination.get(entry.destination);
    if (list !== undefined) {
      const at = list.indexOf(entry);
      if (at !== -1) list.splice(at, 1);
      if (list.length === 0) this.#byDestination.delete(entry.destination);
    }
    return true;
  }

  /** Removes the entries of `destination` whose SSL_SESSION DER equals `der`. Returns how many. */
  removeSession(destination: string, der: Buffer): number {
    const list = this.#byDestination.get(destination);
    if (list === undefined) return 0;
    let removed = 0;
    for (const entry of list.filter((e) => e.der.equals(der))) {
      if (this.remove(entry)) removed++;
    }
    return removed;
  }

  /** Removes every session of `destination`. Returns how many. */
  removeDestination(destination: string): number {
    const list = this.#byDestination.get(destination);
    if (list === undefined) return 0;
    let removed = 0;
    for (const entry of [...list]) if (this.remove(entry)) removed++;
    return removed;
  }

  /** Drops every expired session; returns how many (also counted as expired). */
  flushExpired(now: number): number {
    let flushed = 0;
    for (const entry of [...this.#lru]) {
      if (entry.expiresAt <= now && this.remove(entry)) flushed++;
    }
    this.counters.expired += flushed;
    return flushed;
  }

  /** Drops everything (not counted). */
  clear(): void {
    this.#lru.clear();
    this.#byDestination.clear();
  }

  #touch(entry: ClientSessionEntry): void {
    this.#lru.delete(entry);
    this.#lru.add(entry);
  }
}
