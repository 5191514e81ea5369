// Sessions from a connection that failed are removed (OpenSSL: a session still
// open when its connection dies is bad, SSL_set_session(3)); a ticket that never
// reached the server (connection refused) is kept.
import t from 'tap';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

interface Outcome {
  reused: boolean;
  hadError: boolean;
  error?: Error;
}

/**
 * One request; `fail` decides how the client ends it once the response arrived:
 * cleanly, or with `destroy(error)`. Resolves on 'close'.
 */
function exchange(socket: tls.TLSSocket, fail = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { reused: false, hadError: false };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => (fail ? socket.destroy(new Error('application gave up')) : socket.end()));
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', (hadError) => {
      out.hadError = hadError;
      resolve(out);
    });
  });
}

function server(onData: (s: tls.TLSSocket) => void = (s) => s.end('HTTP/1.0 200 OK\r\n\r\nok')): tls.Server {
  return tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => onData(s));
  });
}

t.test('the tickets of a TLS 1.3 connection that ends in an error are removed', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const out = await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }), true);
  t.equal(out.hadError, true);
  const s = cache.stats();
  t.equal(s.stored, 2, 'both tickets arrived before the failure');
  t.equal(s.failed, 2);
  t.equal(s.number, 0);
});

t.test('a TLS 1.2 session is removed when the server resets the connection', async (t) => {
  let reset = false;
  let raw: net.Socket | undefined;
  // A TLSSocket cannot send a TCP RST itself; its raw TCP socket can.
  const srv = server((s) => (reset ? raw!.resetAndDestroy() : s.end('HTTP/1.0 200 OK\r\n\r\nok')));
  srv.prependListener('connection', (socket: net.Socket) => (raw = socket));
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  t.equal(cache.stats().number, 1);
  reset = true;
  const out = await exchange(cache.connect(dest));
  t.equal(out.reused, true, 'it resumed, then the server reset');
  t.equal(out.hadError, true);
  t.equal((out.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
  t.equal(cache.stats().number, 0, 'the session of the failed connection is gone');
  t.equal(cache.stats().failed, 1);
});

t.test('an offered TLS 1.2 session whose handshake failed after reaching the server is removed', async (t) => {
  let hangUp = false;
  const srv = server();
  // Drop the raw TCP connection before TLS sees it: the handshake fails mid-way.
  srv.prependListener('connection', (raw: net.Socket) => {
    if (hangUp) raw.destroy();
  });
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  hangUp = true;
  const out = await exchange(cache.connect(dest));
  t.ok(out.error, `the handshake failed: ${out.error?.message}`);
  t.equal(cache.stats().offered, 1);
  t.equal(cache.stats().failed, 1);
  t.equal(cache.stats().number, 0);
});

t.test('a session from a server that fails the identity check is never stored', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    // OpenSSL's handshake completes; Node then rejects the name and destroys the socket.
    const out = await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 'not-in-the-cert.test', maxVersion }));
    t.equal((out.error as NodeJS.ErrnoException | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  }
  t.equal(cache.stats().stored, 0);
  t.equal(cache.stats().number, 0);
});

t.test('a connection the server closed in order stays good when the application then destroys it with an error', async (t) => {
  // undici's pattern: on the server's close it calls socket.destroy(new SocketError(...)).
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const out = await new Promise<{ hadError: boolean }>((resolve) => {
    const socket = cache.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    socket.resume();
    socket.once('end', () => socket.destroy(new Error('other side closed')));
    socket.on('error', () => {});
    socket.once('close', (hadError) => resolve({ hadError }));
  });
  t.equal(out.hadError, true);
  t.equal(cache.stats().failed, 0);
  t.equal(cache.stats().number, 2, 'both tickets kept');
});

t.test('a refused connection keeps the TLS 1.3 ticket it would have offered, and the TLS 1.2 session', async (t) => {
  const srv = server();
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  const v13 = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  const v12 = { ...v13, maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(v13));
  await exchange(cache.connect(v12));
  t.equal(cache.stats().number, 3);
  await close(srv);
  for (const dest of [v13, v12]) {
    const out = await exchange(cache.connect(dest));
    t.equal((out.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
  }
  const s = cache.stats();
  t.equal(s.offered, 2);
  t.equal(s.failed, 0);
  t.equal(s.number, 3, 'nothing was sent, so nothing was lost');
});

t.test('options Node rejects at once throw to the caller and do not use up a TLS 1.3 ticket', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  await exchange(cache.connect(dest));
  t.equal(cache.stats().number, 2);
  // `timeout` is a transport setting (not part of the destination); Node validates it synchronously.
  t.throws(() => cache.connect({ ...dest, timeout: 'soon' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.equal(cache.stats().number, 2, 'the ticket taken for it is back');
  t.equal(cache.stats().offered, 0);
  t.equal((await exchange(cache.connect(dest))).reused, true);
});
