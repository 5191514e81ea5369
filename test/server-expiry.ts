/**
 * Behaviour 6: expiry. The cache's `timeout` and each session's own time and
 * timeout (DER [1] and [2]) bound its life; an expired entry never resumes (counted
 * in `timeouts`); expired entries are flushed after every 255th completed handshake
 * unless NO_AUTO_CLEAR; `flush()` does it on demand.
 *
 * Time is the injected `now` clock, moved by hand to the exact millisecond a session
 * expires (its DER creation time + lifetime), so nothing sleeps and nothing depends
 * on how fast the machine is.
 */
import { skipWithoutRedis } from './fixtures/redis.js';
import t, { type Test } from 'tap';
import { SESS_CACHE_NO_AUTO_CLEAR, SESS_CACHE_SERVER, AUTO_CLEAR_EVERY } from '../lib/constants.js';
import {
  captureNewSessions,
  connect,
  fullHandshakes,
  lastSession,
  manualClock,
  pick,
  sessionTimes,
  sharedStoreMissing,
  startCacheServer,
  startPlainServer,
  startSharedStore,
  SSL_OP_NO_TICKET,
  tls12NoTicket,
  until,
} from './fixtures/server.js';

const client = tls12NoTicket();
const CTX = 'expiry-tests';

t.test("the cache's timeout: a session resumes until creation time + timeout, never at or after it", async (t) => {
  const clock = manualClock();
  const s = await startCacheServer({ timeout: 60, tickets: 'off', now: clock.now });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const first = await connect(s.port, client);
  const { time, timeout } = sessionTimes(captured[0]!.der);
  t.equal(timeout, 60, "the library set OpenSSL's session timeout too, so both sides agree");
  const session = lastSession(first);

  clock.set(time * 1000 + 60_000 - 1);
  t.equal((await connect(s.port, { ...client, session })).resumed, true, '1 ms before expiry: resumed');
  clock.set(time * 1000 + 60_000);
  const late = await connect(s.port, { ...client, session });
  t.equal(late.error, undefined, 'the connection still succeeds');
  t.equal(late.resumed, false, 'at expiry: full handshake');
  t.same(pick(s.cache.stats(), 'timeouts', 'internalHits', 'misses'), { timeouts: 1, internalHits: 1, misses: 0 });
  t.notOk(s.cache.hasMatchingSessionId(captured[0]!.id), 'the expired entry was dropped when it was offered');
  clock.set(time * 1000 - 1); // even if the clock goes back, it is gone
  t.equal((await connect(s.port, { ...client, session })).resumed, false);
});

t.test("a session's own shorter timeout (made by another server) wins over the cache's timeout", async (t) => {
  const clock = manualClock();
  const b = await startCacheServer({ sessionIdContext: CTX, timeout: 300, tickets: 'off', now: clock.now });
  t.teardown(() => b.close());
  // Server A, a plain Node server under B's effective context (the same trust settings),
  // makes sessions with a 30 s lifetime.
  const a = await startPlainServer({ sessionIdContext: b.cache.getEffectiveSessionIdContext(), sessionTimeout: 30, secureOptions: SSL_OP_NO_TICKET });
  t.teardown(() => a.close());
  const captured = captureNewSessions(a.server);
  const session = lastSession(await connect(a.port, client));
  const { id, der } = captured[0]!;
  const { time, timeout } = sessionTimes(der);
  t.equal(timeout, 30);

  t.equal(b.cache.add(id, der), true);
  clock.set(time * 1000 + 30_000 - 1);
  t.equal((await connect(b.port, { ...client, session })).resumed, true, 'alive until its own time + timeout');
  clock.set(time * 1000 + 30_000);
  t.equal((await connect(b.port, { ...client, session })).resumed, false, 'expired by its own timeout, not the 300 s cache timeout');
  t.equal(b.cache.stats().timeouts, 1);
});

t.test("a session's own longer timeout is capped by the cache's timeout", async (t) => {
  const clock = manualClock();
  const b = await startCacheServer({ sessionIdContext: CTX, timeout: 60, tickets: 'off', now: clock.now });
  t.teardown(() => b.close());
  // Node's own default session timeout (no sessionTimeout option) is far longer than 60 s.
  const a = await startPlainServer({ sessionIdContext: b.cache.getEffectiveSessionIdContext(), secureOptions: SSL_OP_NO_TICKET });
  t.teardown(() => a.close());
  const captured = captureNewSessions(a.server);
  const session = lastSession(await connect(a.port, client));
  const { id, der } = captured[0]!;
  const { time, timeout } = sessionTimes(der);
  t.ok(timeout > 60, `the session's own timeout is ${timeout} s`);

  t.equal(b.cache.add(id, der), true);
  clock.set(time * 1000 + 60_000 - 1);
  t.equal((await connect(b.port, { ...client, session })).resumed, true);
  clock.set(time * 1000 + 60_000);
  t.equal((await connect(b.port, { ...client, session })).resumed, false, 'capped at creation time + 60 s');
  t.equal(b.cache.stats().timeouts, 1);
});

/**
 * A cache server holding `k` sessions from another server that expire at `expiresAtMs`
 * (they have a 30 s lifetime), with its clock already past that point; its own
 * sessions (300 s) stay alive. Returns one client session of the expired ones.
 */
