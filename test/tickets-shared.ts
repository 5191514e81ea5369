import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../lib/stores/redis.js';
import { TicketKeyRing, keyNamePrefix } from '../lib/tickets/ring.js';
import { SharedTicketKeys } from '../lib/tickets/shared.js';
import { attachTicketKeys } from '../lib/server/attach-ticket-keys.js';
import { attachSessionCache } from '../lib/index.js';
import type * as tls from 'node:tls';
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
    t.equal(b.shared.hasSharedKey(), false, 'and not used: the ring holds no shared key for the period');
    t.equal(report.local, true, 'a local key stands in for it (this server still resumes its own tickets)');
    t.not(b.ring.currentKey()!.name.toString('hex'), good, 'the local key is not the store key');
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

    // A server whose store is down from the start: no error, and tickets under a local
    // key, so this one server still resumes (issue 11); the stats say the keys are not shared.
    await redis.kill();
    try {
      const lonely = ticketServer();
      const h = attachTicketKeys(lonely, { rotateEvery: '1h', storeTimeout: 200, namespace: freshNamespace() }, { store, now: clock.now });
      await h.ready;
      const port = await listen(lonely);
      for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
        const r = await handshake(port, v);
        t.equal(r.error, undefined, `${v}: the handshake completes`);
        t.ok(r.ticketName, `${v}: a ticket is issued under a local key`);
        const again = await handshake(port, v, { session: r.session });
        t.equal(again.resumed, true, `${v}: and resumes on this server`);
      }
      t.equal(h.stats().notIssued, 0);
      t.match(h.stats().store, { shared: false, localKeys: 1 });
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

  // ---- keys from the first second (issue 11, item 4) ---------------------------------

  /** Resolves with Date.now() once `cond()` holds (checked every 5 ms), undefined after `maxMs`. */
  async function when(cond: () => boolean, maxMs: number): Promise<number | undefined> {
    const start = Date.now();
    while (!cond()) {
      if (Date.now() - start > maxMs) return undefined;
      await new Promise((r) => setTimeout(r, 5));
    }
    return Date.now();
  }

  /** Two "hosts" exactly as the README shows them: own RedisStore({ url }), attached at once. */
  function readmeHosts(url: string, namespace?: string) {
    const stores = [0, 1].map(() => new RedisStore({ url, sealKeys: [sealKey] }));
    const servers = [ticketServer(), ticketServer()];
    const caches = servers.map((server, i) =>
      attachSessionCache(server, {
        sessionIdContext: 'shop-frontend',
        store: stores[i],
        ticketKeys: { rotateEvery: '12h', keep: 2, ...(namespace ? { namespace } : {}) },
      }),
    );
    const shared = () => caches.every((c) => c.ticketKeyStats()?.store?.shared === true);
    const stop = async () => {
      for (const c of caches) c.detach();
      await Promise.all(servers.map((s) => close(s as tls.Server)));
      await Promise.all(stores.map((s) => s.close()));
    };
    return { stores, servers, caches, shared, stop };
  }

  t.test("the README's example: RedisStore({ url, sealKeys }) with ticketKeys, attached at once", async (t) => {
    const hosts = readmeHosts(redis.url, freshNamespace());
    t.teardown(hosts.stop);
    const ports = await Promise.all(hosts.servers.map((s) => listen(s)));
    // At once, before anything connected: this server issues a ticket and resumes it.
    const early = await handshake(ports[0]!, 'TLSv1.3');
    t.ok(early.ticketName, 'a ticket is issued from the first connection');
    t.equal((await handshake(ports[0]!, 'TLSv1.3', { session: early.session })).resumed, true, 'and resumes on its server');

    const readyAt = Math.max(...(await Promise.all(hosts.stores.map((s) => s.ready().then(() => Date.now())))));
    const readiness = await Promise.all(hosts.caches.map((c) => c.ticketKeysReady()));
    t.ok(readiness.every((r) => typeof r === 'boolean'), 'ticketKeysReady() tells whether shared keys were obtained');
    const sharedAt = await when(hosts.shared, 5000);
    t.ok(sharedAt !== undefined, 'both hosts hold the shared keys');
    console.error(`# ${process.version} README example: shared keys ${sharedAt! - readyAt} ms after the stores were ready`);
    t.ok(sharedAt! - readyAt <= 1000, `within 1 s of the stores being ready (${sharedAt! - readyAt} ms)`);
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(ports[0]!, v);
      const other = await handshake(ports[1]!, v, { session: first.session });
      t.equal(other.resumed, true, `${v}: a ticket from one host resumes on the other`);
    }
    t.equal(hosts.caches[0]!.ticketKeyStats()!.notIssued, 0, 'no connection went without a ticket');
  });

  t.test('a store that comes up after attach: local tickets meanwhile, shared keys within 1 s of Redis', async (t) => {
    const late = await startRedis();
    t.teardown(() => late.stop());
    await late.kill(); // its port is known, nothing listens there yet
    const hosts = readmeHosts(late.url, freshNamespace());
    t.teardown(hosts.stop);
    const ports = await Promise.all(hosts.servers.map((s) => listen(s)));
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const r = await handshake(ports[0]!, v);
      t.ok(r.ticketName, `${v}: a ticket under a local key while Redis is down`);
      t.equal((await handshake(ports[0]!, v, { session: r.session })).resumed, true, `${v}: a single server still resumes`);
    }
    t.same(await Promise.all(hosts.caches.map((c) => c.ticketKeysReady())), [false, false], 'ticketKeysReady() resolves false: no shared keys yet');
    t.equal(hosts.caches[0]!.ticketKeyStats()!.store!.shared, false, 'and the stats say: not shared');

    await late.restart();
    const acceptingAt = Date.now();
    const sharedAt = await when(hosts.shared, 5000);
    t.ok(sharedAt !== undefined, 'both hosts got the shared keys by themselves');
    console.error(`# ${process.version} store up later: shared keys ${sharedAt! - acceptingAt} ms after Redis accepted connections`);
    t.ok(sharedAt! - acceptingAt <= 1000, `within 1 s of Redis accepting connections (${sharedAt! - acceptingAt} ms)`);
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(ports[1]!, v);
      const other = await handshake(ports[0]!, v, { session: first.session });
      t.equal(other.resumed, true, `${v}: tickets cross hosts now`);
    }
  });

  t.test('a store without ready events: the ring retries with a short backoff until it has shared keys', async (t) => {
    /** Fake: an in-memory sealed store with add() that rejects every call until `up`. */
    class UnreachableUntilUpStore {
      readonly sealed = true;
      up = false;
      calls = 0;
      readonly map = new Map<string, Buffer>();
      async get(k: string) {
        this.calls++;
        if (!this.up) throw new Error('unreachable');
        return this.map.get(k);
      }
      async set(k: string, v: Buffer) {
        if (!this.up) throw new Error('unreachable');
        this.map.set(k, Buffer.from(v));
      }
      async add(k: string, v: Buffer) {
        if (!this.up) throw new Error('unreachable');
        if (this.map.has(k)) return false;
        this.map.set(k, Buffer.from(v));
        return true;
      }
      async delete(k: string) {
        return this.map.delete(k);
      }
    }
    const store = new UnreachableUntilUpStore();
    const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2 });
    const shared = new SharedTicketKeys({ store, ring, storeTimeoutMs: 200 });
    t.teardown(() => {
      shared.stop();
      ring.destroy();
    });
    const first = await shared.start();
    t.match(first, { ok: false, local: true }, 'no shared key: a local key stands in');
    t.ok(ring.currentKey(), 'the ring encrypts meanwhile');
    const callsBefore = store.calls;
    const retried = await when(() => store.calls > callsBefore, 2000);
    t.ok(retried, 'retried by itself while the key is missing');
    store.up = true;
    const upAt = Date.now();
    const sharedAt = await when(() => shared.hasSharedKey(), 3000);
    t.ok(sharedAt !== undefined && sharedAt - upAt <= 1000, `shared keys within 1 s of the store answering (${sharedAt! - upAt} ms)`);
    t.match(shared.stats(), { shared: true, localKeys: 1 });
    t.equal(ring.stats().keys, 3, 'the local key is kept for decryption next to the shared current and next keys');
  });
}
