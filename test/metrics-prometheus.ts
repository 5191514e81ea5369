import t, { type Test } from 'tap';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import * as promClient from 'prom-client';
import { attachSessionCache, registerMetrics, ClientSessionCache } from '../lib/index.js';
import { emptyStats, type SessionCacheStats } from '../lib/cache/stats.js';
import { key, cert, ca, listen, close, connect } from './fixtures/tls.js';

/** A TLS 1.2 server with the cache, and `n` connections to it, each offering the last session. */
async function serverWithHandshakes(t: Test, context: string, n: number) {
  const server = tls.createServer({ key, cert }, (s) => s.end());
  const cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: context });
  const port = await listen(server);
  t.teardown(() => close(server));
  let session: Buffer | undefined;
  for (let i = 0; i < n; i++) {
    const r = await connect(port, { maxVersion: 'TLSv1.2', ...(session ? { session } : {}) });
    session = r.sessions.at(-1) ?? session;
  }
  return { server, cache, port, session };
}

t.test('prometheus metrics report real resumptions from cache.stats()', async (t) => {
  const { cache, port, session } = await serverWithHandshakes(t, 'metrics', 4);
  const registry = new promClient.Registry();
  const names = registerMetrics(promClient, { cache, registry, labels: { server: 'test' } });
  t.ok(names.includes('tls_resumption_resumed_total'));
  t.notOk(names.includes('tls_resumption_hit_ratio'), 'no ratio since process start: rate() it in PromQL');
  const text = await registry.metrics();
  t.match(text, /tls_resumption_handshakes_total\{server="test",result="completed"\} 4/);
  t.match(text, /tls_resumption_resumed_total\{server="test"\} 3/);
  t.match(text, /tls_resumption_lookups_total\{server="test",result="internal_hit"\} 3/);
  t.match(text, /tls_resumption_store_circuit_open\{server="test"\} 0/);
  t.match(text, /tls_resumption_sessions\{server="test"\} [1-9]/);
  t.notMatch(text, /hit_ratio/);
  // Current values are gauges, totals counters.
  t.match(text, /# TYPE tls_resumption_sessions gauge/);
  t.match(text, /# TYPE tls_resumption_store_circuit_open gauge/);
  t.match(text, /# TYPE tls_resumption_resumed_total counter/);
  t.match(text, /# TYPE tls_resumption_handshakes_total counter/);
  // A scrape reads current values: more handshakes, higher counters.
  await connect(port, { maxVersion: 'TLSv1.2', session });
  t.match(await registry.metrics(), /tls_resumption_resumed_total\{server="test"\} 4/);
});

t.test('two caches in one registry: one family per metric, a series per server label', async (t) => {
  const a = await serverWithHandshakes(t, 'metrics-a', 3);
  const b = await serverWithHandshakes(t, 'metrics-b', 1);
  const registry = new promClient.Registry();
  registerMetrics(promClient, { cache: a.cache, registry, labels: { server: 'a' } });
  registerMetrics(promClient, { cache: b.cache, registry, labels: { server: 'b' } });
  const text = await registry.metrics();
  t.match(text, /tls_resumption_resumed_total\{server="a"\} 2/);
  t.match(text, /tls_resumption_resumed_total\{server="b"\} 0/);
  t.match(text, /tls_resumption_handshakes_total\{server="a",result="completed"\} 3/);
  t.match(text, /tls_resumption_handshakes_total\{server="b",result="completed"\} 1/);
  t.equal(text.match(/# TYPE tls_resumption_resumed_total counter/g)?.length, 1, 'one family');

  // Also in prom-client's global registry (no registry option).
  t.teardown(() => promClient.register.clear());
  promClient.register.clear();
  registerMetrics(promClient, { cache: a.cache, labels: { server: 'a' } });
  registerMetrics(promClient, { cache: b.cache, labels: { server: 'b' } });
  t.match(await promClient.register.metrics(), /tls_resumption_resumed_total\{server="b"\} 0/);
});

t.test('what cannot be told apart is a coded conflict, and registers nothing', async (t) => {
  const a = await serverWithHandshakes(t, 'metrics-c', 2);
  const registry = new promClient.Registry();
  registerMetrics(promClient, { cache: a.cache, registry, labels: { server: 'a' } });
  const before = await registry.metrics();
  const code = 'ERR_TLS_RESUMPTION_METRICS_CONFLICT';
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry, labels: { server: 'a' } }), { code, message: /server="a"/ });
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry }), { code, message: /same label names/ });
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry, labels: { server: 'a', zone: 'x' } }), { code });
  t.equal(await registry.metrics(), before, 'the registry is as it was');

  // A metric of the same name registered by other code.
  const foreign = new promClient.Registry();
  new promClient.Gauge({ name: 'tls_resumption_sessions', help: 'someone else', registers: [foreign] });
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry: foreign }), { code, message: /other code/ });
  t.equal(foreign.getMetricsAsArray().length, 1, 'nothing registered beside it');

  // Another prefix is another family.
  t.doesNotThrow(() => registerMetrics(promClient, { cache: a.cache, registry, prefix: 'edge_tls_' }));
  t.match(await registry.metrics(), /edge_tls_resumed_total 1/);

  // After registry.clear(), registering again works.
  registry.clear();
  registerMetrics(promClient, { cache: a.cache, registry, labels: { server: 'a' } });
  t.match(await registry.metrics(), /tls_resumption_resumed_total\{server="a"\} 1/);

  // Bad options are option errors, not conflicts.
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry, labels: { result: 'x' } }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => registerMetrics(promClient, { cache: a.cache, registry, prefix: 'bad-prefix' }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('a missing prom-client is a clear error', async (t) => {
  t.throws(() => registerMetrics({} as never, {}), { code: 'ERR_TLS_RESUMPTION_NO_PROM_CLIENT' });
});

t.test('ticket ring: counters, and the keys held as a gauge', async (t) => {
  const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const cache = attachSessionCache(server, { ticketKeys: [randomBytes(48)], sessionIdContext: 'metrics' });
  const port = await listen(server);
  t.teardown(() => close(server));
  const first = await connect(port, { maxVersion: 'TLSv1.2' });
  const again = await connect(port, { maxVersion: 'TLSv1.2', session: first.sessions.at(-1) });
  t.ok(again.resumed, 'resumed by ticket');
  const registry = new promClient.Registry();
  registerMetrics(promClient, { cache, registry });
  const text = await registry.metrics();
  t.match(text, /tls_resumption_ticket_encrypted_total [1-9]/);
  t.match(text, /tls_resumption_ticket_decrypted_total\{key="current"\} 1/);
  t.match(text, /# TYPE tls_resumption_ticket_keys gauge\ntls_resumption_ticket_keys 1\n/);
  t.match(text, /tls_resumption_ticket_key_path\{path="(callback|setTicketKeys)"\} 1/);
  t.notMatch(text, /ticket_keys_total/, 'keys held is not a counter');
});

t.test('client cache: sessions held is a gauge, the rest counters', async (t) => {
  const server = tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('ok'));
  });
  const port = await listen(server);
  t.teardown(() => close(server));
  const sessions = new ClientSessionCache({ max: 10 });
  const once = () =>
    new Promise<boolean>((resolve, reject) => {
      const socket = sessions.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
      let reused = false;
      socket.on('error', reject);
      socket.once('secureConnect', () => {
        reused = socket.isSessionReused();
        socket.write('hello');
      });
      // The server answers after its handshake flight, so the session came first.
      socket.once('data', () => socket.end());
      socket.once('close', () => resolve(reused));
    });
  await once();
  t.ok(await once(), 'the second connection resumed');
  const registry = new promClient.Registry();
  registerMetrics(promClient, { client: sessions, registry });
  const text = await registry.metrics();
  t.match(text, /# TYPE tls_resumption_client_sessions gauge\ntls_resumption_client_sessions [1-9]/);
  t.match(text, /tls_resumption_client_resumed_total 1/);
  t.match(text, /tls_resumption_client_sessions_offered_total 1/);
  t.notMatch(text, /client_size/, 'no counter named after a current value');
});

