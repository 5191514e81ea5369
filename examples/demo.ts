/**
 * npm run demo: an HTTPS server with the session cache, and a client making full and
 * resumed connections over TLS 1.2 session ids and TLS 1.3 stateful tickets.
 * Shows the same server without and with the cache, what resumed, how long handshakes
 * took, and exits non-zero (saying why) when nothing resumes on this Node.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
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

/** Makes CONNECTIONS connections per mechanism; every fifth starts afresh, so both kinds are timed. */
async function run(port: number): Promise<{ name: string; resumed: number; full: number[]; fast: number[] }[]> {
  const mechanisms: [string, tls.ConnectionOptions][] = [
    ['TLS 1.2 session id', { maxVersion: 'TLSv1.2' }],
    ['TLS 1.3 stateful ticket', { minVersion: 'TLSv1.3' }],
  ];
  const out = [];
  for (const [name, options] of mechanisms) {
    const full: number[] = [];
    const fast: number[] = [];
    let session: Buffer | undefined;
    for (let i = 0; i < CONNECTIONS; i++) {
      const offer = i % 5 === 0 ? undefined : session;
      const result = await request(port, options, offer);
      (result.resumed ? fast : full).push(result.ms);
      session = result.session ?? session;
    }
    out.push({ name, resumed: fast.length, full, fast });
  }
  return out;
}

async function listening(server: https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function main() {
  console.log(`tls-resumption demo on Node ${process.versions.node} (OpenSSL ${process.versions.openssl})`);
  console.log(`${CONNECTIONS} HTTPS connections per mechanism; every fifth one starts afresh on purpose (a new visitor).\n`);

  // The same server twice: as Node ships it (tickets off, so sessions must be cached by
  // the server), then with the cache attached. One line makes the difference.
  const bare = https.createServer({ key, cert, secureOptions: cryptoConstants.SSL_OP_NO_TICKET }, (req, res) => res.end('hello\n'));
  const without = await run(await listening(bare));
  bare.close();

  const server = https.createServer({ key, cert }, (req, res) => res.end('hello\n'));
  const cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: 'demo' });
  const withCache = await run(await listening(server));
  server.close();

  const header = ['mechanism', 'resumed without cache', 'resumed with cache', 'median full ms', 'median resumed ms'];
  const rows = withCache.map((r, i) => [
    r.name,
    `${without[i]!.resumed} of ${CONNECTIONS}`,
    `${r.resumed} of ${CONNECTIONS}`,
    median(r.full).toFixed(2),
    r.fast.length > 0 ? median(r.fast).toFixed(2) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));

  const stats = cache.stats();
  console.log(
    `\nThe cache served ${stats.internalHits} resumptions from ${stats.number} stored sessions; ` +
      `${stats.acceptGood} handshakes completed, ${stats.hits} of them resumed (OpenSSL's "hits").`,
  );
  for (const r of withCache) {
    if (r.fast.length > 0 && r.full.length > 0) {
      console.log(`${r.name}: a resumed handshake took ${median(r.fast).toFixed(2)} ms against ${median(r.full).toFixed(2)} ms for a full one.`);
    }
  }

  const failed = withCache.filter((r) => r.resumed === 0);
  if (failed.length > 0) {
    console.error(`\nFAILED: nothing resumed by ${failed.map((r) => r.name).join(' or ')} on this Node.`);
    for (const [name, cap] of Object.entries(cache.capabilities())) {
      if (cap.status === 'degraded') console.error(`  ${name}: ${cap.detail}`);
    }
    const misses = (['misses', 'sidCtxMismatch', 'serverNameMismatch', 'protocolMismatch', 'notCached', 'invalidSessions'] as const)
      .filter((k) => stats[k] > 0)
      .map((k) => `${k}=${stats[k]}`);
    if (misses.length > 0) console.error(`  counters: ${misses.join(', ')}`);
    console.error('  Run with DEBUG=tls-resumption:* to see each decision.');
    process.exitCode = 1;
    return;
  }
  console.log('\nNext: README.md "Shared stores" to share sessions across workers and hosts; cache.stats() and cache.capabilities() in your own server.');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
