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

/** The breaker's cooldown in these tests; it is passed on the guard's injected clock, not waited out. */
const COOLDOWN_MS = 200;

/** Resolves once `emitter` emits 'ready' (or at once if `isReady()`); false after `maxMs`. */
function readyEvent(emitter: { once(e: 'ready', f: () => void): unknown; off(e: 'ready', f: () => void): unknown }, isReady: () => boolean, maxMs = 10_000): Promise<boolean> {
  if (isReady()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      emitter.off('ready', onReady);
      resolve(false);
    }, maxMs);
    emitter.once('ready', onReady);
  });
}

/**
 * Calls `attempt` until it reports success, at most `max` times. Between attempts,
 * `pause`: the clock moves past the cooldown, and for a url store (whose own client
 * this test cannot watch) a short real wait, the only one left.
 */
async function until(attempt: () => Promise<boolean>, pause: () => Promise<void>, max = 500): Promise<boolean> {
  for (let i = 0; i < max; i++) {
    if (await attempt()) return true;
    await pause();
  }
  return false;
}

function main() {
  const session = randomBytes(200);
  type Connected = { client: unknown; close(): Promise<void>; ready?: () => Promise<boolean> };
  const clients: [string, (url: string) => Promise<Connected>][] = [
    [
      'node-redis client (no error listener of its own)',
      async (url) => {
        const client = createClient({ url, socket: { reconnectStrategy: () => 100 } });
        await client.connect();
        return { client, close: async () => client.destroy(), ready: () => readyEvent(client, () => client.isReady) };
      },
    ],
    [
      'ioredis client',
      async (url) => {
        const client = new Redis(url, { retryStrategy: () => 100 });
        await new Promise<void>((resolve) => client.once('ready', () => resolve()));
        return { client, close: async () => client.disconnect(), ready: () => readyEvent(client, () => client.status === 'ready') };
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
      const { client, close, ready: clientReady } = await connect(redis.url);
      t.teardown(close);
      const store =
        typeof client === 'string'
          ? new RedisStore({ url: client, sealKeys: [randomBytes(32)] })
          : new RedisStore({ client, sealKeys: [randomBytes(32)] });
      t.teardown(() => store.close());
      let skew = 0;
      const guard = new GuardedStore(store, { timeoutMs: 50, failureThreshold: 3, cooldownMs: COOLDOWN_MS, now: () => Date.now() + skew });
      const pause = async () => {
        skew += COOLDOWN_MS;
        if (!clientReady) await new Promise((r) => setTimeout(r, 20));
      };

      // Healthy: wait until the store answers (a url store connects in the background).
      const ready = await until(async () => (await guard.set('ctx:before', session, 60_000)) === 'ok', pause, 300);
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
      if (clientReady) t.ok(await clientReady(), 'the client reconnected by itself');
      const recovered = await until(
        async () => (await guard.set('ctx:after', session, 60_000)) === 'ok' && (await guard.get('ctx:after')).outcome === 'hit',
        pause,
      );
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
    let skew = 0;
    const guard = new GuardedStore(store, { timeoutMs: 50, failureThreshold: 3, cooldownMs: COOLDOWN_MS, now: () => Date.now() + skew });
    // Warm up first (connection, sealing code) so the 50 ms deadline measures Redis, not start-up.
    await client.ping();
    await store.set('ctx:warm-up', session, 60_000);
    t.equal(await guard.set('ctx:x', session, 60_000), 'ok');

    redis.pause();
    const during: GetOutcome[] = [];
    for (let i = 0; i < 10; i++) during.push((await guard.get('ctx:x')).outcome);
    t.same(during.slice(0, 3), ['timeout', 'timeout', 'timeout'], 'the first calls time out at the deadline');
    t.same(new Set(during.slice(3)), new Set(['skipped']), 'then the open circuit skips the store');

    redis.resume();
    // The connection stayed open: once Redis has answered the commands queued while it
    // hung, the next probe after the cooldown hits.
    await client.ping();
    const recovered = await until(
      async () => (await guard.get('ctx:x')).outcome === 'hit',
      async () => {
        skew += COOLDOWN_MS;
      },
    );
    t.ok(recovered, 'resumes hitting once Redis answers again');
    t.equal(guard.stats().circuitOpen, false);
  });
}
