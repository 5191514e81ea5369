import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore, INSECURE_PLAINTEXT_WARNING } from '../lib/stores/redis.js';
import { GuardedStore } from '../lib/stores/guarded.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  let nodeRedis: ReturnType<typeof createClient>;
  let ioredis: Redis;
  const sealKey = randomBytes(32);
  const session = Buffer.concat([Buffer.from('3082', 'hex'), randomBytes(180)]);

  t.before(async () => {
    redis = await startRedis();
    nodeRedis = createClient({ url: redis.url });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    ioredis = new Redis(redis.url);
    await new Promise<void>((resolve) => ioredis.once('ready', () => resolve()));
  });
  t.teardown(async () => {
    await nodeRedis?.close();
    ioredis?.disconnect();
    await redis?.stop();
  });

  const flavours: [string, () => RedisStore][] = [
    ['node-redis v5 client', () => new RedisStore({ client: nodeRedis, sealKeys: [sealKey] })],
    ['ioredis client', () => new RedisStore({ client: ioredis, sealKeys: [sealKey] })],
    ['url', () => new RedisStore({ url: redis.url, sealKeys: [sealKey] })],
  ];

  for (const [name, make] of flavours) {
    t.test(`${name}: set, get, add, delete, TTL and namespacing against a real redis-server`, async (t) => {
      const store = make();
      t.teardown(() => store.close());
      t.equal(store.sealed, true);
      const key = `ab12cd34:${randomBytes(16).toString('hex')}`;
      // A url store connects in the background; calls fail fast until it is ready.
      const guard = new GuardedStore(store, { timeoutMs: 2000, failureThreshold: 1000 });
      for (let i = 0; i < 200 && (await guard.get(key)).outcome !== 'miss'; i++) await new Promise((r) => setTimeout(r, 10));

      t.equal(await store.get(key), undefined, 'absent');
      await store.set(key, session, 60_000);
      t.same(await store.get(key), session, 'round trip');

      const raw = await nodeRedis.get(`tls-resumption:${key}`);
      t.type(raw, 'string', 'stored under keyPrefix + key');
      const bytes = Buffer.from(raw!, 'base64');
      t.equal(bytes.indexOf(session.subarray(2, 34)), -1, 'no plaintext in Redis');
      const pttl = await nodeRedis.pTTL(`tls-resumption:${key}`);
      t.ok(pttl > 0 && pttl <= 60_000, `PTTL ${pttl} is the session's lifetime`);

      t.equal(await store.add(key, session, 60_000), false, 'add does not replace');
      t.equal(await store.delete(key), true);
      t.equal(await store.delete(key), false, 'second delete finds nothing');
      t.equal(await store.get(key), undefined);
      t.equal(await store.add(key, session, 1_000), true, 'add stores when absent');
      t.same(await store.get(key), session);
      await store.delete(key);
    });
  }

  t.test('entries written through one client library read back through the other', async (t) => {
    const a = new RedisStore({ client: nodeRedis, sealKeys: [sealKey] });
    const b = new RedisStore({ client: ioredis, sealKeys: [sealKey] });
    await a.set('x:1', session, 10_000);
    t.same(await b.get('x:1'), session);
    await b.set('x:2', session, 10_000);
    t.same(await a.get('x:2'), session);
  });

  t.test('different keyPrefixes do not see each other, and an entry copied across fails to open', async (t) => {
    const a = new RedisStore({ client: nodeRedis, sealKeys: [sealKey], keyPrefix: 'app-a:' });
    const b = new RedisStore({ client: nodeRedis, sealKeys: [sealKey], keyPrefix: 'app-b:' });
    await a.set('ctx:id', session, 10_000);
    t.equal(await b.get('ctx:id'), undefined);
    await nodeRedis.set('app-b:ctx:id', (await nodeRedis.get('app-a:ctx:id'))!);
    await t.rejects(b.get('ctx:id'), { code: 'ERR_TLS_RESUMPTION_UNSEAL' });
  });

  t.test('insecurePlaintext stores the bytes in clear and warns once with a code', async (t) => {
    const warnings: { code?: string }[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w);
    process.on('warning', onWarning);
    const a = new RedisStore({ client: nodeRedis, insecurePlaintext: true });
    new RedisStore({ client: ioredis, insecurePlaintext: true });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    t.equal(a.sealed, false);
    t.same(warnings.map((w) => w.code), [INSECURE_PLAINTEXT_WARNING], 'one warning for two stores');
    await a.set('plain:1', session, 10_000);
    t.same(Buffer.from((await nodeRedis.get('tls-resumption:plain:1'))!, 'base64'), session);
    t.same(await a.get('plain:1'), session);
  });

  t.test('options are validated', async (t) => {
    t.throws(() => new RedisStore({ client: nodeRedis } as never), { code: 'ERR_TLS_RESUMPTION_SEAL_KEY', message: /insecurePlaintext/ });
    t.throws(() => new RedisStore({ client: nodeRedis, sealKeys: [sealKey], insecurePlaintext: true }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
    t.throws(() => new RedisStore({ sealKeys: [sealKey] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION', message: /exactly one/ });
    t.throws(() => new RedisStore({ client: nodeRedis, url: redis.url, sealKeys: [sealKey] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
    t.throws(() => new RedisStore({ url: 'http://x', sealKeys: [sealKey] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
    t.throws(() => new RedisStore({ client: {}, sealKeys: [sealKey] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
    t.throws(() => new RedisStore({ client: nodeRedis, sealKeys: [randomBytes(16)] }), { code: 'ERR_TLS_RESUMPTION_SEAL_KEY' });
    t.throws(() => new RedisStore({ client: nodeRedis, sealKeys: [sealKey], prefix: 'x' } as never), { code: 'ERR_TLS_RESUMPTION_UNKNOWN_OPTION' });
    const store = new RedisStore({ client: nodeRedis, sealKeys: [sealKey] });
    await t.rejects(store.set('k', session, 0), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
    await t.rejects(store.set('k', session, NaN), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  });
}
