/**
 * npx tsx examples/client.ts: a client that resumes TLS sessions with one line.
 *
 * Starts a local HTTPS server (fixture certificate), then connects to it with
 * `sessions.connect()` (tls.connect) and `sessions.agent()` (https.request) on
 * fresh connections, printing which resumed and the cache's counters.
 */
import * as https from 'node:https';
import type * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ClientSessionCache } from '../lib/index.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));
const ca = readFileSync(join(fixtures, 'ca.pem'));

/** One request over a raw TLS socket; resolves whether the handshake resumed. */
function overTls(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let resumed = false;
    socket.once('secureConnect', () => {
      resumed = socket.isSessionReused();
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('error', reject);
    socket.resume();
    socket.once('close', () => resolve(resumed));
  });
}

/** One https.request on a fresh connection; resolves whether it resumed. */
function overHttps(agent: https.Agent, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: 'localhost', port, ca, agent, headers: { connection: 'close' } }, (res) => {
      const resumed = (res.socket as tls.TLSSocket).isSessionReused();
      res.resume().on('end', () => resolve(resumed));
    });
    req.on('error', reject);
  });
}

async function main() {
  const server = https.createServer({ key, cert }, (req, res) => res.end('hello\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // The one line: a bounded cache of client sessions, per destination.
  const sessions = new ClientSessionCache({ cacheSize: 1000 });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      const resumed = await overTls(sessions.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, maxVersion }));
      results.push(resumed ? 'resumed' : 'full');
    }
    console.log(`tls.connect ${maxVersion}: ${results.join(', ')}`);
  }

  const agent = sessions.agent({ keepAlive: false });
  const results: string[] = [];
  for (let i = 0; i < 4; i++) results.push((await overHttps(agent, port)) ? 'resumed' : 'full');
  console.log(`https.request through sessions.agent(): ${results.join(', ')}`);
  agent.destroy();

  console.log('stats:', sessions.stats());
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
