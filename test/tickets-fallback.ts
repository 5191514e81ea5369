import t from 'tap';
import { randomBytes } from 'node:crypto';
import { format } from 'node:util';
import createDebug from 'debug';
import { listen, close } from './fixtures/tls.js';
import { handshake, manualClock, ticketServer, type Version } from './fixtures/tickets/tls.js';
import { TicketKeyRing } from '../lib/tickets/ring.js';
import { derivedKeySource } from '../lib/tickets/sources.js';
import { installTicketKeys } from '../lib/server/ticket-key-installation.js';
import { nodeTicketKeyBytes } from '../lib/tickets/key.js';

const HOUR = 3_600_000;
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

// Capture tls-resumption:tickets debug output.
const logged: string[] = [];
const originalLog = createDebug.log;
createDebug.enable('tls-resumption:tickets');
createDebug.log = (...args: unknown[]) => {
  logged.push(format(...(args as [string, ...unknown[]])));
};
t.teardown(() => {
  createDebug.log = originalLog;
  createDebug.disable();
});

async function fallbackFleet() {
  const clock = manualClock(300 * HOUR + 1);
  const secret = randomBytes(32);
  const servers = [ticketServer(), ticketServer()];
  const rings = servers.map(() =>
    TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: derivedKeySource(secret, HOUR) }),
  );
  const installs = servers.map((s, i) => installTicketKeys(s, rings[i]!, { useCallback: false }));
  const ports = await Promise.all(servers.map((s) => listen(s)));
  return {
    clock,
    servers,
    rings,
    installs,
    ports,
    async close() {
      for (const i of installs) i.stop();
      await Promise.all(servers.map((s) => close(s)));
    },
  };
}

t.test('useCallback: false forces setTicketKeys with the current key, and says so through debug', async (t) => {
  logged.length = 0;
  const f = await fallbackFleet();
  t.equal(f.installs[0]!.path, 'setTicketKeys');
  t.same(f.servers[0]!.getTicketKeys(), nodeTicketKeyBytes(f.rings[0]!.currentKey()!), 'Node holds the ring\'s current key');
  t.ok(
    logged.some((l) => l.includes('falling back to setTicketKeys()') && l.includes('disabled by option')),
    'a warning went to debug',
  );
  t.notOk(
    logged.some((l) => l.includes(f.rings[0]!.currentKey()!.nodeAesKey.toString('hex'))),
    'the key itself is never logged',
  );
  await f.close();
});

for (const v of VERSIONS) {
  t.test(`${v}: on the fallback path two servers still resume each other's tickets`, async (t) => {
    const f = await fallbackFleet();
    const first = await handshake(f.ports[0]!, v);
    t.equal(first.ticketName, f.rings[0]!.currentKey()!.name.toString('hex'));
    const other = await handshake(f.ports[1]!, v, { session: first.session });
    t.equal(other.resumed, true);
    await f.close();
  });

  t.test(`${v}: on the fallback path a rotation sets the new key; older tickets get a full handshake (the known limit)`, async (t) => {
    const f = await fallbackFleet();
    const first = await handshake(f.ports[0]!, v);
    f.clock.advance(HOUR);
    for (const r of f.rings) r.tick(); // what the installation's boundary timer does
    const newName = f.rings[0]!.currentKey()!.name;
    t.same(f.servers[1]!.getTicketKeys().subarray(0, 16), newName, 'the server now holds the new key');
    const old = await handshake(f.ports[1]!, v, { session: first.session });
    t.equal(old.error, undefined, 'no error');
    t.equal(old.resumed, false, 'one key only: the previous key\'s ticket is not resumed');
    t.equal(old.ticketName, newName.toString('hex'), 'a new ticket under the new key');
    const again = await handshake(f.ports[0]!, v, { session: old.session });
    t.equal(again.resumed, true, 'which resumes on the other server');
    t.equal(f.installs[0]!.stats().rotations, 1);
    await f.close();
  });
}

t.test('the callback path, same scenario: the previous key\'s ticket resumes (what the fallback cannot do)', async (t) => {
  const clock = manualClock(300 * HOUR + 1);
  const server = ticketServer();
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: derivedKeySource(randomBytes(32), HOUR) });
  const inst = installTicketKeys(server, ring);
  const port = await listen(server);
  const first = await handshake(port, 'TLSv1.2');
  clock.advance(HOUR);
  const again = await handshake(port, 'TLSv1.2', { session: first.session });
  t.equal(inst.path, 'callback');
  t.equal(again.resumed, true);
  inst.stop();
  await close(server);
});

t.test('a Node without the ticket-key callback is detected and gets the fallback without being asked', async (t) => {
  const server = ticketServer();
  const native = (server as unknown as { _sharedCreds: { context: object } })._sharedCreds.context;
  // Hide the internal method on this one context, as on a Node that lacks it.
  Object.defineProperty(native, 'enableTicketKeyCallback', { value: undefined, configurable: true });
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => 5 * HOUR, source: derivedKeySource(randomBytes(32), HOUR) });
  const inst = installTicketKeys(server, ring);
  t.equal(inst.path, 'setTicketKeys');
  const port = await listen(server);
  for (const v of VERSIONS) {
    const first = await handshake(port, v);
    t.equal(first.ticketName, ring.currentKey()!.name.toString('hex'), `${v}: tickets are under the ring's key`);
    t.equal((await handshake(port, v, { session: first.session })).resumed, true, `${v}: and resume`);
  }
  inst.stop();
  await close(server);
});

t.test('fallback: the ring key is set again after listen, where node:cluster overwrites it with the first worker\'s', async (t) => {
  const server = ticketServer();
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => 6 * HOUR, source: derivedKeySource(randomBytes(32), HOUR) });
  const inst = installTicketKeys(server, ring, { useCallback: false });
  // What node:cluster's child does before listening: Server#_setServerData with the keys
  // the primary kept from the first worker.
  (server as unknown as { _setServerData(d: { ticketKeys: string }): void })._setServerData({
    ticketKeys: randomBytes(48).toString('hex'),
  });
  t.notSame(server.getTicketKeys(), nodeTicketKeyBytes(ring.currentKey()!), 'overwritten before listening');
  const port = await listen(server);
  t.same(server.getTicketKeys(), nodeTicketKeyBytes(ring.currentKey()!), 'the ring key is back once listening');
  const first = await handshake(port, 'TLSv1.2');
  t.equal(first.ticketName, ring.currentKey()!.name.toString('hex'));
  inst.stop();
  await close(server);
});
