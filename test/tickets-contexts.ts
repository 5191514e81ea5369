import t from 'tap';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { key, cert, listen, close } from './fixtures/tls.js';
import { handshake, ticketServer, type Version } from './fixtures/tickets/tls.js';
import { TicketKeyRing } from '../lib/tickets/ring.js';
import { derivedKeySource } from '../lib/tickets/sources.js';
import { installTicketKeys } from '../lib/server/ticket-key-installation.js';
import { nodeTicketKeyBytes } from '../lib/tickets/key.js';

const HOUR = 3_600_000;
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];
const secret = randomBytes(32);
const ringAt = (ms: number) =>
  TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => ms, source: derivedKeySource(secret, HOUR) });

for (const useCallback of [true, false]) {
  const path = useCallback ? 'callback' : 'setTicketKeys';

  t.test(`${path}: the ring survives setSecureContext() (certificate renewal)`, async (t) => {
    const server = ticketServer();
    const ring = ringAt(40 * HOUR);
    const inst = installTicketKeys(server, ring, { useCallback });
    const port = await listen(server);
    const name = ring.currentKey()!.name.toString('hex');
    const before = await Promise.all(VERSIONS.map((v) => handshake(port, v)));
    server.setSecureContext({ key, cert });
    for (const [i, v] of VERSIONS.entries()) {
      const fresh = await handshake(port, v);
      t.equal(fresh.ticketName, name, `${v}: new tickets after the renewal are still under the ring's key`);
      const resumed = await handshake(port, v, { session: before[i]!.session });
      t.equal(resumed.resumed, true, `${v}: tickets from before the renewal resume after it`);
    }
    if (!useCallback) t.same(server.getTicketKeys(), nodeTicketKeyBytes(ring.currentKey()!));
    inst.stop();
    await close(server);
  });

  t.test(`${path}: SNI contexts (addContext and SNICallback) issue and resume ring tickets across servers`, async (t) => {
    const viaAdd = ticketServer();
    viaAdd.addContext('a.example', { key, cert });
    const sniContext = tls.createSecureContext({ key, cert });
    const viaCallback = ticketServer({ SNICallback: (_name, cb) => cb(null, sniContext) });
    const rings = [ringAt(41 * HOUR), ringAt(41 * HOUR)];
    const insts = [installTicketKeys(viaAdd, rings[0]!, { useCallback }), installTicketKeys(viaCallback, rings[1]!, { useCallback })];
    viaAdd.addContext('b.example', { key, cert }); // added after installation
    const ports = [await listen(viaAdd), await listen(viaCallback)];
    const name = rings[0]!.currentKey()!.name.toString('hex');
    for (const v of VERSIONS) {
      for (const servername of ['a.example', 'b.example']) {
        const first = await handshake(ports[0]!, v, { servername });
        t.equal(first.ticketName, name, `${v} ${servername}: ticket under the ring's key`);
        const other = await handshake(ports[1]!, v, { servername, session: first.session });
        t.equal(other.resumed, true, `${v} ${servername}: resumes on the SNICallback server`);
        const back = await handshake(ports[0]!, v, { servername, session: other.session });
        t.equal(back.resumed, true, `${v} ${servername}: and back`);
      }
    }
    for (const i of insts) i.stop();
    await close(viaAdd);
    await close(viaCallback);
  });
}

t.test('stop() detaches: the server keeps working and still resumes tickets under the last current key', async (t) => {
  const server = ticketServer();
  const ring = ringAt(42 * HOUR);
  const inst = installTicketKeys(server, ring);
  const port = await listen(server);
  const before = await handshake(port, 'TLSv1.2');
  inst.stop();
  inst.stop(); // idempotent
  ring.destroy();
  for (const v of VERSIONS) {
    const fresh = await handshake(port, v);
    t.equal(fresh.error, undefined, `${v}: handshakes still work after stop`);
    t.equal((await handshake(port, v, { session: fresh.session })).resumed, true, `${v}: Node's own handling resumes`);
  }
  t.equal((await handshake(port, 'TLSv1.2', { session: before.session })).resumed, true, 'tickets of the last key still resume');
  t.doesNotThrow(() => installTicketKeys(server, ringAt(42 * HOUR)).stop(), 'a ring can be installed again');
  await close(server);
});

t.test('a second ring on the same server is refused', async (t) => {
  const server = ticketServer();
  const inst = installTicketKeys(server, ringAt(1));
  t.throws(() => installTicketKeys(server, ringAt(1)), { code: 'ERR_TLS_RESUMPTION_ALREADY_ATTACHED' });
  inst.stop();
});
