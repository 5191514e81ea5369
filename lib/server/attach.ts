/**
 * `attachSessionCache(server)`: OpenSSL-style server session caching on a Node
 * tls.Server (and https.Server, http2 secure servers), through Node's `newSession`
 * and `resumeSession` events, plus the ClientHello pre-parse where TLS 1.3 stateful
 * tickets or SNI binding need it.
 */
import { constants as cryptoConstants } from 'node:crypto';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { validateOptions, type SessionCacheOptions } from './options.js';
import { CacheAccounting } from '../cache/accounting.js';
import { SessionCachePolicy, type LookupRequest } from '../cache/policy.js';
import { normalizeSessionIdContext } from '../cache/session-id-context.js';
import { logger, shortId } from '../debug.js';
import { makeError } from '../errors.js';
import type { ClientHello } from '../protocol/client-hello.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES } from '../protocol/client-hello.js';
import { GuardedStore } from '../stores/guarded.js';
import { MemoryStore } from '../stores/memory.js';
import { attachTicketKeys } from './attach-ticket-keys.js';
import { ServerCapabilities } from '../node/capabilities.js';
import { currentTlsSocket, rawSocketOf, serverNameOf } from '../node/current-socket.js';
import { internals } from '../node/internals.js';
import {
  allContexts,
  watchSecureContexts,
  type AddedContext,
  type ContextOrigin,
  type NativeSecureContext,
} from '../node/secure-contexts.js';
import { nodeDefaultSessionIdContext, sidCtxCheck, type SidCtxDerivation } from '../node/session-id-context.js';
import { effectiveSessionIdContext, trustFingerprint, type TrustOptions } from '../node/trust-settings.js';
import type { CachedSession } from '../cache/cached-session.js';
import { warnOnce, warningCodes } from '../warnings.js';
import { installHelloTap } from './hello-tap.js';
import { SessionCache } from './session-cache.js';

const log = logger('server');
const kAttached = Symbol.for('tls-resumption.attached');
const kUnverifiedMiss = Symbol('tls-resumption.unverified-miss');
const SSL_OP_NO_TICKET = cryptoConstants.SSL_OP_NO_TICKET;
const TLS1_2_VERSION = 0x0303;
const TLS1_3_VERSION = 0x0304;

/** What the pre-parse learned of one connection that will emit resumeSession. */
interface HelloFacts {
  serverName: string | undefined;
  protocolVersion: number | undefined;
  /** TLS 1.3: the first PSK identity, the stateful ticket's session id. */
  pskIdentity: Buffer | undefined;
}

type ServerWithInternals = tls.Server & {
  sessionIdContext?: string;
  secureOptions?: number;
  requestCert?: boolean;
  maxVersion?: tls.SecureVersion;
  [kAttached]?: true;
};

/** addContext() options whose trust settings can be read; undefined for a ready SecureContext. */
function plainTrustOptions(options: unknown): TrustOptions | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  if ('context' in options) return undefined; // a tls.SecureContext: its options are not kept
  return options as TrustOptions;
}

/**
 * Attaches a session cache to a TLS server and returns it. One call is enough:
 * TLS 1.2 session ids resume from then on, and with `tickets: 'off'` TLS 1.3 clients
 * resume through stateful tickets this cache serves.
 *
 * Throws (TypeError/RangeError with `code`) on bad options, on a server that is not a
 * tls.Server, on a server that already has a cache or its own resumeSession listener,
 * and on a shared `store` without an explicit session id context (Node's default is
 * derived from process.argv, so two hosts would silently never share a session).
 *
 * Security: sessions hold master secrets; they stay in this process unless a `store`
 * is given, which should seal them (RedisStore and ClusterStore do by default).
 */
