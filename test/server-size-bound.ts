/**
 * Behaviour 7: the internal store holds at most `cacheSize` sessions; adding to a
 * full store evicts the least recently used one (a resumption counts as a use) and
 * counts it in `cacheFull`, as OpenSSL's SSL_CTX_sess_set_cache_size(3) /
 * SSL_CTX_sess_cache_full(3). A flood of new sessions never grows it past the bound.
 */
import t from 'tap';
import {
  captureNewSessions,
  connect,
  fullHandshakes,
  lastSession,
  pick,
  startCacheServer,
  tls12NoTicket,
  tls13,
  until,
  type CacheServer,
} from './fixtures/server.js';

const client = tls12NoTicket();

/**
 * The largest `number` seen right after each new session was stored: this listener
 * runs after the cache's own (registered at attach), on every newSession.
 */
function watchSize(s: CacheServer): { max: number; events: number } {
  const seen = { max: 0, events: 0 };
  s.server.on('newSession', (_id: Buffer, _der: Buffer, done: () => void) => {
    seen.events++;
    seen.max = Math.max(seen.max, s.cache.stats().number);
    done();
  });
  return seen;
}

t.test('flood: 300 new TLS 1.2 sessions into cacheSize 50 never hold more than 50; 250 evictions counted', async (t) => {
  const s = await startCacheServer({ cacheSize: 50, tickets: 'off' });
  t.teardown(() => s.close());
  const seen = watchSize(s);
  const results = await fullHandshakes(s.port, 300, client);
  await until(() => s.cache.stats().acceptGood === 300, 10_000, '300 handshakes');
  t.equal(seen.events, 300);
  t.equal(seen.max, 50, 'after every one of the 300 new sessions, the store held at most 50');
  t.same(pick(s.cache.stats(), 'number', 'cacheFull', 'acceptGood'), { number: 50, cacheFull: 250, acceptGood: 300 });

  // The newest sessions are there; the oldest were evicted. Resumptions add nothing,
  // so check the newest first; each failed one below makes a new session.
  for (const r of results.slice(-10)) t.equal((await connect(s.port, { ...client, session: lastSession(r) })).resumed, true);
  for (const r of results.slice(0, 10)) t.equal((await connect(s.port, { ...client, session: lastSession(r) })).resumed, false);
  t.same(pick(s.cache.stats(), 'number', 'cacheFull', 'internalHits', 'misses'), { number: 50, cacheFull: 260, internalHits: 10, misses: 10 });
});

t.test('flood: TLS 1.3 stateful tickets (two per full handshake) are bounded the same way', async (t) => {
  const s = await startCacheServer({ cacheSize: 50, tickets: 'off' });
  t.teardown(() => s.close());
  const seen = watchSize(s);
  await fullHandshakes(s.port, 150, tls13());
  await until(() => seen.events === 300, 10_000, '300 tickets');
  t.equal(seen.max, 50, 'after every one of the 300 tickets, the store held at most 50');
  t.same(pick(s.cache.stats(), 'number', 'cacheFull'), { number: 50, cacheFull: 250 });
});

t.test('eviction is least-recently-used: a resumed session outlives older untouched ones', async (t) => {
  const s = await startCacheServer({ cacheSize: 3, tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const sessions: Buffer[] = [];
  for (let i = 0; i < 3; i++) sessions.push(lastSession(await connect(s.port, client)));
  t.equal((await connect(s.port, { ...client, session: sessions[0]! })).resumed, true, 'session 0 used again');
  sessions.push(lastSession(await connect(s.port, client))); // session 3: the store is full
  const [id0, id1, id2, id3] = captured.map((c) => c.id);
  t.same(
    [id0, id1, id2, id3].map((id) => s.cache.hasMatchingSessionId(id!)),
    [true, false, true, true],
    'session 1, the least recently used, was evicted; session 0 was kept because it was resumed',
  );
  t.equal(s.cache.stats().cacheFull, 1);
  t.equal((await connect(s.port, { ...client, session: sessions[1]! })).resumed, false, 'the evicted session does not resume');
  t.equal((await connect(s.port, { ...client, session: sessions[3]! })).resumed, true);
});

t.test('cacheSize 0 means unbounded, as in OpenSSL', async (t) => {
  const s = await startCacheServer({ cacheSize: 0, tickets: 'off' });
  t.teardown(() => s.close());
  await fullHandshakes(s.port, 120, client);
  await until(() => s.cache.stats().acceptGood === 120, 10_000, '120 handshakes');
  t.same(pick(s.cache.stats(), 'number', 'cacheFull'), { number: 120, cacheFull: 0 });
});

t.test('add() into a full store evicts the least recently used session and counts it', async (t) => {
  const source = await startCacheServer({ sessionIdContext: 'size-bound', tickets: 'off' });
  t.teardown(() => source.close());
  const captured = captureNewSessions(source.server);
  await fullHandshakes(source.port, 3, client, 1);
  const s = await startCacheServer({ sessionIdContext: 'size-bound', cacheSize: 2, tickets: 'off' });
  t.teardown(() => s.close());
  for (const { id, der } of captured) t.equal(s.cache.add(id, der), true);
  t.same(pick(s.cache.stats(), 'number', 'cacheFull'), { number: 2, cacheFull: 1 });
  t.same(
    captured.map(({ id }) => s.cache.hasMatchingSessionId(id)),
    [false, true, true],
  );
});
