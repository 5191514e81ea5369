// A session the server declines (the connection did not resume) is removed and
// never offered again; the connection's new session takes its place.
import t from 'tap';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
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

function server(): tls.Server {
  return tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
}

t.test('TLS 1.2 ticket declined after the server changed its ticket keys: removed, replaced, next one resumes', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  t.equal((await exchange(cache.connect(dest))).reused, true);
  const old = cache.get(dest)!;
  srv.setTicketKeys(randomBytes(48));
  t.equal((await exchange(cache.connect(dest))).reused, false, 'the old ticket no longer decrypts');
  t.equal(cache.stats().declined, 1);
  t.equal(cache.stats().number, 1);
  t.notSame(cache.get(dest), old, 'the declined session was replaced by the new one');
  t.equal(cache.remove(dest, old), 0, 'the declined session is gone');
  t.equal((await exchange(cache.connect(dest))).reused, true, 'the new session resumes');
});

t.test('TLS 1.3 ticket declined after a key change: counted, and every ticket is still offered only once', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost' };
  await exchange(cache.connect(dest));
  t.equal(cache.stats().number, 2);
  srv.setTicketKeys(randomBytes(48));
  t.equal((await exchange(cache.connect(dest))).reused, false);
  const s = cache.stats();
  t.equal(s.declined, 1);
  t.equal(s.offered, 1);
  // One old ticket is left; the two new ones are newer and are offered first.
  t.equal(cache.stats().number, 3);
  t.equal((await exchange(cache.connect(dest))).reused, true);
  t.equal((await exchange(cache.connect(dest))).reused, true);
  t.equal((await exchange(cache.connect(dest))).reused, false, 'the last old ticket is declined');
  t.equal(cache.stats().declined, 2);
});

t.test('the declined session is removed even when the application gave it by hand', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  const session = cache.get(dest)!;
  srv.setTicketKeys(randomBytes(48));
  t.equal((await exchange(cache.connect({ ...dest, session }))).reused, false);
  t.equal(cache.stats().declined, 1);
  t.equal(cache.remove(dest, session), 0, 'no longer held');
  t.equal(cache.stats().number, 1, 'the connection’s new session is held');
});
