/**
 * The session cache policy: OpenSSL's session-cache semantics (modes, session id
 * context, expiry, auto-flush, add/remove, counters) over an internal LRU store and
 * an optional external store. Knows nothing of sockets: the server wiring feeds it
 * session ids, DER bytes and what the ClientHello asked for. The external store (its
 * I/O, its key space, the tombstones of removed keys) sits behind external-sessions.ts,
 * and cached-session.ts turns a DER into the session kept.
 *
 * Mode semantics (SSL_CTX_set_session_cache_mode(3)):
 * - no SERVER bit: nothing is stored or looked up;
 * - lookups try the internal store first unless NO_INTERNAL_LOOKUP, then the external;
 * - an external hit is copied into the internal store unless NO_INTERNAL_STORE;
 * - new sessions go to the internal store unless NO_INTERNAL_STORE, and always to the
 *   external one;
 * - expired sessions are flushed every 255 completed handshakes unless NO_AUTO_CLEAR.
 */
import {
  AUTO_CLEAR_EVERY,
  SESS_CACHE_NO_AUTO_CLEAR,
  SESS_CACHE_NO_INTERNAL_LOOKUP,
  SESS_CACHE_NO_INTERNAL_STORE,
  SESS_CACHE_SERVER,
  TLS1_3_VERSION,
} from '../constants.js';
import { logger, shortId } from '../debug.js';
import { makeError } from '../errors.js';
import type { GuardedSessionStore, InternalStore } from '../stores/store.js';
import { cachedSessionFromDer, type CachedSession } from './cached-session.js';
import { ExternalSessions, type ExternalRead } from './external-sessions.js';
import { decideResume, type MissReason, type ResumeRequest, type SessionIdContextCheck } from './resume-decision.js';
import { sessionKeyFor, type SessionKeyNaming } from './session-key.js';
import type { CacheAccounting } from './accounting.js';
import type { SessionCacheStats } from './stats.js';

const log = logger('cache');


export interface PolicyConfig {
  mode: number;
  /** The context as configured (names the store namespace). */
  sessionIdContext: string;
  /** The context set on OpenSSL: the configured one bound to the trust settings. */
  effectiveSessionIdContext: string;
  /** The fingerprint of the server's trust settings (lib/node/trust-settings.ts). */
  trust: string;
  /** Builds the check that recognises sessions of a context (Node may bind them to SNI names). */
  sidCtxCheck: (ctx: string) => SessionIdContextCheck;
  /** Told how each new session's context was derived; undefined: in no way the check knows. */
  onSidCtxObserved?: (derivation: string | undefined) => void;
  /** Seconds; caps every session's own timeout. */
  timeout: number;
  naming: SessionKeyNaming;
  /** The in-process store (a MemoryStore bounded by cacheSize). */
  internal: InternalStore<CachedSession>;
  /** The external store behind its guard, if any. */
  external: GuardedSessionStore | undefined;
  waitForStoreWrites: boolean;
  /** False when TLS 1.3 tickets are stateless: their sessions are never looked up by id. */
  statefulTls13: boolean;
  /** Where every outcome is counted (and published); shared with the server wiring. */
  accounting: CacheAccounting;
  now: () => number;
}

/** What the ClientHello of a resuming connection asked for. */
export interface LookupRequest {
  /** The SNI name; null when the hello was not parsed. */
  serverName: string | undefined | null;
  /** The version the handshake will negotiate; undefined when unknown. */
  protocolVersion: number | undefined;
  /**
   * False when an 'absent' miss cannot be told from a TLS 1.3 client's random legacy id
   * yet: the wiring counts it once the handshake shows a TLS 1.2 proposal.
   */
  countAbsent?: boolean;
}

/** `der` to resume (and the session it came from), or null and why not. */
export type LookupCallback = (der: Buffer | null, reason?: MissReason, session?: CachedSession) => void;

/** What the wiring knows of a new session beyond its DER. */
export interface NewSessionFacts {
  /** The SNI name of its connection: a name, undefined (none sent), null (unknown). */
  serverName: string | undefined | null;
  /** When the connection resumed a session this cache served: that chain's full-handshake time, ms. */
  authTimeMs: number | undefined;
}

/** Calls `fn` at most once, whatever happens after. */
function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args: A) => {
    if (called) return;
    called = true;
    fn(...args);
  };
}

