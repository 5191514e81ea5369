import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import type { ClientSessionCache } from './client-session-cache.js';

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
 * keepAlive works as usual: a socket reused from the pool needs no handshake, so
 * the cache only matters for new connections.
 */
export class ClientSessionAgent extends https.Agent {
  /** The cache every connection of this agent uses. */
  readonly sessions: ClientSessionCache;

  constructor(sessions: ClientSessionCache, options?: https.AgentOptions) {
    super({ ...options, maxCachedSessions: 0 });
    this.sessions = sessions;
  }

  /** Opens a new TLS connection through the cache. Called by Node's Agent, not by applications. */
  override createConnection(options: https.RequestOptions, _callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    return this.sessions.connect(options as tls.ConnectionOptions);
  }
}
