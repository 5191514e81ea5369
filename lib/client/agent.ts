import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import type { ClientSessionCache } from './client-session-cache.js';
import { deprecate, deprecationCodes } from '../deprecations.js';

/** Passed by `sessions.agent()`: a construction without it is the deprecated public one. */
const kFromCache = Symbol('tls-resumption.agent-from-cache');

/**
 * An `https.Agent` whose new connections go through a ClientSessionCache, so
 * that `https.request({ agent })` and `https.get` resume TLS sessions with the
 * cache's rules (per-destination, TLS 1.3 tickets offered once, declined and
 * failed sessions dropped).
 *
 * What it relies on in Node: `Agent#createConnection(options, callback)` is the
 * documented hook for custom agents; returning the socket synchronously is one
 * of its two documented forms. The options Node passes are the request's merged
 * with the agent's (host, port, servername computed from the Host header, TLS
 * options), exactly what the cache keys destinations on. Node's own https.Agent
 * session cache (`maxCachedSessions`, internal `_getSession/_cacheSession/
 * _evictSession`) lives in the `createConnection` this class replaces, so it
 * never runs; `maxCachedSessions` is also set to 0 to make that plain.
 *
 * Made by `sessions.agent(options)`. `new ClientSessionAgent(sessions, options)` still
 * works but is deprecated (TLS_RESUMPTION_DEP_CLIENT_SESSION_AGENT): one way to do it.
 *
 * keepAlive works as usual: a socket reused from the pool needs no handshake, so
 * the cache only matters for new connections.
 */
export class ClientSessionAgent extends https.Agent {
  /** The cache every connection of this agent uses. */
  readonly sessions: ClientSessionCache;

  /** @deprecated Since 0.2: `sessions.agent(options)`. */
  constructor(sessions: ClientSessionCache, options?: https.AgentOptions, token?: typeof kFromCache) {
    super({ ...options, maxCachedSessions: 0 });
    if (token !== kFromCache) {
      deprecate(deprecationCodes.NEW_CLIENT_SESSION_AGENT, 'new ClientSessionAgent(sessions) is deprecated, use sessions.agent()');
    }
    this.sessions = sessions;
  }

  /** Opens a new TLS connection through the cache. Called by Node's Agent, not by applications. */
  override createConnection(options: https.RequestOptions, _callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    return this.sessions.connect(options as tls.ConnectionOptions);
  }
}

/** What `sessions.agent(options)` returns. */
export function createClientSessionAgent(sessions: ClientSessionCache, options?: https.AgentOptions): ClientSessionAgent {
  return new ClientSessionAgent(sessions, options, kFromCache);
}
