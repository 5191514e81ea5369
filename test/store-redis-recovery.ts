/**
 * After a Redis outage, cross-host resumption comes back within a second of Redis
 * accepting connections, with no server restart (issue 11, item 3): each server's own
 * `RedisStore({ url })` client reconnects (backoff at most 500 ms), the store's 'ready'
 * event ends the breaker's cooldown (5 s by default), and the next lookup probes Redis.
 * Two server processes, a real redis-server killed and restarted on its port.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { crossResumptions, PROTOCOLS, startServerProcess, type ServerProcess } from './fixtures/store-fleet.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';

runIfRedis(t, main);

function main() {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    t.test(`${version}: cross-server resumption returns within 1 s of Redis coming back`, async (t) => {
      const redis: RedisServer = await startRedis();
      t.teardown(() => redis.stop());
      const common = { redisUrl: redis.url, sealKeyHex: randomBytes(32).toString('hex'), context: `recovery-${version}`, ownClient: true };
      const servers: ServerProcess[] = await Promise.all([
        startServerProcess({ ...common, name: 'a' }),
        startServerProcess({ ...common, name: 'b' }),
      ]);
      t.teardown(() => Promise.all(servers.map((s) => s.stop())));
      const ports = servers.map((s) => s.port) as [number, number];
      const options = PROTOCOLS[version];
      const settle = () => Promise.all(servers.map((s) => s.settle()));
      // Attached at once, not awaited: wait for each store's own 'ready' report.
      await Promise.all(servers.map((s) => s.storeReadyAfter(0)));

      const healthy = await crossResumptions(ports, 4, options, { settle });
      t.equal(healthy.resumed, 4, 'cross-server resumption works before the outage');

      const killedAt = Date.now();
      await redis.kill();
      const outage = await crossResumptions(ports, 8, options, { settle });
      t.equal(outage.failed, 0, 'no handshake fails during the outage');
      t.equal(outage.resumed, 0, 'nothing resumes across servers without Redis');
      const during = await Promise.all(servers.map((s) => s.stats()));
      t.same(during.map((s) => s.circuitOpen), [true, true], 'both circuits are open (default cooldown: 5 s)');

      await redis.restart();
      const acceptingAt = Date.now(); // redis-server printed "Ready to accept connections"
      // Each store reports its client's reconnection ('ready'); nothing else is waited for.
      const reconnectedAt = Math.max(...(await Promise.all(servers.map((s) => s.storeReadyAfter(killedAt)))));
      let resumedAt: number | undefined;
      let attempts = 0;
      while (resumedAt === undefined && Date.now() - acceptingAt < 10_000) {
        attempts++;
        const r = await crossResumptions(ports, 1, options, { settle });
        t.equal(r.failed, 0);
        if (r.resumed === 1) resumedAt = Date.now();
      }
      t.ok(resumedAt !== undefined, 'cross-server resumption came back without restarting the servers');
      const fromReconnect = resumedAt! - reconnectedAt;
      const fromAccepting = resumedAt! - acceptingAt;
      console.error(
        `# ${process.version} ${version}: first cross-server resumption ${fromAccepting} ms after Redis accepted connections, ` +
          `${fromReconnect} ms after the stores reconnected (${reconnectedAt - acceptingAt} ms), ${attempts} attempt(s)`,
      );
      t.ok(fromReconnect <= 1000, `within 1 s of the stores reconnecting (${fromReconnect} ms)`);
      t.equal(attempts, 1, 'the first attempt after the reconnection resumed: no cooldown was waited out');
      const after = await Promise.all(servers.map((s) => s.stats()));
      t.same(after.map((s) => s.circuitOpen), [false, false], 'both circuits closed again');
    });
  }
}