t.test('help texts are written for an operator; every stats() field is exported', async (t) => {
  // Distinct values per field, so each one is found in the output.
  const fake = emptyStats() as unknown as Record<string, number | boolean>;
  // Far apart, so no value can pass for another or for a sum of two.
  let v = 100_003;
  for (const k of Object.keys(fake)) fake[k] = k === 'circuitOpen' ? true : (v = v * 3 + 1);
  fake.keyClashes = 7;
  const stats = fake as unknown as SessionCacheStats;
  const ring = {
    encrypted: 301, encryptedStale: 302, notIssued: 303, decryptedCurrent: 304, decryptedPrevious: 305, decryptedNext: 306,
    renewed: 307, unknownKey: 308, nameClashes: 309, replaced: 310, rotations: 311, keys: 3, path: 'callback',
    store: { syncs: 401, created: 402, lostElections: 403, fetched: 404, missing: 405, invalid: 406, storeErrors: 407 },
  };
  const client = { number: 501, stored: 502, offered: 503, resumed: 504, declined: 505, expired: 506, evicted: 507, failed: 508 };
  const registry = new promClient.Registry();
  registerMetrics(promClient, { cache: { stats: () => stats, ticketKeyStats: () => ring }, client: { stats: () => client }, registry });
  const text = await registry.metrics();
  const values = new Set([...text.matchAll(/^[a-z_]+(?:\{[^}]*\})? (\d+)$/gm)].map((m) => Number(m[1])));
  for (const [k, value] of Object.entries(fake)) {
    if (k === 'notCached') continue;
    t.ok(values.has(value === true ? 1 : (value as number)), `cache stats().${k} is exported`);
  }
  t.ok(values.has((fake.notCached as number) - 7), 'notCached less key clashes: reason="no_key"');
  for (const [k, value] of [...Object.entries(ring), ...Object.entries(ring.store), ...Object.entries(client)]) {
    if (typeof value === 'number') t.ok(values.has(value), `stats().${k} = ${value} is exported`);
  }
  for (const [, name, help] of text.matchAll(/^# HELP (\S+) (.*)$/gm)) {
    t.notMatch(help, /stats\(\)/, `${name}: help does not just name a field`);
    t.ok((help as string).length >= 30, `${name}: help says something (${help})`);
  }
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    t.equal(type, (name as string).endsWith('_total') ? 'counter' : 'gauge', `${name} is a ${type}`);
  }
});
