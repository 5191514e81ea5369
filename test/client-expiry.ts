// Lifetimes with an injected wall clock: the server's ticket lifetime hint, the
// maxLifetime cap, flush() and the automatic flush every 255 connections.
import t from 'tap';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { constants } from 'node:crypto';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

function exchange(socket: tls.TLSSocket): Promise<{ reused: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const out: { reused: boolean; error?: Error } = { reused: false };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

function server(options: tls.TlsOptions = {}): tls.Server {
  return tls.createServer({ key, cert, ...options }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
}

/** A wall clock the test moves forward. */
function clock() {
  let skew = 0;
  return { now: () => Date.now() + skew, advance: (seconds: number) => (skew += seconds * 1000) };
}

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${maxVersion}: a session is offered within the server's ticket lifetime hint and not after it`, async (t) => {
    // Node's sessionTimeout becomes the ticket lifetime hint (the session's own timeout stays 7200 s).
    const srv = server({ sessionTimeout: 60 });
    const port = await listen(srv);
    t.teardown(() => close(srv));
    const c = clock();
    const cache = new ClientSessionCache({ now: c.now });
    const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion };
    await exchange(cache.connect(dest));
    c.advance(55);
    t.equal((await exchange(cache.connect(dest))).reused, true, 'at +55 s: offered, resumed');
    const before = cache.stats().expired;
    c.advance(10);
    t.equal((await exchange(cache.connect(dest))).reused, false, 'at +65 s: not offered');
    t.ok(cache.stats().expired > before, 'counted as expired');
    t.equal(cache.stats().declined, 0, 'nothing was offered, so nothing was declined');
    t.equal(cache.stats().offered, 1);
  });
}

t.test('maxLifetime caps a session whose own timeout is longer', async (t) => {
  const srv = server({ secureOptions: constants.SSL_OP_NO_TICKET });
  const ids = new Map<string, Buffer>();
  srv.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
    ids.set(id.toString('hex'), der);
    done();
  });
  srv.on('resumeSession', (id: Buffer, cb: (e: Error | null, d: Buffer | null) => void) => cb(null, ids.get(id.toString('hex')) ?? null));
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const c = clock();
  const cache = new ClientSessionCache({ now: c.now, maxLifetime: 30 });
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  c.advance(25);
  t.equal((await exchange(cache.connect(dest))).reused, true);
  c.advance(10);
  t.equal(cache.get(dest), undefined, 'past 30 s it is gone, though OpenSSL says 7200 s');
  t.equal(cache.stats().expired, 1);
});

/** Opens `n` connections that are refused, one after the other. */
async function refused(cache: ClientSessionCache, port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      const s = cache.connect({ host: '127.0.0.1', port, ca });
      s.on('error', () => {});
      s.once('close', () => resolve());
    });
  }
}

t.test('expired sessions are flushed every 255 connections unless NO_AUTO_CLEAR, and by flush()', async (t) => {
  // A session to hold: one real handshake.
  const srv = server();
  const port = await listen(srv);
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  const donor = new ClientSessionCache();
  await exchange(donor.connect(dest));
  const session = donor.get(dest)!;
  await close(srv);
  // A port nobody listens on: connections there are refused at once.
  const closed = net.createServer();
  const deadPort = await listen(closed);
  await close(closed);

  for (const mode of ['client', ['client', 'no-auto-clear']] as const) {
    const c = clock();
    const cache = new ClientSessionCache({ now: c.now, mode: mode as never });
    cache.add(dest, session);
    c.advance(3 * 3600); // past the 7200 s lifetime
    await refused(cache, deadPort, 254);
    t.equal(cache.stats().number, 1, `${String(mode)}: not flushed before the 255th connection`);
    await refused(cache, deadPort, 1);
    if (mode === 'client') {
      t.equal(cache.stats().number, 0, 'flushed at the 255th connection');
      t.equal(cache.stats().expired, 1);
    } else {
      t.equal(cache.stats().number, 1, 'no-auto-clear: still held');
      t.equal(cache.flush(), 1, 'flush() removes it');
      t.equal(cache.stats().number, 0);
    }
  }
});
