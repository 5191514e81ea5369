/**
 * Behaviour 8: `add` and `remove` as SSL_CTX_add_session(3) / SSL_CTX_remove_session(3):
 * adding the identical session twice returns false, the same id with other data
 * replaces it, `remove` returns false when absent, and a removed session never
 * resumes, through the internal store or the external one, even when the store's
 * delete fails.
 */
import { skipWithoutRedis } from './fixtures/redis.js';
import t, { type Test } from 'tap';
import type { SessionStore } from '../lib/stores/store.js';
import {
  captureNewSessions,
  connect,
  countingStore,
  lastSession,
  manualClock,
  pick,
  sessionTimes,
  sharedStoreMissing,
  startCacheServer,
  startSharedStore,
  tls12NoTicket,
  tls13,
  until,
} from './fixtures/server.js';

const client = tls12NoTicket();
const CTX = 'add-remove-tests';

/** A server of context CTX that made one TLS 1.2 session: its (id, der) and the client's copy. */
async function sessionFromAnotherServer(t: Test, timeout = 300) {
  const source = await startCacheServer({ sessionIdContext: CTX, tickets: 'off', timeout });
  t.teardown(() => source.close());
  const captured = captureNewSessions(source.server);
  const clientSession = lastSession(await connect(source.port, client));
  return { ...captured[0]!, clientSession };
}

t.test('add(): a session made elsewhere resumes here; the identical session again returns false', async (t) => {
  const { id, der, clientSession } = await sessionFromAnotherServer(t);
  const s = await startCacheServer({ sessionIdContext: CTX, tickets: 'off' });
  t.teardown(() => s.close());
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, false, 'unknown before add');
  const before = s.cache.stats().number; // that full handshake stored its own new session
  t.equal(s.cache.add(id, der), true);
  t.equal(s.cache.add(id, Buffer.from(der)), false, 'identical session (same bytes, another Buffer): no-op, false');
  t.equal(s.cache.stats().number, before + 1, 'stored once');
  t.ok(s.cache.hasMatchingSessionId(id));
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, true);
  t.equal(s.cache.stats().internalHits, 1);
});

t.test('add(): the same id with other data replaces the entry (its shorter lifetime is the one in force)', async (t) => {
  const { id, der, clientSession } = await sessionFromAnotherServer(t, 300);
  // [2] timeout = 300 (02 02 01 2c) rewritten to 256 (02 02 01 00): same length, still minimal DER.
  const field = Buffer.from('a204020201' + '2c', 'hex');
  const at = der.indexOf(field);
  t.ok(at > 0 && der.indexOf(field, at + 1) === -1, 'the timeout field is found exactly once');
  const shorter = Buffer.from(der);
  shorter[at + field.length - 1] = 0x00;
  t.equal(sessionTimes(shorter).timeout, 256);

  const clock = manualClock();
  const s = await startCacheServer({ sessionIdContext: CTX, tickets: 'off', now: clock.now });
  t.teardown(() => s.close());
  t.equal(s.cache.add(id, der), true);
  t.equal(s.cache.add(id, shorter), true, 'same id, other data: replaced, true');
  t.equal(s.cache.stats().number, 1, 'one entry for the id');
  const { time } = sessionTimes(der);
  clock.set(time * 1000 + 256_000 - 1);
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, true, 'the replacement resumes');
  clock.set(time * 1000 + 256_000);
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, false, 'and expires at 256 s, not 300 s');
  t.equal(s.cache.stats().timeouts, 1);
});

