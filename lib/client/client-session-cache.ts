import * as tls from 'node:tls';
import type * as https from 'node:https';
import {
  AUTO_CLEAR_EVERY,
  SESS_CACHE_CLIENT,
  SESS_CACHE_NO_AUTO_CLEAR,
  SESS_CACHE_NO_INTERNAL_STORE,
} from '../constants.js';
import { makeError } from '../errors.js';
import { logger } from '../debug.js';
import { validateClientOptions, type ClientSessionCacheConfig, type ClientSessionCacheOptions } from './options.js';
import { DestinationKeys, describeDestination, type DestinationOptions } from './destination.js';
import { ClientSessionPool, type ClientSessionEntry } from './session-pool.js';
import { derOf, sessionEntry, sessionForNode } from './session-entry.js';
import { nodeSessionForm } from './node-session-form.js';
import { createClientSessionAgent, type ClientSessionAgent } from './agent.js';
import { parseMode, type ModeInput } from '../cache/mode.js';
import { deprecate, deprecationCodes, withDeprecatedSize } from '../deprecations.js';
import { undiciConnector, type UndiciConnector, type UndiciConnectorOptions } from './undici-connector.js';
import { kKeepSessionsOnLateErrors } from './late-errors.js';

const debug = logger('client');

/**
 * What `stats()` reports. Counters only grow; `number` is the current number of
 * sessions (SSL_CTX_sess_number). The snapshot also reads `size`, the deprecated name
 * of `number`, which JSON and comparisons do not see.
 */
export interface ClientSessionCacheStats {
  /** Sessions held now (each TLS 1.3 ticket counts as one), expired ones until met or flushed. */
  number: number;
  /** @deprecated Since 0.2: `number`. Not enumerable; reading it emits a DeprecationWarning. */
  readonly size: number;
  /** Sessions stored from 'session' events or `add()`. */
  stored: number;
  /** Sessions handed out: offered by `connect()` or returned by `get()`. */
  offered: number;
  /** Connections made by `connect()` that resumed a session (offered or given by hand). */
  resumed: number;
  /** Connections whose offered session the server did not resume (full handshake instead). */
  declined: number;
  /** Sessions dropped because their lifetime had passed. */
  expired: number;
  /** Sessions dropped to keep the bounds (`cacheSize`, `ticketsPerDestination`). */
  evicted: number;
  /** Sessions dropped because a connection that used or produced them failed. */
  failed: number;
}

/**
 * A client-side TLS session cache: OpenSSL's SSL_SESS_CACHE_CLIENT plus the
 * SSL_set_session(3) choice that OpenSSL leaves to the application, for Node's
 * `tls.connect`, `https.request` (through `agent()`) and undici (`undiciConnector()`).
 *
 * ```ts
 * const sessions = new ClientSessionCache({ cacheSize: 1000 });
 * const socket = sessions.connect({ host, port, servername });  // resumes when it can
 * https.get(url, { agent: sessions.agent() });
 * ```
 *
 * Behaviour:
 * - Sessions are kept per destination (host, port, servername, ALPN and every
 *   option that decides whom we trust and who we are; see DestinationKeys) and
 *   never offered to another destination.
 * - Stored from the socket's 'session' event when the mode includes CLIENT and
 *   not NO_INTERNAL_STORE. Offering does not depend on the mode: sessions added
 *   by hand (`add()`) are offered in any mode, as OpenSSL clients always choose
 *   with SSL_set_session.
 * - TLS 1.3 tickets are offered once each; TLS 1.2 sessions until they expire.
 *   Lifetime: min(session timeout, ticket lifetime hint, `maxLifetime`).
 * - A session the server declined is removed. So are the sessions of a
 *   connection that failed: closed with an error, after reaching the server,
 *   without an orderly TLS shutdown by either side - OpenSSL's "still open"
 *   session (SSL_set_session(3)). Sessions are stored only once Node has
 *   verified the server ('secureConnect'). A TLS 1.3 ticket whose connection
 *   never reached the server (connection refused) is put back: it was never sent.
 * - An explicit `session` in the options of `connect()` wins: the cache does not
 *   offer one of its own, but still stores what the connection brings.
 *
 * Security: sessions hold the master secret in clear; they stay in this process
 * and are never logged. A resumed connection is not re-verified by OpenSSL or
 * `checkServerIdentity`, which is why the destination key includes every trust
 * setting: a session made with `rejectUnauthorized: false` or another `ca` is
 * never offered to a connection that verifies differently.
 */
