import t from 'tap';
import { randomBytes } from 'node:crypto';
import { listen, close } from './fixtures/tls.js';
import { handshake, manualClock, ticketServer } from './fixtures/tickets/tls.js';
import { attachTicketKeyRing } from '../lib/server/attach-ticket-keys.js';

const HOUR = 3_600_000;

t.test('static keys: the first encrypts; setKeys() rotates them like reloading nginx key files', async (t) => {
  const [k1, k2] = [randomBytes(48), randomBytes(48)];
  const server = ticketServer();
  const h = attachTicketKeyRing(server, [k1]);
  await h.ready;
  const port = await listen(server);
  const first = await handshake(port, 'TLSv1.2');
  t.equal(first.ticketName, k1.subarray(0, 16).toString('hex'));
  h.setKeys([k2, k1]); // new key first, old one kept for decryption
  const resumed = await handshake(port, 'TLSv1.2', { session: first.session });
  t.equal(resumed.resumed, true, 'the old key still decrypts');
  t.equal(resumed.ticketName, k2.subarray(0, 16).toString('hex'), 'and the ticket is renewed under the new key');
  h.setKeys([k2]);
  const dropped = await handshake(port, 'TLSv1.2', { session: first.session });
  t.equal(dropped.resumed, false, 'a key dropped from the list no longer decrypts');
  t.throws(() => h.setKeys([randomBytes(10)]), { code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
  t.match(h.stats(), { path: 'callback', renewed: 1, unknownKey: 1 });
  h.stop();
  await close(server);
});

t.test('secret-derived keys: two servers agree without a store', async (t) => {
  const secret = randomBytes(32);
  const clock = manualClock(70 * HOUR);
  const servers = [ticketServer(), ticketServer()];
  const handles = servers.map((s) => attachTicketKeyRing(s, { rotateEvery: '1h', secret }, { now: clock.now }));
  const ports = await Promise.all(servers.map((s) => listen(s)));
  const first = await handshake(ports[0]!, 'TLSv1.3');
  t.equal((await handshake(ports[1]!, 'TLSv1.3', { session: first.session })).resumed, true);
  t.throws(() => handles[0]!.setKeys([randomBytes(48)]), { code: 'ERR_TLS_RESUMPTION_TICKET_ROTATION' });
  for (const h of handles) h.stop();
  await Promise.all(servers.map((s) => close(s)));
});

t.test('local keys rotate in one process and are not shared', async (t) => {
  const clock = manualClock(80 * HOUR);
  const servers = [ticketServer(), ticketServer()];
  const handles = servers.map((s) => attachTicketKeyRing(s, { rotateEvery: '1h', local: true }, { now: clock.now }));
  const ports = await Promise.all(servers.map((s) => listen(s)));
  const first = await handshake(ports[0]!, 'TLSv1.2');
  t.equal((await handshake(ports[1]!, 'TLSv1.2', { session: first.session })).resumed, false, 'another ring, other keys');
  clock.advance(HOUR);
  const own = await handshake(ports[0]!, 'TLSv1.2', { session: first.session });
  t.equal(own.resumed, true, 'the same server resumes across its own rotation');
  for (const h of handles) h.stop();
  await Promise.all(servers.map((s) => close(s)));
});

t.test('bad options throw synchronously and leave the server untouched', async (t) => {
  const server = ticketServer();
  t.throws(() => attachTicketKeyRing(server, { rotateEvery: '12h' }), { code: 'ERR_TLS_RESUMPTION_TICKET_STORE' });
  t.throws(() => attachTicketKeyRing(server, [randomBytes(47)]), { code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
  const h = attachTicketKeyRing(server, [randomBytes(48)]);
  t.equal(h.stats().keys, 1, 'a valid option can still be attached afterwards, with its one key');
  h.stop();
});

t.test('stop() zeroes the keys and detaches; the server goes on with full handshakes and Node tickets', async (t) => {
  const server = ticketServer();
  const h = attachTicketKeyRing(server, { rotateEvery: '1h', local: true });
  const port = await listen(server);
  const key = h.ring.currentKey()!;
  h.stop();
  t.ok(key.aesKey.every((b) => b === 0) && key.hmacKey.every((b) => b === 0), 'key material zeroed');
  const r = await handshake(port, 'TLSv1.3');
  t.equal(r.error, undefined);
  t.equal((await handshake(port, 'TLSv1.3', { session: r.session })).resumed, true);
  await close(server);
});

t.test('debug output names keys by a label and never contains key material', async (t) => {
  const { default: createDebug } = await import('debug');
  const { format } = await import('node:util');
  const logged: string[] = [];
  const originalLog = createDebug.log;
  createDebug.enable('tls-resumption:*');
  createDebug.log = (...args: unknown[]) => logged.push(format(...(args as [string, ...unknown[]])));
  t.teardown(() => {
    createDebug.log = originalLog;
    createDebug.disable();
  });
  const clock = manualClock(90 * HOUR);
  const server = ticketServer();
  const h = attachTicketKeyRing(server, { rotateEvery: '1h', keep: 2, local: true }, { now: clock.now, useCallback: false });
  const port = await listen(server);
  const secrets: string[] = [];
  const collect = () => {
    const k = h.ring.currentKey()!;
    secrets.push(k.hmacKey.toString('hex'), k.aesKey.toString('hex'));
  };
  collect();
  await handshake(port, 'TLSv1.2');
  for (let i = 0; i < 3; i++) {
    clock.advance(HOUR);
    h.ring.tick();
    collect();
    await handshake(port, 'TLSv1.3');
  }
  h.stop();
  await close(server);
  t.ok(logged.length >= 5, `debug said something (${logged.length} lines)`);
  t.ok(logged.some((l) => /encrypting key is now [0-9a-f]{8}/.test(l)), 'keys are named by a short label');
  for (const s of secrets) t.notOk(logged.some((l) => l.includes(s) || l.includes(s.slice(0, 16))), 'no key material in the logs');
});