t.test('add() refuses what is not a session for that id, with a code, and changes nothing', async (t) => {
  const { id, der } = await sessionFromAnotherServer(t);
  const s = await startCacheServer({ sessionIdContext: CTX });
  t.teardown(() => s.close());
  t.throws(() => s.cache.add(id, Buffer.from('not a session')), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION', name: 'TypeError' });
  t.throws(() => s.cache.add(der.subarray(0, 8), der), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' }, 'id is not the one inside der');
  t.throws(() => s.cache.add(id, der.subarray(0, der.length - 1)), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' }, 'truncated DER');
  t.throws(() => s.cache.add(id.toString('hex') as unknown as Buffer, der), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => s.cache.remove('abc' as unknown as Buffer), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.equal(s.cache.stats().number, 0);
});

t.test('remove(): the session never resumes again; a second remove returns false', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const session = lastSession(await connect(s.port, client));
  t.equal((await connect(s.port, { ...client, session })).resumed, true);
  const { id } = captured[0]!;
  t.equal(s.cache.remove(id), true);
  t.notOk(s.cache.hasMatchingSessionId(id));
  t.equal(s.cache.remove(id), false, 'already gone');
  for (let i = 0; i < 3; i++) t.equal((await connect(s.port, { ...client, session })).resumed, false);
  t.same(pick(s.cache.stats(), 'internalHits', 'misses'), { internalHits: 1, misses: 3 });
  t.equal(s.cache.remove(Buffer.alloc(32, 7)), false, 'an id never seen');
});

t.test('remove() of TLS 1.3 stateful tickets: the tickets stop resuming', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const first = await connect(s.port, tls13());
  await until(() => captured.length === 2, 5000, 'two tickets');
  t.equal((await connect(s.port, tls13({ session: lastSession(first) }))).resumed, true, 'control: the ticket resumes');
  const ticketsOfFirst = captured.slice(0, 2);
  for (const { id } of ticketsOfFirst) t.equal(s.cache.remove(id), true);
  t.equal((await connect(s.port, tls13({ session: first.sessions[0]! }))).resumed, false);
  t.equal((await connect(s.port, tls13({ session: first.sessions[1]! }))).resumed, false);
});

t.test('remove() then add() of the same bytes: a new entry, resumable again (as d2i + SSL_CTX_add_session)', async (t) => {
  const { id, der, clientSession } = await sessionFromAnotherServer(t);
  const s = await startCacheServer({ sessionIdContext: CTX, tickets: 'off' });
  t.teardown(() => s.close());
  t.equal(s.cache.add(id, der), true);
  t.equal(s.cache.remove(id), true);
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, false);
  t.equal(s.cache.add(id, der), true, 'absent, so added');
  t.equal((await connect(s.port, { ...client, session: clientSession })).resumed, true);
});

const missing = sharedStoreMissing();
if (missing) {
  skipWithoutRedis(t, missing);
} else {
  t.test('with an external store (real redis-server)', async (t) => {
    const shared = await startSharedStore();
    t.teardown(() => shared.close());
    let n = 0;
    const opts = (store: SessionStore, mode: 'server' | 'no-internal' = 'server') => ({
      mode: ['server', mode] as ('server' | 'no-internal')[],
      tickets: 'off' as const,
      sessionIdContext: `${CTX}-${++n}`,
      store,
      storeTimeoutMs: 2000,
      waitForStoreWrites: true,
    });
    const redisKeys = () => shared.client.keys('tls-resumption:*');

    t.test('remove() deletes from Redis too: no server sharing the store resumes it', async (t) => {
      const spy = countingStore(shared.store);
      const o = opts(spy);
      const a = await startCacheServer(o);
      const b = await startCacheServer({ ...o, store: shared.store });
      t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}));
      const captured = captureNewSessions(a.server);
      const session = lastSession(await connect(a.port, client));
      const before = await redisKeys();
      t.equal(before.length, 1, 'one entry in Redis');
      t.equal(a.cache.remove(captured[0]!.id), true);
      t.same(spy.calls.delete, spy.calls.set, 'the delete went to the key that was written');
      // The delete runs in the background; poll Redis (a hang guard, not a timing check).
      let left = await redisKeys();
      for (let i = 0; i < 500 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        left = await redisKeys();
      }
      t.same(left, [], 'the Redis entry is gone');
      t.equal((await connect(a.port, { ...client, session })).resumed, false, 'not on the server that removed it');
      t.equal((await connect(b.port, { ...client, session })).resumed, false, 'not on a peer sharing the store');
      t.equal(b.cache.stats().cbHits, 0);
    });

    t.test('a removed session is refused even when the store failed to delete it', async (t) => {
      // A real store whose deletes fail (fault injection over the real RedisStore).
      const failingDeletes: SessionStore = {
        sealed: true,
        get: (k) => shared.store.get(k),
        set: (k, v, ttl) => shared.store.set(k, v, ttl),
        delete: async () => {
          throw new Error('injected: delete failed');
        },
      };
      const spy = countingStore(failingDeletes);
      const s = await startCacheServer(opts(spy, 'no-internal'));
      t.teardown(() => s.close());
      const captured = captureNewSessions(s.server);
      const session = lastSession(await connect(s.port, client));
      t.equal((await connect(s.port, { ...client, session })).resumed, true, 'control: served from Redis');
      t.equal(s.cache.remove(captured[0]!.id), false, 'not in the internal store (NO_INTERNAL)');
      await new Promise((r) => setImmediate(r));
      t.equal(spy.calls.delete.length, 1, 'the delete was tried');
      t.equal(await shared.client.exists(`tls-resumption:${spy.calls.delete[0]}`), 1, 'Redis still holds the entry');
      t.equal((await connect(s.port, { ...client, session })).resumed, false, 'but it is never resumed');
      t.same(pick(s.cache.stats(), 'removedHits', 'cbHits'), { removedHits: 1, cbHits: 1 });
    });
  });
}
