// http2.connect with `createConnection` from the cache: new HTTP/2 sessions resume.
import t from 'tap';
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { key, cert, ca, close } from './fixtures/tls.js';

t.test('each new http2 client session after the first resumes through createConnection', async (t) => {
  const server = http2.createSecureServer({ key, cert }, (req, res) => {
    res.end((req.socket as unknown as tls.TLSSocket).isSessionReused() ? 'R' : 'F');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => close(server));
  const { port } = server.address() as AddressInfo;
  const sessions = new ClientSessionCache();
  let pattern = '';
  for (let i = 0; i < 3; i++) {
    const client = http2.connect(`https://localhost:${port}`, {
      createConnection: () => sessions.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
    });
    pattern += await new Promise<string>((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve(body));
      req.on('error', reject);
      req.end();
    });
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
  // TLS 1.3 against a Node server: two tickets per full handshake, each used once.
  t.equal(pattern, 'FRR');
  t.equal(sessions.stats().resumed, 2);
  t.equal(sessions.stats().failed, 0);
});
