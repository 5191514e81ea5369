/**
 * Redis killed during a run of handshakes between two servers that share it: no
 * handshake fails, every one falls back to a full handshake, each lookup is a counted
 * store failure (timeout, error or skipped by the open circuit); after Redis returns,
 * cross-server resumption comes back by itself.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { startCacheServer, type CacheServer } from './fixtures/server.js';
import { PROTOCOLS, crossResumptions } from './fixtures/store-fleet.js';

runIfRedis(t, main);

function main() {
  for (const [protocol, options] of Object.entries(PROTOCOLS)) {
    t.test(`${protocol}: a Redis outage costs full handshakes only, and resumption returns by itself`, async (t) => {
      const redis: RedisServer = await startRedis();
      t.teardown(() => redis.stop());
      const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } });
      await client.connect(); // no 'error' listener: the store's own keeps an outage from crashing us
      t.teardown(async () => client.destroy());
      const sealKeys = [randomBytes(32)];
      const servers: CacheServer[] = [];
      for (let i = 0; i < 2; i++) {
        servers.push(await startCacheServer({ sessionIdContext: 'shop-frontend', tickets: 'off', store: new RedisStore({ client, sealKeys }) }));
      }
      t.teardown(() => Promise.all(servers.map((s) => s.close())));
      const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
      const storeFailures = () =>
        servers.reduce((n, s) => {
          const st = s.cache.stats();
          return n + st.storeTimeouts + st.storeErrors + st.storeSkipped;
        }, 0);

      const before = await crossResumptions(ports, 10, options);
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
      let attempts = 0;
      let back = false;
      while (!back && attempts < 400) {
        attempts++;
        back = (await crossResumptions(ports, 2, options)).resumed === 2;
        if (!back) await new Promise((r) => setTimeout(r, 25));
      }
      t.ok(back, `after Redis returned, resumption came back by itself (after ${attempts} rounds)`);
      const after = await crossResumptions(ports, 10, options);
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
    const sealKeys = [randomBytes(32)];
    const servers: CacheServer[] = [];
    for (let i = 0; i < 2; i++) {
      servers.push(await startCacheServer({ sessionIdContext: 'shop-frontend', tickets: 'off', store: new RedisStore({ client, sealKeys }) }));
    }
    t.teardown(() => Promise.all(servers.map((s) => s.close())));
    const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
    const options = PROTOCOLS['TLSv1.2'];
    t.equal((await crossResumptions(ports, 4, options)).resumed, 4, 'healthy first');

    redis.pause();
    const during = await crossResumptions(ports, 20, options);
    t.equal(during.failed, 0, 'no handshake failed while Redis hung');
    t.equal(during.resumed, 0, 'all fell back to full handshakes');
    const timeouts = servers.reduce((n, s) => n + s.cache.stats().storeTimeouts, 0);
    t.ok(timeouts >= 3, `lookups timed out at the deadline (${timeouts}) until the circuit opened`);
    t.ok(servers.every((s) => s.cache.stats().circuitOpen), 'then the open circuit skips Redis');

    redis.resume();
    let back = false;
    for (let i = 0; i < 400 && !back; i++) {
      back = (await crossResumptions(ports, 2, options)).resumed === 2;
      if (!back) await new Promise((r) => setTimeout(r, 25));
    }
    t.ok(back, 'resumption comes back once Redis answers');
  });
}
