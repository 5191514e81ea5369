/**
 * TLS 1.3 stateful tickets (`tickets: 'off'`): TLS 1.3 clients resume from this cache
 * through the ClientHello pre-parse (legacy session id -> PSK identity): Node's tls
 * client, https.request with an Agent, and `openssl s_client -sess_out/-sess_in`.
 * A baseline shows that Node's own events with a plain Map never resume TLS 1.3
 * (nodejs/node#60847), so these tests can fail.
 */
import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import { attachSessionCache } from '../lib/server/attach.js';
import {
  SSL_OP_NO_TICKET,
  ca,
  cert,
  close,
  key,
  listen,
  manualClock,
  pick,
  resumeRounds,
  sClientSession,
  sessionTimes,
  captureNewSessions,
  connect,
  startCacheServer,
  startPlainServer,
  tls13,
  until,
  type TestServer,
} from './fixtures/server.js';
import type { SessionCache } from '../lib/server/session-cache.js';

t.test("baseline: Node's newSession/resumeSession with a Map never resume TLS 1.3 stateful tickets", async (t) => {
  const s = await startPlainServer({ secureOptions: SSL_OP_NO_TICKET });
  t.teardown(() => s.close());
  const map = new Map<string, Buffer>();
  s.server.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
    map.set(id.toString('hex'), der);
    done();
  });
  s.server.on('resumeSession', (id: Buffer, cb: (err: Error | null, der: Buffer | null) => void) => cb(null, map.get(id.toString('hex')) ?? null));
  const rounds = await resumeRounds(s.port, 4, tls13(), 'latest');
  t.equal(rounds.first.protocol, 'TLSv1.3');
  t.ok(map.size >= 2, 'the server did issue stateful tickets');
  t.same(rounds.resumed, [false, false, false, false]);
});

t.test('Node TLS 1.3 client resumes every time with the newest ticket', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const rounds = await resumeRounds(s.port, 4, tls13(), 'latest');
  t.equal(rounds.first.protocol, 'TLSv1.3');
  t.same(rounds.resumed, [true, true, true, true]);
  t.ok(rounds.results.every((r) => r.protocol === 'TLSv1.3'));
  // OpenSSL issues two tickets after a full handshake and one after a resumption.
  await until(() => captured.length === 2 + 4, 5000, 'tickets');
  t.same(pick(s.cache.stats(), 'number', 'hits', 'internalHits', 'misses', 'statelessSkipped', 'helloParsed', 'helloUnparsed'), {
    number: 6,
    hits: 4,
    internalHits: 4,
    misses: 0,
    statelessSkipped: 0,
    helloParsed: 5,
    helloUnparsed: 0,
  });
});

t.test('each ticket of a full handshake resumes on its own', async (t) => {
  const s = await startCacheServer({ tickets: 'off' });
  t.teardown(() => s.close());
  const first = await connect(s.port, tls13());
  t.equal(first.sessions.length, 2);
  t.equal((await connect(s.port, tls13({ session: first.sessions[0]! }))).resumed, true);
  t.equal((await connect(s.port, tls13({ session: first.sessions[1]! }))).resumed, true);
});

t.test('stateful tickets expire like any session: the cache timeout and the injected clock', async (t) => {
  const clock = manualClock();
  const s = await startCacheServer({ tickets: 'off', timeout: 120, now: clock.now });
  t.teardown(() => s.close());
  const captured = captureNewSessions(s.server);
  const first = await connect(s.port, tls13());
  await until(() => captured.length === 2, 5000, 'tickets');
  const { time, timeout } = sessionTimes(captured[1]!.der);
  t.equal(timeout, 120);
  clock.set(time * 1000 + 120_000 - 1);
  t.equal((await connect(s.port, tls13({ session: first.sessions[0]! }))).resumed, true);
  clock.set(time * 1000 + 120_000);
  t.equal((await connect(s.port, tls13({ session: first.sessions[1]! }))).resumed, false);
  t.equal(s.cache.stats().timeouts, 1);
});

t.test("with Node's stateless tickets (tickets: 'node'), TLS 1.3 resumes by ticket and the cache stores nothing", async (t) => {
  const s = await startCacheServer();
  t.teardown(() => s.close());
  const rounds = await resumeRounds(s.port, 2, tls13(), 'latest');
  t.same(rounds.resumed, [true, true]);
  // Measured: Node reports the two tickets of the full handshake through newSession,
  // none for the stateless resumptions; both are skipped, never stored.
  t.same(pick(s.cache.stats(), 'number', 'internalHits', 'statelessSkipped', 'hits'), { number: 0, internalHits: 0, statelessSkipped: 2, hits: 2 });
});

/** One https GET through `agent` (TLS 1.3); resolves whether the TLS session was reused. */
function get(port: number, agent: https.Agent): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent, minVersion: 'TLSv1.3' },
      (res) => {
        const reused = (res.socket as tls.TLSSocket).isSessionReused();
        res.resume();
        res.on('end', () => resolve(reused));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

t.test('https.request with an Agent (new connection per request) resumes over TLS 1.3', async (t) => {
  const server = https.createServer({ key, cert }, (req, res) => res.end('ok'));
  const cache = attachSessionCache(server, { tickets: 'off' });
  const port = await listen(server);
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
  t.teardown(async () => {
    agent.destroy();
    cache.detach();
    await close(server);
  });
  const reused: boolean[] = [];
  for (let i = 0; i < 4; i++) reused.push(await get(port, agent));
  t.same(reused, [false, true, true, true]);
  t.equal(cache.stats().internalHits, 3);
});

t.test('openssl s_client -tls1_3 -sess_out, then -sess_in: reused, and not without the cache', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-resumption-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const withCache of [false, true]) {
    const s: TestServer & { cache?: SessionCache } = withCache
      ? await startCacheServer({ tickets: 'off' })
      : await startPlainServer({ secureOptions: SSL_OP_NO_TICKET });
    const file = join(dir, `${withCache}.pem`);
    const first = await sClientSession(s.port, ['-tls1_3', '-sess_out', file], { sessOut: file });
    t.equal(first.status, 'new');
    t.equal(first.protocol, 'TLSv1.3');
    t.ok(statSync(file).size > 0, 's_client saved a ticket');
    const second = await sClientSession(s.port, ['-tls1_3', '-sess_in', file]);
    t.equal(second.status, withCache ? 'reused' : 'new', withCache ? 'resumed from the cache' : 'a bare server cannot resume it');
    if (s.cache) t.same(pick(s.cache.stats(), 'internalHits', 'hits'), { internalHits: 1, hits: 1 });
    await s.close();
  }
});
