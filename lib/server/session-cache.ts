import type { SessionCachePolicy } from '../cache/policy.js';
import { parseMode, type ModeInput } from '../cache/mode.js';
import { normalizeSessionIdContext } from '../cache/session-id-context.js';
import type { SessionCacheStats } from '../cache/stats.js';
import { makeError } from '../errors.js';
import type { Capabilities } from '../node/capabilities.js';
import type { TicketKeysHandle } from './attach-ticket-keys.js';
import type { TicketKeysStats } from './ticket-key-installation.js';
import type { SharedTicketKeysStats } from '../tickets/shared.js';
import type { Seconds } from '../units.js';

/** What the server wiring does for the public object. */
export interface SessionCacheHooks {
  ticketKeys: TicketKeysHandle | undefined;
  capabilities(): Capabilities;
  effectiveSessionIdContext(): string;
  applySessionIdContext(ctx: string): void;
  detach(): void;
}

/**
 * A server's session cache, as returned by `attachSessionCache()`. Its methods follow
 * OpenSSL's SSL_CTX session-cache functions of the same names.
 */
export class SessionCache {
  readonly #policy: SessionCachePolicy;
  readonly #hooks: SessionCacheHooks;
  #detached = false;

  /** @internal Use attachSessionCache(). */
  constructor(policy: SessionCachePolicy, hooks: SessionCacheHooks) {
    this.#policy = policy;
    this.#hooks = hooks;
  }

  /**
   * What works on this Node, feature by feature: each is `working`, `degraded` (safe,
   * full handshakes instead, with the reason in `detail`) or `off` (not configured).
   * Probed at attach time from the Node internals the library relies on and updated by
   * the first sessions (how Node derives the session id context). A degraded feature
   * also emitted one coded warning (TLS_RESUMPTION_*). A fresh, frozen object.
   */
  capabilities(): Capabilities {
    return this.#hooks.capabilities();
  }

  /** The cache mode bits (SSL_CTX_get_session_cache_mode). */
  getMode(): number {
    return this.#policy.mode;
  }

  /**
   * Sets the cache mode (SSL_CTX_set_session_cache_mode): a number, a name or a list.
   * Takes effect from the next handshake. Returns the previous mode.
   */
  setMode(mode: ModeInput): number {
    const next = parseMode(mode);
    const previous = this.#policy.mode;
    this.#policy.mode = next;
    return previous;
  }

  /** The session id context in force. */
  getSessionIdContext(): string {
    return this.#policy.sessionIdContext;
  }

  /**
   * The session id context set on OpenSSL: the configured one bound to the server's
   * trust settings (client certificate policy, CA set, CRLs, certificate identity; see
   * the README's "What a resumed connection proves"). Sessions and tickets resume only
   * where it is the same, so hosts meant to share sessions must agree on it: compare it
   * across a fleet. 32 ASCII characters; not secret.
   */
  getEffectiveSessionIdContext(): string {
    return this.#hooks.effectiveSessionIdContext();
  }

  /**
   * Sets the session id context on every context of the server (default, SNI, and
   * any later one), as SSL_CTX_set_session_id_context(3). Over 32 bytes: a RangeError
   * (ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG) and nothing changes. Sessions made under
   * the old context are no longer resumed (counted in `sidCtxMismatch`).
   */
  setSessionIdContext(ctx: string | Buffer): void {
    this.#assertAttached();
    const value = normalizeSessionIdContext(ctx, 'sessionIdContext');
    this.#hooks.applySessionIdContext(value);
  }

  /**
   * Adds a session to the internal store (SSL_CTX_add_session(3)): `id` is its session
   * id and `der` its DER, as Node's `newSession` gives them. Returns false when the
   * identical session is already there; a different session with the same id replaces
   * it. Throws ERR_TLS_RESUMPTION_INVALID_SESSION when `der` is not such a session.
   */
  add(id: Buffer, der: Buffer): boolean {
    return this.#policy.add(id, der);
  }

  /**
   * Removes a session (SSL_CTX_remove_session(3)) from the internal store and the
   * external one; it is never resumed again. Returns false when it was not in the
   * internal store.
   */
  remove(id: Buffer): boolean {
    return this.#policy.remove(id);
  }

  /** Whether a session with this id is in the internal store (SSL_has_matching_session_id(3)). */
  hasMatchingSessionId(id: Buffer): boolean {
    return this.#policy.hasMatchingSessionId(id);
  }

  /**
   * Removes sessions expired at `atTimeSeconds` (seconds since the epoch; default now)
   * from the internal store (SSL_CTX_flush_sessions(3)). Returns how many.
   */
  flush(atTimeSeconds?: Seconds): number {
    if (atTimeSeconds !== undefined && (typeof atTimeSeconds !== 'number' || !Number.isFinite(atTimeSeconds))) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'flush(atTimeSeconds): a number of seconds since the epoch');
    }
    return this.#policy.flush(atTimeSeconds === undefined ? undefined : atTimeSeconds * 1000);
  }

  /** The counters: OpenSSL's SSL_CTX_sess_* and why resumptions failed. A fresh object. */
  stats(): SessionCacheStats {
    return this.#policy.stats();
  }

  /**
   * The ticket key ring's counters (encryptions, decryptions by current and older keys,
   * renewals, unknown keys, rotations), or undefined without `ticketKeys`.
   */
  ticketKeyStats(): (TicketKeysStats & { store?: SharedTicketKeysStats }) | undefined {
    return this.#hooks.ticketKeys?.stats();
  }

  /**
   * Resolves once the first ticket keys are in place: `true` when they are the ones
   * configured (static keys) or the fleet's shared key, `false` when a shared ring is
   * still on its local key because its store is connecting or down (it keeps retrying;
   * `ticketKeyStats().store.shared` follows it). `true` without `ticketKeys`. Never rejects.
   */
  ticketKeysReady(): Promise<boolean> {
    return this.#hooks.ticketKeys?.ready ?? Promise.resolve(true);
  }

  /**
   * Takes the cache off the server: its listeners, the ClientHello pre-parse and its
   * wrappers are removed and the session id context restored. Sessions in flight
   * finish normally. Idempotent.
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#hooks.detach();
  }

  #assertAttached(): void {
    if (this.#detached) throw makeError('ERR_TLS_RESUMPTION_DETACHED', 'this session cache was detached from its server');
  }
}
