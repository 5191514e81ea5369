/**
 * `cache.detach()`: no listener of the cache is left, the server's 'connection'
 * listeners and methods are restored exactly, nothing resumes by id any more, the
 * session id context is restored, and detaching twice is harmless.
 */
import t, { type Test } from 'tap';
import * as tls from 'node:tls';
import { attachSessionCache, type SessionCacheOptions } from '../lib/index.js';
import { TLS12_IDS, TLS13, madeUnder, talk } from './fixtures/server-robustness.js';
import { cert, close, key, listen } from './fixtures/tls.js';

const EVENTS = ['connection', 'newSession', 'resumeSession', 'secureConnection', 'tlsClientError'] as const;

type ServerInternals = tls.Server & { sessionIdContext?: string; secureOptions?: number };

/** Everything attaching may touch: listeners (raw, in order), own methods, symbols, fields. */
function snapshot(server: tls.Server) {
  const own = (name: string) => Object.prototype.hasOwnProperty.call(server, name);
  return {
    listeners: Object.fromEntries(EVENTS.map((e) => [e, server.rawListeners(e)])),
    ownSetSecureContext: own('setSecureContext'),
    ownAddContext: own('addContext'),
    // Symbol names only (net.Server keeps its own changing values under some), plus the
    // one value this library may wrap: the SNICallback.
    symbols: Object.getOwnPropertySymbols(server).map((s) => s.toString()),
    sniCallback: Object.getOwnPropertySymbols(server)
      .filter((s) => s.description === 'snicallback')
      .map((s) => (server as unknown as Record<symbol, unknown>)[s]),
    sessionIdContext: (server as ServerInternals).sessionIdContext,
    secureOptions: (server as ServerInternals).secureOptions,
  };
}

function serve(t: Test, serverOptions: tls.TlsOptions = {}): tls.Server {
  const server = tls.createServer({ key, cert, ...serverOptions }, (s) => s.end('hi'));
  t.teardown(() => close(server));
  return server;
}

const CONFIGS: [string, SessionCacheOptions, (server: tls.Server) => void][] = [
  ["tickets 'node' (no pre-parse)", {}, () => {}],
  ["tickets 'off' (pre-parse on)", { tickets: 'off' }, () => {}],
  ['SNI contexts added after attach (pre-parse turned on later)', {}, (s) => s.addContext('a.example', { key, cert })],
  ["serverNameBinding 'always'", { serverNameBinding: 'always', sessionIdContext: 'explicit' }, () => {}],
];

t.test('detach leaves exactly the listeners, methods and fields the server had', async (t) => {
  for (const [name, options, afterAttach] of CONFIGS) {
    const server = serve(t);
    // The user's own listeners, before attach.
    const userConnection = () => {};
    const userSecure = () => {};
    server.on('connection', userConnection);
    server.on('secureConnection', userSecure);
    const before = snapshot(server);

    const cache = attachSessionCache(server, options);
    afterAttach(server);
    const port = await listen(server);
    const first = await talk(port, TLS12_IDS);
    await talk(port, { ...TLS12_IDS, session: first.sessions.at(-1)! });
    cache.detach();

    const after = snapshot(server);
    t.same(after.listeners, before.listeners, `${name}: every listener list is as before, same functions, same order`);
    t.ok(after.listeners.connection!.every((l, i) => l === before.listeners.connection![i]), `${name}: 'connection' listeners identical`);
    t.equal(after.ownSetSecureContext, false, `${name}: setSecureContext is the prototype's again`);
    t.equal(after.ownAddContext, false, `${name}: addContext is the prototype's again`);
    t.same(after.symbols, before.symbols, `${name}: no symbol left on the server`);
    t.same(after.sniCallback, before.sniCallback, `${name}: SNICallback untouched`);
    t.equal(after.sessionIdContext, before.sessionIdContext, `${name}: sessionIdContext restored`);
    t.equal(after.secureOptions, before.secureOptions, `${name}: secureOptions restored`);
    await close(server);
  }
});

t.test("listeners the user adds while attached stay, after the server's own, in order", async (t) => {
  const server = serve(t);
  const nodeOwn = server.rawListeners('connection');
  const cache = attachSessionCache(server, { tickets: 'off' });
  const added1 = () => {};
  const added2 = () => {};
  server.on('connection', added1);
  server.on('connection', added2);
  cache.detach();
  t.same(server.rawListeners('connection'), [...nodeOwn, added1, added2]);
});

t.test("a user's once('connection') listener fires once, as without the cache", async (t) => {
  for (const connectionsWhileAttached of [3, 0]) {
    const server = serve(t);
    const nodeOwn = server.rawListeners('connection');
    let calls = 0;
    server.once('connection', () => calls++);
    const before = server.rawListeners('connection');
    const cache = attachSessionCache(server, { tickets: 'off' });
    const port = await listen(server);
    for (let i = 0; i < connectionsWhileAttached; i++) await talk(port, TLS13);
    cache.detach();
    if (connectionsWhileAttached > 0) {
      t.equal(calls, 1, 'called for the first connection only');
      t.same(server.rawListeners('connection'), nodeOwn, 'and gone, as the emitter would have it');
    } else {
      t.same(server.rawListeners('connection'), before, 'not fired yet: given back still pending');
      await talk(port, TLS13);
      await talk(port, TLS13);
      t.equal(calls, 1, 'then fires once after detach');
    }
    await close(server);
  }
});

