/**
 * One tls.Server with a session cache attached, from attach to detach: its state (the
 * session id contexts, the trust settings, whether stateless tickets are off, the
 * ClientHello pre-parse) and the handlers of Node's session events. The public entry
 * is `attachSessionCache()` (attach.ts); this is what it builds.
 */
import { constants as cryptoConstants } from 'node:crypto';
import * as tls from 'node:tls';
import type { ResolvedOptions } from './options.js';
import { CacheAccounting } from '../cache/accounting.js';
import type { CachedSession } from '../cache/cached-session.js';
import { SessionCachePolicy, type LookupRequest } from '../cache/policy.js';
import { logger, shortId } from '../debug.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES } from '../protocol/client-hello.js';
import { GuardedStore } from '../stores/guarded.js';
import { MemoryStore } from '../stores/memory.js';
import { attachTicketKeys, type TicketKeysHandle } from './attach-ticket-keys.js';
import { ServerCapabilities, type Capabilities } from '../node/capabilities.js';
import { currentTlsSocket, serverNameOf } from '../node/current-socket.js';
import { internals } from '../node/internals.js';
import {
  allContexts,
  watchSecureContexts,
  type AddedContext,
  type ContextOrigin,
  type NativeSecureContext,
} from '../node/secure-contexts.js';
import { sidCtxCheck, type SidCtxDerivation } from '../node/session-id-context.js';
import { effectiveSessionIdContext, trustFingerprint, type TrustOptions } from '../node/trust-settings.js';
import { HelloFactsBySocket, type HelloFacts } from './hello-facts.js';
import { TLS1_3_VERSION } from '../constants.js';
import { installHelloTap } from './hello-tap.js';
import type { SessionCacheHooks } from './session-cache.js';

const log = logger('server');
const kAttached = Symbol.for('tls-resumption.attached');
const kUnverifiedMiss = Symbol('tls-resumption.unverified-miss');
const SSL_OP_NO_TICKET = cryptoConstants.SSL_OP_NO_TICKET;

/** The properties of a tls.Server that Node sets but does not declare, and the attach mark. */
export type ServerWithInternals = tls.Server & {
  sessionIdContext?: string;
  secureOptions?: number;
  requestCert?: boolean;
  maxVersion?: tls.SecureVersion;
  [kAttached]?: true;
};

/** The server's session id contexts at attach time. */
export interface AttachSessionIdContexts {
  /** The server's own (set or Node's default), restored on detach. */
  original: string;
  /** The one the cache uses: the option's, else the server's own. */
  configured: string;
}

/** Whether the server had addContext() contexts before attach. */
function hasSniContextsAtAttach(server: tls.Server): boolean {
  return (internals.sniContexts(server)?.length ?? 0) > 0;
}

/** addContext() options whose trust settings can be read; undefined for a ready SecureContext. */
function plainTrustOptions(options: unknown): TrustOptions | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  if ('context' in options) return undefined; // a tls.SecureContext: its options are not kept
  return options as TrustOptions;
}

/**
 * A tls.Server's session cache wiring. Constructing it attaches (listeners, context
 * settings, ticket keys, the pre-parse where needed); `detach()` undoes it. The hooks
 * the public `SessionCache` calls.
 */
export class AttachedServer implements SessionCacheHooks {
  readonly policy: SessionCachePolicy;
  readonly ticketKeys: TicketKeysHandle | undefined;
  readonly #server: ServerWithInternals;
  readonly #opts: ResolvedOptions;
  readonly #accounting: CacheAccounting;
  readonly #originalSidCtx: string;
  readonly #originalSecureOptions: number | undefined;
  #sidCtx: string;
  // addContext contexts by name, with their options where Node was given plain ones.
  readonly #sniTrust = new Map<string, TrustOptions | undefined>();
  #trust: string;
  #effective: string;
  readonly #autoTickets: boolean;
  #ticketsOff: boolean;
  #hasSniContexts = false;
  // Filled in at the end of the constructor, once the pre-parse decision is known; the
  // policy only reports to it.
  #capabilities: ServerCapabilities | undefined;
  readonly #helloFacts: HelloFactsBySocket;
  #removeTap: (() => void) | undefined;
  // TLS 1.3 connections that resumed a session this cache served: that session, so the
  // ticket issued after the resumption continues its chain (see authExpiresAtMs). A
  // WeakMap rather than a property, so TLSSockets keep their shape.
  readonly #resumedTls13 = new WeakMap<tls.TLSSocket, CachedSession>();
  readonly #stopWatching: () => void;

  /** Whether a session cache (of any copy of this library) is attached to the server. */
  static isAttached(server: tls.Server): boolean {
    return (server as ServerWithInternals)[kAttached] === true;
  }

