/**
 * Behaviour 1: every cache mode flag does what SSL_CTX_set_session_cache_mode(3) says,
 * checked by whether real TLS 1.2 clients (tickets disabled) resume, and by which
 * store served them. The external store is a real redis-server behind a sealed
 * RedisStore, wrapped in a counting spy to prove which path each lookup took.
 *
 * NO_AUTO_CLEAR is shown in server-expiry.ts (it needs 255 handshakes).
 */
import { skipWithoutRedis } from './fixtures/redis.js';
import t from 'tap';
import {
  SESS_CACHE_NO_AUTO_CLEAR,
  SESS_CACHE_NO_INTERNAL,
  SESS_CACHE_NO_INTERNAL_LOOKUP,
  SESS_CACHE_OFF,
  SESS_CACHE_SERVER,
} from '../lib/constants.js';
import type { ModeInput } from '../lib/cache/mode.js';
import type { SessionCacheOptions } from '../lib/server/options.js';
import { sClientReconnect } from './fixtures/tls.js';
import {
  captureNewSessions,
  connect,
  countingStore,
  lastSession,
  pick,
  resumeRounds,
  sharedStoreMissing,
  startCacheServer,
  startSharedStore,
  tls12NoTicket,
  type CountingStore,
  type SharedStore,
} from './fixtures/server.js';

const client = tls12NoTicket();

t.test('OFF: nothing is stored or looked up; no client resumes (Node and openssl)', async (t) => {
  const s = await startCacheServer({ mode: 'off', tickets: 'off' });
  t.teardown(() => s.close());
  t.equal(s.cache.getMode(), SESS_CACHE_OFF);
  const rounds = await resumeRounds(s.port, 3, client);
  t.same(rounds.resumed, [false, false, false]);
  const sc = await sClientReconnect(s.port, ['-tls1_2', '-no_ticket']);
  t.same(sc.connections, ['new', 'new', 'new', 'new', 'new', 'new']);
  t.same(pick(s.cache.stats(), 'number', 'hits', 'internalHits', 'acceptGood'), { number: 0, hits: 0, internalHits: 0, acceptGood: 10 });
});

t.test('CLIENT alone has no SERVER bit: a server caches nothing', async (t) => {
  const s = await startCacheServer({ mode: 'client', tickets: 'off' });
  t.teardown(() => s.close());
  t.same((await resumeRounds(s.port, 2, client)).resumed, [false, false]);
  t.equal(s.cache.stats().number, 0);
});

t.test('SERVER (the default): new sessions are cached and resumed (Node and openssl)', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  t.equal(s.cache.getMode(), SESS_CACHE_SERVER);
  const rounds = await resumeRounds(s.port, 3, client);
  t.same(rounds.resumed, [true, true, true]);
  const sc = await sClientReconnect(s.port, ['-tls1_2', '-no_ticket']);
  t.same(sc.connections, ['new', 'reused', 'reused', 'reused', 'reused', 'reused']);
  t.same(pick(s.cache.stats(), 'number', 'hits', 'internalHits'), { number: 2, hits: 8, internalHits: 8 });
});

t.test('SERVER | NO_AUTO_CLEAR resumes like SERVER', async (t) => {
  const s = await startCacheServer({ mode: ['server', 'no-auto-clear'], tickets: 'off' });
  t.teardown(() => s.close());
  t.equal(s.cache.getMode(), SESS_CACHE_SERVER | SESS_CACHE_NO_AUTO_CLEAR);
  t.same((await resumeRounds(s.port, 3, client)).resumed, [true, true, true]);
});

