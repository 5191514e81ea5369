/**
 * npm run demo: an HTTPS server with the session cache, and a client making full and
 * resumed connections over TLS 1.2 session ids and TLS 1.3 stateful tickets.
 * Prints what resumed, how long handshakes took, and the cache's counters.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { attachSessionCache } from '../lib/index.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));
const ca = readFileSync(join(fixtures, 'ca.pem'));
const CONNECTIONS = 20;

interface Handshake {
  resumed: boolean;
  ms: number;
}

/** One HTTPS request on a fresh connection; resolves whether it resumed and the handshake time. */
function request(port: number, tlsOptions: tls.ConnectionOptions, session: Buffer | undefined): Promise<Handshake & { session?: Buffer }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let latest: Buffer | undefined;
    const req = https.request(
      { host: '127.0.0.1', port, servername: 'localhost', ca, agent: false, path: '/', ...tlsOptions, ...(session ? { session } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => setImmediate(() => resolve({ ...handshake!, ...(latest ? { session: latest } : {}) })));
      },
    );
    let handshake: Handshake | undefined;
    req.on('socket', (socket: tls.TLSSocket) => {
      socket.on('session', (s: Buffer) => (latest = s));
      socket.once('secureConnect', () => {
        handshake = { resumed: socket.isSessionReused(), ms: Number(process.hrtime.bigint() - started) / 1e6 };
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main() {
  const server = https.createServer({ key, cert }, (req, res) => res.end('hello\n'));
  // One line: TLS 1.2 session ids and TLS 1.3 stateful tickets served by this cache.
  const cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: 'demo' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const mechanisms: [string, tls.ConnectionOptions][] = [
    ['TLS 1.2 session id', { maxVersion: 'TLSv1.2' }],
    ['TLS 1.3 stateful ticket', { minVersion: 'TLSv1.3' }],
  ];
  const rows: string[][] = [];
  for (const [name, options] of mechanisms) {
    const full: number[] = [];
    const resumed: number[] = [];
    let session: Buffer | undefined;
    for (let i = 0; i < CONNECTIONS; i++) {
      // Every fifth connection starts afresh, so both kinds are measured.
      const offer = i % 5 === 0 ? undefined : session;
      const result = await request(port, options, offer);
      (result.resumed ? resumed : full).push(result.ms);
      session = result.session ?? session;
    }
    rows.push([name, String(CONNECTIONS), String(resumed.length), median(full).toFixed(2), median(resumed).toFixed(2)]);
  }

  const header = ['mechanism', 'connections', 'resumed', 'median full ms', 'median resumed ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));

  const stats = cache.stats();
  console.log('\ncache.stats():');
  for (const name of ['number', 'accept', 'acceptGood', 'hits', 'internalHits', 'misses', 'timeouts', 'cacheFull', 'sidCtxMismatch', 'serverNameMismatch', 'helloParsed'] as const) {
    console.log(`  ${name.padEnd(20)} ${stats[name]}`);
  }
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
