/**
 * A connector for undici (and so for `fetch`) that opens TLS connections through
 * a ClientSessionCache, without depending on undici.
 *
 * Known limitations, stated here because they are not ours to fix:
 * - Node's global `fetch` uses a copy of undici bundled inside Node whose
 *   Agent/Client classes are not public. Giving fetch a connector needs the
 *   `undici` package (`npm i undici`): `new Agent({ connect })` and then
 *   `fetch(url, { dispatcher })` or `setGlobalDispatcher(agent)`. Without that
 *   package there is no public way to change how global fetch connects.
 * - undici keeps connections alive: only new connections handshake, so only
 *   they can resume.
 * - undici closes sockets by destroying them with an error (measured after a
 *   response with `Connection: close`), so for its connections only handshake
 *   failures drop sessions (see late-errors.ts).
 * - This connector replaces undici's own (`buildConnector`), including its
 *   session cache (keyed on servername alone) and its connect timeout, which
 *   is re-implemented here (`timeout`, default 10 s as undici's).
 *
 * The contract, from undici's `lib/core/connect.js` and `types/connector.d.ts`:
 * undici calls `connect({ hostname, host, protocol, port, servername,
 * localAddress, httpSocket }, callback)` for every new connection, `port` possibly
 * a string or empty, and expects `callback(null, socket)` once the socket is
 * connected (after the TLS handshake for https:) or `callback(err)` once on failure.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { makeError } from '../errors.js';
import type { ClientSessionCache } from './client-session-cache.js';
import { kKeepSessionsOnLateErrors } from './late-errors.js';

/** What undici passes to a connector. */
export interface UndiciConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
  localAddress?: string | null;
  httpSocket?: net.Socket;
}

/** undici's connector callback (its `buildConnector.Callback`): called exactly once. */
export type UndiciConnectCallback = (...args: [err: null, socket: net.Socket | tls.TLSSocket] | [err: Error, socket: null]) => void;

/** A function with the shape of undici's `connect` option. */
export type UndiciConnector = (options: UndiciConnectOptions, callback: UndiciConnectCallback) => net.Socket;

/** TLS options for every connection, plus `timeout`: connect timeout in ms (0 = none, default 10000). */
export type UndiciConnectorOptions = tls.ConnectionOptions & { timeout?: number };

/**
 * Builds the connector. `https:` connections go through `sessions.connect()`
 * (ALPN `http/1.1` unless `ALPNProtocols` is given: this connector does not
 * offer h2, since undici only speaks h2 when built with `allowH2`); `http:`
 * connections are plain `net.connect`.
 */
export function undiciConnector(sessions: ClientSessionCache, options: UndiciConnectorOptions = {}): UndiciConnector {
  const { timeout = 10_000, ...tlsOptions } = options;
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', 'undiciConnector: options.timeout must be a number of milliseconds >= 0');
  }
  return function connect(target, callback) {
    const https = target.protocol === 'https:';
    const port = Number(target.port) || (https ? 443 : 80);
    const localAddress = target.localAddress ?? undefined;
    let socket: net.Socket;
    if (https) {
      const servername = target.servername || tlsOptions.servername || (net.isIP(target.hostname) ? undefined : target.hostname);
      const connectOptions: tls.ConnectionOptions & { [kKeepSessionsOnLateErrors]?: boolean } = {
        ALPNProtocols: ['http/1.1'],
        ...tlsOptions,
        host: target.hostname,
        port,
        ...(servername ? { servername } : {}),
        ...(localAddress ? { localAddress } : {}),
        ...(target.httpSocket ? { socket: target.httpSocket } : {}),
      };
      // undici destroys sockets with an error when it closes them on purpose.
      connectOptions[kKeepSessionsOnLateErrors] = true;
      socket = sessions.connect(connectOptions);
    } else {
      socket = net.connect({ host: target.hostname, port, ...(localAddress ? { localAddress } : {}) });
    }
    let pending: UndiciConnectCallback | null = callback;
    const done = (err: Error | null) => {
      if (timer !== undefined) clearTimeout(timer);
      const cb = pending;
      pending = null;
      if (cb === null) return;
      if (err) cb(err, null);
      else cb(null, socket);
    };
    const timer =
      timeout > 0
        ? setTimeout(() => {
            const err = makeError('ERR_TLS_RESUMPTION_TIMEOUT', `connect to ${target.hostname}:${port} timed out after ${timeout} ms`);
            done(err);
            socket.destroy(err);
          }, timeout)
        : undefined;
    socket.setNoDelay(true);
    socket.once(https ? 'secureConnect' : 'connect', () => done(null));
    // undici adds its own error handling after the callback; until then this
    // listener is the one that reports the failure.
    socket.on('error', (err) => done(err));
    return socket;
  };
}
