/**
 * Ticket key benchmark: `node --import tsx bench/tickets.ts` (BENCH_ROUNDS, BENCH_SECONDS).
 *
 * 1. Resumed handshakes through the ring's ticket-key callback against Node's own
 *    built-in ticket handling, TLS 1.2 and TLS 1.3, driven by `openssl s_time -reuse`
 *    (a C client: it costs little and the same for both). Each server runs in its own
 *    process for the whole run; short bursts alternate between them. Two ratios, each
 *    the median of per-burst-pair ratios: handshakes per second of server CPU time (the
 *    server's own cost, steady on a shared machine) and handshakes per wall-clock
 *    second (what a client sees, at the mercy of whatever else runs). A third server
 *    whose callback returns constant arrays shows what calling JavaScript costs at all.
 * 2. Resumption across processes, with Node's own keys vs a ring all processes share
 *    (derived from one secret here; a store works the same way):
 *    - a node:cluster of 2 workers sharing one port (round-robin), `openssl s_time -reuse`
 *      offering its first session; resumed share counted by the servers. Node itself
 *      copies the first worker's ticket keys to the others at listen time
 *      (Server#_getServerData/_setServerData), so both resume here;
 *    - 2 separate server processes (as on 2 hosts behind a load balancer), a Node client
 *      alternating between them and offering the newest session it holds.
 *
 * Not a test: nothing here asserts. Prints a table and the ratios.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { median, sTime } from './lib/measure.js';
import { TicketKeyRing } from '../lib/tickets/ring.js';
import { derivedKeySource, randomKeySource } from '../lib/tickets/sources.js';
import { installTicketKeys } from '../lib/server/ticket-key-installation.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const HOUR = 3_600_000;

/** Handshakes this process served, and how many of them resumed (counted by the server). */
const counts = { handshakes: 0, resumed: 0 };

/** A tiny HTTPS server (s_time -www sends one GET) with the given ticket handling. */
function benchServer(variant: string, secret?: Buffer): https.Server {
  const server = https.createServer(
    { key: readFileSync(join(fixtures, 'key.pem')), cert: readFileSync(join(fixtures, 'cert.pem')) },
    (_req, res) => res.end('ok\n'),
  );
  server.on('secureConnection', (socket) => {
    counts.handshakes++;
    if (socket.isSessionReused()) counts.resumed++;
  });
  if (variant === 'ring') {
    const source = secret ? derivedKeySource(secret, HOUR) : randomKeySource();
    installTicketKeys(server, TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, source }));
  } else if (variant === 'empty-callback') {
    // The floor: Node's ticket-key callback into JavaScript answering constant arrays, no
    // ring. The difference to 'builtin' is what calling JavaScript costs at all.
    const ctx = (server as unknown as { _sharedCreds: { context: Record<string, unknown> } })._sharedCreds.context;
    const [name, hmac, aes, iv] = [randomBytes(16), randomBytes(16), randomBytes(16), randomBytes(16)];
    const encrypt = [1, hmac, aes, name, iv];
    const decrypt = [1, hmac, aes];
    ctx.onticketkeycallback = (_name: Buffer, _iv: Buffer, enc: boolean) => (enc ? encrypt : decrypt);
    (ctx.enableTicketKeyCallback as () => void)();
  } else if (variant !== 'builtin') {
    throw new Error(`unknown variant ${variant}`);
  }
  return server;
}

function runServerProcess(variant: string, secretHex?: string): void {
  const server = benchServer(variant, secretHex ? Buffer.from(secretHex, 'hex') : undefined);
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  const cpuStart = process.cpuUsage();
  const report = () => {
    const cpu = process.cpuUsage(cpuStart);
    process.stdout.write(`${JSON.stringify({ cpuMicros: cpu.user + cpu.system, ...counts })}\n`);
  };
  // One line 'report' -> cumulative counters as a JSON line; end of stdin -> last report, exit.
  createInterface({ input: process.stdin }).on('line', report);
  process.stdin.on('end', () => {
    report();
    process.exit(0);
  });
}

function runClusterPrimary(variant: string, workers: number): void {
  const secret = randomBytes(32).toString('hex');
  let listening = 0;
  let port = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ BENCH_TICKETS_WORKER: variant, BENCH_TICKETS_SECRET: secret });
    w.on('listening', (address) => {
      port = address.port;
      if (++listening === workers) process.stdout.write(`${port}\n`);
    });
  }
  process.stdin.resume();
  process.stdin.on('end', async () => {
    // Ask every worker for its counts, add them up, report, exit.
    const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    const replies = await Promise.all(
      all.map(
        (w) =>
          new Promise<{ handshakes: number; resumed: number }>((resolve) => {
            w.once('message', (m: { handshakes: number; resumed: number }) => resolve(m));
            w.send('report');
          }),
      ),
    );
    for (const w of all) w.kill();
    const total = replies.reduce((a, r) => ({ handshakes: a.handshakes + r.handshakes, resumed: a.resumed + r.resumed }), {
      handshakes: 0,
      resumed: 0,
    });
    process.stdout.write(`${JSON.stringify(total)}\n`);
    process.exit(0);
  });
}

