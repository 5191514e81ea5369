/**
 * Resumption decisions on diagnostics_channel (lib/diagnostics.ts): a subscriber sees
 * each lookup's result with its source or reason, each new session, and store
 * failures; ids only as short prefixes, never session bytes. Real handshakes.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { channelNames } from '../lib/index.js';
import { RedisStore } from '../lib/stores/redis.js';
import { freePort } from './fixtures/redis.js';
import { startCacheServer } from './fixtures/server.js';
import { TLS12_IDS, talk } from './fixtures/server-robustness.js';

function record(t: Test, name: string): unknown[] {
  const seen: unknown[] = [];
  const onMessage = (message: unknown) => seen.push(message);
  subscribe(name, onMessage);
  t.teardown(() => unsubscribe(name, onMessage));
  return seen;
}

t.test('lookups, new sessions and their outcomes are published', async (t) => {
  const lookups = record(t, channelNames.lookup);
  const sessions = record(t, channelNames.session);
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const first = await talk(s.port, TLS12_IDS);
  const again = await talk(s.port, { ...TLS12_IDS, session: first.sessions.at(-1)! });
  t.equal(again.resumed, true);
  s.cache.setSessionIdContext('another');
  await talk(s.port, { ...TLS12_IDS, session: first.sessions.at(-1)! });

  t.match(sessions[0], { result: 'stored', id: /^[0-9a-f]{8}…$/ }, 'the new session, by a short id');
  t.match(lookups, [
    { result: 'hit', source: 'internal', id: /^[0-9a-f]{8}…$/ },
    { result: 'miss', reason: 'sid-ctx-mismatch' },
  ]);
  t.notOk(JSON.stringify([...lookups, ...sessions]).includes(first.sessions.at(-1)!.toString('hex').slice(0, 40)), 'no session bytes');
});

t.test('store failures are published with the operation and kind', async (t) => {
  const failures = record(t, channelNames.storeFailure);
  // A Redis that is not there: every call fails, fast.
  const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, sealKeys: [randomBytes(32)] });
  t.teardown(() => store.close());
  const s = await startCacheServer({ tickets: 'off', sessionIdContext: 'diag', store, mode: ['server', 'no-internal-lookup'] });
  t.teardown(() => s.close());
  const first = await talk(s.port, TLS12_IDS);
  await talk(s.port, { ...TLS12_IDS, session: first.sessions.at(-1)! });
  t.ok(failures.some((f) => (f as { operation: string }).operation === 'get'), 'the failed lookup');
  t.ok(failures.every((f) => ['timeout', 'error', 'tampered', 'skipped'].includes((f as { kind: string }).kind)), 'each with its kind');
});
