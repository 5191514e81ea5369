// The cache is bounded (LRU over all sessions) with real handshakes.
import t from 'tap';
import * as tls from 'node:tls';
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

// Each servername is its own destination. Node's checkServerIdentity does not let
// the fixture's '*.example' match 's1.example' (a wildcard needs three labels), so
// these tests accept any name; the chain is still verified against the fixture CA.
const checkServerIdentity = () => undefined;

function server(): tls.Server {
  return tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
}

t.test('max 3 over five destinations: the two least recently used are evicted, the rest resume', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache({ cacheSize: 3 });
  const dest = (i: number) => ({ host: '127.0.0.1', port, ca, servername: `s${i}.example`, checkServerIdentity, maxVersion: 'TLSv1.2' as const });
  for (let i = 1; i <= 5; i++) {
    await exchange(cache.connect(dest(i)));
    t.ok(cache.stats().number <= 3, `bound holds after destination ${i}`);
  }
  t.equal(cache.stats().evicted, 2);
  let pattern = '';
  for (let i = 3; i <= 5; i++) pattern += (await exchange(cache.connect(dest(i)))).reused ? 'R' : 'F';
  for (let i = 1; i <= 2; i++) pattern += (await exchange(cache.connect(dest(i)))).reused ? 'R' : 'F';
  t.equal(pattern, 'RRRFF', 's3..s5 resume; s1 and s2 were evicted');
  t.equal(cache.stats().number, 3);
});

t.test('TLS 1.3: tickets count one each against max', async (t) => {
  const srv = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const cache = new ClientSessionCache({ cacheSize: 3 });
  for (let i = 1; i <= 3; i++) {
    await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: `t${i}.example`, checkServerIdentity }));
    t.ok(cache.stats().number <= 3);
  }
  // Six tickets arrived (two per full handshake); three fit.
  t.equal(cache.stats().stored, 6);
  t.equal(cache.stats().evicted, 3);
  t.equal(cache.stats().number, 3);
  t.equal((await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 't1.example', checkServerIdentity }))).reused, false, 't1 lost both tickets');
  t.equal((await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 't3.example', checkServerIdentity }))).reused, true);
});
