/**
 * Behaviour 9: key naming (after SSL_CTX_set_generate_session_id(3)). OpenSSL mints
 * the wire id; the library names the key each session is stored under: a prefix
 * (a host or shard tag) plus the wire id, or a user generator. The key is a pure
 * function of what a returning client sends (TLS 1.2: the session id; TLS 1.3: the
 * PSK identity), limited to 32 bytes; a generator that fails or names a key already
 * holding another session leaves the new session uncached and counted, and every
 * connection still succeeds.
 */
import { skipWithoutRedis } from './fixtures/redis.js';
import t from 'tap';
import { createHash } from 'node:crypto';
import * as tls from 'node:tls';
import { attachSessionCache } from '../lib/server/attach.js';
import type { GenerateSessionKey } from '../lib/cache/session-key.js';
import type { SessionCacheOptions } from '../lib/server/options.js';
import { externalSessionKey } from '../lib/cache/external-sessions.js';
import {
  captureNewSessions,
  cert,
  connect,
  countingStore,
  key,
  lastSession,
  pick,
  resumeRounds,
  sharedStoreMissing,
  startCacheServer,
  startSharedStore,
  tls12NoTicket,
  tls13,
  until,
} from './fixtures/server.js';

const client = tls12NoTicket();
const PREFIX = 'www-18';

t.test('sessionKeyPrefix: sessions resume (TLS 1.2 and 1.3) and are found under their wire id', async (t) => {
  const s = await startCacheServer({ tickets: 'off', sessionKeyPrefix: PREFIX });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  t.same((await resumeRounds(s.port, 2, client)).resumed, [true, true]);
  t.same((await resumeRounds(s.port, 2, tls13(), 'latest')).resumed, [true, true]);
  await until(() => captured.length === 1 + 2 + 2, 5000, 'sessions');
  t.ok(captured.every(({ id }) => s.cache.hasMatchingSessionId(id)), 'hasMatchingSessionId takes the wire id');
  t.same(pick(s.cache.stats(), 'notCached', 'keyClashes', 'internalHits'), { notCached: 0, keyClashes: 0, internalHits: 4 });
});

