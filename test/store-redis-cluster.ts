/**
 * RedisStore on a real Redis Cluster (three masters made with redis-cli --cluster
 * create) through node-redis `createCluster` and ioredis `Cluster`: keys spread over
 * the slots of every master, each read back through the other client library.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createCluster } from 'redis';
import { Cluster } from 'ioredis';
import { RedisStore } from '../lib/stores/redis.js';
import { GuardedStore } from '../lib/stores/guarded.js';
import { startRedisCluster, type RedisClusterServers, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  t.test('RedisStore works on Redis Cluster through both client libraries', async (t) => {
    const servers: RedisClusterServers = await startRedisCluster(3);
    t.teardown(() => servers.stop());
    const nodeRedis = createCluster({ rootNodes: servers.ports.map((p) => ({ url: `redis://127.0.0.1:${p}` })) });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    t.teardown(() => nodeRedis.close());
    const ioredis = new Cluster(servers.ports.map((port) => ({ host: '127.0.0.1', port })));
    await new Promise<void>((resolve) => ioredis.once('ready', () => resolve()));
    t.teardown(() => ioredis.disconnect());

    const sealKeys = [randomBytes(32)];
    const a = new RedisStore({ client: nodeRedis, sealKeys });
    const b = new RedisStore({ client: ioredis, sealKeys });
    const guardA = new GuardedStore(a, { timeoutMs: 1000 });
    const guardB = new GuardedStore(b, { timeoutMs: 1000 });
    const N = 60;
    const value = (i: number) => Buffer.from(`session ${i} `.repeat(30));
    for (let i = 0; i < N; i++) {
      t.equal(await (i % 2 ? guardA : guardB).set(`ctx:${randomId(i)}`, value(i), 60_000), 'ok');
    }
    let crossHits = 0;
    for (let i = 0; i < N; i++) {
      const r = await (i % 2 ? guardB : guardA).get(`ctx:${randomId(i)}`);
      if (r.outcome === 'hit' && r.value!.equals(value(i))) crossHits++;
    }
    t.equal(crossHits, N, 'every session written through one client reads back through the other');
    const keysPerMaster = await Promise.all(
      ioredis.nodes('master').map((node) => node.keys('tls-resumption:*').then((k) => k.length)),
    );
    t.ok(keysPerMaster.every((n) => n > 0), `keys spread over every master: ${keysPerMaster.join(', ')}`);
    t.equal(await a.delete(`ctx:${randomId(0)}`), true);
    t.equal(await b.get(`ctx:${randomId(0)}`), undefined, 'a delete is seen by every client');
  });
}

/** Deterministic hex ids, so keys hash to many slots. */
function randomId(i: number): string {
  return Buffer.from(`id-${i}-padding-to-32-bytes-long!`).toString('hex');
}