function runClusterWorker(variant: string): void {
  const secret = Buffer.from(process.env.BENCH_TICKETS_SECRET!, 'hex');
  // Every worker listening on port 0 gets the same port from the primary.
  benchServer(variant, secret).listen(0, '127.0.0.1');
  process.on('message', (m) => {
    if (m === 'report') process.send!(counts);
  });
}

/**
 * A client that alternates between `ports` for `seconds`, one connection at a time,
 * offering the newest session it got. Returns connections/s and the share resumed.
 */
async function alternate(ports: number[], version: 'TLSv1.2' | 'TLSv1.3', seconds: number) {
  const ca = readFileSync(join(fixtures, 'ca.pem'));
  let session: Buffer | undefined;
  let connections = 0;
  let resumed = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  while (Date.now() < end) {
    const port = ports[connections % ports.length]!;
    const r = await new Promise<{ resumed: boolean; session: Buffer | undefined }>((resolve) => {
      let latest: Buffer | undefined;
      const options: tls.ConnectionOptions = { host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: version, maxVersion: version };
      if (session) options.session = session;
      const socket = tls.connect(options, () => socket.write('GET / HTTP/1.0\r\n\r\n'));
      socket.on('session', (s) => (latest = s));
      socket.resume();
      socket.once('end', () => {
        resolve({ resumed: socket.isSessionReused(), session: latest ?? socket.getSession() });
        socket.destroy();
      });
      socket.once('error', () => resolve({ resumed: false, session: undefined }));
    });
    connections++;
    if (r.resumed) resumed++;
    if (r.session) session = r.session;
  }
  return { perSecond: connections / ((Date.now() - started) / 1000), resumedShare: resumed / Math.max(1, connections - 1) };
}

interface Counts {
  cpuMicros?: number;
  handshakes?: number;
  resumed?: number;
}

interface Child {
  port: number;
  /** Cumulative counters of the server process (CPU time, handshakes, resumed). */
  report(): Promise<Counts>;
  /** Ends it; resolves its last report. */
  stop(): Promise<Counts>;
}