t.test('sessionKeyPrefix must leave room for the id: 32 bytes or more is refused at attach', async (t) => {
  const server = tls.createServer({ key, cert });
  t.throws(() => attachSessionCache(server, { sessionKeyPrefix: 'x'.repeat(32) }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE', name: 'RangeError' });
  t.throws(() => attachSessionCache(server, { sessionKeyPrefix: 'p', generateSessionKey: (id) => id }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  const cache = attachSessionCache(server, { sessionKeyPrefix: Buffer.alloc(31, 0x61) });
  cache.detach();
});

t.test('a generator that shortens keys: a clashing session is not cached and counted; every client still connects', async (t) => {
  const calls: Buffer[] = [];
  // The worst generator: every id gets the same one-byte key.
  const generateSessionKey: GenerateSessionKey = (wireId, maxLength) => {
    t.equal(maxLength, 32);
    calls.push(wireId);
    return Buffer.from([0x2a]);
  };
  const s = await startCacheServer({ tickets: 'off', generateSessionKey });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);

  const first = await connect(s.port, client);
  const second = await connect(s.port, client);
  t.same(pick(s.cache.stats(), 'number', 'notCached', 'keyClashes'), { number: 1, notCached: 1, keyClashes: 1 });
  const [id1, id2] = captured.map((c) => c.id);
  t.equal(s.cache.hasMatchingSessionId(id1!), true, 'the first session holds the key');
  t.equal(s.cache.hasMatchingSessionId(id2!), false, 'no session with the second id is cached');

  const again1 = await connect(s.port, { ...client, session: lastSession(first) });
  t.equal(again1.resumed, true, 'the cached session resumes');
  const again2 = await connect(s.port, { ...client, session: lastSession(second) });
  t.equal(again2.error, undefined, 'offering the uncached session costs no connection');
  t.equal(again2.resumed, false, 'it gets a full handshake');
  t.equal(s.cache.remove(id2!), false, 'remove() of the uncached id reports it absent');
  t.equal(s.cache.hasMatchingSessionId(id1!), true, 'and leaves the session holding the key alone');
  t.equal((await connect(s.port, { ...client, session: lastSession(first) })).resumed, true);
  t.equal(s.cache.stats().acceptFailed, 0);
});

t.test('a generator that shortens keys, TLS 1.3 stateful tickets: a clashing ticket gets a full handshake, never a failure', async (t) => {
  const s = await startCacheServer({ tickets: 'off', generateSessionKey: () => Buffer.from([0x2a]) });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const first = await connect(s.port, tls13());
  await until(() => captured.length === 2, 5000, 'two tickets');
  t.same(pick(s.cache.stats(), 'number', 'keyClashes'), { number: 1, keyClashes: 1 });
  // The client's newest ticket is the second one, which was not cached.
  const offered = await connect(s.port, tls13({ session: first.sessions[1]! }));
  t.equal(offered.error, undefined);
  t.equal(offered.resumed, false);
  const cached = await connect(s.port, tls13({ session: first.sessions[0]! }));
  t.equal(cached.resumed, true, 'the ticket that holds the key resumes');
  t.equal(s.cache.stats().acceptFailed, 0);
});

t.test('a clash is not retried: the generator is a pure function of the wire id, called once per new session', async (t) => {
  let calls = 0;
  const s = await startCacheServer({
    tickets: 'off',
    generateSessionKey: () => {
      calls++;
      return Buffer.from([1]);
    },
  });
  t.teardown(() => s.close());
  await connect(s.port, client);
  t.equal(calls, 1);
  await connect(s.port, client); // clashes
  t.equal(calls, 2, 'one call for the clashing session, no retry loop');
  t.equal(s.cache.stats().keyClashes, 1);
});

const broken: [string, GenerateSessionKey][] = [
  ['throws', () => {
    throw new Error('generator bug');
  }],
  ['returns an empty key', () => Buffer.alloc(0)],
  ['returns 33 bytes', () => Buffer.alloc(33, 1)],
  ['returns a string', () => 'abc' as unknown as Buffer],
];
for (const [what, generateSessionKey] of broken) {
  t.test(`a generator that ${what}: sessions are not cached and counted; clients connect with full handshakes`, async (t) => {
    const s = await startCacheServer({ tickets: 'off', generateSessionKey });
    t.teardown(() => s.close());
    const rounds = await resumeRounds(s.port, 2, client);
    t.ok(rounds.results.every((r) => r.error === undefined));
    t.same(rounds.resumed, [false, false]);
    t.same(pick(s.cache.stats(), 'number', 'notCached', 'acceptGood', 'acceptFailed'), { number: 0, notCached: 3, acceptGood: 3, acceptFailed: 0 });
  });
}

const missing = sharedStoreMissing();
if (missing) {
  skipWithoutRedis(t, missing);
} else {
  t.test('in a shared store (real redis-server)', async (t) => {
    const shared = await startSharedStore();
    t.teardown(() => shared.close());
    const base = (ctx: string, extra: SessionCacheOptions): SessionCacheOptions => ({
      tickets: 'off',
      sessionIdContext: ctx,
      storeTimeoutMs: 2000,
      waitForStoreWrites: true,
      ...extra,
    });

    t.test('the stored key is <prefix><wire id> (32 bytes), for TLS 1.2 ids and TLS 1.3 PSK identities', async (t) => {
      const spy = countingStore(shared.store);
      const s = await startCacheServer(base('naming-1', { store: spy, mode: ['server', 'no-internal'], sessionKeyPrefix: PREFIX }));
      t.teardown(() => s.close());
      const captured = captureNewSessions(s.server);
      t.same((await resumeRounds(s.port, 1, client)).resumed, [true], 'TLS 1.2 resumes from Redis');
      t.same((await resumeRounds(s.port, 1, tls13(), 'latest')).resumed, [true], 'TLS 1.3 resumes from Redis');
      await until(() => spy.calls.set.length === captured.length, 5000, 'store writes');
      const expected = captured.map(({ id }) =>
        externalSessionKey(`${Buffer.from(PREFIX).toString('hex')}${id.subarray(0, 32 - PREFIX.length).toString('hex')}`),
      );
      t.same(spy.calls.set, expected, "each key: the store's session namespace, then prefix + the first 26 bytes of the wire id");
      t.ok(spy.calls.get.every((k) => expected.includes(k)), 'lookups use keys derived from what the clients sent');
      for (const k of spy.calls.set) t.equal(await shared.client.exists(`tls-resumption:${k}`), 1);
    });

    t.test('a user generator (shard tag + hash) names the Redis keys and a peer with the same generator resumes', async (t) => {
      const generateSessionKey: GenerateSessionKey = (wireId) =>
        Buffer.concat([Buffer.from('shard-3:'), createHash('sha256').update(wireId).digest().subarray(0, 24)]);
      const spy = countingStore(shared.store);
      const a = await startCacheServer(base('naming-2', { store: spy, generateSessionKey }));
      const b = await startCacheServer(base('naming-2', { store: shared.store, generateSessionKey }));
      t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}));
      const captured = captureNewSessions(a.server);
      const session = lastSession(await connect(a.port, client));
      t.same(spy.calls.set, [externalSessionKey(Buffer.from(generateSessionKey(captured[0]!.id, 32)).toString('hex'))]);
      t.equal((await connect(b.port, { ...client, session })).resumed, true);
      t.equal(b.cache.stats().cbHits, 1);
    });

    t.test('servers with different prefixes partition a shared store: neither resumes the other\'s sessions', async (t) => {
      const a = await startCacheServer(base('naming-3', { store: shared.store, sessionKeyPrefix: 'host-a' }));
      const b = await startCacheServer(base('naming-3', { store: shared.store, sessionKeyPrefix: 'host-b' }));
      const c = await startCacheServer(base('naming-3', { store: shared.store, sessionKeyPrefix: 'host-a' }));
      t.teardown(() => Promise.all([a.close(), b.close(), c.close()]).then(() => {}));
      const session = lastSession(await connect(a.port, client));
      t.equal((await connect(b.port, { ...client, session })).resumed, false, 'another prefix looks under another key');
      t.equal((await connect(c.port, { ...client, session })).resumed, true, 'the same prefix on another host finds it');
    });
  });
}
