/**
 * Behaviour 2: TLS 1.2 clients with tickets disabled resume by session id through
 * the cache: Node's tls client, https.request with an Agent, and
 * `openssl s_client -reconnect -no_ticket`. Baselines show the same clients resume
 * nothing on a bare Node server, so these tests can fail.
 */
import t from 'tap';
import * as https from 'node:https';
import { attachSessionCache } from '../lib/server/attach.js';
import { sClientReconnect } from './fixtures/tls.js';
import {
  SSL_OP_NO_TICKET,
  ca,
  cert,
  close,
  connect,
  key,
  lastSession,
  listen,
  pick,
  resumeRounds,
  sessionIdOf,
  startCacheServer,
  startPlainServer,
  tls12NoTicket,
} from './fixtures/server.js';

t.test('bare Node server (no cache): a TLS 1.2 client without tickets never resumes', async (t) => {
  const s = await startPlainServer();
  t.teardown(() => s.close());
  const rounds = await resumeRounds(s.port, 4, tls12NoTicket());
  t.equal(rounds.first.protocol, 'TLSv1.2');
  t.same(rounds.resumed, [false, false, false, false]);
});

t.test('Node TLS 1.2 client with tickets disabled resumes by session id (server keeps Node tickets)', async (t) => {
  const s = await startCacheServer();
  t.teardown(() => s.close());
  const rounds = await resumeRounds(s.port, 4, tls12NoTicket());
  t.equal(rounds.first.protocol, 'TLSv1.2');
  t.same(rounds.resumed, [true, true, true, true]);
  t.same(pick(s.cache.stats(), 'number', 'accept', 'acceptGood', 'hits', 'internalHits', 'misses', 'cacheFull'), {
    number: 1,
    accept: 5,
    acceptGood: 5,
    hits: 4,
    internalHits: 4,
    misses: 0,
    cacheFull: 0,
  });
  t.ok(s.cache.hasMatchingSessionId(sessionIdOf(lastSession(rounds.first))), 'the session is in the internal store under its wire id');
});

t.test("tickets: 'off' server resumes TLS 1.2 clients by id even when the client would take tickets", async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  // No SSL_OP_NO_TICKET on the client: the server refuses tickets, so the id does the work.
  const rounds = await resumeRounds(s.port, 3, { maxVersion: 'TLSv1.2' });
  t.same(rounds.resumed, [true, true, true]);
  t.same(pick(s.cache.stats(), 'number', 'hits', 'internalHits'), { number: 1, hits: 3, internalHits: 3 });
});

t.test('a client offering an unknown session id gets a full handshake, counted as a miss', async (t) => {
  const s = await startCacheServer();
  t.teardown(() => s.close());
  const other = await startCacheServer();
  t.teardown(() => other.close());
  // A session from another server (another cache) is unknown here.
  const foreign = await resumeRounds(other.port, 0, tls12NoTicket());
  const rounds = await resumeRounds(s.port, 0, tls12NoTicket());
  t.equal(rounds.first.resumed, false);
  const r = await connect(s.port, tls12NoTicket({ session: foreign.first.sessions[0]! }));
  t.equal(r.error, undefined, 'the connection succeeds');
  t.equal(r.resumed, false);
  t.same(pick(s.cache.stats(), 'misses', 'hits', 'acceptGood'), { misses: 1, hits: 0, acceptGood: 2 });
});

t.test('bare Node server (no cache): openssl s_client -reconnect -no_ticket never resumes', async (t) => {
  const s = await startPlainServer();
  t.teardown(() => s.close());
  const r = await sClientReconnect(s.port, ['-tls1_2', '-no_ticket']);
  t.equal(r.connections.length, 6, 's_client made 6 connections');
  t.same(r.connections, ['new', 'new', 'new', 'new', 'new', 'new']);
});

t.test('openssl s_client -reconnect -no_ticket (TLS 1.2) resumes all 5 reconnections', async (t) => {
  const s = await startCacheServer();
  t.teardown(() => s.close());
  const r = await sClientReconnect(s.port, ['-tls1_2', '-no_ticket']);
  t.same(r.connections, ['new', 'reused', 'reused', 'reused', 'reused', 'reused'], 'first connection full, the 5 reconnections reused');
  t.same(pick(s.cache.stats(), 'number', 'hits', 'internalHits', 'acceptGood'), { number: 1, hits: 5, internalHits: 5, acceptGood: 6 });
});

t.test("openssl s_client -reconnect (TLS 1.2, tickets allowed) resumes by id on a tickets: 'off' server", async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const r = await sClientReconnect(s.port, ['-tls1_2']);
  t.same(r.connections, ['new', 'reused', 'reused', 'reused', 'reused', 'reused']);
  t.equal(s.cache.stats().internalHits, 5, 'every resumption came from the cache, not a ticket');
});

/** One https GET through `agent`; resolves whether the TLS session was reused. */
function get(port: number, agent: https.Agent): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent, maxVersion: 'TLSv1.2', secureOptions: SSL_OP_NO_TICKET },
      (res) => {
        const reused = (res.socket as import('node:tls').TLSSocket).isSessionReused();
        res.resume();
        res.on('end', () => resolve(reused));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

for (const withCache of [false, true]) {
  t.test(`https.request with an Agent (new connection per request), ${withCache ? 'cache attached: resumes' : 'no cache: never resumes'}`, async (t) => {
    const server = https.createServer({ key, cert }, (req, res) => res.end('ok'));
    const cache = withCache ? attachSessionCache(server) : undefined;
    const port = await listen(server);
    const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
    t.teardown(async () => {
      agent.destroy();
      cache?.detach();
      await close(server);
    });
    const reused: boolean[] = [];
    for (let i = 0; i < 4; i++) reused.push(await get(port, agent));
    t.same(reused, withCache ? [false, true, true, true] : [false, false, false, false]);
    if (cache) t.same(pick(cache.stats(), 'number', 'internalHits'), { number: 1, internalHits: 3 });
  });
}
