/**
 * Entries written straight into Redis by someone other than this library: garbage,
 * truncated, tampered, sealed with a foreign key, or copied from another context.
 * Each is rejected as ERR_TLS_RESUMPTION_UNSEAL, which the guard counts as `tampered`
 * (a miss), and nothing crashes.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import { GuardedStore } from '../lib/stores/guarded.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
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

  t.test('foreign, broken and tampered entries are misses that never reach the caller as bytes', async (t) => {
    const sealKey = randomBytes(32);
    const store = new RedisStore({ client, sealKeys: [sealKey] });
    const guard = new GuardedStore(store, { failureThreshold: 1000 });
    const session = randomBytes(150);
    const P = 'tls-resumption:';

    await store.set('ctxA:good', session, 60_000);
    const good = (await client.get(`${P}ctxA:good`))!;
    const goodBytes = Buffer.from(good, 'base64');
    const flipped = Buffer.from(goodBytes);
    flipped[40]! ^= 0x04;
    const foreign = new RedisStore({ client, sealKeys: [randomBytes(32)], keyPrefix: 'elsewhere:' });
    await foreign.set('ctxA:f', session, 60_000);

    const entries: Record<string, string> = {
      'not base64': 'this is not base64 at all!!',
      'empty string': '',
      'random base64': randomBytes(300).toString('base64'),
      'binary junk': '\u0000\u00ff\ufffd',
      'truncated entry': goodBytes.subarray(0, goodBytes.length - 1).toString('base64'),
      'truncated to the header': goodBytes.subarray(0, 17).toString('base64'),
      'tampered byte': flipped.toString('base64'),
      'sealed with a foreign key': (await client.get('elsewhere:ctxA:f'))!,
      'copied from another context': good,
      'another plaintext session': session.toString('base64'),
    };
    let n = 0;
    for (const [name, value] of Object.entries(entries)) {
      const key = `ctxB:${n++}`;
      await client.set(P + key, value);
      await t.rejects(store.get(key), { code: 'ERR_TLS_RESUMPTION_UNSEAL' }, `${name}: rejected as UNSEAL`);
      t.same(await guard.get(key), { outcome: 'tampered' }, `${name}: a counted miss through the guard`);
    }
    t.match(guard.stats(), { tampered: n, hits: 0, errors: 0, circuitOpen: false });
    t.same(await store.get('ctxA:good'), session, 'the genuine entry still opens');
  });

  t.test('a key holding another Redis type is an error, not a crash', async (t) => {
    const store = new RedisStore({ client, sealKeys: [randomBytes(32)] });
    const guard = new GuardedStore(store, { failureThreshold: 1000 });
    await client.rPush('tls-resumption:ctx:list', 'x');
    t.same(await guard.get('ctx:list'), { outcome: 'error' });
    t.equal(guard.stats().errors, 1);
  });
}