async function start(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  const seen: string[] = [];
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else seen.push(line);
  });
  const nextLine = () => new Promise<string>((resolve) => (seen.length ? resolve(seen.shift()!) : waiting.push(resolve)));
  const exited = once(child, 'exit');
  const port = Number(
    await Promise.race([nextLine(), exited.then(() => Promise.reject(new Error(`bench server ${args.join(' ')} exited`)))]),
  );
  const parse = (line: string): Counts => {
    try {
      return JSON.parse(line) as Counts;
    } catch {
      return {};
    }
  };
  return {
    port,
    async report() {
      child.stdin!.write('report\n');
      return parse(await nextLine());
    },
    async stop() {
      const last = nextLine();
      child.stdin!.end();
      await exited;
      return parse(await Promise.race([last, new Promise<string>((r) => setTimeout(() => r('{}'), 1000))]));
    },
  };
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const versions = [
    ['TLS 1.2', '-tls1_2'],
    ['TLS 1.3', '-tls1_3'],
  ] as const;

  // 1. callback vs built-in, resumed handshakes: both servers stay up; short bursts
  // alternate between them; each burst's rate and server CPU per handshake are kept.
  const rates = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const rateRatios = new Map<string, number[]>();
  const cpuRatios = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  for (const [label, flag] of versions) {
    const servers = {
      builtin: await start(['--server', 'builtin']),
      ring: await start(['--server', 'ring']),
      'empty-callback': await start(['--server', 'empty-callback']),
    };
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (['builtin', 'ring', 'empty-callback'] as const) : (['empty-callback', 'ring', 'builtin'] as const);
      const burst: Record<string, { perSecond: number; cpuPerHandshake: number }> = {};
      for (const variant of order) {
        const srv = servers[variant];
        const before = await srv.report();
        let perSecond: number;
        try {
          perSecond = (await sTime(srv.port, ['-reuse', flag], seconds)).perSecond;
        } catch (err) {
          process.stderr.write(`round ${round + 1} ${label} ${variant}: s_time failed (${(err as Error).message.split('\n')[0]}), round skipped\n`);
          continue;
        }
        const after = await srv.report();
        const handshakes = (after.handshakes ?? 0) - (before.handshakes ?? 0);
        const cpuPerHandshake = ((after.cpuMicros ?? 0) - (before.cpuMicros ?? 0)) / Math.max(1, handshakes);
        const resumed = (after.resumed ?? 0) - (before.resumed ?? 0);
        burst[variant] = { perSecond, cpuPerHandshake };
        push(rates, `${label} ${variant}`, perSecond);
        push(cpu, `${label} ${variant}`, cpuPerHandshake);
        process.stderr.write(
          `round ${round + 1}/${rounds} ${label} ${variant}: ${perSecond.toFixed(0)}/s, ${cpuPerHandshake.toFixed(0)} us CPU/handshake, ${resumed}/${handshakes} resumed\n`,
        );
      }
      if (burst.ring && burst.builtin) {
        push(rateRatios, label, burst.ring.perSecond / burst.builtin.perSecond);
        push(cpuRatios, label, burst.builtin.cpuPerHandshake / burst.ring.cpuPerHandshake);
      }
      if (burst['empty-callback'] && burst.builtin) {
        push(cpuRatios, `${label} empty`, burst.builtin.cpuPerHandshake / burst['empty-callback'].cpuPerHandshake);
      }
    }
    for (const srv of Object.values(servers)) await srv.stop();
  }

  // 2. resumption across processes.
  const share = new Map<string, { perSecond: number; resumed: number }>();
  const keysLabel = (variant: string) => (variant === 'ring' ? 'shared ring' : "Node's own keys");
  for (const [label, flag] of versions) {
    for (const variant of ['builtin', 'ring']) {
      const primary = await start(['--cluster', variant, '2']);
      const r = await sTime(primary.port, ['-reuse', flag], seconds);
      const stats = await primary.stop();
      const name = `${label} node:cluster 2 workers, ${keysLabel(variant)}`;
      share.set(name, { perSecond: r.perSecond, resumed: (stats.resumed ?? 0) / Math.max(1, (stats.handshakes ?? 0) - 1) });
      process.stderr.write(`${name}: ${r.perSecond.toFixed(0)}/s, ${stats.resumed}/${stats.handshakes} resumed\n`);
    }
    for (const variant of ['builtin', 'ring']) {
      // Two independent processes ("hosts"); the ring variant derives its keys from one secret.
      const secret = randomBytes(32).toString('hex');
      const hosts = await Promise.all([start(['--server', variant, secret]), start(['--server', variant, secret])]);
      const r = await alternate(
        hosts.map((h) => h.port),
        label === 'TLS 1.2' ? 'TLSv1.2' : 'TLSv1.3',
        seconds,
      );
      await Promise.all(hosts.map((h) => h.stop()));
      const name = `${label} 2 processes, client alternating, ${keysLabel(variant)}`;
      share.set(name, { perSecond: r.perSecond, resumed: r.resumedShare });
      process.stderr.write(`${name}: ${r.perSecond.toFixed(0)}/s, resumed share ${r.resumedShare.toFixed(3)}\n`);
    }
  }

  const table = [...rates.keys()].map((name) => ({
    case: name,
    perSecond: Math.round(median(rates.get(name)!)),
    serverCpuMicrosPerHandshake: Math.round(median(cpu.get(name)!)),
  }));
  console.log(`\nticket keys, ${rounds} alternating bursts x ${seconds} s each, medians (openssl s_time -reuse, loopback)\n`);
  console.table(table);
  const show = (xs: number[] | undefined) => (xs && xs.length ? `${median(xs).toFixed(3)}  (bursts: ${xs.map((x) => x.toFixed(2)).join(', ')})` : 'n/a');
  for (const [label] of versions) {
    console.log(`${`${label}: ring / built-in, resumed handshakes per server CPU-second`.padEnd(66)} ${show(cpuRatios.get(label))}`);
    console.log(`${`${label}: ring / built-in, resumed handshakes per wall-clock second`.padEnd(66)} ${show(rateRatios.get(label))}`);
    console.log(`${`${label}: empty JS callback / built-in, per server CPU-second`.padEnd(66)} ${show(cpuRatios.get(`${label} empty`))}`);
  }
  console.log('\nresumption across processes (share of reconnections resumed)\n');
  console.table([...share.entries()].map(([name, v]) => ({ case: name, perSecond: Math.round(v.perSecond), resumedShare: Number(v.resumed.toFixed(3)) })));
  // For `npm run bench` (bench/run.ts), which draws the report's chart.
  if (process.env.BENCH_JSON) {
    const m = (xs: number[] | undefined) => (xs && xs.length ? median(xs) : NaN);
    const ratios: Record<string, number> = {};
    for (const [label] of versions) {
      ratios[`${label} ring / built-in tickets (per server CPU-second)`] = m(cpuRatios.get(label));
      ratios[`${label} ring / built-in tickets (per wall-clock second)`] = m(rateRatios.get(label));
    }
    const rateList = [
      { label: 'TLS 1.3 built-in', perSecond: m(rates.get('TLS 1.3 builtin')) },
      { label: 'TLS 1.3 ring', perSecond: m(rates.get('TLS 1.3 ring')) },
      { label: 'TLS 1.2 built-in', perSecond: m(rates.get('TLS 1.2 builtin')) },
      { label: 'TLS 1.2 ring', perSecond: m(rates.get('TLS 1.2 ring')) },
    ];
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ rates: rateList, ratios }));
  }
}

const mode = process.argv[2];
if (process.env.BENCH_TICKETS_WORKER) runClusterWorker(process.env.BENCH_TICKETS_WORKER);
else if (mode === '--server') runServerProcess(process.argv[3]!, process.argv[4]);
else if (mode === '--cluster') runClusterPrimary(process.argv[3]!, Number(process.argv[4] ?? 2));
else if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
