/**
 * Behaviour 4: sessions resume only under the session id context they were made in
 * (SSL_CTX_set_session_id_context(3)); a mismatch is a counted miss; contexts over 32
 * bytes are rejected with nothing changed; the context survives
 * `server.setSecureContext()`; a shared store needs an explicit context.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { attachSessionCache, SealedStore, type SessionCache, type SessionCacheOptions } from '../lib/index.js';
import { parseSessionDer } from '../lib/protocol/session-der.js';
import {
  TLS12_IDS,
  TLS13,
  madeUnder,
  sClientOnce,
  sidCtxFormsOf,
  talk,
  tempDir,
} from './fixtures/server-robustness.js';
import { cert, close, fixturePath, key, listen } from './fixtures/tls.js';
import { MapStore } from './fixtures/map-store.js';

const PROTOCOLS = [
  ['TLS 1.3 stateful ticket', TLS13],
  ['TLS 1.2 session id', TLS12_IDS],
] as const;

/** The session id context inside a session's DER. */
function sidCtxOf(der: Buffer): Buffer | undefined {
  const parsed = parseSessionDer(der);
  return parsed.ok ? parsed.session.sidCtx : undefined;
}

interface Served {
  server: tls.Server;
  cache: SessionCache;
  port: number;
  /** Every (id, der) the server's newSession reported. */
  made: { id: Buffer; der: Buffer }[];
}

async function served(t: Test, options: SessionCacheOptions, serverOptions: tls.TlsOptions = {}): Promise<Served> {
  const server = tls.createServer({ key, cert, ...serverOptions }, (s) => s.end('hi'));
  t.teardown(() => close(server));
  const cache = attachSessionCache(server, { tickets: 'off', ...options });
  // Only looks: the cache's own listener calls done().
  const made: { id: Buffer; der: Buffer }[] = [];
  server.on('newSession', (id: Buffer, der: Buffer) => made.push({ id, der }));
  const port = await listen(server);
  return { server, cache, port, made };
}

async function newSession(port: number, options: tls.ConnectionOptions, servername = 'localhost'): Promise<Buffer> {
  const first = await talk(port, { ...options, servername });
  if (first.error) throw first.error;
  if (first.resumed) throw new Error('the first connection resumed');
  const session = first.sessions.at(-1);
  if (!session) throw new Error('no session');
  return session;
}

/** Snapshot of what attaching could have touched on a server. */
function footprint(server: tls.Server) {
  return {
    listeners: ['newSession', 'resumeSession', 'connection', 'secureConnection', 'tlsClientError'].map((e) => server.listeners(e)),
    sessionIdContext: (server as tls.Server & { sessionIdContext?: string }).sessionIdContext,
    secureOptions: (server as tls.Server & { secureOptions?: number }).secureOptions,
    ownSetSecureContext: Object.prototype.hasOwnProperty.call(server, 'setSecureContext'),
    ownAddContext: Object.prototype.hasOwnProperty.call(server, 'addContext'),
    symbols: Object.getOwnPropertySymbols(server).map((s) => s.toString()),
  };
}

t.test('a session resumes only under the context it was made in; a mismatch is counted', async (t) => {
  for (const [protocolName, clientOptions] of PROTOCOLS) {
    const { cache, port } = await served(t, { sessionIdContext: 'app-a' });
    const madeInA = await newSession(port, clientOptions);
    t.equal((await talk(port, { ...clientOptions, session: madeInA })).resumed, true, `${protocolName}: resumes under app-a`);

    cache.setSessionIdContext('app-b');
    t.equal(cache.getSessionIdContext(), 'app-b');
    const underB = await talk(port, { ...clientOptions, session: madeInA });
    t.equal(underB.error, undefined, `${protocolName}: handshake under app-b completes`);
    t.equal(underB.resumed, false, `${protocolName}: the app-a session is not resumed under app-b`);
    t.equal(cache.stats().sidCtxMismatch, 1, `${protocolName}: counted in sidCtxMismatch`);

    const madeInB = await newSession(port, clientOptions);
    t.equal((await talk(port, { ...clientOptions, session: madeInB })).resumed, true, `${protocolName}: a session made under app-b resumes`);

    cache.setSessionIdContext('app-a');
    t.equal((await talk(port, { ...clientOptions, session: madeInA })).resumed, true, `${protocolName}: back under app-a, the old session resumes`);
    t.equal((await talk(port, { ...clientOptions, session: madeInB })).resumed, false, `${protocolName}: and the app-b one does not`);
    t.equal(cache.stats().sidCtxMismatch, 2, `${protocolName}: counted again`);
  }
});

