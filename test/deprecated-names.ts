/**
 * The 0.1 names (README "Names and units") still do what they did, each emits one
 * DeprecationWarning with its code per process, and an old name given together with its
 * new one is refused. What a user upgrading from 0.1 would check.
 */
import t from 'tap';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { ca, cert, close, key, listen } from './fixtures/tls.js';
import {
  ClientSessionAgent,
  ClientSessionCache,
  ClusterStore,
  SealedStore,
  SESS_CACHE_CLIENT,
  deprecationCodes,
  serveClusterSessions,
} from '../lib/index.js';
import { MapStore } from './fixtures/map-store.js';

/** The DeprecationWarnings emitted while `fn` runs, as [code, message]. */
async function deprecationsDuring(fn: () => unknown): Promise<[string | undefined, string][]> {
  const seen: [string | undefined, string][] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.name === 'DeprecationWarning') seen.push([w.code, w.message]);
  };
  process.on('warning', listener);
  try {
    await fn();
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}


t.test('the deprecation codes are distinct and named TLS_RESUMPTION_DEP_*', async (t) => {
  const values = Object.values(deprecationCodes);
  t.equal(new Set(values).size, values.length, 'no code used twice');
  for (const code of values) t.match(code, /^TLS_RESUMPTION_DEP_[A-Z_]+$/);
  t.ok(Object.isFrozen(deprecationCodes));
});

t.test("client cache: 'max' still bounds the cache, warns once, and is refused next to 'cacheSize'", async (t) => {
  let cache: ClientSessionCache | undefined;
  const warned = await deprecationsDuring(() => {
    cache = new ClientSessionCache({ max: 7 });
    new ClientSessionCache({ max: 8 });
  });
  t.same(warned.map(([code]) => code), [deprecationCodes.MAX_IS_CACHE_SIZE], 'one warning for two uses');
  t.match(warned[0]![1], /max is deprecated, use cacheSize/);
  // The bound is what 'max' said: real TLS 1.2 sessions from three destinations, two kept.
  const srv = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const bounded = await deprecationsDuring(() => undefined).then(() => new ClientSessionCache({ max: 2 }));
  for (let i = 1; i <= 3; i++) {
    const socket = bounded.connect({ host: '127.0.0.1', port, ca, servername: `s${i}.example`, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2' });
    await new Promise((resolve) => socket.on('error', resolve).on('close', resolve).resume());
  }
  t.equal(bounded.stats().stored, 3);
  t.equal(bounded.stats().number, 2, 'max: 2 bounds the cache');
  t.equal(bounded.stats().evicted, 1);
  t.ok(cache, 'made with max');
  t.throws(() => new ClientSessionCache({ max: 7, cacheSize: 7 }), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_INVALID_OPTION',
    message: /give cacheSize only/,
  });
  t.throws(() => new ClientSessionCache({ max: 0 }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE', message: /options\.max/ }, 'checked under the name given');
});

t.test("client cache: 'size' and 'mode' still read, warn, and stay out of JSON", async (t) => {
  const cache = new ClientSessionCache();
  let size: number | undefined;
  let mode: number | undefined;
  let statsSize: number | undefined;
  const warned = await deprecationsDuring(() => {
    size = cache.size;
    statsSize = cache.stats().size;
    mode = cache.mode;
  });
  t.equal(size, 0);
  t.equal(statsSize, 0);
  t.equal(mode, SESS_CACHE_CLIENT);
  t.same(
    warned.map(([code]) => code),
    [deprecationCodes.SIZE_IS_NUMBER, deprecationCodes.MODE_IS_GET_MODE],
    'one warning per code (size was read twice)',
  );
  const stats = cache.stats();
  t.notOk('size' in JSON.parse(JSON.stringify(stats)), 'stats() serialises without the old name');
  t.equal(stats.number, 0);
});

t.test("SealedStore: 'keys' still seals and opens, warns once, and is refused next to 'sealKeys'", async (t) => {
  const key = randomBytes(32);
  const inner = new MapStore();
  let old: SealedStore | undefined;
  const warned = await deprecationsDuring(() => {
    old = new SealedStore(inner, { keys: [key] });
  });
  t.same(warned.map(([code]) => code), [deprecationCodes.KEYS_IS_SEAL_KEYS]);
  const session = randomBytes(100);
  await old!.set('s:1', session, 60_000);
  t.not(inner.raw("s:1").includes(session), true, 'sealed under the old name too');
  t.same(await new SealedStore(inner, { sealKeys: [key] }).get('s:1'), session, 'the new name opens what the old sealed');
  t.throws(() => new SealedStore(inner, { keys: [key], sealKeys: [key] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('serveClusterSessions and max still serve the cluster, with warnings; ClusterStore.primary does not warn', async (t) => {
  let served: ReturnType<typeof serveClusterSessions> | undefined;
  const warned = await deprecationsDuring(() => {
    served = serveClusterSessions(cluster, { max: 3 });
  });
  // 'max' warned once already, in the client test above: once per process per code.
  t.same(warned.map(([code]) => code), [deprecationCodes.SERVE_CLUSTER_SESSIONS]);
  t.equal(served!.stats().number, 0);
  served!.close();
  const quiet = await deprecationsDuring(() => ClusterStore.primary({ cacheSize: 3 }).close());
  t.same(quiet, [], 'the current names emit nothing');
  t.throws(() => ClusterStore.primary({ max: 3, cacheSize: 3 }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('new ClientSessionAgent(sessions) still makes the agent, with a warning; sessions.agent() does not warn', async (t) => {
  const sessions = new ClientSessionCache();
  let agent: ClientSessionAgent | undefined;
  const warned = await deprecationsDuring(() => {
    agent = new ClientSessionAgent(sessions, { keepAlive: true });
  });
  t.same(warned.map(([code]) => code), [deprecationCodes.NEW_CLIENT_SESSION_AGENT]);
  t.ok(agent instanceof https.Agent);
  t.equal(agent!.sessions, sessions);
  t.equal((agent as unknown as { maxCachedSessions: number }).maxCachedSessions, 0, "Node's own agent session cache is off");
  agent!.destroy();
  const quiet = await deprecationsDuring(() => sessions.agent().destroy());
  t.same(quiet, []);
});
