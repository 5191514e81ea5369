/**
 * RedisStore behind Redis Sentinel (a real master and a real sentinel): node-redis
 * `createSentinel` and ioredis `{ sentinels, name }` find the master through the
 * sentinel, and sessions written through one read back through the other.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createSentinel } from 'redis';
import { Redis } from 'ioredis';
import { RedisStore } from '../lib/stores/redis.js';
import { startRedisSentinel, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  t.test('RedisStore works through Sentinel with both client libraries', async (t) => {
    const servers = await startRedisSentinel();
    t.teardown(() => servers.stop());
    const nodeRedis = createSentinel({ name: servers.name, sentinelRootNodes: [{ host: '127.0.0.1', port: servers.sentinelPort }] });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    t.teardown(() => nodeRedis.close());
    const ioredis = new Redis({ sentinels: [{ host: '127.0.0.1', port: servers.sentinelPort }], name: servers.name });
    await new Promise<void>((resolve) => ioredis.once('ready', () => resolve()));
    t.teardown(() => ioredis.disconnect());

    const sealKeys = [randomBytes(32)];
    const a = new RedisStore({ client: nodeRedis, sealKeys });
    const b = new RedisStore({ client: ioredis, sealKeys });
    const session = randomBytes(300);
    await a.set('ctx:one', session, 60_000);
    t.same(await b.get('ctx:one'), session, 'node-redis sentinel -> ioredis sentinel');
    await b.set('ctx:two', session, 60_000);
    t.same(await a.get('ctx:two'), session, 'ioredis sentinel -> node-redis sentinel');
    t.equal(await a.add('ctx:two', session, 60_000), false);
    t.equal(await b.delete('ctx:one'), true);
    t.equal(await a.get('ctx:one'), undefined);
  });
}
