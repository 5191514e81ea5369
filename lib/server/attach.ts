/**
 * `attachSessionCache(server)`: OpenSSL-style server session caching on a Node
 * tls.Server (and https.Server, http2 secure servers), through Node's `newSession`
 * and `resumeSession` events, plus the ClientHello pre-parse where TLS 1.3 stateful
 * tickets or SNI binding need it.
 */
import * as tls from 'node:tls';
import { validateOptions, type SessionCacheOptions } from './options.js';
import { normalizeSessionIdContext } from '../cache/session-id-context.js';
import { makeError } from '../errors.js';
import { nodeDefaultSessionIdContext } from '../node/session-id-context.js';
import { warnOnce, warningCodes } from '../warnings.js';
import { AttachedServer, type ServerWithInternals } from './attached-server.js';
import { SessionCache } from './session-cache.js';

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
  if (AttachedServer.isAttached(srv)) throw makeError('ERR_TLS_RESUMPTION_ALREADY_ATTACHED', 'this server already has a session cache attached');
  if (server.listenerCount('resumeSession') > 0) {
    throw makeError(
      'ERR_TLS_RESUMPTION_ALREADY_ATTACHED',
      "this server already has a 'resumeSession' listener; Node allows one answer per lookup, so remove it first",
    );
  }
  const opts = validateOptions(options);

  const originalSidCtx = typeof srv.sessionIdContext === 'string' ? srv.sessionIdContext : nodeDefaultSessionIdContext();
  const sidCtx = opts.sessionIdContext ?? normalizeSessionIdContext(originalSidCtx, 'server.sessionIdContext');
  if (opts.store !== undefined && opts.sessionIdContext === undefined && sidCtx === nodeDefaultSessionIdContext()) {
    throw makeError(
      'ERR_TLS_RESUMPTION_DEFAULT_SID_CTX',
      "a shared store needs one explicit sessionIdContext (e.g. 'shop-frontend'): Node's default is derived from process.argv, so hosts started differently would never resume each other's sessions",
    );
  }
  if (opts.store !== undefined && opts.store.sealed !== true) {
    warnOnce(
      warningCodes.UNSEALED_STORE,
      'tls-resumption: the session store does not seal entries; sessions hold master secrets. Use RedisStore/ClusterStore with sealKeys, or wrap your store in SealedStore.',
    );
  }

  const attached = new AttachedServer(srv, opts, { original: originalSidCtx, configured: sidCtx });
  return new SessionCache(attached.policy, attached);
}
