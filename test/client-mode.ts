// The CLIENT mode flag: sessions are stored automatically only when the mode
// includes CLIENT (and not NO_INTERNAL_STORE); choosing a session by hand works in
// every mode, as SSL_set_session does.
import t from 'tap';
import * as tls from 'node:tls';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';
import { SESS_CACHE_CLIENT, SESS_CACHE_OFF } from '../lib/constants.js';

function exchange(socket: tls.TLSSocket): Promise<{ reused: boolean; sessions: Buffer[]; error?: Error }> {
  return new Promise((resolve) => {
    const out: { reused: boolean; sessions: Buffer[]; error?: Error } = { reused: false, sessions: [] };
    socket.on('session', (s: Buffer) => out.sessions.push(s));
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

async function withServer(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const srv = tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
  const port = await listen(srv);
  t.teardown(() => close(srv));
  return port;
}

for (const mode of ['off', 'server', ['client', 'no-internal-store']] as const) {
  t.test(`mode ${JSON.stringify(mode)}: connections store nothing, the application still sees 'session'`, async (t) => {
    const port = await withServer(t);
    const cache = new ClientSessionCache({ mode: mode as never });
    const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
    const first = await exchange(cache.connect(dest));
    t.equal(first.sessions.length, 2, 'the application got both tickets');
    t.equal(cache.stats().number, 0);
    t.equal(cache.stats().stored, 0);
    t.equal((await exchange(cache.connect(dest))).reused, false, 'nothing to offer');
    // Added by hand, a session is offered in any mode.
    t.equal(cache.add(dest, first.sessions[0]!), true);
    t.equal((await exchange(cache.connect(dest))).reused, true);
    t.equal(cache.stats().number, 0, 'the ticket was used; the new one was not stored');
  });
}

t.test('setMode() takes effect from the next connection and returns the previous mode; getMode() reads it', async (t) => {
  const port = await withServer(t);
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  t.equal(cache.setMode('off'), SESS_CACHE_CLIENT, 'the previous mode');
  t.equal(cache.getMode(), SESS_CACHE_OFF);
  await exchange(cache.connect(dest));
  t.equal(cache.stats().stored, 0, "mode 'off': the connection's tickets were not stored");
  t.equal(cache.setMode(['client']), SESS_CACHE_OFF);
  await exchange(cache.connect(dest));
  t.equal(cache.stats().stored, 2, "mode 'client' again: both tickets stored");
  t.equal((await exchange(cache.connect(dest))).reused, true, 'and offered');
  t.throws(() => cache.setMode('nonsense' as never), { code: 'ERR_TLS_RESUMPTION_INVALID_MODE' });
  t.equal(cache.getMode(), SESS_CACHE_CLIENT, 'a bad mode changes nothing');
});

t.test("mode 'both' stores client sessions like 'client'", async (t) => {
  const port = await withServer(t);
  const cache = new ClientSessionCache({ mode: 'both' });
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  await exchange(cache.connect(dest));
  t.equal(cache.stats().number, 2);
  t.equal((await exchange(cache.connect(dest))).reused, true);
});

t.test('get() hands a session to a plain tls.connect, which resumes; a TLS 1.3 ticket only once', async (t) => {
  const port = await withServer(t);
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  await exchange(cache.connect(dest));
  const first = cache.get(dest);
  const second = cache.get(dest);
  t.ok(first && second);
  t.notSame(first, second, 'two tickets, two different sessions');
  t.equal(cache.get(dest), undefined, 'both handed out');
  t.equal((await exchange(tls.connect({ ...dest, session: first }))).reused, true);
  t.equal(cache.stats().offered, 2);
});

t.test('get() of a TLS 1.2 session leaves it in the cache', async (t) => {
  const port = await withServer(t);
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  const a = cache.get(dest);
  t.ok(a);
  t.same(cache.get(dest), a);
  t.equal((await exchange(tls.connect({ ...dest, session: a }))).reused, true);
  t.equal(cache.remove(dest), 1, 'remove(destination) drops it');
  t.equal(cache.get(dest), undefined);
});
