/**
 * A resumed session never grants more than a full handshake would (issue 10), tried as
 * an attacker would: a client certificate session offered after the server stopped
 * trusting its CA, at a host that never trusted it, along an endless chain of TLS 1.3
 * tickets, and after the certificate expired. For session ids, stateful TLS 1.3
 * tickets and tickets of the `ticketKeys` ring; Node clients and `openssl s_client`.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { attachSessionCache, type SessionCache, type SessionCacheOptions } from '../lib/index.js';
import { parseSessionDer } from '../lib/protocol/session-der.js';
import { pki } from './fixtures/pki.js';
import { derOf } from './fixtures/server.js';
import { TLS12_IDS, TLS13, sClientOnce, talk, tempDir } from './fixtures/server-robustness.js';
import { cert, close, fixturePath, key, listen } from './fixtures/tls.js';

const { ca1, ca2, client1, client2, shortLived } = pki();

/** Every (id, der) a cache's server reported in newSession (looked at only: the cache calls done()). */
const made = new WeakMap<SessionCache, { id: Buffer; der: Buffer }[]>();
function lastServerSession(cache: SessionCache): { id: Buffer; der: Buffer } | undefined {
  return made.get(cache)?.at(-1);
}

/** What the server granted each connection. */
interface Granted {
  authorized: boolean;
  subject: string | undefined;
  resumed: boolean;
}

async function mtlsServer(t: Test, ca: Buffer, options: SessionCacheOptions) {
  const granted: Granted[] = [];
  const server = tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true }, (s) => {
    const peer = s.getPeerCertificate();
    const cn = peer?.subject?.CN;
    granted.push({ authorized: s.authorized, subject: Array.isArray(cn) ? cn.join(',') : cn, resumed: s.isSessionReused() });
    s.end('hi');
  });
  t.teardown(() => close(server));
  const cache = attachSessionCache(server, options);
  const sessions: { id: Buffer; der: Buffer }[] = [];
  made.set(cache, sessions);
  server.on('newSession', (id: Buffer, der: Buffer) => sessions.push({ id, der }));
  const port = await listen(server);
  return { server, cache, port, granted };
}

const MECHANISMS: [string, SessionCacheOptions, tls.ConnectionOptions][] = [
  ['TLS 1.2 session id', { tickets: 'off' }, TLS12_IDS],
  ['TLS 1.3 stateful ticket', { tickets: 'off' }, TLS13],
  ['TLS 1.2 ring ticket', { ticketKeys: [randomBytes(48)] }, { maxVersion: 'TLSv1.2' }],
  ['TLS 1.3 ring ticket', { ticketKeys: [randomBytes(48)] }, { minVersion: 'TLSv1.3' }],
];

/** A session of client1 (trusted by ca1) from a full handshake. */
async function client1Session(port: number, options: tls.ConnectionOptions): Promise<Buffer> {
  const first = await talk(port, { ...options, key: client1.key, cert: client1.cert });
  if (first.error) throw first.error;
  if (first.resumed) throw new Error('the first connection resumed');
  const session = first.sessions.at(-1);
  if (session === undefined) throw new Error('no session');
  return session;
}

t.test('setSecureContext() to another CA: the old session does not resume, with or without the certificate', async (t) => {
  for (const [name, cacheOptions, clientOptions] of MECHANISMS) {
    const { server, cache, port, granted } = await mtlsServer(t, ca1, cacheOptions);
    const session = await client1Session(port, clientOptions);
    t.equal((await talk(port, { ...clientOptions, session })).resumed, true, `${name}: resumes while ca1 is trusted`);

    server.setSecureContext({ key, cert, ca: ca2 });
    const before = granted.length;
    const fresh = await talk(port, { ...clientOptions, key: client1.key, cert: client1.cert });
    t.notOk(fresh.resumed, `${name}: a fresh ca1 handshake is not resumed`);
    const stolen = await talk(port, { ...clientOptions, session });
    t.equal(stolen.resumed, false, `${name}: the old session is not resumed`);
    t.same(granted.slice(before), [], `${name}: nothing granted (the full handshakes fail: no trusted certificate)`);
    if (cacheOptions.tickets === 'off') t.equal(cache.stats().trustMismatch, 1, `${name}: counted in trustMismatch`);

    // The new trust settings work: a ca2 client gets a session that resumes.
    const ok = await talk(port, { ...clientOptions, key: client2.key, cert: client2.cert });
    t.equal(ok.error, undefined, `${name}: a ca2 client connects`);
    t.equal((await talk(port, { ...clientOptions, session: ok.sessions.at(-1)! })).resumed, true, `${name}: and resumes`);
  }
});

