// ClientSessionCache against this library's own server: a Node tls.Server with
// attachSessionCache(server, { tickets: 'off' }), i.e. TLS 1.2 session ids and
// TLS 1.3 stateful tickets served by the server's cache.
import t from 'tap';
import * as tls from 'node:tls';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { attachSessionCache } from '../lib/server/attach.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

function exchange(socket: tls.TLSSocket): Promise<{ reused: boolean; protocol: string | null; error?: Error }> {
  return new Promise((resolve) => {
    const out: { reused: boolean; protocol: string | null; error?: Error } = { reused: false, protocol: null };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      out.protocol = socket.getProtocol();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`attachSessionCache({ tickets: 'off' }), ${maxVersion}: first connection full, the next five resumed`, async (t) => {
    const srv = tls.createServer({ key, cert }, (s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
    });
    attachSessionCache(srv, { tickets: 'off', sessionIdContext: 'client-cache-test' });
    const port = await listen(srv);
    t.teardown(() => close(srv));
    const sessions = new ClientSessionCache();
    const dest = { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion };
    let pattern = '';
    for (let i = 0; i < 6; i++) {
      const out = await exchange(sessions.connect(dest));
      t.equal(out.error, undefined);
      t.equal(out.protocol, maxVersion);
      pattern += out.reused ? 'R' : 'F';
    }
    t.equal(pattern, 'FRRRRR');
    const s = sessions.stats();
    t.equal(s.resumed, 5);
    t.equal(s.declined, 0);
    if (maxVersion === 'TLSv1.3') {
      // Each resumption brings a fresh stateful ticket; each ticket was used once.
      t.equal(s.offered, 5);
      t.ok(s.stored >= 6, `tickets stored: ${s.stored}`);
    }
  });
}
