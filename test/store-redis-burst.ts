/**
 * A burst of 200 concurrent resumptions against a healthy Redis, every lookup going to
 * Redis (`no-internal-lookup`), real handshakes into a server process of its own: at
 * least 98 % resume and the circuit never opens. The server's event loop is busy with
 * handshakes while Redis answers in well under a millisecond; the guard's deadline
 * (storeTimeoutMs, 50 ms) must measure Redis, not that loop (issue 11, item 2).
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect } from './fixtures/tls.js';
import { PROTOCOLS, startServerProcess, type ServerProcess } from './fixtures/store-fleet.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

const BURST = 200;
const MIN_RESUMED = Math.ceil(BURST * 0.98);

runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  t.before(async () => {
    redis = await startRedis();
  });
  t.teardown(() => redis?.stop());

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    t.test(`${version}: ${BURST} concurrent resumptions, every lookup in Redis`, async (t) => {
      const server: ServerProcess = await startServerProcess({
        redisUrl: redis.url,
        sealKeyHex: randomBytes(32).toString('hex'),
        context: `burst-${version}`,
        tickets: 'off',
        name: 'a',
        mode: ['server', 'no-internal-lookup'],
      });
      t.teardown(() => server.stop());
      const options = PROTOCOLS[version];

      // The sessions, one full handshake each (in small batches, so making them is no burst).
      const sessions: Buffer[] = [];
      while (sessions.length < BURST) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => connect(server.port, options)));
        for (const r of batch) {
          t.equal(r.error, undefined, 'full handshake');
          const s = r.sessions.at(-1);
          if (s) sessions.push(s);
        }
      }
      await server.settle();
      const before = await server.stats();

      const results = await Promise.all(sessions.slice(0, BURST).map((session) => connect(server.port, { ...options, session })));
      const resumed = results.filter((r) => r.resumed).length;
      const failed = results.filter((r) => r.error).length;
      const after = await server.stats();
      const delta = (k: string) => (after[k] as number) - (before[k] as number);
      const figures = {
        resumed,
        failed,
        storeTimeouts: delta('storeTimeouts'),
        storeErrors: delta('storeErrors'),
        storeSkipped: delta('storeSkipped'),
        cbHits: delta('cbHits'),
      };
      console.error(`# ${process.version} ${version} burst of ${BURST}: ${JSON.stringify(figures)}`);
      t.equal(failed, 0, 'no connection failed');
      t.ok(resumed >= MIN_RESUMED, `at least ${MIN_RESUMED} of ${BURST} resumed (${resumed})`);
      t.equal(after.circuitOpen, false, 'the circuit is closed');
      t.equal(figures.storeSkipped, 0, 'no store call was skipped: the circuit never opened');
      t.ok(figures.cbHits >= resumed, 'every resumption was served from Redis');
    });
  }
}