export class ClientSessionCache {
  readonly #config: ClientSessionCacheConfig;
  readonly #keys = new DestinationKeys();
  readonly #pool: ClientSessionPool;
  readonly #counters = { stored: 0, offered: 0, resumed: 0, declined: 0, failed: 0 };
  #connections = 0;
  #mode: number;

  /** Throws a TypeError/RangeError with an ERR_TLS_RESUMPTION_* code for bad options. */
  constructor(options?: ClientSessionCacheOptions) {
    this.#config = validateClientOptions(options);
    this.#pool = new ClientSessionPool(this.#config.cacheSize, this.#config.ticketsPerDestination);
    this.#mode = this.#config.mode;
  }

  /** The cache mode bits (SSL_CTX_get_session_cache_mode), as on the server's SessionCache. */
  getMode(): number {
    return this.#mode;
  }

  /**
   * Sets the cache mode (SSL_CTX_set_session_cache_mode): a number, a name or a list,
   * as the `mode` option. Takes effect from the next connection; sessions already held
   * stay. Returns the previous mode. Throws ERR_TLS_RESUMPTION_INVALID_MODE.
   */
  setMode(mode: ModeInput): number {
    const next = parseMode(mode);
    const previous = this.#mode;
    this.#mode = next;
    return previous;
  }

  /** @deprecated Since 0.2: `getMode()`. Emits a DeprecationWarning (TLS_RESUMPTION_DEP_CLIENT_MODE). */
  get mode(): number {
    deprecate(deprecationCodes.MODE_IS_GET_MODE, 'ClientSessionCache: the mode property is deprecated, use getMode()');
    return this.#mode;
  }

  /** True when sessions from connections are stored automatically (CLIENT and not NO_INTERNAL_STORE). */
  get storesSessions(): boolean {
    const mode = this.#mode;
    return (mode & SESS_CACHE_CLIENT) !== 0 && (mode & SESS_CACHE_NO_INTERNAL_STORE) === 0;
  }

  /** @deprecated Since 0.2: `stats().number`. Emits a DeprecationWarning (TLS_RESUMPTION_DEP_STATS_SIZE). */
  get size(): number {
    deprecate(deprecationCodes.SIZE_IS_NUMBER, 'ClientSessionCache: the size property is deprecated, use stats().number');
    return this.#pool.size;
  }