t.test('NO_INTERNAL_LOOKUP without a store: sessions are stored but never looked up', async (t) => {
  const s = await startCacheServer({ mode: SESS_CACHE_SERVER | SESS_CACHE_NO_INTERNAL_LOOKUP, tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const rounds = await resumeRounds(s.port, 3, client);
  t.same(rounds.resumed, [false, false, false]);
  t.ok(s.cache.hasMatchingSessionId(captured[0]!.id), 'the first session is in the internal store');
  t.same(pick(s.cache.stats(), 'internalHits', 'hits', 'misses'), { internalHits: 0, hits: 0, misses: 3 });
  t.equal(s.cache.stats().number, 4, 'every full handshake stored its session');
});

t.test('NO_INTERNAL_STORE without a store: new sessions are not stored, but add()ed ones are looked up', async (t) => {
  const s = await startCacheServer({ mode: ['server', 'no-internal-store'], tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const rounds = await resumeRounds(s.port, 2, client);
  t.same(rounds.resumed, [false, false]);
  t.equal(s.cache.stats().number, 0, 'nothing stored automatically');
  // SSL_CTX_add_session(3): "the application can use SSL_CTX_add_session() directly
  // to have full control over the sessions that can be resumed".
  const { id, der } = captured[0]!;
  t.equal(s.cache.add(id, der), true);
  t.equal(s.cache.stats().number, 1);
  const again = await connect(s.port, { ...client, session: lastSession(rounds.first) });
  t.equal(again.resumed, true, 'the added session resumes');
  t.equal(s.cache.stats().number, 1, 'the resumption stored nothing new');
});

t.test('NO_INTERNAL without a store: nothing resumes, not even an add()ed session', async (t) => {
  const s = await startCacheServer({ mode: ['server', 'no-internal'], tickets: 'off' });
  t.teardown(() => s.close());
  t.equal(s.cache.getMode(), SESS_CACHE_SERVER | SESS_CACHE_NO_INTERNAL);
  const captured = captureNewSessions(s.server);
  const rounds = await resumeRounds(s.port, 2, client);
  t.same(rounds.resumed, [false, false]);
  t.equal(s.cache.stats().number, 0);
  t.equal(s.cache.add(captured[0]!.id, captured[0]!.der), true);
  const again = await connect(s.port, { ...client, session: lastSession(rounds.first) });
  t.equal(again.resumed, false, 'internal lookups are off');
});

t.test('setMode() at run time: OFF stops resumption at once, SERVER brings it back', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const first = await connect(s.port, client);
  const session = lastSession(first);
  t.equal((await connect(s.port, { ...client, session })).resumed, true);
  t.equal(s.cache.setMode('off'), SESS_CACHE_SERVER, 'returns the previous mode');
  t.equal((await connect(s.port, { ...client, session })).resumed, false);
  t.equal(s.cache.setMode(['server']), SESS_CACHE_OFF);
  t.equal((await connect(s.port, { ...client, session })).resumed, true, 'the session was kept while OFF');
});

const missing = sharedStoreMissing();
if (missing) {
  skipWithoutRedis(t, missing);
} else {
  t.test('with an external store (real redis-server, sealed RedisStore)', async (t) => {
    const shared: SharedStore = await startSharedStore();
    t.teardown(() => shared.close());
    let n = 0;
    /** Two servers sharing the store, each with a counting spy over it. */
    const pair = async (modeA: ModeInput, modeB: ModeInput = modeA) => {
      const ctx = `modes-${++n}`; // a fresh context per pair: no entries leak between subtests
      const make = async (mode: ModeInput) => {
        const spy = countingStore(shared.store);
        const opts: SessionCacheOptions = {
          mode,
          tickets: 'off',
          sessionIdContext: ctx,
          store: spy,
          storeTimeoutMs: 2000, // a hang guard on a busy machine, not a timing check
          waitForStoreWrites: true, // the reconnect must find the write done
        };
        const s = await startCacheServer(opts);
        return { ...s, spy };
      };
      const a = await make(modeA);
      const b = await make(modeB);
      t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}));
      return { a, b };
    };
    const gets = (spy: CountingStore) => spy.calls.get.length;

    t.test('SERVER: new sessions go to both stores; an external hit is copied into the internal store', async (t) => {
      const { a, b } = await pair('server');
      const first = await connect(a.port, client);
      t.equal(a.spy.calls.set.length, 1, 'written to the external store');
      t.equal(a.cache.stats().number, 1, 'and to the internal one');
      const session = lastSession(first);
      t.equal((await connect(a.port, { ...client, session })).resumed, true);
      t.same(pick(a.cache.stats(), 'internalHits', 'cbHits'), { internalHits: 1, cbHits: 0 }, 'internal first');
      t.equal(gets(a.spy), 0, 'an internal hit never asks the store');

      // Another server sharing the store resumes it from there, then from its own copy.
      t.equal((await connect(b.port, { ...client, session })).resumed, true);
      t.same(pick(b.cache.stats(), 'cbHits', 'internalHits', 'number'), { cbHits: 1, internalHits: 0, number: 1 });
      t.equal((await connect(b.port, { ...client, session })).resumed, true);
      t.same(pick(b.cache.stats(), 'cbHits', 'internalHits'), { cbHits: 1, internalHits: 1 });
      t.equal(gets(b.spy), 1, 'the second resumption on B never asked the store');
    });

    t.test('NO_INTERNAL_LOOKUP: every lookup goes to the external store; the internal one still fills', async (t) => {
      const { a } = await pair(['server', 'no-internal-lookup']);
      const rounds = await resumeRounds(a.port, 3, client);
      t.same(rounds.resumed, [true, true, true]);
      t.same(pick(a.cache.stats(), 'cbHits', 'internalHits', 'number'), { cbHits: 3, internalHits: 0, number: 1 });
      t.equal(gets(a.spy), 3);
    });

    t.test('NO_INTERNAL_STORE: nothing enters the internal store, not even external hits', async (t) => {
      const { a, b } = await pair(['server', 'no-internal-store'], 'server');
      const rounds = await resumeRounds(a.port, 3, client);
      t.same(rounds.resumed, [true, true, true]);
      t.same(pick(a.cache.stats(), 'cbHits', 'internalHits', 'number'), { cbHits: 3, internalHits: 0, number: 0 });
      t.equal(a.spy.calls.set.length, 1, 'new sessions always go to the external store');
      // Control: a SERVER peer copies the same external hit into its internal store.
      t.equal((await connect(b.port, { ...client, session: lastSession(rounds.first) })).resumed, true);
      t.equal(b.cache.stats().number, 1);
    });

    t.test('NO_INTERNAL: external store only, for storing and looking up', async (t) => {
      const { a, b } = await pair(['server', 'no-internal']);
      const rounds = await resumeRounds(a.port, 2, client);
      t.same(rounds.resumed, [true, true]);
      t.equal((await connect(b.port, { ...client, session: lastSession(rounds.first) })).resumed, true, 'a peer resumes it too');
      for (const s of [a, b]) {
        t.same(pick(s.cache.stats(), 'internalHits', 'number'), { internalHits: 0, number: 0 });
      }
      t.equal(a.cache.stats().cbHits + b.cache.stats().cbHits, 3);
      t.equal(gets(a.spy) + gets(b.spy), 3);
    });

    t.test('OFF with a store: the store is never touched', async (t) => {
      const { a } = await pair('off');
      const rounds = await resumeRounds(a.port, 2, client);
      t.same(rounds.resumed, [false, false]);
      t.same(a.spy.calls, { get: [], set: [], delete: [] });
    });
  });
}
