import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import { TicketKeyRing, keyNamePrefix } from '../lib/tickets/ring.js';
import { SharedTicketKeys } from '../lib/tickets/shared.js';
import { attachTicketKeys } from '../lib/tickets/attach.js';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { listen, close } from './fixtures/tls.js';
import { handshake, manualClock, ticketServer } from './fixtures/tickets/tls.js';

const HOUR = 3_600_000;
runIfRedis(t, main);

function main() {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  const sealKey = randomBytes(32);
  let namespaceCounter = 0;

  t.before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
  });
  t.teardown(async () => {
    await client?.close().catch(() => {});
    await redis?.stop();
  });

  // One "host": its own ring and SharedTicketKeys over a RedisStore (SET NX PX), one clock.
  function host(clock: { now: () => number }, namespace: string, keep = 2, storeTimeoutMs = 1000) {
    const store = new RedisStore({ client, sealKeys: [sealKey] });
    const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep, now: clock.now });
    const shared = new SharedTicketKeys({ store, ring, namespace, storeTimeoutMs });
    return { store, ring, shared };
  }
  const freshNamespace = () => `tickets-test-${++namespaceCounter}-${randomBytes(4).toString('hex')}`;
  const redisKey = (ns: string, period: number) => `tls-resumption:${ns}:${HOUR}:${period}`;

  t.test('the first host creates the current and next keys; the second reads the same ones', async (t) => {
    const clock = manualClock(2000 * HOUR + 10);
    const ns = freshNamespace();
    const a = host(clock, ns);
    const b = host(clock, ns);
    const ra = await a.shared.sync();
    t.same(ra.created.sort(), [2000, 2001], 'A won both elections');
    t.same(ra.missing, [1999], 'the previous period has no key and is never created');
    t.equal(ra.ok, true);
    const rb = await b.shared.sync();
    t.same(rb.created, [], 'B created nothing');
    t.same(rb.fetched.sort(), [2000, 2001]);
    t.same(
      b.ring.keys().map((k) => k.name.toString('hex')),
      a.ring.keys().map((k) => k.name.toString('hex')),
      'both rings hold the same keys',
    );
    t.match(b.shared.stats(), { created: 0, fetched: 2, missing: 1 });
    a.ring.destroy();
    b.ring.destroy();
  });

  t.test('ten hosts syncing at once: exactly one key per period, all agree', async (t) => {
    const clock = manualClock(3000 * HOUR + 10);
    const ns = freshNamespace();
    const hosts = Array.from({ length: 10 }, () => host(clock, ns));
    const reports = await Promise.all(hosts.map((h) => h.shared.sync()));
    const created = reports.flatMap((r) => r.created).sort();
    t.same(created, [3000, 3001], 'each of the two periods was created once');
    const got = reports.reduce((n, r) => n + r.created.length + r.fetched.length, 0);
    t.equal(got, 20, 'every host holds both keys, created or fetched');
    const names = new Set(hosts.map((h) => h.ring.currentKey()!.name.toString('hex')));
    t.equal(names.size, 1, 'one current key everywhere');
    for (const h of hosts) h.ring.destroy();
  });

  t.test('the next key is published a period ahead: the boundary needs no store', async (t) => {
    const clock = manualClock(4000 * HOUR + 10);
    const ns = freshNamespace();
    const a = host(clock, ns, 2, 200);
    await a.shared.sync();
    const next = a.ring.keys().find((k) => k.role === 'next')!.name;
    redis.pause(); // the store hangs from here on
    try {
      clock.advance(HOUR);
      const report = await a.shared.sync();
      t.equal(report.failed.length, 3, 'every store call missed its deadline');
      t.equal(a.shared.stats().storeErrors, 3);
      t.same(a.ring.currentKey()!.name, next, 'the published next key is current');
      t.equal(a.ring.stats().encryptedStale, 0);
    } finally {
      redis.resume();
    }
    a.ring.destroy();
  });

  t.test('store entries expire keep periods after their period (plus a small skew grace) and are sealed', async (t) => {
    const start = 5000 * HOUR + 600_000;
    const clock = manualClock(start);
    const ns = freshNamespace();
    const a = host(clock, ns, 3);
    await a.shared.sync();
    const pttl = await client.pTTL(redisKey(ns, 5000));
    const expected = (5000 + 3) * HOUR - start + 60_000;
    t.ok(pttl > expected - 5000 && pttl <= expected, `PTTL ${pttl} ~ ${expected}`);
    const raw = Buffer.from((await client.get(redisKey(ns, 5000)))!, 'base64');
    const key = a.ring.currentKey()!;
    for (const secret of [key.name, key.hmacKey, key.aesKey]) {
      t.equal(raw.indexOf(secret), -1, 'no key bytes in clear in Redis');
    }
    a.ring.destroy();
  });

  t.test('past periods are never recreated: a key the store dropped is gone for good', async (t) => {
    const clock = manualClock(6000 * HOUR + 10);
    const ns = freshNamespace();
    const a = host(clock, ns);
    await a.shared.sync();
    clock.advance(HOUR);
    await client.del(redisKey(ns, 6000));
    const b = host(clock, ns);
    const report = await b.shared.sync();
    t.same(report.missing, [6000]);
    t.notOk(report.created.includes(6000));
    t.equal(await client.exists(redisKey(ns, 6000)), 0);
    a.ring.destroy();
    b.ring.destroy();
  });

  t.test('tampered, moved or foreign values are counted as invalid and never used', async (t) => {
    const clock = manualClock(7000 * HOUR + 10);
    const ns = freshNamespace();
    const a = host(clock, ns);
    await a.shared.sync();
    const good = a.ring.currentKey()!.name.toString('hex');
    // Garbage in the current slot, and the next period's entry copied over to the current one.
    const b = host(clock, ns);
    await client.set(redisKey(ns, 7000), randomBytes(90).toString('base64'));
    let report = await b.shared.sync();
    t.same(report.failed, [7000], 'garbage rejected');
    t.equal(b.ring.hasPeriod(7000), false, 'and not used');
    await client.set(redisKey(ns, 7000), (await client.get(redisKey(ns, 7001)))!);
    report = await b.shared.sync();
    t.same(report.failed, [7000], 'an entry sealed for another key fails to open');
    t.equal(b.shared.stats().invalid, 2);
    // A different seal key (another application) cannot be read either.
    const foreign = new SharedTicketKeys({
      store: new RedisStore({ client, sealKeys: [randomBytes(32)] }),
      ring: TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now }),
      namespace: ns,
    });
    report = await foreign.sync();
    t.ok(report.failed.includes(7001), 'foreign seal key: rejected');
    t.equal(a.ring.currentKey()!.name.toString('hex'), good, 'the first host is unaffected');
    a.ring.destroy();
    b.ring.destroy();
  });

  t.test('when the store replaced a key, hosts switch to it and still decrypt their own tickets', async (t) => {
    const clock = manualClock(8000 * HOUR + 10);
    const ns = freshNamespace();
    const a = host(clock, ns);
    await a.shared.sync();
    const mine = a.ring.currentKey()!;
    await client.del(redisKey(ns, 8000)); // Redis lost it (restart, eviction)...
    const b = host(clock, ns);
    await b.shared.sync(); // ...and another host created a new one
    const theirs = b.ring.currentKey()!;
    t.notSame(theirs.name, mine.name);
    t.same(theirs.name.subarray(0, 8), keyNamePrefix(8000), 'names stay unique through the period prefix');
    await a.shared.sync();
    t.same(a.ring.currentKey()!.name, theirs.name, 'A now encrypts with the store\'s key');
    t.match(a.ring.decryptionKey(mine.name), { role: 'previous', renew: true }, 'and still reads its own tickets, renewing them');
    t.equal(a.ring.stats().replaced, 1);
    a.ring.destroy();
    b.ring.destroy();
  });

  t.test('attachTicketKeys with a store: two servers resume each other\'s tickets; no store, no tickets, no errors', async (t) => {
    const clock = manualClock(9000 * HOUR + 10);
    const ns = freshNamespace();
    const store = new RedisStore({ client, sealKeys: [sealKey] });
    const servers = [ticketServer(), ticketServer()];
    const handles = servers.map((s) => attachTicketKeys(s, { rotateEvery: '1h', keep: 2, namespace: ns }, { store, now: clock.now }));
    await Promise.all(handles.map((h) => h.ready));
    const ports = await Promise.all(servers.map((s) => listen(s)));
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(ports[0]!, v);
      const other = await handshake(ports[1]!, v, { session: first.session });
      t.equal(other.resumed, true, `${v}: resumes across servers through Redis-shared keys`);
    }
    const stats = handles[1]!.stats();
    t.equal(stats.path, 'callback');
    t.ok(stats.decryptedCurrent >= 2);
    t.match(stats.store, { syncs: 1, fetched: 2, created: 0 });
    for (const h of handles) h.stop();
    await Promise.all(servers.map((s) => close(s)));

    // A server whose store is down from the start: full handshakes, no ticket, no error.
    await redis.kill();
    try {
      const lonely = ticketServer();
      const h = attachTicketKeys(lonely, { rotateEvery: '1h', storeTimeout: 200, namespace: freshNamespace() }, { store, now: clock.now });
      await h.ready;
      const port = await listen(lonely);
      for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
        const r = await handshake(port, v);
        t.equal(r.error, undefined, `${v}: the handshake completes`);
        t.equal(r.ticketName, undefined, `${v}: no ticket is issued without a key`);
      }
      t.ok(h.stats().notIssued >= 3);
      t.ok(h.stats().store!.storeErrors >= 1);
      h.stop();
      await close(lonely);
    } finally {
      await redis.restart();
      await client.close().catch(() => {});
      client = createClient({ url: redis.url });
      client.on('error', () => {});
      await client.connect();
    }
  });
}
