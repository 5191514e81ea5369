import t from 'tap';
import * as tls from 'node:tls';
import { constants } from 'node:crypto';
import { attachSessionCache } from '../lib/index.js';
import { key, cert, listen, close, connect } from './fixtures/tls.js';

const NO_TICKET = constants.SSL_OP_NO_TICKET;

t.test("without the pre-parse, TLS 1.3 clients' random legacy ids are not counted as misses", async (t) => {
  const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const cache = attachSessionCache(server); // tickets 'node', one context: no pre-parse
  const port = await listen(server);
  t.teardown(() => close(server));
  let session: Buffer | undefined;
  for (let i = 0; i < 4; i++) {
    const r = await connect(port, { minVersion: 'TLSv1.3', ...(session ? { session } : {}) }, { waitMs: 100 });
    session = r.sessions.at(-1) ?? session;
  }
  const stats = cache.stats();
  t.equal(stats.helloParsed + stats.helloUnparsed, 0, 'no pre-parse ran');
  t.ok(stats.hits >= 1, 'TLS 1.3 clients resumed by stateless ticket');
  t.equal(stats.misses, 0, 'their random legacy ids are not misses');
});

t.test('without the pre-parse, an unknown TLS 1.2 session id is a miss once the handshake completes', async (t) => {
  const other = tls.createServer({ key, cert, secureOptions: NO_TICKET }, (s) => s.end('ok'));
  other.on('newSession', (_id, _der, done) => done()); // a session id this cache never saw
  const otherPort = await listen(other);
  const foreign = await connect(otherPort, { maxVersion: 'TLSv1.2' });
  await close(other);
  t.ok(foreign.sessions.length > 0, 'got a session elsewhere');

  const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const cache = attachSessionCache(server);
  const port = await listen(server);
  t.teardown(() => close(server));
  const r = await connect(port, { maxVersion: 'TLSv1.2', secureOptions: NO_TICKET, session: foreign.sessions.at(-1)! });
  t.equal(r.resumed, false);
  t.equal(cache.stats().misses, 1, 'counted as a miss');
});
