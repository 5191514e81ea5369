/**
 * Two applications with different session id contexts on one Redis, with the same
 * key prefix and even the same seal keys: zero cross resumptions, and each host counts
 * the other's sessions it was offered in sidCtxMismatch, so a fleet whose hosts
 * disagree on the context does not look like a cold cache (issue 11). Two servers of
 * one application (same context) on the same Redis do resume each other's sessions,
 * so the test can fail.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import type { SessionCacheOptions } from '../lib/index.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { startCacheServer, connect, lastSession, sessionIdOf, type CacheServer } from './fixtures/server.js';
import { externalSessionKey } from '../lib/cache/external-sessions.js';
import { PROTOCOLS, WriteTrackingStore, crossResumptions } from './fixtures/store-fleet.js';

const ATTEMPTS = 40;
runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  const sealKeys = [randomBytes(32)];
  t.before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
  });
  t.teardown(async () => {
    await client?.close();
    await redis?.stop();
  });

  // A generous deadline: these tests are about contexts and tampering, and on a loaded
  // machine a 50 ms store deadline could turn a tampered entry into a counted timeout.
  // Every store is write-tracked: `settle` waits until the sessions just made are in
  // Redis, instead of sleeping or racing the write.
  const stores: WriteTrackingStore[] = [];
  const settle = () => Promise.all(stores.map((s) => s.settled()));
  const server = (context: string, extra: SessionCacheOptions = {}): Promise<CacheServer> => {
    const store = new WriteTrackingStore(new RedisStore({ client, sealKeys }));
    stores.push(store);
    return startCacheServer({ sessionIdContext: context, tickets: 'off', storeTimeoutMs: 2000, store, ...extra });
  };

  t.test('different contexts on one Redis: no session crosses, for TLS 1.2 ids and TLS 1.3 tickets', async (t) => {
    const shop = await server('shop-frontend');
    const admin = await server('admin-backend');
    t.teardown(async () => {
      await shop.close();
      await admin.close();
    });
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await crossResumptions([shop.port, admin.port], ATTEMPTS, options, { settle });
      t.comment(`${protocol}: ${r.resumed}/${r.attempts} resumptions across contexts`);
      t.equal(r.failed, 0);
      t.equal(r.resumed, 0, `${protocol}: zero cross resumptions`);
    }
    const keys = await client.keys('tls-resumption:*');
    t.ok(keys.length > 0, 'both applications wrote into the one session namespace');
    t.equal(shop.cache.stats().cbHits + admin.cache.stats().cbHits, 0, 'nothing served from the store');
    const mismatches = shop.cache.stats().sidCtxMismatch + admin.cache.stats().sidCtxMismatch;
    t.ok(mismatches > 0, `the offers of the other application's sessions were found and counted in sidCtxMismatch (${mismatches})`);
    t.equal(shop.cache.stats().storeTampered + admin.cache.stats().storeTampered, 0, 'a context disagreement, not tampering');
  });

  t.test("an entry copied under another session's key is a counted tampered miss", async (t) => {
    // Every lookup goes to Redis, so the offer meets the copied entry.
    const shop = await server('shop-frontend', { mode: ['server', 'no-internal-lookup'] });
    t.teardown(() => shop.close());
    const first = lastSession(await connect(shop.port, PROTOCOLS['TLSv1.2']));
    const second = lastSession(await connect(shop.port, PROTOCOLS['TLSv1.2']));
    await settle();
    const keyOf = (session: Buffer) => `tls-resumption:${externalSessionKey(sessionIdOf(session).toString('hex'))}`;
    const entry = await client.get(keyOf(first));
    t.type(entry, 'string', 'the session is in Redis');
    await client.set(keyOf(second), entry!, { PX: 60_000 });
    const offered = await connect(shop.port, { ...PROTOCOLS['TLSv1.2'], session: second });
    t.equal(offered.error, undefined);
    t.equal(offered.resumed, false, 'the copied entry does not resume');
    t.equal(shop.cache.stats().storeTampered, 1, 'it is counted as tampered (the seal binds the key)');
  });

  t.test('control: two servers of the same context on the same Redis resume each other', async (t) => {
    const a = await server('shop-frontend');
    const b = await server('shop-frontend');
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await crossResumptions([a.port, b.port], 10, options, { settle });
      t.equal(r.resumed, 10, `${protocol}: same context resumes across servers`);
    }
  });
}