t.test('two hosts, one context and one ticket key, different CAs: no session crosses', async (t) => {
  const ring = [randomBytes(48)];
  for (const [name, cacheOptions, clientOptions] of MECHANISMS) {
    const shared: SessionCacheOptions = { ...cacheOptions, sessionIdContext: 'fleet', ...(cacheOptions.ticketKeys ? { ticketKeys: ring } : {}) };
    const a = await mtlsServer(t, ca1, shared);
    const b = await mtlsServer(t, ca2, shared);
    const session = await client1Session(a.port, clientOptions);
    t.not(a.cache.getEffectiveSessionIdContext(), b.cache.getEffectiveSessionIdContext(), `${name}: the hosts' effective contexts differ`);
    if (cacheOptions.tickets === 'off') {
      // Exported from A and imported into B, as a shared store would carry it.
      const der = lastServerSession(a.cache);
      if (der !== undefined) b.cache.add(der.id, der.der);
    }
    const atB = await talk(b.port, { ...clientOptions, session });
    t.equal(atB.resumed, false, `${name}: A's session does not resume at B`);
    t.same(b.granted, [], `${name}: B granted nothing`);
    // Control: the same configuration on both sides shares them.
    const a2 = await mtlsServer(t, ca1, shared);
    if (cacheOptions.tickets === 'off') {
      const der = lastServerSession(a.cache);
      if (der !== undefined) a2.cache.add(der.id, der.der);
    }
    t.equal((await talk(a2.port, { ...clientOptions, session })).resumed, true, `${name}: a host with A's settings resumes it`);
  }
});

t.test('a chain of TLS 1.3 resumptions ends `timeout` after the full handshake that authenticated it', async (t) => {
  // Time is the subject and OpenSSL stamps sessions with the real clock (in whole
  // seconds), so this waits in real time: about 3.5 s.
  const { cache, port, granted } = await mtlsServer(t, ca1, { tickets: 'off', timeout: 3 });
  const first = await talk(port, { ...TLS13, key: client1.key, cert: client1.cert });
  const ticket1 = first.sessions.at(-1)!;
  const authSeconds = sessionTime(ticket1);
  await untilMs((authSeconds + 1) * 1000 + 200);
  const second = await talk(port, { ...TLS13, session: ticket1 });
  t.equal(second.resumed, true, 'resumed within the timeout');
  const ticket2 = second.sessions.at(-1)!;
  t.ok(sessionTime(ticket2) + 3 > authSeconds + 3, "the new ticket's own lifetime reaches past the chain's end");
  await untilMs((authSeconds + 3) * 1000 + 100);
  t.ok(Date.now() < (sessionTime(ticket2) + 3) * 1000, "the new ticket itself has not expired yet");
  const third = await talk(port, { ...TLS13, session: ticket2 });
  t.equal(third.resumed, false, 'refused: the authentication is older than the timeout');
  t.equal(cache.stats().authExpired, 1, 'counted in authExpired');
  t.equal(granted.filter((g) => g.resumed).length, 1, 'only the one resumption within the timeout was granted');
});

t.test('a session whose client certificate has expired since does not resume', async (t) => {
  let clock = Date.now();
  const { cache, port } = await mtlsServer(t, ca1, { tickets: 'off', timeout: 3 * 24 * 3600, now: () => clock });
  for (const [name, clientOptions] of [['TLS 1.2 session id', TLS12_IDS], ['TLS 1.3 stateful ticket', TLS13]] as const) {
    clock = Date.now();
    const first = await talk(port, { ...clientOptions, key: shortLived.key, cert: shortLived.cert });
    const session = first.sessions.at(-1)!;
    t.equal((await talk(port, { ...clientOptions, session })).resumed, true, `${name}: resumes while the certificate is valid`);
    clock = shortLived.notAfterMs + 1000;
    t.equal((await talk(port, { ...clientOptions, session })).resumed, false, `${name}: refused once it has expired`);
  }
  t.equal(cache.stats().peerCertExpired, 2, 'counted in peerCertExpired');
});

t.test('openssl s_client -sess_in: a client-certificate session is refused after the CA changes', async (t) => {
  const { dir, remove } = tempDir();
  t.teardown(remove);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${dir}/client.pem`, client1.cert);
  writeFileSync(`${dir}/client.key`, client1.key);
  for (const [name, args] of [['TLS 1.2 -no_ticket', ['-tls1_2', '-no_ticket']], ['TLS 1.3', ['-tls1_3']]] as const) {
    const { server, cache, port } = await mtlsServer(t, ca1, { tickets: 'off' });
    const file = `${dir}/${name.replace(/\W+/g, '-')}.pem`;
    const common = [...args, '-servername', 'localhost', '-CAfile', fixturePath('ca.pem')];
    const until = name === 'TLS 1.3' ? { until: /Post-Handshake New Session Ticket arrived/ } : {};
    await sClientOnce(port, [...common, '-cert', `${dir}/client.pem`, '-key', `${dir}/client.key`, '-sess_out', file], until);
    t.equal((await sClientOnce(port, [...common, '-sess_in', file])).reused, true, `${name}: reused while ca1 is trusted`);
    server.setSecureContext({ key, cert, ca: ca2 });
    t.equal((await sClientOnce(port, [...common, '-sess_in', file])).reused, false, `${name}: not reused once ca2 replaces ca1`);
    t.equal(cache.stats().trustMismatch, 1, `${name}: counted`);
  }
});

function sessionTime(session: Buffer): number {
  const parsed = parseSessionDer(derOf(session));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.session.time;
}

function untilMs(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