export class SessionCachePolicy {
  #mode: number;
  #sidCtx: string;
  #trust: string;
  #sidCtxMatch: SessionIdContextCheck;
  readonly #sidCtxCheck: (ctx: string) => SessionIdContextCheck;
  readonly #onSidCtxObserved: ((derivation: string | undefined) => void) | undefined;
  readonly #timeoutMs: number;
  readonly #internal: InternalStore<CachedSession>;
  readonly #external: ExternalSessions | undefined;
  readonly #naming: SessionKeyNaming;
  readonly #waitForStoreWrites: boolean;
  #statefulTls13: boolean;
  readonly #now: () => number;
  readonly #acct: CacheAccounting;

  constructor(config: PolicyConfig) {
    this.#mode = config.mode;
    this.#sidCtx = config.sessionIdContext;
    this.#trust = config.trust;
    this.#sidCtxCheck = config.sidCtxCheck;
    this.#sidCtxMatch = config.sidCtxCheck(config.effectiveSessionIdContext);
    this.#onSidCtxObserved = config.onSidCtxObserved;
    this.#timeoutMs = config.timeout * 1000;
    this.#internal = config.internal;
    this.#external =
      config.external &&
      new ExternalSessions({ store: config.external, accounting: config.accounting, timeoutMs: this.#timeoutMs, now: config.now });
    this.#naming = config.naming;
    this.#waitForStoreWrites = config.waitForStoreWrites;
    this.#statefulTls13 = config.statefulTls13;
    this.#acct = config.accounting;
    this.#now = config.now;
  }

  get mode(): number {
    return this.#mode;
  }
  set mode(mode: number) {
    this.#mode = mode;
  }
  get sessionIdContext(): string {
    return this.#sidCtx;
  }
  /**
   * The contexts in force from the next lookup on: the configured one, the one set on
   * OpenSSL, and the trust fingerprint bound into it.
   */
  setContexts(configured: string, effective: string, trust: string): void {
    this.#sidCtx = configured;
    this.#trust = trust;
    this.#sidCtxMatch = this.#sidCtxCheck(effective);
  }
  set statefulTls13(value: boolean) {
    this.#statefulTls13 = value;
  }

  // ---- the handshake path -------------------------------------------------

  /**
   * Node's `newSession(id, der, done)`: cache the session by mode. `done` is called
   * exactly once: at once, or after the external write when waitForStoreWrites.
   */
  onNewSession(wireId: Buffer, der: Buffer, facts: NewSessionFacts, done: () => void): void {
    const finish = once(done);
    try {
      this.#storeNew(wireId, der, facts, finish);
    } catch (err) {
      log('newSession failed, session not cached: %s', (err as Error)?.message);
      this.#acct.newSession('not-cached', wireId);
      finish();
    }
  }

  #storeNew(wireId: Buffer, der: Buffer, facts: NewSessionFacts, done: () => void): void {
    if ((this.#mode & SESS_CACHE_SERVER) === 0) return done();
    const session = cachedSessionFromDer(
      der,
      { wireId, serverName: facts.serverName, trust: this.#trust, authTimeMs: facts.authTimeMs },
      this.#timeoutMs,
    );
    if (session === undefined) {
      this.#acct.newSession('invalid', wireId);
      return done();
    }
    const derivation = this.#sidCtxMatch.derivationOf(session.sidCtx, session.serverName);
    this.#onSidCtxObserved?.(derivation);
    if (derivation === undefined) {
      // OpenSSL stamped a context we cannot tie to ours: we could not tell this session
      // from a foreign one at lookup, so it is not cached (capabilities() says why).
      log('new session %s not cached: its session id context is not derived from ours', shortId(wireId));
      this.#acct.newSession('not-cached', wireId);
      return done();
    }
    if (session.protocolVersion === TLS1_3_VERSION && !this.#statefulTls13) {
      // Stateless TLS 1.3 tickets carry the session themselves; clients never send
      // this id back, so caching it would only fill the store.
      this.#acct.newSession('stateless-skipped', wireId);
      return done();
    }
    const named = sessionKeyFor(wireId, this.#naming);
    if (!named.ok) {
      log('new session %s not cached: %s', shortId(wireId), named.reason);
      this.#acct.newSession('not-cached', wireId);
      return done();
    }
    const key = named.key;
    const existing = this.#internal.peek(key);
    if (existing !== undefined && !existing.value.wireId.equals(wireId)) {
      // SSL_CTX_set_generate_session_id(3): an unresolved id conflict. OpenSSL fails
      // the handshake; a naming problem on the server should not cost the client its
      // connection, so the session is simply not cached.
      log('new session %s not cached: key %s holds another session', shortId(wireId), shortId(key));
      this.#acct.newSession('key-clash', wireId);
      return done();
    }
    this.#external?.renewed(key);
    if ((this.#mode & SESS_CACHE_NO_INTERNAL_STORE) === 0) {
      this.#acct.evicted(this.#internal.set(key, session, session.expiresAtMs));
    }
    this.#acct.newSession('stored', key);
    if (log.enabled) log('new session %s stored (TLS %s)', shortId(key), session.protocolVersion === TLS1_3_VERSION ? '1.3' : '1.2');
    const write = this.#external?.write(key, session);
    if (write === undefined) return done();
    // TLS 1.3 sessions never wait: Node holds the tickets until `done`, and a server that
    // ends the connection meanwhile loses both its data and the tickets (measured on
    // Node 20). A TLS 1.3 client holds no ticket before `done` anyway.
    if (this.#waitForStoreWrites && session.protocolVersion !== TLS1_3_VERSION) void write.then(done, done);
    else done();
  }

  /**
   * Node's `resumeSession`: finds the session for `wireId` (the legacy session id, or
   * the TLS 1.3 PSK identity) and calls `cb` exactly once with its DER, or null for a
   * full handshake. Internal hits answer synchronously.
   */
  lookup(wireId: Buffer, request: LookupRequest, cb: LookupCallback): void {
    const answer = once(cb);
    try {
      this.#lookup(wireId, request, answer, request.countAbsent !== false);
    } catch (err) {
      log('lookup failed, full handshake: %s', (err as Error)?.message);
      this.#acct.miss('absent', wireId);
      answer(null);
    }
  }

  #lookup(wireId: Buffer, request: LookupRequest, answer: LookupCallback, countAbsent: boolean): void {
    if ((this.#mode & SESS_CACHE_SERVER) === 0) return answer(null);
    const named = sessionKeyFor(wireId, this.#naming);
    if (!named.ok) return this.#miss(answer, wireId, 'absent', countAbsent);
    const key = named.key;
    if (this.#external?.isRemoved(key) === true) return this.#miss(answer, key, 'removed');
    const resumeRequest: ResumeRequest = {
      sidCtx: this.#sidCtxMatch,
      trust: this.#trust,
      serverName: request.serverName,
      protocolVersion: request.protocolVersion,
    };
    if ((this.#mode & SESS_CACHE_NO_INTERNAL_LOOKUP) === 0) {
      const found = this.#internal.peek(key);
      // A generator that shortens keys can leave another session under this key (the
      // offered one was a clash, not cached): handing that to OpenSSL would break the
      // client's handshake, so only the offered id's own session counts as found.
      if (found !== undefined && found.value.wireId.equals(wireId)) {
        const now = this.#now();
        const decision = decideResume(found.value, resumeRequest, now);
        if (!decision.resume) {
          if (decision.reason === 'expired') this.#internal.delete(key);
          return this.#miss(answer, key, decision.reason);
        }
        this.#internal.get(key, now); // mark most recently used
        this.#acct.hit('internal', key);
        if (log.enabled) log('hit %s (internal)', shortId(key));
        return answer(found.value.der, undefined, found.value);
      }
    }
    const external = this.#external;
    if (external === undefined) return this.#miss(answer, key, 'absent', countAbsent);
    // A hit is checked for a removal in the same callback that answers (see read).
    external.read(key, wireId, (found) => this.#onExternal(key, resumeRequest, found, answer, countAbsent));
  }

  #onExternal(key: string, request: ResumeRequest, found: ExternalRead, answer: LookupCallback, countAbsent: boolean): void {
    if (typeof found === 'string') return this.#miss(answer, key, found, countAbsent);
    const decision = decideResume(found, request, this.#now());
    if (!decision.resume) return this.#miss(answer, key, decision.reason);
    if ((this.#mode & SESS_CACHE_NO_INTERNAL_STORE) === 0) {
      this.#acct.evicted(this.#internal.set(key, found, found.expiresAtMs));
    }
    this.#acct.hit('external', key);
    if (log.enabled) log('hit %s (external)', shortId(key));
    answer(found.der, undefined, found);
  }

  /**
   * Refuses a resumption without looking it up: SNI binding is enforced and the name
   * the client asked for is unknown (its ClientHello was not read). Counted with the
   * name mismatches. Calls `cb(null)` once.
   */
  refuseUnknownServerName(wireId: Buffer, cb: LookupCallback): void {
    if ((this.#mode & SESS_CACHE_SERVER) === 0) return cb(null);
    log('SNI name of the hello offering %s unknown', shortId(wireId));
    this.#miss(once(cb), wireId, 'server-name-mismatch');
  }

  #miss(answer: LookupCallback, key: Buffer | string, reason: MissReason, countAbsent = true): void {
    if (reason !== 'absent' || countAbsent) this.#acct.miss(reason, key);
    if (log.enabled) log('miss %s: %s', shortId(key), reason);
    answer(null, reason);
  }

  // ---- connection accounting ---------------------------------------------

  /** A handshake completed; runs the automatic flush every 255 (SSL_CTX_set_session_cache_mode(3)). */
  handshakeCompleted(resumed: boolean): void {
    const completed = this.#acct.completed(resumed);
    if (completed % AUTO_CLEAR_EVERY === 0 && (this.#mode & SESS_CACHE_NO_AUTO_CLEAR) === 0) {
      const removed = this.flush();
      if (removed > 0) log('auto flush removed %d expired sessions', removed);
    }
  }

  // ---- the public operations ---------------------------------------------

  /** SSL_CTX_add_session(3): false if the identical session is already cached. */
  add(id: Buffer, der: Buffer): boolean {
    if (!Buffer.isBuffer(id)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'id must be a Buffer');
    if (!Buffer.isBuffer(der)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'der must be a Buffer');
    const session = cachedSessionFromDer(der, { serverName: null, trust: undefined, authTimeMs: undefined }, this.#timeoutMs);
    if (session === undefined) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', 'der is not an SSL_SESSION in DER form (as newSession gives it)');
    }
    if (!session.wireId.equals(id)) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', 'id is not the session id inside der');
    }
    const named = sessionKeyFor(id, this.#naming);
    if (!named.ok) throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', `no key for this id: ${named.reason}`);
    const existing = this.#internal.peek(named.key);
    if (existing !== undefined && existing.value.der.equals(der)) return false;
    this.#external?.renewed(named.key);
    this.#acct.evicted(this.#internal.set(named.key, session, session.expiresAtMs));
    return true;
  }

  /**
   * SSL_CTX_remove_session(3): removes the session everywhere the cache reaches; it
   * never resumes again. Returns false if it was not in the internal store.
   */
  remove(id: Buffer): boolean {
    if (!Buffer.isBuffer(id)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'id must be a Buffer');
    const named = sessionKeyFor(id, this.#naming);
    if (!named.ok) return false;
    const key = named.key;
    // Only this id's session: a clashing key may hold another one (see #lookup).
    const had = this.#internal.peek(key)?.value.wireId.equals(id) === true;
    if (had) this.#internal.delete(key);
    this.#external?.remove(key);
    return had;
  }

  /** SSL_has_matching_session_id(3): is a session with this id in the internal store? */
  hasMatchingSessionId(id: Buffer): boolean {
    if (!Buffer.isBuffer(id)) throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'id must be a Buffer');
    const named = sessionKeyFor(id, this.#naming);
    return named.ok && this.#internal.peek(named.key)?.value.wireId.equals(id) === true;
  }

  /** SSL_CTX_flush_sessions(3): removes sessions expired at `atMs` (default now). */
  flush(atMs: number = this.#now()): number {
    const removed = this.#internal.flush(atMs);
    this.#acct.flushed(removed);
    return removed;
  }

  stats(): SessionCacheStats {
    const g = this.#external?.stats();
    return this.#acct.snapshot(
      g === undefined
        ? { number: this.#internal.size }
        : {
            number: this.#internal.size,
            storeTimeouts: g.timeouts,
            storeErrors: g.errors,
            storeTampered: g.tampered,
            storeSkipped: g.skipped,
            circuitOpen: g.circuitOpen,
          },
    );
  }
}
