/**
 * A TLS 1.3 client's legacy session id is random: with an external store and Node's
 * stateless tickets, such an id must not cost a store round trip (issue 11). TLS 1.3
 * handshakes, full and resumed, make no store lookup; TLS 1.2 session ids still do.
 * Real redis-server, real handshakes, a counting wrapper around the real RedisStore.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../lib/stores/redis.js';
import { runIfRedis, startRedis } from './fixtures/redis.js';
import { countingStore, startCacheServer } from './fixtures/server.js';
import { TLS12_IDS, talk } from './fixtures/server-robustness.js';

runIfRedis(t, () => {
  t.test('TLS 1.3 handshakes with a store and stateless tickets make no store lookup', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const store = new RedisStore({ url: redis.url, sealKeys: [randomBytes(32)] });
    t.teardown(() => store.close());
    const spy = countingStore(store);
    const s = await startCacheServer({ sessionIdContext: 'tls13-lookups', store: spy });
    t.teardown(() => s.close());

    const first = await talk(s.port, { minVersion: 'TLSv1.3' });
    t.equal(first.error, undefined);
    const resumed = await talk(s.port, { minVersion: 'TLSv1.3', session: first.sessions.at(-1)! });
    t.equal(resumed.resumed, true, 'TLS 1.3 resumes by its stateless ticket');
    for (let i = 0; i < 3; i++) await talk(s.port, { minVersion: 'TLSv1.3' });
    t.same(spy.calls.get, [], 'five TLS 1.3 handshakes, no store lookup');
    t.equal(s.cache.stats().misses, 0, 'and no miss counted');

    // Control: a TLS 1.2 session id offer is looked up (it is a real proposal).
    const ids = await talk(s.port, TLS12_IDS);
    const offered = await talk(s.port, { ...TLS12_IDS, session: ids.sessions.at(-1)! });
    t.equal(offered.resumed, true, 'TLS 1.2 resumes by id');
    t.equal(s.cache.stats().internalHits, 1, 'served by the internal store (default mode)');
  });
});