  /** Attaches; `opts` validated, `server` checked by attachSessionCache(). */
  constructor(server: ServerWithInternals, opts: ResolvedOptions, sessionIdContexts: AttachSessionIdContexts) {
    this.#server = server;
    this.#opts = opts;
    this.#originalSidCtx = sessionIdContexts.original;
    this.#sidCtx = sessionIdContexts.configured;

    // tickets: 'auto' turns Node's stateless tickets off where names must be bound (see
    // bindingApplies): OpenSSL decrypts them without asking the cache, and Node 20 and 26
    // do not bind them to names. Decided now, and again when the first SNI context appears.
    this.#autoTickets = opts.tickets === 'auto' && opts.ticketKeys === undefined;
    this.#ticketsOff = opts.tickets === 'off' || (this.#autoTickets && this.#bindingApplies(hasSniContextsAtAttach(server)));
    // ---- trust settings, bound into the context OpenSSL checks ----
    for (const [pattern] of internals.sniContexts(server) ?? []) this.#sniTrust.set(`(added before attach) ${String(pattern)}`, undefined);
    this.#trust = trustFingerprint(server, this.#sniTrust);
    this.#effective = effectiveSessionIdContext(this.#sidCtx, this.#trust);

    this.#accounting = new CacheAccounting();
    this.policy = new SessionCachePolicy({
      accounting: this.#accounting,
      mode: opts.mode,
      sessionIdContext: this.#sidCtx,
      effectiveSessionIdContext: this.#effective,
      trust: this.#trust,
      sidCtxCheck,
      onSidCtxObserved: (derivation) => this.#capabilities?.sessionIdContextObserved(derivation as SidCtxDerivation | undefined),
      timeout: opts.timeout,
      internal: new MemoryStore<CachedSession>({ max: opts.cacheSize }),
      naming: { prefix: opts.sessionKeyPrefix, generate: opts.generateSessionKey },
      external:
        opts.store &&
        new GuardedStore(opts.store, {
          timeoutMs: opts.storeTimeoutMs,
          failureThreshold: opts.storeFailureThreshold,
          cooldownMs: opts.storeCooldownMs,
          now: opts.now,
        }),
      waitForStoreWrites: opts.waitForStoreWrites,
      statefulTls13: this.#statefulTls13(),
      now: opts.now,
    });

    this.#originalSecureOptions = server.secureOptions;
    if (this.#ticketsOff) server.secureOptions = (server.secureOptions ?? 0) | SSL_OP_NO_TICKET;
    server.sessionIdContext = this.#effective;

    // ---- the ClientHello pre-parse, only where something needs it ----
    this.#helloFacts = new HelloFactsBySocket(this.#accounting, () => this.#serverAllowsTls13());

    server.on('newSession', this.#onNewSession);
    server.on('resumeSession', this.#onResumeSession);
    server.on('connection', this.#onConnection);
    server.on('secureConnection', this.#onSecure);
    server.on('tlsClientError', this.#onClientError);
    this.#stopWatching = watchSecureContexts(server, this.#applyToContext);
    this.ticketKeys =
      opts.ticketKeys === undefined
        ? undefined
        : attachTicketKeys(server, opts.ticketKeys, { ...(opts.store ? { store: opts.store } : {}), now: opts.now });
    this.#capabilities = new ServerCapabilities(server, {
      tls13Stateful: this.#ticketsOff && this.#serverAllowsTls13(),
      serverNameBinding: 'off',
      ticketKeys: this.ticketKeys === undefined ? 'none' : this.ticketKeys.path,
    });
    this.#updateTap();
    Object.defineProperty(server, kAttached, { value: true, configurable: true });
    log(
      'attached: mode 0x%s, tickets %s, timeout %ds, cache size %d',
      this.policy.mode.toString(16),
      this.#ticketsOff ? 'off' : 'node',
      opts.timeout,
      opts.cacheSize,
    );
  }

  // ---- the public SessionCache's hooks ----

  capabilities(): Capabilities {
    return this.#capabilities!.report(); // set by the constructor
  }

  effectiveSessionIdContext(): string {
    return this.#effective;
  }

  applySessionIdContext(ctx: string): void {
    this.#sidCtx = ctx;
    this.#applyEffective();
  }

  detach(): void {
    const server = this.#server;
    // The tap first: it holds the 'connection' listeners (onConnection among them)
    // and puts them back, so onConnection can only be removed after that.
    this.#removeTap?.();
    this.#removeTap = undefined;
    server.removeListener('newSession', this.#onNewSession);
    server.removeListener('resumeSession', this.#onResumeSession);
    server.removeListener('connection', this.#onConnection);
    server.removeListener('secureConnection', this.#onSecure);
    server.removeListener('tlsClientError', this.#onClientError);
    this.#stopWatching();
    this.ticketKeys?.stop();
    // Node exposes no way to clear an OpenSSL option, so SSL_OP_NO_TICKET stays on
    // contexts it was set on (see README); the session id context is restored.
    for (const { context } of allContexts(server)) context.setSessionIdContext(this.#originalSidCtx);
    server.sessionIdContext = this.#originalSidCtx;
    server.secureOptions = this.#originalSecureOptions;
    delete server[kAttached];
    log('detached');
  }

  // ---- where names must be bound, and what follows for tickets ----

  /** Where names matter: SNI contexts, an SNICallback, client certificates, or 'always'. */
  #bindingApplies(sniContexts: boolean): boolean {
    if (this.#opts.serverNameBinding === 'always') return true;
    return this.#opts.serverNameBinding === 'auto' && (sniContexts || this.#server.requestCert === true || this.#hasSniCallback());
  }

  #hasSniCallback(): boolean {
    const sym = internals.sniCallbackSymbol(this.#server);
    return sym !== undefined && typeof (this.#server as unknown as Record<symbol, unknown>)[sym] === 'function';
  }

  #statefulTls13(): boolean {
    return this.#ticketsOff || ((this.#server.secureOptions ?? 0) & SSL_OP_NO_TICKET) !== 0;
  }

  #serverAllowsTls13(): boolean {
    return (this.#server.maxVersion ?? tls.DEFAULT_MAX_VERSION) === 'TLSv1.3';
  }

  #turnTicketsOff(): void {
    this.#ticketsOff = true;
    log("tickets 'auto': SNI contexts appeared, stateless tickets off (names must be bound)");
    for (const { context } of allContexts(this.#server)) context.setOptions(SSL_OP_NO_TICKET);
    this.#server.secureOptions = (this.#server.secureOptions ?? 0) | SSL_OP_NO_TICKET;
    this.policy.statefulTls13 = true;
    this.#capabilities?.update({ tls13Stateful: this.#serverAllowsTls13() });
  }

  // ---- settings on every OpenSSL context, now and later ----

  /** Sets `effective` on every context and tells the policy; after a change of context or trust. */
  #applyEffective(): void {
    this.#effective = effectiveSessionIdContext(this.#sidCtx, this.#trust);
    for (const { context } of allContexts(this.#server)) context.setSessionIdContext(this.#effective);
    this.#server.sessionIdContext = this.#effective;
    this.policy.setContexts(this.#sidCtx, this.#effective, this.#trust);
  }

  /** watchSecureContexts' callback: each context the server has at attach and gets later. */
  readonly #applyToContext = (ctx: NativeSecureContext, origin: ContextOrigin, added?: AddedContext): void => {
    if (added !== undefined) this.#sniTrust.set(added.servername, plainTrustOptions(added.options));
    if (origin === 'default' || added !== undefined) {
      // setSecureContext() or addContext(): the trust settings may have changed. Sessions
      // made under the old ones must not resume: a full handshake decides under the new.
      const next = trustFingerprint(this.#server, this.#sniTrust);
      if (next !== this.#trust) {
        this.#trust = next;
        log('trust settings changed: sessions made before them get full handshakes');
        this.#applyEffective();
      }
    }
    ctx.setSessionIdContext(this.#effective);
    (ctx as NativeSecureContext & { setSessionTimeout?(s: number): void }).setSessionTimeout?.(this.#opts.timeout);
    if (origin === 'sni' && !this.#hasSniContexts) {
      this.#hasSniContexts = true;
      if (this.#autoTickets && !this.#ticketsOff && this.#bindingApplies(true)) this.#turnTicketsOff();
      this.#updateTap();
    }
    if (this.#ticketsOff) ctx.setOptions(SSL_OP_NO_TICKET);
  };

  // ---- the ClientHello pre-parse, only where something needs it ----

  #tapNeeded(): boolean {
    // Without the link from a session event to its connection the facts could never be
    // found: the tap would cost a read and serve nothing (capabilities() says so).
    if (this.#capabilities !== undefined && !this.#capabilities.connectionFacts) return false;
    // TLS 1.3 stateful tickets need the PSK identity; with an external store, a TLS 1.3
    // client's random legacy id would otherwise cost a store round trip for nothing.
    return this.#bindingEnforced() || (this.#serverAllowsTls13() && (this.#ticketsOff || this.#opts.store !== undefined));
  }

  /** Whether every resumption must match its SNI name, not only those whose hello was read. */
  #bindingEnforced(): boolean {
    return this.#bindingApplies(this.#hasSniContexts);
  }

  #updateTap(): void {
    const needed = this.#tapNeeded();
    if (needed && this.#removeTap === undefined) {
      log('ClientHello pre-parse on');
      this.#removeTap = installHelloTap(this.#server, {
        timeoutMs: this.#opts.helloTimeoutMs,
        maxBytes: DEFAULT_MAX_CLIENT_HELLO_BYTES,
        onHello: this.#helloFacts.onHello,
      });
    } else if (!needed && this.#removeTap !== undefined) {
      this.#removeTap();
      this.#removeTap = undefined;
    }
    this.#capabilities?.update({ serverNameBinding: this.#bindingNeed() });
  }

  #bindingNeed(): 'off' | 'where-parsed' | 'enforced' {
    if (this.#bindingEnforced()) return 'enforced';
    return this.#opts.serverNameBinding !== 'off' && this.#removeTap !== undefined ? 'where-parsed' : 'off';
  }

  #factsOf(socket: tls.TLSSocket | undefined): HelloFacts | undefined {
    if (this.#removeTap === undefined || socket === undefined) return undefined;
    return this.#helloFacts.of(socket);
  }

  // ---- Node's session events ----

  /** The TLSSocket of the running session event; tells the capabilities when none is found. */
  #eventSocket(): tls.TLSSocket | undefined {
    const socket = currentTlsSocket();
    if (socket === undefined && this.#capabilities?.sessionSocket) this.#capabilities.sessionEventWithoutSocket();
    return socket;
  }

  readonly #onNewSession = (id: Buffer, der: Buffer, done: () => void): void => {
    const socket = this.#eventSocket();
    const resumed = socket === undefined ? undefined : this.#resumedTls13.get(socket);
    const authTimeMs = resumed === undefined ? undefined : resumed.authExpiresAtMs - this.#opts.timeout * 1000;
    this.policy.onNewSession(id, der, { serverName: serverNameOf(socket), authTimeMs }, done);
  };

  readonly #onResumeSession = (id: Buffer, cb: (err: Error | null, der?: Buffer | null) => void): void => {
    let wireId = id;
    let request: LookupRequest = { serverName: null, protocolVersion: undefined };
    // Only where something needs the connection: the pre-parse's facts, TLS 1.3 chains,
    // or a miss that must wait for the handshake's version (a TLS 1.2-only server
    // without the pre-parse needs none of them).
    const socket = this.#removeTap !== undefined || this.#serverAllowsTls13() ? this.#eventSocket() : undefined;
    const facts = this.#factsOf(socket);
    if (facts === undefined && this.#bindingEnforced()) {
      // The pre-parse did not read this hello (stalled past helloTimeoutMs, too large,
      // or older than the pre-parse), so its SNI name is unknown. Resuming unchecked
      // would let a client skip the binding just by stalling: fail closed, counted.
      return this.policy.refuseUnknownServerName(id, () => cb(null, null));
    }
    if (facts !== undefined) {
      request = { serverName: this.#opts.serverNameBinding === 'off' ? null : facts.serverName, protocolVersion: facts.protocolVersion };
      if (facts.protocolVersion === TLS1_3_VERSION) {
        // TLS 1.3: the legacy id is random; the PSK identity names the session.
        if (facts.pskIdentity === undefined || !this.#statefulTls13()) return cb(null, null);
        wireId = facts.pskIdentity;
      }
    }
    if (log.enabled) log('resumeSession %s%s', shortId(wireId), facts ? '' : ' (hello not parsed)');
    // Without the ClientHello on a server that speaks TLS 1.3, an unknown id may be a
    // TLS 1.3 client's random compatibility id rather than a session proposal: its miss
    // is counted only once the handshake completes as TLS 1.2 (see onSecure).
    const unverified = facts === undefined && this.#serverAllowsTls13() ? socket : undefined;
    this.policy.lookup(wireId, { ...request, countAbsent: unverified === undefined }, (der, reason, session) => {
      if (der !== null && session !== undefined && socket !== undefined && session.protocolVersion === TLS1_3_VERSION) {
        this.#resumedTls13.set(socket, session);
      }
      if (der === null && reason === 'absent' && unverified !== undefined) {
        (unverified as tls.TLSSocket & { [kUnverifiedMiss]?: Buffer })[kUnverifiedMiss] = wireId;
      }
      cb(null, der);
    });
  };

  readonly #onConnection = (): void => this.#accounting.accepted();

  readonly #onSecure = (socket: tls.TLSSocket & { [kUnverifiedMiss]?: Buffer }): void => {
    const deferred = socket[kUnverifiedMiss];
    if (deferred !== undefined && socket.getProtocol() !== 'TLSv1.3') this.#accounting.miss('absent', deferred);
    this.policy.handshakeCompleted(socket.isSessionReused());
  };

  readonly #onClientError = (): void => this.#accounting.acceptFailed();
}
