/**
 * Each Node internal the library relies on (lib/node/internals.ts), removed in turn as
 * a future Node might drop it: the server keeps serving, every handshake completes, no
 * session resumes where it must not, and `capabilities()` and one coded warning say
 * what is degraded. Real handshakes on loopback with Node clients.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { attachSessionCache, type SessionCacheOptions, warningCodes } from '../lib/index.js';
import { hideInternalForTesting, type InternalName } from '../lib/node/internals.js';
import { TLS12_IDS, TLS13, talk } from './fixtures/server-robustness.js';
import { cert, close, key, listen } from './fixtures/tls.js';

/** Every TlsResumptionWarning this process emits, in order. */
const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => {
  if (w.name === 'TlsResumptionWarning' && w.code !== undefined) warnings.push(w.code);
});
/** Warnings are emitted on the next tick; wait for them to arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function hide(t: Test, name: InternalName): void {
  t.teardown(hideInternalForTesting(name));
}

async function serve(t: Test, options: SessionCacheOptions, setup: (server: tls.Server) => void = () => {}) {
  const server = tls.createServer({ key, cert }, (s) => s.end('hi'));
  t.teardown(() => close(server));
  setup(server);
  const cache = attachSessionCache(server, options);
  const port = await listen(server);
  return { server, cache, port };
}

/** A full handshake, then the same session offered again: did it resume? */
async function resumes(port: number, options: tls.ConnectionOptions, servername = 'localhost', offerAs = servername) {
  const first = await talk(port, { ...options, servername });
  if (first.error) throw first.error;
  const session = first.sessions.at(-1);
  if (session === undefined) throw new Error('no session');
  const second = await talk(port, { ...options, servername: offerAs, session });
  if (second.error) throw second.error;
  return second.resumed;
}

t.test('all internals present: every feature in use is reported working', async (t) => {
  const { cache, port } = await serve(t, { tickets: 'off' }, (s) => s.addContext('a.example', { key, cert }));
  t.equal(await resumes(port, TLS13, 'a.example'), true, 'TLS 1.3 stateful ticket resumes');
  const caps = cache.capabilities();
  for (const name of ['contextSettings', 'connectionFacts', 'sessionIdContext', 'tls13StatefulTickets', 'serverNameBinding'] as const) {
    t.equal(caps[name].status, 'working', `${name}: ${caps[name].detail}`);
  }
  t.equal(caps.ticketKeyCallback.status, 'off', 'no ticketKeys: off');
  t.ok(Object.isFrozen(caps), 'a frozen report');
  await settle();
  t.same(warnings, [], 'no warning');
});

t.test("owner_symbol missing: TLS 1.3 stateful tickets and SNI binding degrade to full handshakes, reported", async (t) => {
  hide(t, 'ownerSymbol');
  const { cache, port } = await serve(t, { tickets: 'off' }, (s) => s.addContext('a.example', { key, cert }));
  t.equal(cache.capabilities().connectionFacts.status, 'degraded');
  t.equal(cache.capabilities().tls13StatefulTickets.status, 'degraded');
  t.match(cache.capabilities().serverNameBinding, { status: 'degraded', detail: /refused \(fail closed\)/ });
  t.equal(await resumes(port, TLS13, 'a.example'), false, 'TLS 1.3: a full handshake');
  t.equal(await resumes(port, TLS12_IDS, 'a.example'), false, 'TLS 1.2 under enforced binding: refused, the name is unknown');
  t.equal(cache.stats().helloParsed, 0, 'the pre-parse is off: it could serve nothing');
  t.ok(cache.stats().serverNameMismatch >= 1, 'the refusals are counted');
  await settle();
  t.same(warnings, [warningCodes.NO_CONNECTION_FACTS], 'one warning, with its code');
});

t.test('the raw-socket link missing: the same, and no second warning', async (t) => {
  hide(t, 'rawSocket');
  const { cache, port } = await serve(t, { tickets: 'off' });
  t.equal(cache.capabilities().tls13StatefulTickets.status, 'degraded');
  t.equal(await resumes(port, TLS13), false, 'TLS 1.3: a full handshake');
  // No binding on a single-context server: TLS 1.2 ids do not need the connection.
  t.equal(await resumes(port, TLS12_IDS), true, 'TLS 1.2 session ids still resume');
  await settle();
  t.same(warnings, [warningCodes.NO_CONNECTION_FACTS], 'the code was already emitted: not repeated');
});

t.test('the link breaking after attach is found by the first session event and reported', async (t) => {
  const { cache, port } = await serve(t, { tickets: 'off', serverNameBinding: 'always' });
  t.equal(cache.capabilities().connectionFacts.status, 'working', 'the probe passed');
  hide(t, 'ownerSymbol');
  t.equal(await resumes(port, TLS12_IDS, 'localhost', 'a.example'), false, 'a session offered under another name is not resumed');
  t.equal(await resumes(port, TLS12_IDS), false, 'nor under its own: the name is unknown (fail closed)');
  t.match(cache.capabilities().connectionFacts, { status: 'degraded', detail: /could not be tied/ });
});

t.test('_sharedCreds missing: settings cannot reach the default context; nothing resumes wrongly', async (t) => {
  hide(t, 'sharedCreds');
  const { cache, port } = await serve(t, { sessionIdContext: 'unreached' });
  t.match(cache.capabilities().contextSettings, { status: 'degraded', detail: /the default context/ });
  // OpenSSL stamps sessions with Node's own context, which the cache cannot tie to
  // 'unreached': it caches none of them rather than serve sessions it cannot vouch for.
  t.equal(await resumes(port, TLS12_IDS), false, 'a full handshake');
  t.ok(cache.stats().notCached >= 1, 'the session was not cached, and counted');
  await settle();
  t.ok(warnings.includes(warningCodes.CONTEXTS_UNREACHABLE), 'warned');
});

t.test('_contexts or the snicallback symbol missing: reported for the contexts it cannot reach', async (t) => {
  for (const [name, pattern] of [['contexts', /addContext/], ['sniCallbackSymbol', /SNICallback/]] as const) {
    const restore = hideInternalForTesting(name);
    try {
      const { cache, port } = await serve(t, {}, (s) => s.addContext('a.example', { key, cert }));
      t.match(cache.capabilities().contextSettings, { status: 'degraded', detail: pattern }, name);
      const first = await talk(port, { ...TLS12_IDS, servername: 'a.example' });
      t.equal(first.error, undefined, `${name}: handshakes complete`);
    } finally {
      restore();
    }
  }
  await settle();
  t.equal(warnings.filter((w) => w === warningCodes.CONTEXTS_UNREACHABLE).length, 1, 'one warning per code per process');
});

t.test('the ticket-key callback missing: the ring falls back to setTicketKeys(), reported', async (t) => {
  hide(t, 'ticketKeyCallback');
  const keyBytes = randomBytes(48);
  const { cache, port } = await serve(t, { ticketKeys: [keyBytes] });
  t.match(cache.capabilities().ticketKeyCallback, { status: 'degraded', detail: /setTicketKeys/ });
  t.equal(cache.ticketKeyStats()?.path, 'setTicketKeys');
  t.equal(await resumes(port, { maxVersion: 'TLSv1.2' }), true, 'TLS 1.2 tickets under the one key resume');
  t.equal(await resumes(port, {}), true, 'TLS 1.3 tickets too');
  await settle();
  t.ok(warnings.includes(warningCodes.NO_TICKET_KEY_CALLBACK), 'warned');
});
