/**
 * RedisStore readiness (issue 11, item 5): `ready()` and `onReady()` with a real
 * redis-server, for a store that owns its client (`{ url }`) and for clients passed in
 * (node-redis, ioredis) that are still connecting. Nobody has to wait: calls before
 * fail fast, as counted misses.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore } from '../lib/stores/redis.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  t.before(async () => {
    redis = await startRedis();
  });
  t.teardown(() => redis?.stop());
  const sealKeys = [randomBytes(32)];

  t.test('{ url }: ready() resolves once connected; calls made before fail fast, not hang', async (t) => {
    const store = new RedisStore({ url: redis.url, sealKeys });
    t.teardown(() => store.close());
    let events = 0;
    store.onReady(() => events++);
    t.equal(store.isReady, false, 'not ready right after construction');
    await t.rejects(store.get('k'), { code: 'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE' }, 'a call before ready fails at once');
    await store.ready();
    t.equal(store.isReady, true);
    t.equal(events, 1, 'onReady fired once');
    await store.ready(); // at once now
    await store.set('k', Buffer.from('v'), 10_000);
    t.same(await store.get('k'), Buffer.from('v'));
  });

  t.test('clients passed in while still connecting: node-redis and ioredis', async (t) => {
    const nodeRedis = createClient({ url: redis.url });
    nodeRedis.on('error', () => {});
    const io = new Redis(redis.url, { lazyConnect: true });
    io.on('error', () => {});
    t.teardown(async () => {
      nodeRedis.destroy();
      io.disconnect();
    });
    const stores = [new RedisStore({ client: nodeRedis, sealKeys }), new RedisStore({ client: io, sealKeys })];
    const events = [0, 0];
    stores.forEach((s, i) => s.onReady(() => events[i]!++));
    t.same(stores.map((s) => s.isReady), [false, false]);
    const ready = Promise.all(stores.map((s) => s.ready()));
    void nodeRedis.connect();
    void io.connect();
    await ready;
    t.same(stores.map((s) => s.isReady), [true, true], 'ready once each client connected');
    t.same(events, [1, 1]);
  });

  t.test('onReady fires again after a reconnection; close() rejects waiters and removes listeners', async (t) => {
    const store = new RedisStore({ url: redis.url, sealKeys });
    await store.ready();
    const reconnected = new Promise<void>((resolve) => store.onReady(resolve));
    await redis.restart();
    await reconnected;
    t.equal(store.isReady, true, 'onReady fired after Redis came back, and the store says it is ready');
    await store.close();
    await t.rejects(store.ready(), { code: 'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE' }, 'a closed store is never ready');

    const down = new RedisStore({ url: 'redis://127.0.0.1:1', sealKeys });
    const waiting = down.ready();
    await down.close();
    await t.rejects(waiting, { code: 'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE' }, 'close() rejects a pending ready()');
  });
}
