/**
 * Redis killed during a run of handshakes between two servers that share it: no
 * handshake fails, every one falls back to a full handshake, each lookup is a counted
 * store failure (timeout, error or skipped by the open circuit); after Redis returns,
 * cross-server resumption comes back by itself.
 *
 * No sleeps: healthy phases wait for the store writes (WriteTrackingStore), recovery
 * waits for the client's reconnection ('ready'), and the breaker's cooldown is passed
 * on the caches' injected clock (`now`) instead of waiting the 5 s out.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { startCacheServer, type CacheServer } from './fixtures/server.js';
import { PROTOCOLS, WriteTrackingStore, crossResumptions } from './fixtures/store-fleet.js';

runIfRedis(t, main);

/** The caches' default storeCooldownMs. */
const COOLDOWN_MS = 5000;

/** Two cache servers on one Redis client, with a shared clock that a test can move forward. */
async function twoServers(client: ReturnType<typeof createClient>) {
  const sealKeys = [randomBytes(32)];
  let skew = 0;
  const now = () => Date.now() + skew;
  const stores: WriteTrackingStore[] = [];
  const servers: CacheServer[] = [];
  for (let i = 0; i < 2; i++) {
    const store = new WriteTrackingStore(new RedisStore({ client, sealKeys }));
    stores.push(store);
    servers.push(await startCacheServer({ sessionIdContext: 'shop-frontend', tickets: 'off', storeCooldownMs: COOLDOWN_MS, store, now }));
  }
  return {
    servers,
    ports: [servers[0]!.port, servers[1]!.port] as [number, number],
    settle: () => Promise.all(stores.map((s) => s.settled())),
    /** Moves the caches' clock past the breaker's cooldown: the next store call is a probe. */
    passCooldown: () => {
      skew += COOLDOWN_MS;
    },
    close: () => Promise.all(servers.map((s) => s.close())),
  };
}

/** Resolves when the client is ready again (bounded, so a broken reconnection fails the test, not the run). */
function ready(client: ReturnType<typeof createClient>, maxMs = 10_000): Promise<boolean> {
  if (client.isReady) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, maxMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}

function main() {
  for (const [protocol, options] of Object.entries(PROTOCOLS)) {
    t.test(`${protocol}: a Redis outage costs full handshakes only, and resumption returns by itself`, async (t) => {
      const redis: RedisServer = await startRedis();
      t.teardown(() => redis.stop());
      const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } });
      await client.connect(); // no 'error' listener: the store's own keeps an outage from crashing us
      t.teardown(async () => client.destroy());
      const fleet = await twoServers(client);
      t.teardown(fleet.close);
      const { servers, ports, settle } = fleet;
      const storeFailures = () =>
        servers.reduce((n, s) => {
          const st = s.cache.stats();
          return n + st.storeTimeouts + st.storeErrors + st.storeSkipped;
        }, 0);

      const before = await crossResumptions(ports, 10, options, { settle });
      t.equal(before.resumed, 10, 'healthy: every session resumes on the other server');

      await redis.kill();
      const failuresBefore = storeFailures();
      const started = Date.now();
      const during = await crossResumptions(ports, 30, options);
      t.comment(`${protocol}: 60 handshakes during the outage took ${Date.now() - started} ms in all`);
      t.equal(during.failed, 0, 'no handshake failed during the outage');
      t.equal(during.resumed, 0, 'all fell back to full handshakes');
      t.ok(storeFailures() - failuresBefore >= 30, `every lookup was a counted store failure (${storeFailures() - failuresBefore})`);
      t.ok(servers.some((s) => s.cache.stats().circuitOpen), 'the circuit opened: later handshakes skip Redis');

      await redis.restart();
      t.ok(await ready(client), 'the client reconnected by itself');
      let attempts = 0;
      let back = false;
      while (!back && attempts < 50) {
        attempts++;
        fleet.passCooldown();
        back = (await crossResumptions(ports, 2, options, { settle })).resumed === 2;
      }
      t.ok(back, `after Redis returned, resumption came back by itself (after ${attempts} rounds)`);
      const after = await crossResumptions(ports, 10, options, { settle });
      t.equal(after.resumed, 10, 'and stays back');
      t.equal(servers.some((s) => s.cache.stats().circuitOpen), false, 'circuits closed');
    });
  }

  t.test('a hung Redis (stopped, connections open): lookups time out at the deadline, handshakes complete in full', async (t) => {
    const redis: RedisServer = await startRedis();
    t.teardown(() => redis.stop());
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    t.teardown(async () => client.destroy());
    const fleet = await twoServers(client);
    t.teardown(fleet.close);
    const { servers, ports, settle } = fleet;
    const options = PROTOCOLS['TLSv1.2'];
    t.equal((await crossResumptions(ports, 4, options, { settle })).resumed, 4, 'healthy first');

    redis.pause();
    const during = await crossResumptions(ports, 20, options);
    t.equal(during.failed, 0, 'no handshake failed while Redis hung');
    t.equal(during.resumed, 0, 'all fell back to full handshakes');
    const timeouts = servers.reduce((n, s) => n + s.cache.stats().storeTimeouts, 0);
    t.ok(timeouts >= 3, `lookups timed out at the deadline (${timeouts}) until the circuit opened`);
    t.ok(servers.every((s) => s.cache.stats().circuitOpen), 'then the open circuit skips Redis');

    redis.resume();
    // The writes queued while Redis hung are answered now; once they are, the next
    // probe after the cooldown finds Redis answering.
    await settle();
    let back = false;
    let attempts = 0;
    while (!back && attempts < 50) {
      attempts++;
      fleet.passCooldown();
      back = (await crossResumptions(ports, 2, options, { settle })).resumed === 2;
    }
    t.ok(back, `resumption comes back once Redis answers (after ${attempts} rounds)`);
  });
}
