/**
 * Requests per second over fresh connections (`Connection: close`, keepAlive off)
 * through an https.Agent, against a Node https server in its own process:
 *
 * - no session cache (`maxCachedSessions: 0`): every connection a full handshake;
 * - Node's own https.Agent cache (the default, 100 sessions): for reference;
 *   it offers TLS 1.3 tickets more than once;
 * - ClientSessionCache `sessions.agent()`.
 *
 * Servers: Node with TLS 1.2 (tickets), Node with TLS 1.3 (stateless tickets),
 * and TLS 1.3 with this library's `attachSessionCache(server, { tickets: 'off' })`.
 * Against a plain Node server a resumed TLS 1.3 connection brings no new ticket,
 * so with tickets used once two of every three connections resume; the library's
 * server sends a stateful ticket on every resumption. The resumed share is
 * printed beside each rate.
 *
 * Rounds are interleaved and medians taken, so drift on a shared machine hits
 * every variant alike. Prints a table and the ratios. Not a test: nothing here
 * asserts. Env: BENCH_ROUNDS (3), BENCH_SECONDS (2), BENCH_CONCURRENCY (4).
 */
import * as https from 'node:https';
import type * as tls from 'node:tls';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const ca = readFileSync(join(fixtures, 'ca.pem'));

/** The server, as plain JavaScript so it needs no loader: prints its port, then serves. */
const SERVER = `
const https = require('node:https');
const fs = require('node:fs');
const [keyPath, certPath, maxVersion, attachPath] = process.argv.slice(1);
const server = https.createServer({ key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath), maxVersion }, (req, res) => {
  res.setHeader('connection', 'close');
  res.end('ok');
});
if (attachPath) require(attachPath).attachSessionCache(server, { tickets: 'off', sessionIdContext: 'bench-client' });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A server scenario: protocol, and whether this library's server cache serves stateful tickets. */
interface Scenario {
  name: string;
  maxVersion: tls.SecureVersion;
  attach: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'TLSv1.2', maxVersion: 'TLSv1.2', attach: false },
  { name: 'TLSv1.3', maxVersion: 'TLSv1.3', attach: false },
  { name: 'TLSv1.3 attachSessionCache(tickets off)', maxVersion: 'TLSv1.3', attach: true },
];

async function startServer(scenario: Scenario): Promise<{ port: number; stop: () => void }> {
  const args = [join(fixtures, 'key.pem'), join(fixtures, 'cert.pem'), scenario.maxVersion];
  // The library's server is TypeScript: load it through tsx, as the tests do.
  if (scenario.attach) args.push(join(__dirname, '..', 'lib', 'server', 'attach.ts'));
  const child = spawn(process.execPath, [...(scenario.attach ? ['--import', 'tsx'] : []), '-e', SERVER, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { port, stop: () => child.stdin.end() };
}

type Variant = 'no cache' | 'Node agent cache' | 'ClientSessionCache';
const VARIANTS: Variant[] = ['no cache', 'Node agent cache', 'ClientSessionCache'];

function makeAgent(variant: Variant): https.Agent {
  if (variant === 'no cache') return new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  if (variant === 'Node agent cache') return new https.Agent({ keepAlive: false });
  return new ClientSessionCache().agent({ keepAlive: false });
}

/** Runs requests with `concurrency` loops for `seconds`; returns rate and resumed share. */
async function drive(agent: https.Agent, port: number, seconds: number, concurrency: number) {
  let done = 0;
  let resumed = 0;
  const end = Date.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = https.request({ host: 'localhost', port, ca, agent, path: '/', headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('socket', (s: tls.TLSSocket) => s.once('secureConnect', () => s.isSessionReused() && resumed++));
      req.on('error', reject);
      req.end();
    });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await one();
        done++;
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  return { perSecond: done / elapsed, resumedShare: done ? resumed / done : 0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function runClientBench(
  rounds = Number(process.env.BENCH_ROUNDS ?? 3),
  seconds = Number(process.env.BENCH_SECONDS ?? 2),
  concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4),
) {
  const table: { case: string; perSecond: number; resumedShare: number }[] = [];
  const ratios: Record<string, number> = {};
  for (const scenario of SCENARIOS) {
    const version = scenario.name;
    const server = await startServer(scenario);
    try {
      const rates = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
      const shares = new Map<Variant, number>();
      for (let round = 0; round < rounds; round++) {
        for (const variant of VARIANTS) {
          const agent = makeAgent(variant);
          const r = await drive(agent, server.port, seconds, concurrency);
          agent.destroy();
          rates.get(variant)!.push(r.perSecond);
          shares.set(variant, r.resumedShare);
          process.stderr.write(`${version} round ${round + 1}/${rounds} ${variant}: ${r.perSecond.toFixed(0)}/s, resumed ${(r.resumedShare * 100).toFixed(0)}%\n`);
        }
      }
      for (const variant of VARIANTS) {
        table.push({ case: `${version} ${variant}`, perSecond: Math.round(median(rates.get(variant)!)), resumedShare: Number(shares.get(variant)!.toFixed(3)) });
      }
      ratios[`ClientSessionCache / no cache, ${version}`] = median(rates.get('ClientSessionCache')!) / median(rates.get('no cache')!);
      ratios[`ClientSessionCache / Node agent cache, ${version}`] = median(rates.get('ClientSessionCache')!) / median(rates.get('Node agent cache')!);
    } finally {
      server.stop();
    }
  }
  return { table, ratios, rounds, seconds, concurrency };
}

if (require.main === module) {
  runClientBench().then(
    ({ table, ratios, rounds, seconds, concurrency }) => {
      console.log(`fresh https connections, ${concurrency} in flight, median of ${rounds} rounds of ${seconds} s`);
      console.table(table);
      for (const [name, ratio] of Object.entries(ratios)) console.log(`${name}: ${ratio.toFixed(2)}x`);
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