t.test('after detach nothing resumes by id and no counter moves', async (t) => {
  for (const [protocolName, clientOptions] of [
    ['TLS 1.2 session id', TLS12_IDS],
    ['TLS 1.3 stateful ticket', TLS13],
  ] as const) {
    const server = serve(t);
    const cache = attachSessionCache(server, { tickets: 'off' });
    const port = await listen(server);
    const session = (await talk(port, clientOptions)).sessions.at(-1)!;
    t.equal((await talk(port, { ...clientOptions, session })).resumed, true, `${protocolName}: resumes while attached`);
    cache.detach();
    const frozen = cache.stats();
    const after = await talk(port, { ...clientOptions, session });
    t.equal(after.error, undefined, `${protocolName}: handshakes still work`);
    t.equal(after.resumed, false, `${protocolName}: the cached session is not resumed any more`);
    t.same(cache.stats(), frozen, `${protocolName}: the cache saw nothing`);
    await close(server);
  }
});

t.test("the session id context is restored: the user's own handlers then see Node's context", async (t) => {
  for (const explicit of [undefined, 'users-own']) {
    const server = serve(t, explicit === undefined ? {} : { sessionIdContext: explicit });
    const original = (server as ServerInternals).sessionIdContext!;
    const cache = attachSessionCache(server, { sessionIdContext: 'from-the-cache' });
    const port = await listen(server);
    await talk(port, TLS12_IDS);
    cache.detach();
    t.equal((server as ServerInternals).sessionIdContext, original, `${explicit ?? 'default'}: the server's field is restored`);

    // The classic hand-written Node session cache, added after detach.
    const sessions = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
      sessions.set(id.toString('hex'), der);
      done();
    });
    server.on('resumeSession', (id: Buffer, cb: (err: Error | null, der: Buffer | null) => void) => cb(null, sessions.get(id.toString('hex')) ?? null));
    const session = (await talk(port, TLS12_IDS)).sessions.at(-1)!;
    const der = [...sessions.values()].at(-1)!;
    t.ok(madeUnder(der, original), `${explicit ?? 'default'}: new sessions carry the original context again`);
    t.equal((await talk(port, { ...TLS12_IDS, session })).resumed, true, `${explicit ?? 'default'}: and the user's handlers resume them`);
    await close(server);
  }
});

t.test("a user SNICallback is given back as it was", async (t) => {
  const context = tls.createSecureContext({ key, cert });
  const sniCallback = (_name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => cb(null, context);
  const server = serve(t, { SNICallback: sniCallback });
  const before = snapshot(server);
  const cache = attachSessionCache(server);
  const port = await listen(server);
  await talk(port, { ...TLS12_IDS, servername: 'a.example' });
  cache.detach();
  t.same(snapshot(server), before, 'the snicallback symbol holds the same function again');
  const sym = Object.getOwnPropertySymbols(server).find((s) => s.description === 'snicallback')!;
  t.equal((server as unknown as Record<symbol, unknown>)[sym], sniCallback);
});

t.test('detach twice is fine; a detached cache refuses changes; attaching again works', async (t) => {
  const server = serve(t);
  const cache = attachSessionCache(server, { tickets: 'off' });
  const port = await listen(server);
  cache.detach();
  const once = snapshot(server);
  t.doesNotThrow(() => cache.detach(), 'second detach');
  t.same(snapshot(server), once, 'changes nothing');
  t.throws(() => cache.setSessionIdContext('x'), { code: 'ERR_TLS_RESUMPTION_DETACHED' });

  const again = attachSessionCache(server, { tickets: 'off' });
  const session = (await talk(port, TLS13)).sessions.at(-1)!;
  t.equal((await talk(port, { ...TLS13, session })).resumed, true, 'a new cache on the same server resumes');
  t.equal(again.stats().internalHits, 1);
  again.detach();
});

t.test('a connection whose hello is being read when detach runs still completes', async (t) => {
  const server = serve(t);
  const cache = attachSessionCache(server, { tickets: 'off' });
  const port = await listen(server);
  const accepted = new Promise<void>((resolve) => server.once('connection', () => resolve()));
  const result = talk(port, TLS13);
  await accepted; // the pre-parse now waits for this client's hello
  cache.detach();
  const r = await result;
  t.equal(r.error, undefined, 'the handshake completed');
  t.equal(r.data, 'hi', 'and the server answered');
  t.equal(server.rawListeners('connection').length, 1, "only Node's own 'connection' listener remains");
});
