/**
 * Two server processes sharing one Redis: a session made on one resumes on the other,
 * for TLS 1.2 session ids and TLS 1.3 stateful tickets, in 99% or more of attempts.
 * The same two processes without the store resume none of each other's sessions, so
 * the test can fail.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { PROTOCOLS, crossResumptions, startServerProcess, type ServerProcess } from './fixtures/store-fleet.js';

const ATTEMPTS = 100;
runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  const sealKeyHex = randomBytes(32).toString('hex');
  t.before(async () => {
    redis = await startRedis();
  });
  t.teardown(() => redis?.stop());

  t.test('sessions made on one server process resume on the other through Redis', async (t) => {
    const servers: ServerProcess[] = await Promise.all(
      ['a', 'b'].map((name) => startServerProcess({ name, context: 'shop-frontend', redisUrl: redis.url, sealKeyHex })),
    );
    t.teardown(() => Promise.all(servers.map((s) => s.stop())));
    const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
    // Each offer waits until the first server's write to Redis is done (no race with it).
    const settle = () => Promise.all(servers.map((s) => s.settle()));
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await crossResumptions(ports, ATTEMPTS, options, { settle });
      t.comment(`${protocol}: ${r.resumed}/${r.attempts} cross-server resumptions through Redis`);
      t.same([...r.protocols], [protocol], `${protocol} negotiated`);
      t.equal(r.failed, 0, `${protocol}: no connection failed`);
      t.ok(r.resumed >= ATTEMPTS * 0.99, `${protocol}: ${r.resumed}/${ATTEMPTS} >= 99% resumed on the other process`);
    }
    const stats = await Promise.all(servers.map((s) => s.stats()));
    const cbHits = stats.reduce((n, s) => n + (s.cbHits as number), 0);
    t.ok(cbHits >= ATTEMPTS * 2 * 0.99, `the resumptions were served from the external store (cbHits ${cbHits})`);
    t.equal(stats.reduce((n, s) => n + (s.storeTampered as number) + (s.storeErrors as number), 0), 0, 'no store errors');
  });

  t.test('waitForStoreWrites: the same, with every new session in Redis before the handshake ends', async (t) => {
    // A TLS 1.3 server in waiting mode sends its tickets after the store write: the
    // server keeps each connection open a moment (endAfterMs) and the client waits for
    // the tickets themselves (connect() returns once they are in, not at endAfterMs).
    // TLS 1.2 offers do not settle: waiting mode has the session in Redis before the
    // handshake ends. The cache never holds TLS 1.3 tickets for the write (see
    // lib/cache/policy.ts), so those offers wait for the write as in the test above.
    const servers = await Promise.all(
      ['a', 'b'].map((name) =>
        startServerProcess({ name, context: 'shop-frontend', redisUrl: redis.url, sealKeyHex, waitForStoreWrites: true, endAfterMs: 1000 }),
      ),
    );
    t.teardown(() => Promise.all(servers.map((s) => s.stop())));
    const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
    const settle = () => Promise.all(servers.map((s) => s.settle()));
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await crossResumptions(ports, 15, options, protocol === 'TLSv1.3' ? { settle } : {});
      t.equal(r.failed, 0, 'every connection got its session');
      t.equal(r.resumed, 15, `${protocol}: ${r.resumed}/15 resumed on the other process`);
    }
  });

  t.test('baseline: the same two processes without the store resume none of each other\'s sessions', async (t) => {
    const servers = await Promise.all(['a', 'b'].map((name) => startServerProcess({ name, context: 'shop-frontend' })));
    t.teardown(() => Promise.all(servers.map((s) => s.stop())));
    const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await crossResumptions(ports, 10, options);
      t.comment(`${protocol} without a shared store: ${r.resumed}/${r.attempts} cross-server resumptions`);
      t.equal(r.failed, 0);
      t.equal(r.resumed, 0, `${protocol}: no cross resumption without the store`);
    }
  });
}