t.test("a session imported with add() from a server with another context is refused until the contexts agree", async (t) => {
  const a = await served(t, { sessionIdContext: 'app-a' });
  const session = await newSession(a.port, TLS12_IDS);
  const { id, der } = a.made.at(-1)!;
  t.ok(madeUnder(der, a.cache.getEffectiveSessionIdContext()), 'the DER carries app-a (bound to its trust settings)');

  const b = await served(t, { sessionIdContext: 'app-b' });
  t.equal(b.cache.add(id, der), true, 'added to app-b');
  const refused = await talk(b.port, { ...TLS12_IDS, session });
  t.equal(refused.resumed, false, 'not resumed under app-b');
  t.equal(b.cache.stats().sidCtxMismatch, 1, 'counted in sidCtxMismatch');
  t.equal(b.cache.stats().internalHits, 0);

  b.cache.setSessionIdContext('app-a');
  const accepted = await talk(b.port, { ...TLS12_IDS, session });
  t.equal(accepted.resumed, true, 'resumed once app-b uses app-a as well');
});

t.test('openssl s_client -sess_out/-sess_in: a session is refused after the context changes', async (t) => {
  const { dir, remove } = tempDir();
  t.teardown(remove);
  const variants: [string, string[], RegExp | undefined][] = [
    ['TLS 1.3', ['-tls1_3'], /Post-Handshake New Session Ticket arrived/],
    ['TLS 1.2 -no_ticket', ['-tls1_2', '-no_ticket'], undefined],
  ];
  for (const [variantName, args, until] of variants) {
    const { cache, port } = await served(t, { sessionIdContext: 'before' });
    const file = `${dir}/${variantName.replace(/\W+/g, '-')}.pem`;
    const common = [...args, '-servername', 'localhost', '-CAfile', fixturePath('ca.pem')];
    await sClientOnce(port, [...common, '-sess_out', file], until ? { until } : {});
    t.equal((await sClientOnce(port, [...common, '-sess_in', file])).reused, true, `${variantName}: reused under the same context`);
    cache.setSessionIdContext('after');
    t.equal((await sClientOnce(port, [...common, '-sess_in', file])).reused, false, `${variantName}: new under another context`);
    t.equal(cache.stats().sidCtxMismatch, 1, `${variantName}: counted`);
  }
});

t.test('capabilities() reports how this Node stores the context, as the sessions show it', async (t) => {
  const { cache, port, made } = await served(t, { sessionIdContext: 'report' });
  t.match(cache.capabilities().sessionIdContext, { status: 'working', detail: /no session made yet/ }, 'before any session');
  await newSession(port, TLS12_IDS, 'a.example');
  const der = made.at(-1)!.der;
  const effective = cache.getEffectiveSessionIdContext();
  const literal = sidCtxOf(der)?.equals(Buffer.from(effective)) === true;
  const bound = sidCtxOf(der)?.equals(sidCtxFormsOf(effective, 'a.example')[1]!) === true;
  t.ok(literal !== bound, 'the session carries exactly one of the two forms');
  const report = cache.capabilities().sessionIdContext;
  t.equal(report.status, 'working');
  t.match(report.detail, literal ? /as is/ : /binds sessions to the SNI name/, literal ? 'reported as the context as is' : 'reported as bound to the SNI name');
});

