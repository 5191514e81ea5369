import t from 'tap';
import * as tls from 'node:tls';
import * as promClient from 'prom-client';
import { attachSessionCache, registerMetrics } from '../lib/index.js';
import { key, cert, listen, close, connect } from './fixtures/tls.js';

t.test('prometheus metrics report real resumptions from cache.stats()', async (t) => {
  const server = tls.createServer({ key, cert }, (s) => s.end());
  const cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: 'metrics' });
  const port = await listen(server);
  t.teardown(() => close(server));
  let session: Buffer | undefined;
  for (let i = 0; i < 4; i++) {
    const r = await connect(port, { maxVersion: 'TLSv1.2', ...(session ? { session } : {}) });
    session = r.sessions.at(-1) ?? session;
  }
  const registry = new promClient.Registry();
  const names = registerMetrics(promClient, { cache, registry, labels: { server: 'test' } });
  t.ok(names.includes('tls_resumption_resumed_total'));
  const text = await registry.metrics();
  t.match(text, /tls_resumption_handshakes_total\{server="test",result="completed"\} 4/);
  t.match(text, /tls_resumption_resumed_total\{server="test"\} 3/);
  t.match(text, /tls_resumption_lookups_total\{server="test",result="internal_hit"\} 3/);
  t.match(text, /tls_resumption_hit_ratio\{server="test"\} 0\.75/);
  t.match(text, /tls_resumption_store_circuit_open\{server="test"\} 0/);
  // A scrape reads current values: more handshakes, higher counters.
  await connect(port, { maxVersion: 'TLSv1.2', session });
  t.match(await registry.metrics(), /tls_resumption_resumed_total\{server="test"\} 4/);
});

t.test('a missing prom-client is a clear error', async (t) => {
  t.throws(() => registerMetrics({} as never, {}), { code: 'ERR_TLS_RESUMPTION_NO_PROM_CLIENT' });
});

t.test('ticket ring counters are exported when the cache has ticketKeys', async (t) => {
  const { randomBytes } = await import('node:crypto');
  const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const cache = attachSessionCache(server, { ticketKeys: [randomBytes(48)], sessionIdContext: 'metrics' });
  const port = await listen(server);
  t.teardown(() => close(server));
  await connect(port, { maxVersion: 'TLSv1.2' });
  const registry = new promClient.Registry();
  registerMetrics(promClient, { cache, registry });
  t.match(await registry.metrics(), /tls_resumption_ticket_encrypted_total [1-9]/);
});
