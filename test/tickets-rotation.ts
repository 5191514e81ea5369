import t from 'tap';
import { randomBytes } from 'node:crypto';
import { listen, close } from './fixtures/tls.js';
import { handshake, manualClock, ticketServer, type Version } from './fixtures/tickets/tls.js';
import { TicketKeyRing } from '../lib/tickets/ring.js';
import { derivedKeySource } from '../lib/tickets/sources.js';
import { installTicketKeys } from '../lib/server/ticket-key-installation.js';

const HOUR = 3_600_000;
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

// Two hosts sharing keys (derived from one secret), both reading one clock the test moves.
async function fleet(keep: number) {
  const clock = manualClock(900 * HOUR + 5000);
  const secret = randomBytes(32);
  const servers = [ticketServer(), ticketServer()];
  const rings = servers.map(() =>
    TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep, now: clock.now, source: derivedKeySource(secret, HOUR) }),
  );
  const installs = servers.map((s, i) => installTicketKeys(s, rings[i]!));
  const ports = await Promise.all(servers.map((s) => listen(s)));
  const nameAt = (ms: number) => rings[0]!.currentKey(ms)!.name.toString('hex');
  return {
    clock,
    rings,
    installs,
    ports,
    nameAt,
    async close() {
      for (const i of installs) i.stop();
      await Promise.all(servers.map((s) => close(s)));
    },
  };
}

for (const v of VERSIONS) {
  t.test(`${v}: after a rotation, a ticket under the previous key resumes and comes back renewed under the new key`, async (t) => {
    const f = await fleet(2);
    const keyBefore = f.nameAt(f.clock.now());
    const first = await handshake(f.ports[0]!, v);
    t.equal(first.ticketName, keyBefore, 'issued under the key of the first period');

    f.clock.advance(HOUR);
    const keyAfter = f.nameAt(f.clock.now());
    t.not(keyAfter, keyBefore, 'the ring rotated');

    const resumed = await handshake(f.ports[1]!, v, { session: first.session });
    t.equal(resumed.error, undefined);
    t.equal(resumed.resumed, true, 'the old ticket still resumes, on the other host');
    // TLS 1.3 announces the fresh ticket with a 'session' event; TLS 1.2 swaps it into the session.
    if (v === 'TLSv1.3') t.equal(resumed.sessions.length, 1, 'the server sent exactly one fresh ticket');
    t.equal(resumed.ticketName, keyAfter, 'the fresh ticket is under the new key');
    t.match(f.installs[1]!.stats(), { decryptedPrevious: 1, renewed: 1 });

    const renewed = await handshake(f.ports[0]!, v, { session: resumed.session });
    t.equal(renewed.resumed, true, 'the renewed ticket resumes');
    t.equal(f.installs[0]!.stats().decryptedCurrent, 1, 'with the current key, no renewal needed');
    t.equal(renewed.ticketName, keyAfter);
    if (v === 'TLSv1.3') t.equal(renewed.sessions.length, 0, 'so no further ticket is sent');
    await f.close();
  });

  t.test(`${v}: once the previous key has expired, its tickets get a full handshake, never an error`, async (t) => {
    const f = await fleet(2);
    const first = await handshake(f.ports[0]!, v);
    t.ok(first.session);
    f.clock.advance(2 * HOUR); // keep = 2: the first key is gone
    const late = await handshake(f.ports[1]!, v, { session: first.session });
    t.equal(late.error, undefined, 'no error');
    t.equal(late.resumed, false, 'a full handshake');
    t.equal(late.ticketName, f.nameAt(f.clock.now()), 'with a new ticket under the current key');
    t.equal(f.installs[1]!.stats().unknownKey, 1, 'counted as an unknown key');
    const after = await handshake(f.ports[0]!, v, { session: late.session });
    t.equal(after.resumed, true, 'and the client resumes with that one');
    await f.close();
  });

  t.test(`${v}: keep 3 resumes a ticket two rotations old`, async (t) => {
    const f = await fleet(3);
    const first = await handshake(f.ports[0]!, v);
    f.clock.advance(2 * HOUR);
    const resumed = await handshake(f.ports[1]!, v, { session: first.session });
    t.equal(resumed.resumed, true);
    t.equal(resumed.ticketName, f.nameAt(f.clock.now()), 'renewed under the current key');
    await f.close();
  });
}