t.test('contexts over 32 bytes are rejected with ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG and nothing changes', async (t) => {
  const tooLong: [string, string | Buffer][] = [
    ['33 ASCII bytes', 'x'.repeat(33)],
    ['11 characters, 33 UTF-8 bytes', '€'.repeat(11)],
    ['a 33-byte Buffer', Buffer.alloc(33, 0x61)],
  ];
  for (const [name, ctx] of tooLong) {
    const server = tls.createServer({ key, cert });
    const before = footprint(server);
    t.throws(() => attachSessionCache(server, { sessionIdContext: ctx }), { name: 'RangeError', code: 'ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG' }, `attach, ${name}`);
    t.same(footprint(server), before, `attach, ${name}: the server is untouched`);
  }

  // Exactly 32 bytes is allowed, multi-byte characters included, and resumes.
  for (const ctx of ['x'.repeat(32), '€'.repeat(10) + 'ab']) {
    const { cache, port } = await served(t, { sessionIdContext: ctx });
    t.equal(cache.getSessionIdContext(), ctx);
    const session = await newSession(port, TLS12_IDS);
    t.equal((await talk(port, { ...TLS12_IDS, session })).resumed, true, `${Buffer.byteLength(ctx)}-byte context resumes`);
  }

  const { server, cache, port } = await served(t, { sessionIdContext: 'kept' });
  const session = await newSession(port, TLS13);
  const before = footprint(server);
  for (const [name, ctx] of tooLong) {
    t.throws(() => cache.setSessionIdContext(ctx), { name: 'RangeError', code: 'ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG' }, `setSessionIdContext, ${name}`);
  }
  t.throws(() => cache.setSessionIdContext(Buffer.from([0xff, 0xfe])), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' }, 'a Buffer that is not UTF-8 text');
  t.equal(cache.getSessionIdContext(), 'kept', 'the context is unchanged');
  t.same(footprint(server), before, 'the server is unchanged');
  const again = await talk(port, { ...TLS13, session });
  t.equal(again.resumed, true, 'sessions made before still resume');
  t.equal(cache.stats().sidCtxMismatch, 0);
});

t.test('the context survives server.setSecureContext() (certificate renewal)', async (t) => {
  for (const [protocolName, clientOptions] of PROTOCOLS) {
    const { server, cache, port, made } = await served(t, { sessionIdContext: 'renewal' });
    const before = await newSession(port, clientOptions);
    server.setSecureContext({ key, cert });
    const resumedOld = await talk(port, { ...clientOptions, session: before });
    t.equal(resumedOld.resumed, true, `${protocolName}: a session from before the renewal resumes`);

    const madeBefore = made.length;
    const after = await newSession(port, clientOptions);
    t.ok(madeUnder(made[madeBefore]!.der, cache.getEffectiveSessionIdContext()), `${protocolName}: sessions made after the renewal carry the context`);
    t.equal((await talk(port, { ...clientOptions, session: after })).resumed, true, `${protocolName}: and resume`);
    t.equal(cache.stats().internalHits, 2, `${protocolName}: both served by the cache (tickets stay stateful)`);
    t.equal(cache.getSessionIdContext(), 'renewal');

    // A context set after the renewal reaches the new OpenSSL context too.
    cache.setSessionIdContext('renewal-2');
    t.equal((await talk(port, { ...clientOptions, session: after })).resumed, false, `${protocolName}: refused after a later context change`);
    t.equal(cache.stats().sidCtxMismatch, 1, `${protocolName}: counted`);
  }
});

t.test('setSessionIdContext reaches SNI contexts too', async (t) => {
  const server = tls.createServer({ key, cert }, (s) => s.end('hi'));
  t.teardown(() => close(server));
  server.addContext('a.example', { key, cert });
  const cache = attachSessionCache(server, { sessionIdContext: 'one' });
  server.addContext('b.example', { key, cert });
  const port = await listen(server);
  for (const name of ['a.example', 'b.example']) {
    const session = await newSession(port, TLS12_IDS, name);
    t.equal((await talk(port, { ...TLS12_IDS, servername: name, session })).resumed, true, `${name}: resumes`);
  }
  const effectiveOne = cache.getEffectiveSessionIdContext();
  cache.setSessionIdContext('two');
  const effectiveTwo = cache.getEffectiveSessionIdContext();
  t.not(effectiveTwo, effectiveOne, 'the effective context follows the configured one');
  const made: Buffer[] = [];
  server.on('newSession', (_id: Buffer, der: Buffer) => made.push(der));
  for (const name of ['a.example', 'b.example']) {
    const session = await newSession(port, TLS12_IDS, name);
    t.ok(madeUnder(made.at(-1)!, effectiveTwo, name), `${name}: new sessions carry the new context`);
    t.notOk(madeUnder(made.at(-1)!, effectiveOne, name), `${name}: not the old one`);
    t.equal((await talk(port, { ...TLS12_IDS, servername: name, session })).resumed, true, `${name}: and resume`);
  }
});


// Decided at attach time, before any store call: no Redis needed, so never skipped with it.
t.test('a shared store without an explicit session id context is refused', async (t) => {
  const store = new SealedStore(new MapStore(), { sealKeys: [randomBytes(32)] });

  const server = tls.createServer({ key, cert });
  const before = footprint(server);
  t.throws(() => attachSessionCache(server, { store }), { code: 'ERR_TLS_RESUMPTION_DEFAULT_SID_CTX' }, "Node's argv-derived default is refused");
  t.same(footprint(server), before, 'the server is untouched');

  const explicit = attachSessionCache(server, { store, sessionIdContext: 'shop' });
  t.equal(explicit.getSessionIdContext(), 'shop', 'accepted with sessionIdContext');
  explicit.detach();

  const ownContext = tls.createServer({ key, cert, sessionIdContext: 'shop' });
  const fromServer = attachSessionCache(ownContext, { store });
  t.equal(fromServer.getSessionIdContext(), 'shop', "accepted with the server's own sessionIdContext");
  fromServer.detach();
});
