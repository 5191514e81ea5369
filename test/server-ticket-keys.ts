import t from 'tap';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { attachSessionCache } from '../lib/index.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

/** One connection; resolves whether it resumed and the last session the server sent. */
function connect(port: number, options: tls.ConnectionOptions): Promise<{ resumed: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options });
    socket.on('session', (s) => (session = s));
    socket.on('error', reject);
    socket.on('data', () => {});
    // The server writes then ends: by 'end' every ticket has arrived.
    socket.on('end', () => resolve({ resumed: socket.isSessionReused(), ...(session ? { session } : {}) }));
  });
}

const server = (keys: Buffer[]) => {
  const s = tls.createServer({ key, cert }, (c) => c.end('ok'));
  const cache = attachSessionCache(s, { ticketKeys: keys, sessionIdContext: 'tickets' });
  return { s, cache };
};

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${version}: two servers given the same ticketKeys resume each other's tickets`, async (t) => {
    const keys = [randomBytes(48), randomBytes(48)];
    const a = server(keys);
    const b = server(keys);
    const portA = await listen(a.s);
    const portB = await listen(b.s);
    t.teardown(async () => {
      await close(a.s);
      await close(b.s);
    });
    const first = await connect(portA, { maxVersion: version, minVersion: version });
    t.equal(first.resumed, false);
    t.ok(first.session, 'got a ticket');
    const second = await connect(portB, { maxVersion: version, minVersion: version, session: first.session! });
    t.equal(second.resumed, true, 'a ticket from A resumes on B');
    t.ok((b.cache.ticketKeyStats()?.decryptedCurrent ?? 0) >= 1, 'B counted a decryption under its current key');
    const other = server([randomBytes(48)]);
    const portO = await listen(other.s);
    const third = await connect(portO, { maxVersion: version, minVersion: version, session: first.session! });
    await close(other.s);
    t.equal(third.resumed, false, 'a server with other keys gives a full handshake');
  });
}

t.test('ticketKeys with tickets off is refused before anything is attached', async (t) => {
  const s = tls.createServer({ key, cert });
  t.throws(() => attachSessionCache(s, { tickets: 'off', ticketKeys: [randomBytes(48)] }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => attachSessionCache(s, { ticketKeys: [randomBytes(47)] }), { code: /ERR_TLS_RESUMPTION_/ });
  t.equal(s.listenerCount('newSession'), 0);
});