  /**
   * `tls.connect(options, secureConnectListener)` with this cache: offers the
   * newest live session for the destination (unless `options.session` is set),
   * stores the sessions the server sends, and drops sessions that were declined
   * or whose connection failed. Returns the TLSSocket `tls.connect` returned; its
   * events and errors are untouched (no 'error' listener is added).
   */
  connect(options: tls.ConnectionOptions, secureConnectListener?: () => void): tls.TLSSocket {
    if (options === null || typeof options !== 'object') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'connect(options): options must be an object');
    }
    this.#autoClear();
    const destination = this.#keys.keyOf(options as DestinationOptions);
    const given = options.session;
    const explicit = given !== undefined && given !== null;
    let offered: ClientSessionEntry | undefined;
    let connectOptions = options;
    if (!explicit) {
      offered = this.#pool.take(destination, this.#config.now());
      if (offered !== undefined) connectOptions = { ...options, session: offered.session };
    }
    debug('connect %s offer=%s', describeDestination(destination), offered?.shortId ?? (explicit ? 'given' : '-'));
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect(connectOptions, secureConnectListener);
    } catch (err) {
      // Node rejected the options before sending anything: the ticket was not used.
      if (offered !== undefined && offered.tls13) this.#pool.add(offered, this.#config.now());
      throw err;
    }
    if (offered !== undefined) this.#counters.offered++;
    const lenient = (options as { [kKeepSessionsOnLateErrors]?: boolean })[kKeepSessionsOnLateErrors] === true;
    const givenDer = explicit ? derOf(typeof given === 'string' ? Buffer.from(given, 'latin1') : Buffer.from(given)) : undefined;
    this.#track(socket, destination, offered, givenDer, options.socket !== undefined, lenient);
    return socket;
  }

  /**
   * An `https.Agent` whose connections go through `connect()`, so that
   * `https.request({ agent })` resumes. `options` are https.Agent options; its
   * own session cache is turned off (`maxCachedSessions: 0`). Use `keepAlive` as
   * usual: a reused socket needs no handshake at all.
   */
  agent(options?: https.AgentOptions): ClientSessionAgent {
    return createClientSessionAgent(this, options);
  }

  /**
   * A connector for undici (the `connect` option of undici's Agent/Client/Pool):
   * `new Agent({ connect: sessions.undiciConnector({ ca }) })`. `options` are TLS
   * options added to every connection. See docs/client.md for the contract.
   */
  undiciConnector(options?: UndiciConnectorOptions): UndiciConnector {
    return undiciConnector(this, options);
  }

  /**
   * The session this cache would offer to `destination` (the options one would
   * pass to `tls.connect`), to pass by hand as `tls.connect({ session })`, or
   * undefined. Like `connect()`, a TLS 1.3 ticket is handed out once: it is
   * removed as it is returned. Counted as offered.
   */
  get(destination: tls.ConnectionOptions): Buffer | undefined {
    const entry = this.#pool.take(this.#keyOf(destination), this.#config.now());
    if (entry === undefined) return undefined;
    this.#counters.offered++;
    return entry.session;
  }

  /**
   * Adds a session by hand for `destination`, whatever the mode (as
   * SSL_CTX_add_session(3) lets an application add to a cache that does not
   * store by itself). Returns false if it was already held or has expired.
   *
   * `session` may be in either form: Node's wrapper (what the 'session' event and
   * `getSession()` give on Node 22.23+, 24.17+, 26.3.1+) or the bare SSL_SESSION DER
   * (Node 20, and servers' `newSession`). It is stored in the form this Node takes
   * back: a bare DER on a wrapping Node is wrapped for the destination's name
   * (`servername`, else `host`), since adding it is the caller saying whose it is;
   * a wrapped session on a Node that does not wrap is unwrapped.
   *
   * Throws ERR_TLS_RESUMPTION_INVALID_SESSION for bytes that are not an SSL_SESSION
   * (or a wrapper cut short), and ERR_TLS_RESUMPTION_SESSION_SERVERNAME for a wrapped
   * session bound to another name than the destination's: Node would never offer it,
   * and a resumption is not checked against the certificate again.
   */
  add(destination: tls.ConnectionOptions, session: Buffer): boolean {
    const key = this.#keyOf(destination);
    if (!Buffer.isBuffer(session)) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', 'add(destination, session): session must be a Buffer');
    }
    const normalised = sessionForNode(session, destination, nodeSessionForm());
    if (!normalised.ok) throw normalised.error;
    const entry = sessionEntry(key, normalised.session, this.#config, undefined);
    if (entry === undefined) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', 'add(destination, session): the session has no id and no ticket to resume with');
    }
    return this.#store(entry);
  }

  /**
   * Removes `session` (either form: wrapped or bare DER) from `destination`, or every
   * session of `destination` when `session` is omitted (SSL_CTX_remove_session).
   * Returns how many were removed.
   */
  remove(destination: tls.ConnectionOptions, session?: Buffer): number {
    const key = this.#keyOf(destination);
    if (session === undefined) return this.#pool.removeDestination(key);
    if (!Buffer.isBuffer(session)) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_SESSION', 'remove(destination, session): session must be a Buffer');
    }
    return this.#pool.removeSession(key, derOf(session));
  }

  /** Drops expired sessions now (SSL_CTX_flush_sessions); returns how many. */
  flush(): number {
    return this.#pool.flushExpired(this.#config.now());
  }

  /** Drops every session (not counted). */
  clear(): void {
    this.#pool.clear();
  }

  /** A snapshot of the counters. */
  stats(): ClientSessionCacheStats {
    return withDeprecatedSize({ number: this.#pool.size, ...this.#counters, ...this.#pool.counters }, 'ClientSessionCache');
  }

  #keyOf(destination: tls.ConnectionOptions): string {
    if (destination === null || typeof destination !== 'object') {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_ARG', 'destination must be an object of tls.connect options');
    }
    return this.#keys.keyOf(destination as DestinationOptions);
  }

  #store(entry: ClientSessionEntry): boolean {
    const stored = this.#pool.add(entry, this.#config.now());
    if (stored) {
      this.#counters.stored++;
      debug('stored %s %s for %s', entry.tls13 ? 'ticket' : 'session', entry.shortId, describeDestination(entry.destination));
    }
    return stored;
  }

  /** OpenSSL flushes expired sessions every 255 connections unless NO_AUTO_CLEAR. */
  #autoClear(): void {
    if ((this.#mode & SESS_CACHE_NO_AUTO_CLEAR) !== 0) return;
    if (++this.#connections % AUTO_CLEAR_EVERY === 0) this.flush();
  }

  /**
   * Follows one connection to its end: stores its sessions, judges the offered
   * one, and drops what a failed connection touched. Listens only to 'connect',
   * 'session', 'secureConnect', 'end', 'finish' and 'close', never to 'error', so
   * the application's error handling is unchanged.
   *
   * - Sessions that arrive before 'secureConnect' (TLS 1.2) are held back until
   *   then: Node checks the certificate and `checkServerIdentity` after OpenSSL's
   *   handshake is done, so a session from a server that fails those checks is
   *   never stored, not even for a moment.
   * - Failed = closed with an error without an orderly TLS shutdown by either
   *   side (OpenSSL's "still open" session, ssl_clear_bad_session). A connection
   *   the peer or we ended in order (close_notify, then FIN: 'end' or 'finish')
   *   did not fail even if it is destroyed with an error afterwards: undici does
   *   exactly that whenever a server closes a connection (measured), and RFC 5246
   *   section 7.2.1 no longer requires dropping sessions of closed connections.
   * - Connections opened with `kKeepSessionsOnLateErrors` (the undici connector)
   *   count only handshake failures: see late-errors.ts.
   * - A failure before the TCP connection was made (refused, DNS) sent nothing,
   *   so a TLS 1.3 ticket taken for it is put back.
   */
  #track(
    socket: tls.TLSSocket,
    destination: string,
    offered: ClientSessionEntry | undefined,
    given: Buffer | undefined,
    preConnected: boolean,
    keepOnLateErrors: boolean,
  ): void {
    const produced: ClientSessionEntry[] = [];
    /** Sessions received before the handshake was verified; undefined afterwards. */
    let unverified: ClientSessionEntry[] | undefined = [];
    let reachedServer = preConnected;
    let shutDownInOrder = false;
    if (!reachedServer) socket.once('connect', () => (reachedServer = true));
    socket.once('end', () => (shutDownInOrder = true));
    socket.once('finish', () => (shutDownInOrder = true));
    if (this.storesSessions) {
      // Node enables the native session callback only once a 'session' listener exists.
      // The session comes in the form this Node takes back (wrapped or bare): kept as is.
      socket.on('session', (session: Buffer) => {
        const entry = sessionEntry(destination, session, this.#config, socket.getProtocol());
        if (entry === undefined) return;
        if (unverified !== undefined) unverified.push(entry);
        else if (this.#store(entry)) produced.push(entry);
      });
    }
    socket.once('secureConnect', () => {
      // Node emits 'secureConnect' only once the peer passed its checks (or the
      // application said not to check, which is part of the destination key).
      const held = unverified ?? [];
      unverified = undefined;
      for (const entry of held) if (this.#store(entry)) produced.push(entry);
      if (offered === undefined && given === undefined) return;
      if (socket.isSessionReused()) {
        this.#counters.resumed++;
        debug('resumed %s', describeDestination(destination));
        return;
      }
      this.#counters.declined++;
      // Declined: the server no longer knows it (expired, keys rotated, restarted).
      // A TLS 1.3 ticket was already taken out when it was offered.
      if (offered !== undefined && !offered.tls13) this.#pool.remove(offered);
      if (given !== undefined) this.#pool.removeSession(destination, given);
      debug('declined %s', describeDestination(destination));
    });
    socket.once('close', (hadError: boolean) => {
      const handshakeDone = unverified === undefined;
      const discarded = unverified?.length ?? 0;
      unverified = undefined;
      if (!hadError) return;
      if (!reachedServer) {
        // The ClientHello was never sent, so the ticket was never seen: keep it.
        if (offered !== undefined && offered.tls13) this.#pool.add(offered, this.#config.now());
        return;
      }
      if (handshakeDone && (shutDownInOrder || keepOnLateErrors)) return;
      let dropped = discarded;
      for (const entry of produced) if (this.#pool.remove(entry)) dropped++;
      if (offered !== undefined && !offered.tls13 && this.#pool.remove(offered)) dropped++;
      if (given !== undefined) dropped += this.#pool.removeSession(destination, given);
      this.#counters.failed += dropped;
      debug('connection to %s failed: dropped %d session(s)', describeDestination(destination), dropped);
    });
  }
}
