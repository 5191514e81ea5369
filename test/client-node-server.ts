// Real handshakes between ClientSessionCache.connect() and plain Node tls servers:
// the first connection is full, later ones resume, for every kind of session a
// Node server can issue to a Node client.
import t from 'tap';
import * as tls from 'node:tls';
import { constants } from 'node:crypto';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

interface Outcome {
  reused: boolean;
  protocol: string | null;
  error?: Error;
}

/** One request/response over `socket`; resolves after 'close', when the cache has seen everything. */
function exchange(socket: tls.TLSSocket): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { reused: false, protocol: null };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      out.protocol = socket.getProtocol();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    // The server answers after its handshake flight, so its tickets came first.
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

/** A Node TLS server that answers one line and closes. */
function server(options: tls.TlsOptions = {}): tls.Server {
  return tls.createServer({ key, cert, ...options }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
}

/** Adds the classic Map-based newSession/resumeSession pair (TLS 1.2 session ids). */
function withMapCache(srv: tls.Server): tls.Server {
  const sessions = new Map<string, Buffer>();
  srv.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
    sessions.set(id.toString('hex'), der);
    done();
  });
  srv.on('resumeSession', (id: Buffer, cb: (err: Error | null, der: Buffer | null) => void) => {
    cb(null, sessions.get(id.toString('hex')) ?? null);
  });
  return srv;
}

async function run(cache: ClientSessionCache, port: number, n: number, options: tls.ConnectionOptions = {}): Promise<string> {
  let pattern = '';
  for (let i = 0; i < n; i++) {
    const out = await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }));
    if (out.error) throw out.error;
    pattern += out.reused ? 'R' : 'F';
  }
  return pattern;
}

t.test('TLS 1.2 tickets: first connection full, later ones resume the same session', async (t) => {
  const srv = server();
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  t.equal(await run(cache, port, 5, { maxVersion: 'TLSv1.2' }), 'FRRRR');
  const s = cache.stats();
  t.equal(s.number, 1);
  t.equal(s.offered, 4);
  t.equal(s.resumed, 4);
  t.equal(s.declined, 0);
  await close(srv);
});

t.test('TLS 1.2 session ids (server with SSL_OP_NO_TICKET and a Map cache): full, then resumed', async (t) => {
  const srv = withMapCache(server({ secureOptions: constants.SSL_OP_NO_TICKET }));
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  t.equal(await run(cache, port, 5, { maxVersion: 'TLSv1.2' }), 'FRRRR');
  t.equal(cache.stats().resumed, 4);
  t.equal(cache.stats().number, 1);
  await close(srv);
});

t.test('TLS 1.3 tickets: each full handshake brings two tickets, each resumes once', async (t) => {
  // Measured on Node 20 / OpenSSL 3.0: a Node server sends two tickets after a
  // full handshake and none after a resumption, so with tickets used once the
  // pattern is full, resumed, resumed, full...
  const srv = server();
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  t.equal(await run(cache, port, 6), 'FRRFRR');
  const s = cache.stats();
  t.equal(s.stored, 4);
  t.equal(s.offered, 4);
  t.equal(s.resumed, 4);
  t.equal(s.number, 0, 'every ticket was used up');
  await close(srv);
});

t.test('TLS 1.2 ids on a Node server without handlers: every offer declined and removed', async (t) => {
  // Node turns OpenSSL's server cache off; without handlers nothing resumes.
  const srv = server({ secureOptions: constants.SSL_OP_NO_TICKET });
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  const seen: Buffer[] = [];
  for (let i = 0; i < 4; i++) {
    const held = cache.get({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' });
    if (held) seen.push(held);
    const out = await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' }));
    t.equal(out.reused, false);
  }
  const s = cache.stats();
  t.equal(s.declined, 3, 'connections 2..4 offered a session and were declined');
  t.equal(s.resumed, 0);
  t.equal(s.number, 1, 'only the newest session is held');
  t.equal(new Set(seen.map((b) => b.toString('hex'))).size, seen.length, 'a declined session was never offered again');
  await close(srv);
});

t.test('an explicit session in the options wins over the cache and is judged like an offered one', async (t) => {
  const srv = server();
  const port = await listen(srv);
  const cache = new ClientSessionCache();
  const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' as const };
  await exchange(cache.connect(dest));
  const session = cache.get(dest);
  t.ok(session);
  const out = await exchange(cache.connect({ ...dest, session }));
  t.equal(out.reused, true);
  t.equal(cache.stats().resumed, 1);
  t.equal(cache.stats().offered, 1, 'only get() handed a session out');
  await close(srv);
});