async function serverWithExpiredSessions(t: Test, mode: number, k: number) {
  const clock = manualClock();
  const b = await startCacheServer({ sessionIdContext: CTX, mode, timeout: 300, tickets: 'off', now: clock.now });
  t.teardown(() => b.close());
  const a = await startPlainServer({ sessionIdContext: b.cache.getEffectiveSessionIdContext(), sessionTimeout: 30, secureOptions: SSL_OP_NO_TICKET });
  t.teardown(() => a.close());
  const captured = captureNewSessions(a.server);
  const results = await fullHandshakes(a.port, k, client);
  for (const { id, der } of captured) b.cache.add(id, der);
  const latest = Math.max(...captured.map(({ der }) => sessionTimes(der).time));
  clock.set(latest * 1000 + 30_000); // every added session has expired; B's own live 300 s
  return { b, clock, expiredSession: lastSession(results[0]!), expiredIds: captured.map((c) => c.id) };
}

t.test(`expired sessions are flushed automatically at the ${AUTO_CLEAR_EVERY}th completed handshake`, async (t) => {
  const { b, expiredIds } = await serverWithExpiredSessions(t, SESS_CACHE_SERVER, 5);
  t.equal(b.cache.stats().number, 5);
  await fullHandshakes(b.port, AUTO_CLEAR_EVERY - 1, client);
  await until(() => b.cache.stats().acceptGood === AUTO_CLEAR_EVERY - 1, 10_000, 'handshakes counted');
  t.same(pick(b.cache.stats(), 'flushed', 'number'), { flushed: 0, number: 5 + AUTO_CLEAR_EVERY - 1 }, 'nothing flushed before the 255th');
  await fullHandshakes(b.port, 1, client);
  await until(() => b.cache.stats().acceptGood === AUTO_CLEAR_EVERY, 10_000, 'the 255th handshake');
  t.same(pick(b.cache.stats(), 'flushed', 'number'), { flushed: 5, number: AUTO_CLEAR_EVERY }, 'the 5 expired ones went, the live stayed');
  t.notOk(expiredIds.some((id) => b.cache.hasMatchingSessionId(id)));
});

t.test('NO_AUTO_CLEAR: no automatic flush; expired entries still never resume; flush() on demand removes them', async (t) => {
  const { b, clock, expiredSession } = await serverWithExpiredSessions(t, SESS_CACHE_SERVER | SESS_CACHE_NO_AUTO_CLEAR, 5);
  await fullHandshakes(b.port, AUTO_CLEAR_EVERY + 1, client);
  await until(() => b.cache.stats().acceptGood === AUTO_CLEAR_EVERY + 1, 10_000, 'handshakes counted');
  t.same(pick(b.cache.stats(), 'flushed', 'number'), { flushed: 0, number: 5 + AUTO_CLEAR_EVERY + 1 }, 'no flush at the 255th');

  const offered = await connect(b.port, { ...client, session: expiredSession });
  t.equal(offered.resumed, false, 'an expired entry that was never flushed does not resume');
  t.equal(b.cache.stats().timeouts, 1);
  t.equal(b.cache.stats().number, 5 + AUTO_CLEAR_EVERY + 1, 'dropped on lookup, replaced by the new session');

  t.equal(b.cache.flush(), 4, 'flush() removes the 4 remaining expired sessions');
  t.same(pick(b.cache.stats(), 'flushed', 'number'), { flushed: 4, number: AUTO_CLEAR_EVERY + 2 });
  t.equal(b.cache.flush(), 0, 'nothing left to flush');
  // flush(at) takes seconds since the epoch: far in the future, everything has expired.
  t.equal(b.cache.flush(clock.now() / 1000 + 301), AUTO_CLEAR_EVERY + 2);
  t.equal(b.cache.stats().number, 0);
});

t.test('flush(at) rejects what is not a number of seconds', async (t) => {
  const s = await startCacheServer();
  t.teardown(() => s.close());
  t.throws(() => s.cache.flush('soon' as unknown as number), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => s.cache.flush(Number.NaN), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
});

const missing = sharedStoreMissing();
if (missing) {
  skipWithoutRedis(t, missing);
} else {
  t.test('an expired session is not resumed from the external store either', async (t) => {
    const shared = await startSharedStore();
    t.teardown(() => shared.close());
    const clock = manualClock();
    const s = await startCacheServer({
      mode: ['server', 'no-internal'],
      sessionIdContext: CTX,
      store: shared.store,
      timeout: 60,
      tickets: 'off',
      now: clock.now,
      storeTimeoutMs: 2000,
      waitForStoreWrites: true,
    });
    t.teardown(() => s.close());
    const captured = captureNewSessions(s.server);
    const session = lastSession(await connect(s.port, client));
    const { time } = sessionTimes(captured[0]!.der);
    clock.set(time * 1000 + 60_000 - 1);
    t.equal((await connect(s.port, { ...client, session })).resumed, true, 'served from Redis while alive');
    clock.set(time * 1000 + 60_000);
    // Redis still holds it (its TTL runs on real time): the cache's own check refuses it.
    t.equal((await connect(s.port, { ...client, session })).resumed, false);
    t.same(pick(s.cache.stats(), 'cbHits', 'timeouts'), { cbHits: 1, timeouts: 1 });
  });
}
