// sessions.undiciConnector(): first driven the way undici's Client calls a
// connector (types/connector.d.ts), then plugged into real undici through fetch.
import t from 'tap';
import * as net from 'node:net';
import * as https from 'node:https';
import * as http from 'node:http';
import type * as tls from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import type { UndiciConnectOptions } from '../lib/client/undici-connector.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

function httpsServer(): https.Server {
  return https.createServer({ key, cert }, (req, res) => {
    // Connection: close makes undici open a fresh connection for every request.
    res.setHeader('connection', 'close');
    res.end((req.socket as tls.TLSSocket).isSessionReused() ? 'R' : 'F');
  });
}

function call(
  connect: ReturnType<ClientSessionCache['undiciConnector']>,
  target: UndiciConnectOptions,
): Promise<{ err: Error | null; socket: net.Socket | null; calls: number }> {
  return new Promise((resolve) => {
    let calls = 0;
    connect(target, (err, socket) => {
      calls++;
      // Give a second (wrong) callback the chance to happen before resolving.
      setImmediate(() => resolve({ err, socket, calls }));
    });
  });
}

t.test('the connector calls back once per connection, after the handshake, and the second connection resumes', async (t) => {
  const srv = httpsServer();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const sessions = new ClientSessionCache();
  const connect = sessions.undiciConnector({ ca, maxVersion: 'TLSv1.2' });
  // undici passes the port as a string and servername null when the URL has no name to send.
  const target = { hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'https:', port: String(port), servername: 'localhost', localAddress: null };
  for (const expected of [false, true]) {
    const { err, socket, calls } = await call(connect, target);
    t.equal(err, null);
    t.equal(calls, 1);
    const tlsSocket = socket as tls.TLSSocket;
    t.equal(tlsSocket.isSessionReused(), expected);
    t.equal(tlsSocket.alpnProtocol, 'http/1.1', 'the connector offers http/1.1 by ALPN, as undici does');
    tlsSocket.end();
    await new Promise((r) => tlsSocket.once('close', r));
  }
  t.equal(sessions.stats().resumed, 1);
});

t.test('the connector reports a refused connection once, and a stalled handshake as a timeout', async (t) => {
  const sessions = new ClientSessionCache();
  const dead = net.createServer();
  const deadPort = await listen(dead);
  await close(dead);
  const refused = await call(sessions.undiciConnector({ ca }), { hostname: '127.0.0.1', protocol: 'https:', port: deadPort });
  t.equal((refused.err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  t.equal(refused.calls, 1);

  // Accepts TCP, reads and never answers the ClientHello.
  const silent = net.createServer((s) => s.on('error', () => {}).resume());
  const silentPort = await listen(silent);
  t.teardown(() => close(silent));
  const stalled = await call(sessions.undiciConnector({ ca, timeout: 200 }), { hostname: '127.0.0.1', protocol: 'https:', port: silentPort });
  t.equal((stalled.err as NodeJS.ErrnoException).code, 'ERR_TLS_RESUMPTION_TIMEOUT');
  t.equal(stalled.calls, 1);
});

t.test('http: targets get a plain TCP socket', async (t) => {
  const srv = http.createServer((req, res) => res.end('plain'));
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const { err, socket } = await call(new ClientSessionCache().undiciConnector(), { hostname: '127.0.0.1', protocol: 'http:', port });
  t.equal(err, null);
  t.notOk('encrypted' in socket! && (socket as tls.TLSSocket).encrypted);
  socket!.destroy();
});

t.test('invalid timeout is a TypeError', async (t) => {
  t.throws(() => new ClientSessionCache().undiciConnector({ timeout: -1 }), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

// The undici package (a devDependency, v7), as applications use it. Its Agent is
// handed both to its own fetch and to Node's global fetch. The copy of undici bundled
// inside Node is not used: on Node 26 (undici 8 inside) the global dispatcher under
// Symbol.for('undici.globalDispatcher.1') is a compatibility wrapper, not an Agent,
// and the global fetch refuses an undici 6 Agent ("invalid onError method", measured);
// an undici 7 Agent works with the global fetch of Node 20, 22, 24 and 26 (measured).
for (const [name, fetchWith] of [
  ['undici.fetch', undiciFetch as unknown as typeof fetch],
  ['the global fetch', fetch],
] as const) {
  t.test(`${name} with an undici Agent built on the connector resumes fresh connections`, async (t) => {
    const srv = httpsServer();
    const port = await listen(srv);
    t.teardown(() => close(srv));
    const sessions = new ClientSessionCache();
    const dispatcher = new Agent({ connect: sessions.undiciConnector({ ca }) });
    t.teardown(() => dispatcher.close());
    let pattern = '';
    for (let i = 0; i < 3; i++) {
      const res = await fetchWith(`https://localhost:${port}/`, { dispatcher } as RequestInit);
      pattern += await res.text();
    }
    // TLS 1.3 against a Node server: two tickets per full handshake, each used once.
    // undici destroys each of these sockets with an error (InformationalError:
    // reset) without a TLS shutdown; the connector tells the cache that is no failure.
    t.equal(pattern, 'FRR');
    t.equal(sessions.stats().failed, 0);
    t.equal(sessions.stats().resumed, 2);
  });
}
