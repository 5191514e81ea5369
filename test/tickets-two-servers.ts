import t from 'tap';
import { randomBytes } from 'node:crypto';
import type * as tls from 'node:tls';
import { listen, close } from './fixtures/tls.js';
import { handshake, sClient, tempDir, ticketServer, type Version } from './fixtures/tickets/tls.js';
import { TicketKeyRing } from '../lib/tickets/ring.js';
import { derivedKeySource } from '../lib/tickets/sources.js';
import { installTicketKeys, type TicketKeysInstallation } from '../lib/server/ticket-key-installation.js';
import { validateTicketKeysOption } from '../lib/tickets/options.js';

const HOUR = 3_600_000;
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

async function pair(makeRing: () => TicketKeyRing) {
  const servers: tls.Server[] = [ticketServer(), ticketServer()];
  const rings = servers.map(() => makeRing());
  const installs: TicketKeysInstallation[] = servers.map((s, i) => installTicketKeys(s, rings[i]!));
  const ports = await Promise.all(servers.map((s) => listen(s)));
  return {
    servers,
    rings,
    installs,
    ports,
    async close() {
      for (const inst of installs) inst.stop();
      await Promise.all(servers.map((s) => close(s)));
    },
  };
}

t.test('without a shared ring, a ticket from one server does not resume on another (the problem)', async (t) => {
  const a = ticketServer();
  const b = ticketServer();
  const [pa, pb] = [await listen(a), await listen(b)];
  for (const v of VERSIONS) {
    const first = await handshake(pa, v);
    t.ok(first.session, `${v}: got a ticket`);
    const other = await handshake(pb, v, { session: first.session });
    t.equal(other.error, undefined);
    t.equal(other.resumed, false, `${v}: Node's per-process keys do not resume elsewhere`);
  }
  await close(a);
  await close(b);
});

t.test('two servers with rings of the same keys resume each other\'s tickets, TLS 1.2 and 1.3', async (t) => {
  const secret = randomBytes(32);
  const now = () => 500 * HOUR + 1234;
  const p = await pair(() => TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now, source: derivedKeySource(secret, HOUR) }));
  t.equal(p.installs[0]!.path, 'callback', 'this Node has the ticket-key callback');
  const currentName = p.rings[0]!.currentKey()!.name.toString('hex');
  for (const v of VERSIONS) {
    for (const [from, to] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const first = await handshake(p.ports[from]!, v);
      t.equal(first.resumed, false, `${v}: first connection is a full handshake`);
      t.equal(first.ticketName, currentName, `${v}: the ticket is under the ring's current key`);
      const again = await handshake(p.ports[to]!, v, { session: first.session });
      t.equal(again.error, undefined);
      t.equal(again.resumed, true, `${v}: server ${from}'s ticket resumes on server ${to}`);
      t.equal(again.protocol, v);
    }
  }
  const [sa, sb] = p.installs.map((i) => i.stats());
  t.ok(sa!.encrypted >= 3 && sb!.encrypted >= 3, 'both encrypted tickets through the ring');
  t.ok(sa!.decryptedCurrent >= 2 && sb!.decryptedCurrent >= 2, 'both decrypted the other\'s tickets with the current key');
  t.equal(sa!.unknownKey + sb!.unknownKey, 0);
  await p.close();
});

t.test('openssl s_client: a session saved from one server resumes on the other', async (t) => {
  const secret = randomBytes(32);
  const p = await pair(() =>
    TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => 77 * HOUR, source: derivedKeySource(secret, HOUR) }),
  );
  const dir = tempDir();
  t.teardown(dir.remove);
  for (const v of VERSIONS) {
    const file = dir.path(`${v}.pem`);
    const first = await sClient(p.ports[0]!, v, { sessOut: file });
    t.equal(first.reused, false, `${v}: s_client's first connection is new`);
    const second = await sClient(p.ports[1]!, v, { sessIn: file });
    t.equal(second.reused, true, `${v}: s_client resumes on the other server`);
  }
  await p.close();
});

t.test('static keys (newest first) are shared the same way, 48- and 80-byte keys alike', async (t) => {
  const keys = [randomBytes(80), randomBytes(48)];
  const p = await pair(() => {
    const config = validateTicketKeysOption(keys);
    if (config.kind !== 'static') throw new Error('expected static');
    return TicketKeyRing.fixed(config.keys);
  });
  for (const v of VERSIONS) {
    const first = await handshake(p.ports[0]!, v);
    t.equal(first.ticketName, keys[0]!.subarray(0, 16).toString('hex'), `${v}: the first key encrypts`);
    const again = await handshake(p.ports[1]!, v, { session: first.session });
    t.equal(again.resumed, true, `${v}: resumes on the other server`);
  }
  await p.close();
});
