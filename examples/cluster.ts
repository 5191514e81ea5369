/**
 * An HTTPS server on Node's `cluster` with two workers sharing one session cache in
 * the primary: one call in the primary, one in each worker. The primary then plays a
 * client and shows sessions made by one worker resuming on the other.
 *
 *   npx tsx examples/cluster.ts            # demo, then exits
 *   npx tsx examples/cluster.ts --serve    # keep serving on port 8443
 */
import cluster from 'node:cluster';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachSessionCache, ClusterStore } from '../lib/index.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const serveOnly = process.argv.includes('--serve');
const PORT = serveOnly ? 8443 : 0;
const WORKERS = 2;

if (cluster.isPrimary) {
  // 1. In the primary: hold the shared, bounded cache (LRU + expiry).
  ClusterStore.primary({ cacheSize: 20_480 });
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    if (++listening < WORKERS) return;
    console.log(`${WORKERS} workers listening on port ${address.port}`);
    if (!serveOnly) demo(address.port).finally(() => cluster.disconnect());
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
} else {
  // 2. In each worker: the usual server, its cache backed by the primary's.
  const server = https.createServer(
    { key: readFileSync(join(fixtures, 'key.pem')), cert: readFileSync(join(fixtures, 'cert.pem')) },
    (_req, res) => res.end(`worker ${cluster.worker!.id}\n`),
  );
  attachSessionCache(server, {
    sessionIdContext: 'shop-frontend', // explicit: Node's default differs per argv
    tickets: 'off', // TLS 1.2 ids and TLS 1.3 stateful tickets, both from the shared cache
    store: new ClusterStore(),
  });
  server.listen(PORT, '127.0.0.1');
}

/** The primary as a client: a full handshake, then reconnections offering the session. */
async function demo(port: number): Promise<void> {
  const ca = readFileSync(join(fixtures, 'ca.pem'));
  const get = (options: tls.ConnectionOptions, session?: Buffer) =>
    new Promise<{ body: string; resumed: boolean; session?: Buffer }>((resolve, reject) => {
      let latest: Buffer | undefined;
      let resumed = false;
      const req = https.get({ host: '127.0.0.1', port, servername: 'localhost', ca, agent: false, ...options, ...(session ? { session } : {}) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => setImmediate(() => resolve({ body: body.trim(), resumed, ...(latest ? { session: latest } : {}) })));
      });
      req.on('socket', (socket: tls.TLSSocket) => {
        socket.on('session', (s) => (latest = s));
        socket.once('secureConnect', () => (resumed = socket.isSessionReused()));
      });
      req.on('error', reject);
    });
  for (const [label, options] of [
    ['TLS 1.2', { maxVersion: 'TLSv1.2' }],
    ['TLS 1.3', { minVersion: 'TLSv1.3' }],
  ] as [string, tls.ConnectionOptions][]) {
    let session: Buffer | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await get(options, session);
      session = r.session ?? session;
      console.log(`${label} connection ${i + 1}: ${r.body.padEnd(9)} ${i === 0 ? 'full handshake' : r.resumed ? 'resumed' : 'FULL handshake'}`);
    }
  }
}
