/**
 * Redis killed in the middle of a run of lookups, then restarted on the same port:
 * every call comes back as a counted timeout/error/skip (never a rejection, never a
 * hang), the breaker opens, and once Redis is back the same client reconnects and the
 * store serves hits again without anyone touching it.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore } from '../lib/stores/redis.js';
import { GuardedStore, type GetOutcome } from '../lib/stores/guarded.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function main() {
  const session = randomBytes(200);
  const clients: [string, (url: string) => Promise<{ client: unknown; close(): Promise<void> }>][] = [
    [
      'node-redis client (no error listener of its own)',
      async (url) => {
        const client = createClient({ url, socket: { reconnectStrategy: () => 100 } });
        await client.connect();
        return { client, close: async () => client.destroy() };
      },
    ],
    [
      'ioredis client',
      async (url) => {
        const client = new Redis(url, { retryStrategy: () => 100 });
        await new Promise<void>((resolve) => client.once('ready', () => resolve()));
        return { client, close: async () => client.disconnect() };
      },
    ],
    [
      'url',
      async (url) => ({ client: url, close: async () => {} }),
    ],
  ];

  for (const [name, connect] of clients) {
    t.test(`${name}: a Redis outage becomes counted misses and recovery is automatic`, async (t) => {
      const redis: RedisServer = await startRedis();
      t.teardown(() => redis.stop());
      const { client, close } = await connect(redis.url);
      t.teardown(close);
      const store =
        typeof client === 'string'
          ? new RedisStore({ url: client, sealKeys: [randomBytes(32)] })
          : new RedisStore({ client, sealKeys: [randomBytes(32)] });
      t.teardown(() => store.close());
      const guard = new GuardedStore(store, { timeoutMs: 50, failureThreshold: 3, cooldownMs: 200 });

      // Healthy: wait until the store answers (a url store connects in the background).
      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        ready = (await guard.set('ctx:before', session, 60_000)) === 'ok';
        if (!ready) await sleep(20);
      }
      t.ok(ready, 'store answers before the outage');
      t.equal((await guard.get('ctx:before')).outcome, 'hit');

      await redis.kill();
      const during: GetOutcome[] = [];
      const writes: string[] = [];
      for (let i = 0; i < 20; i++) {
        during.push((await guard.get(`ctx:${i}`)).outcome);
        writes.push(await guard.set(`ctx:${i}`, session, 60_000));
      }
      t.ok(
        during.every((o) => o === 'timeout' || o === 'error' || o === 'skipped'),
        `every lookup during the outage is a counted miss: ${[...new Set(during)].join(', ')}`,
      );
      t.ok(writes.every((o) => o !== 'ok'), 'no write claims success during the outage');
      t.ok(during.includes('skipped'), 'the breaker opened and later calls skip the store');
      const outage = guard.stats();
      t.ok(outage.circuitOpened >= 1, 'circuit opened');
      t.equal(outage.skipped + outage.errors + outage.timeouts >= 40, true, 'all 40 calls counted');

      await redis.restart();
      // Recovery needs nothing from us: the client reconnects, the breaker probes.
      let recovered = false;
      for (let i = 0; i < 500 && !recovered; i++) {
        if ((await guard.set('ctx:after', session, 60_000)) === 'ok') {
          recovered = (await guard.get('ctx:after')).outcome === 'hit';
        }
        if (!recovered) await sleep(20);
      }
      t.ok(recovered, 'after Redis returns, lookups hit again by themselves');
      t.equal(guard.stats().circuitOpen, false, 'circuit closed again');
      t.equal((await guard.get('ctx:before')).outcome, 'miss', 'the restarted Redis is empty (no persistence): a miss');
    });
  }

  t.test('a hung Redis (stopped, connections open) costs one deadline per call, then nothing', async (t) => {
    const redis: RedisServer = await startRedis();
    t.teardown(() => redis.stop());
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    t.teardown(async () => client.destroy());
    const store = new RedisStore({ client, sealKeys: [randomBytes(32)] });
    const guard = new GuardedStore(store, { timeoutMs: 50, failureThreshold: 3, cooldownMs: 200 });
    t.equal(await guard.set('ctx:x', session, 60_000), 'ok');

    redis.pause();
    const during: GetOutcome[] = [];
    for (let i = 0; i < 10; i++) during.push((await guard.get('ctx:x')).outcome);
    t.same(during.slice(0, 3), ['timeout', 'timeout', 'timeout'], 'the first calls time out at the deadline');
    t.same(new Set(during.slice(3)), new Set(['skipped']), 'then the open circuit skips the store');

    redis.resume();
    let recovered = false;
    for (let i = 0; i < 500 && !recovered; i++) {
      recovered = (await guard.get('ctx:x')).outcome === 'hit';
      if (!recovered) await sleep(20);
    }
    t.ok(recovered, 'resumes hitting once Redis answers again');
    t.equal(guard.stats().circuitOpen, false);
  });
}