export function attachSessionCache(server: tls.Server, options?: SessionCacheOptions): SessionCache {
  if (!(server instanceof tls.Server)) {
    throw makeError('ERR_TLS_RESUMPTION_NOT_A_TLS_SERVER', 'attachSessionCache(server): server must be a tls.Server, https.Server or http2 secure server');
  }
  const srv = server as ServerWithInternals;
  if (srv[kAttached]) throw makeError('ERR_TLS_RESUMPTION_ALREADY_ATTACHED', 'this server already has a session cache attached');
  if (server.listenerCount('resumeSession') > 0) {
    throw makeError(
      'ERR_TLS_RESUMPTION_ALREADY_ATTACHED',
      "this server already has a 'resumeSession' listener; Node allows one answer per lookup, so remove it first",
    );
  }
  const opts = validateOptions(options);

  const originalSidCtx = typeof srv.sessionIdContext === 'string' ? srv.sessionIdContext : nodeDefaultSessionIdContext();
  let sidCtx = opts.sessionIdContext ?? normalizeSessionIdContext(originalSidCtx, 'server.sessionIdContext');
  if (opts.store !== undefined && opts.sessionIdContext === undefined && sidCtx === nodeDefaultSessionIdContext()) {
    throw makeError(
      'ERR_TLS_RESUMPTION_DEFAULT_SID_CTX',
      "a shared store needs one explicit sessionIdContext (e.g. 'shop-frontend'): Node's default is derived from process.argv, so hosts started differently would never resume each other's sessions",
    );
  }
  /** Where names matter: SNI contexts, an SNICallback, client certificates, or 'always'. */
  function bindingApplies(sniContexts: boolean): boolean {
    if (opts.serverNameBinding === 'always') return true;
    return opts.serverNameBinding === 'auto' && (sniContexts || srv.requestCert === true || hasSniCallback());
  }
  function hasSniContextsAtAttach(): boolean {
    return (internals.sniContexts(server)?.length ?? 0) > 0;
  }
  function hasSniCallback(): boolean {
    const sym = internals.sniCallbackSymbol(srv);
    return sym !== undefined && typeof (srv as unknown as Record<symbol, unknown>)[sym] === 'function';
  }
  if (opts.store !== undefined && opts.store.sealed !== true) {
    warnOnce(
      warningCodes.UNSEALED_STORE,
      'tls-resumption: the session store does not seal entries; sessions hold master secrets. Use RedisStore/ClusterStore with sealKeys, or wrap your store in SealedStore.',
    );
  }

  // tickets: 'auto' turns Node's stateless tickets off where names must be bound (see
  // bindingApplies): OpenSSL decrypts them without asking the cache, and Node 20 and 26
  // do not bind them to names. Decided now, and again when the first SNI context appears.
  const autoTickets = opts.tickets === 'auto' && opts.ticketKeys === undefined;
  let ticketsOff = opts.tickets === 'off' || (autoTickets && bindingApplies(hasSniContextsAtAttach()));
  const statefulTls13 = () => ticketsOff || ((srv.secureOptions ?? 0) & SSL_OP_NO_TICKET) !== 0;
  // ---- trust settings, bound into the context OpenSSL checks ----
  // addContext contexts by name, with their options where Node was given plain ones.
  const sniTrust = new Map<string, TrustOptions | undefined>();
  for (const [pattern] of internals.sniContexts(server) ?? []) sniTrust.set(`(added before attach) ${String(pattern)}`, undefined);
  let trust = trustFingerprint(server, sniTrust);
  let effective = effectiveSessionIdContext(sidCtx, trust);

  // Filled in below, once the pre-parse decision is known; the policy only reports to it.
  let capabilities: ServerCapabilities | undefined;
  const accounting = new CacheAccounting();
  const policy = new SessionCachePolicy({
    accounting,
    mode: opts.mode,
    sessionIdContext: sidCtx,
    effectiveSessionIdContext: effective,
    trust,
    sidCtxCheck,
    onSidCtxObserved: (derivation) => capabilities?.sessionIdContextObserved(derivation as SidCtxDerivation | undefined),
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
    statefulTls13: statefulTls13(),
    now: opts.now,
  });

  // ---- settings on every OpenSSL context, now and later ----
  let hasSniContexts = false;
  /** Sets `effective` on every context and tells the policy; after a change of context or trust. */
  const applyEffective = () => {
    effective = effectiveSessionIdContext(sidCtx, trust);
    for (const { context } of allContexts(server)) context.setSessionIdContext(effective);
    srv.sessionIdContext = effective;
    policy.setContexts(sidCtx, effective, trust);
  };
  const applyToContext = (ctx: NativeSecureContext, origin: ContextOrigin, added?: AddedContext) => {
    if (added !== undefined) sniTrust.set(added.servername, plainTrustOptions(added.options));
    if (origin === 'default' || added !== undefined) {
      // setSecureContext() or addContext(): the trust settings may have changed. Sessions
      // made under the old ones must not resume: a full handshake decides under the new.
      const next = trustFingerprint(server, sniTrust);
      if (next !== trust) {
        trust = next;
        log('trust settings changed: sessions made before them get full handshakes');
        applyEffective();
      }
    }
    ctx.setSessionIdContext(effective);
    (ctx as NativeSecureContext & { setSessionTimeout?(s: number): void }).setSessionTimeout?.(opts.timeout);
    if (origin === 'sni' && !hasSniContexts) {
      hasSniContexts = true;
      if (autoTickets && !ticketsOff && bindingApplies(true)) turnTicketsOff();
      updateTap();
    }
    if (ticketsOff) ctx.setOptions(SSL_OP_NO_TICKET);
  };
  function turnTicketsOff(): void {
    ticketsOff = true;
    log("tickets 'auto': SNI contexts appeared, stateless tickets off (names must be bound)");
    for (const { context } of allContexts(server)) context.setOptions(SSL_OP_NO_TICKET);
    srv.secureOptions = (srv.secureOptions ?? 0) | SSL_OP_NO_TICKET;
    policy.statefulTls13 = true;
    capabilities?.update({ tls13Stateful: serverAllowsTls13() });
  }
  const originalSecureOptions = srv.secureOptions;
  if (ticketsOff) srv.secureOptions = (srv.secureOptions ?? 0) | SSL_OP_NO_TICKET;
  srv.sessionIdContext = effective;

  // ---- the ClientHello pre-parse, only where something needs it ----
  // Facts per raw socket; resumeSession finds its socket through the running TLSWrap.
  const helloFacts = new WeakMap<object, HelloFacts>();
  let removeTap: (() => void) | undefined;
  const serverAllowsTls13 = () => (srv.maxVersion ?? tls.DEFAULT_MAX_VERSION) === 'TLSv1.3';
  function tapNeeded(): boolean {
    // Without the link from a session event to its connection the facts could never be
    // found: the tap would cost a read and serve nothing (capabilities() says so).
    if (capabilities !== undefined && !capabilities.connectionFacts) return false;
    // TLS 1.3 stateful tickets need the PSK identity; with an external store, a TLS 1.3
    // client's random legacy id would otherwise cost a store round trip for nothing.
    return bindingEnforced() || (serverAllowsTls13() && (ticketsOff || opts.store !== undefined));
  }
  /** Whether every resumption must match its SNI name, not only those whose hello was read. */
  function bindingEnforced(): boolean {
    return bindingApplies(hasSniContexts);
  }
  function onHello(socket: Duplex, hello: ClientHello | undefined): void {
    accounting.hello(hello !== undefined);
    // Node emits resumeSession only for a non-empty legacy id and no TLS 1.2 ticket.
    if (hello === undefined || hello.sessionId.length === 0) return;
    if (hello.sessionTicket !== undefined && hello.sessionTicket.length > 0) return;
    const tls13 = hello.supportedVersions.includes(TLS1_3_VERSION) && serverAllowsTls13();
    helloFacts.set(socket, {
      serverName: hello.serverName,
      protocolVersion: tls13 ? TLS1_3_VERSION : hello.legacyVersion === TLS1_2_VERSION ? TLS1_2_VERSION : undefined,
      // OpenSSL asks the session callback for the first identity only before it
      // checks binders; serving a later one would fail the binder check.
      pskIdentity: tls13 ? hello.pskIdentities[0] : undefined,
    });
  }
  function factsOf(socket: tls.TLSSocket | undefined): HelloFacts | undefined {
    if (removeTap === undefined || socket === undefined) return undefined;
    return helloFacts.get(rawSocketOf(socket) ?? socket);
  }
  /** The TLSSocket of the running session event; tells the capabilities when none is found. */
  function eventSocket(): tls.TLSSocket | undefined {
    const socket = currentTlsSocket();
    if (socket === undefined && capabilities?.sessionSocket) capabilities.sessionEventWithoutSocket();
    return socket;
  }
  function updateTap(): void {
    const needed = tapNeeded();
    if (needed && removeTap === undefined) {
      log('ClientHello pre-parse on');
      removeTap = installHelloTap(server, { timeoutMs: opts.helloTimeoutMs, maxBytes: DEFAULT_MAX_CLIENT_HELLO_BYTES, onHello });
    } else if (!needed && removeTap !== undefined) {
      removeTap();
      removeTap = undefined;
    }
    capabilities?.update({ serverNameBinding: bindingNeed() });
  }
  function bindingNeed(): 'off' | 'where-parsed' | 'enforced' {
    if (bindingEnforced()) return 'enforced';
    return opts.serverNameBinding !== 'off' && removeTap !== undefined ? 'where-parsed' : 'off';
  }

  // ---- Node's session events ----
  // TLS 1.3 connections that resumed a session this cache served: that session, so the
  // ticket issued after the resumption continues its chain (see authExpiresAtMs). A
  // WeakMap rather than a property, so TLSSockets keep their shape.
  const resumedTls13 = new WeakMap<tls.TLSSocket, CachedSession>();
  const onNewSession = (id: Buffer, der: Buffer, done: () => void) => {
    const socket = eventSocket();
    const resumed = socket === undefined ? undefined : resumedTls13.get(socket);
    const authTimeMs = resumed === undefined ? undefined : resumed.authExpiresAtMs - opts.timeout * 1000;
    policy.onNewSession(id, der, { serverName: serverNameOf(socket), authTimeMs }, done);
  };
  const onResumeSession = (id: Buffer, cb: (err: Error | null, der?: Buffer | null) => void) => {
    let wireId = id;
    let request: LookupRequest = { serverName: null, protocolVersion: undefined };
    // Only where something needs the connection: the pre-parse's facts, TLS 1.3 chains,
    // or a miss that must wait for the handshake's version (a TLS 1.2-only server
    // without the pre-parse needs none of them).
    const socket = removeTap !== undefined || serverAllowsTls13() ? eventSocket() : undefined;
    const facts = factsOf(socket);
    if (facts === undefined && bindingEnforced()) {
      // The pre-parse did not read this hello (stalled past helloTimeoutMs, too large,
      // or older than the pre-parse), so its SNI name is unknown. Resuming unchecked
      // would let a client skip the binding just by stalling: fail closed, counted.
      return policy.refuseUnknownServerName(id, () => cb(null, null));
    }
    if (facts !== undefined) {
      request = { serverName: opts.serverNameBinding === 'off' ? null : facts.serverName, protocolVersion: facts.protocolVersion };
      if (facts.protocolVersion === TLS1_3_VERSION) {
        // TLS 1.3: the legacy id is random; the PSK identity names the session.
        if (facts.pskIdentity === undefined || !statefulTls13()) return cb(null, null);
        wireId = facts.pskIdentity;
      }
    }
    if (log.enabled) log('resumeSession %s%s', shortId(wireId), facts ? '' : ' (hello not parsed)');
    // Without the ClientHello on a server that speaks TLS 1.3, an unknown id may be a
    // TLS 1.3 client's random compatibility id rather than a session proposal: its miss
    // is counted only once the handshake completes as TLS 1.2 (see onSecure).
    const unverified = facts === undefined && serverAllowsTls13() ? socket : undefined;
    policy.lookup(wireId, { ...request, countAbsent: unverified === undefined }, (der, reason, session) => {
      if (der !== null && session !== undefined && socket !== undefined && session.protocolVersion === TLS1_3_VERSION) {
        resumedTls13.set(socket, session);
      }
      if (der === null && reason === 'absent' && unverified !== undefined) {
        (unverified as tls.TLSSocket & { [kUnverifiedMiss]?: Buffer })[kUnverifiedMiss] = wireId;
      }
      cb(null, der);
    });
  };
  const onConnection = () => accounting.accepted();
  const onSecure = (socket: tls.TLSSocket & { [kUnverifiedMiss]?: Buffer }) => {
    const deferred = socket[kUnverifiedMiss];
    if (deferred !== undefined && socket.getProtocol() !== 'TLSv1.3') accounting.miss('absent', deferred);
    policy.handshakeCompleted(socket.isSessionReused());
  };
  const onClientError = () => accounting.acceptFailed();

  server.on('newSession', onNewSession);
  server.on('resumeSession', onResumeSession);
  server.on('connection', onConnection);
  server.on('secureConnection', onSecure);
  server.on('tlsClientError', onClientError);
  const stopWatching = watchSecureContexts(server, applyToContext);
  const ticketKeys =
    opts.ticketKeys === undefined
      ? undefined
      : attachTicketKeys(server, opts.ticketKeys, { ...(opts.store ? { store: opts.store } : {}), now: opts.now });
  capabilities = new ServerCapabilities(server, {
    tls13Stateful: ticketsOff && serverAllowsTls13(),
    serverNameBinding: 'off',
    ticketKeys: ticketKeys === undefined ? 'none' : ticketKeys.path,
  });
  updateTap();
  Object.defineProperty(srv, kAttached, { value: true, configurable: true });
  log('attached: mode 0x%s, tickets %s, timeout %ds, cache size %d', policy.mode.toString(16), ticketsOff ? 'off' : 'node', opts.timeout, opts.cacheSize);

  const caps = capabilities;
  return new SessionCache(policy, {
    ticketKeys,
    capabilities: () => caps.report(),
    effectiveSessionIdContext: () => effective,
    applySessionIdContext(ctx) {
      sidCtx = ctx;
      applyEffective();
    },
    detach() {
      // The tap first: it holds the 'connection' listeners (onConnection among them)
      // and puts them back, so onConnection can only be removed after that.
      removeTap?.();
      removeTap = undefined;
      server.removeListener('newSession', onNewSession);
      server.removeListener('resumeSession', onResumeSession);
      server.removeListener('connection', onConnection);
      server.removeListener('secureConnection', onSecure);
      server.removeListener('tlsClientError', onClientError);
      stopWatching();
      ticketKeys?.stop();
      // Node exposes no way to clear an OpenSSL option, so SSL_OP_NO_TICKET stays on
      // contexts it was set on (see README); the session id context is restored.
      for (const { context } of allContexts(server)) context.setSessionIdContext(originalSidCtx);
      srv.sessionIdContext = originalSidCtx;
      srv.secureOptions = originalSecureOptions;
      delete srv[kAttached];
      log('detached');
    },
  });
}
