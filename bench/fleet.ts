/**
 * A fleet on one machine: 1, 2 and 4 server processes sharing sessions through one
 * Redis (each process its own `RedisStore({ url })`, as separate hosts would), and 1, 2
 * and 4 `cluster` workers sharing them through the cluster store; a client spreading
 * connections over the processes. Measures the share of reconnections that resume and
 * resumed handshakes per second, against a single process of the same kind.
 *
 *   npx tsx bench/fleet.ts        (BENCH_ROUNDS=3, BENCH_SECONDS=3, BENCH_PROTOCOLS=tls1_2,tls1_3)
 *
 * The client is `openssl s_time -reuse` (one full handshake, then every connection
 * offers that session). Separate processes listen on ports of their own; a round-robin
 * TCP relay in this process hands each connection to the next one, so consecutive
 * reconnections always land on another process (the worst case for a fleet without a
 * shared store: about 1/N resume). Cluster workers share one port; the primary hands
 * connections out in turn. Each server: HTTPS, `tickets: 'off'` (TLS 1.2 session ids,
 * TLS 1.3 stateful tickets), default cache mode (a session is read from the store once
 * per process, then served from memory). Rounds are interleaved, medians taken. Caveat:
 * 2 shared cores run the client, the relay, Redis and every server process, so
 * handshakes/s cannot grow with the number of processes here; the resumption rate is
 * the figure that must not depend on it (goal: >= 99 %). Nothing asserts.
 */
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { median, sTime } from './lib/measure.js';
import { attachSessionCache } from '../lib/server/attach.js';
import { RedisStore } from '../lib/stores/redis.js';
import { ClusterStore } from '../lib/stores/cluster.js';
import { key, cert } from '../test/fixtures/tls.js';
import { redisMissing, startRedis } from '../test/fixtures/redis.js';

type Kind = 'redis' | 'cluster' | 'none';
interface Variant {
  kind: Kind;
  processes: number;
  label: string;
}
const VARIANTS: Variant[] = [
  ...[1, 2, 4].map((n) => ({ kind: 'redis' as const, processes: n, label: `redis, ${n} process${n > 1 ? 'es' : ''}` })),
  ...[1, 2, 4].map((n) => ({ kind: 'cluster' as const, processes: n, label: `cluster store, ${n} worker${n > 1 ? 's' : ''}` })),
  { kind: 'none', processes: 2, label: 'no store, 2 processes' },
];

// ---- the server side: `tsx bench/fleet.ts --serve <kind> <workers> [redisUrl]` ----

async function serve(kind: Kind, workers: number, redisUrl: string | undefined): Promise<void> {
  if (kind === 'cluster' && cluster.isPrimary) {
    ClusterStore.primary({ cacheSize: 100_000 });
    let listening = 0;
    cluster.on('message', (_w, m: { listening?: number }) => {
      if (typeof m?.listening === 'number' && ++listening === workers) process.stdout.write(`${m.listening}\n`);
    });
    for (let i = 0; i < workers; i++) cluster.fork();
    process.stdin.resume();
    process.stdin.on('end', () => cluster.disconnect(() => process.exit(0)));
    return;
  }
  const server = https.createServer({ key, cert }, (_req, res) => res.end('ok\n'));
  let store: RedisStore | ClusterStore | undefined;
  if (kind === 'redis') store = new RedisStore({ url: redisUrl!, sealKeys: [Buffer.from(process.env.FLEET_SEAL_KEY!, 'hex')] });
  else if (kind === 'cluster') store = new ClusterStore();
  attachSessionCache(server, { sessionIdContext: 'bench-fleet', tickets: 'off', ...(store ? { store } : {}) });
  // Attached at once; the bench waits for the store only so that rounds measure a steady state.
  await store?.ready();
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    if (cluster.isWorker) process.send!({ listening: port });
    else process.stdout.write(`${port}\n`);
  });
  if (!cluster.isWorker) {
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  }
}

// ---- the driver ----

async function startProcess(kind: Kind, workers: number, redisUrl: string | undefined, sealKey: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve', kind, String(workers), redisUrl ?? ''], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, FLEET_SEAL_KEY: sealKey },
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return {
    port,
    async stop() {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

/** A round-robin TCP relay in front of `ports`: connection i goes to ports[i % n]. */
async function relay(ports: number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(ports[next++ % ports.length]!, '127.0.0.1');
    for (const s of [client, upstream]) {
      // Without it, Nagle's algorithm and delayed ACKs hold the small handshake records
      // of a resumption for ~40 ms at the relay.
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Starts a variant; resolves the port the client connects to, and a stop(). */
async function startVariant(v: Variant, redisUrl: string | undefined) {
  const sealKey = randomBytes(32).toString('hex'); // the same for every process of the fleet
  if (v.kind === 'cluster') {
    const primary = await startProcess('cluster', v.processes, undefined, sealKey);
    return primary;
  }
  const servers = await Promise.all(Array.from({ length: v.processes }, () => startProcess(v.kind, 1, redisUrl, sealKey)));
  const front = await relay(servers.map((s) => s.port));
  return {
    port: front.port,
    async stop() {
      await front.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const protocols = (process.env.BENCH_PROTOCOLS ?? 'tls1_2,tls1_3').split(',').filter(Boolean);
  const missing = redisMissing();
  if (missing) console.error(`${missing}\n(Redis variants skipped)`);
  const redis = missing ? undefined : await startRedis();
  const variants = VARIANTS.filter((v) => !(missing && v.kind === 'redis'));
  const key = (p: string, v: Variant) => `${p} ${v.label}`;
  const rates = new Map<string, number[]>();
  const shares = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, x: number) => (m.get(k) ?? m.set(k, []).get(k)!).push(x);
  for (let round = 0; round < rounds; round++) {
    for (const p of protocols) {
      for (const v of variants) {
        const server = await startVariant(v, redis?.url);
        const r = await sTime(server.port, ['-reuse', `-${p}`], seconds);
        await server.stop();
        push(rates, key(p, v), r.perSecond);
        push(shares, key(p, v), r.resumedShare);
        process.stderr.write(
          `round ${round + 1}/${rounds} ${p} ${v.label}: ${r.perSecond.toFixed(0)}/s, ${(r.resumedShare * 100).toFixed(1)}% resumed\n`,
        );
      }
    }
  }
  await redis?.stop();
  const rate = (k: string) => median(rates.get(k) ?? [NaN]);
  const share = (k: string) => median(shares.get(k) ?? [NaN]);
  console.log(
    `\nfleet, ${rounds} rounds x ${seconds} s, medians (openssl s_time -reuse, loopback, ${process.version}; ` +
      'separate processes behind a round-robin relay, cluster workers behind the primary)\n',
  );
  console.table(
    protocols.flatMap((p) =>
      variants.map((v) => ({
        protocol: p.replace('tls1_', 'TLS 1.'),
        variant: v.label,
        'handshakes/s': Math.round(rate(key(p, v))),
        resumed: `${(share(key(p, v)) * 100).toFixed(1)}%`,
      })),
    ),
  );
  const ratios: [string, number][] = [];
  for (const p of protocols) {
    for (const kind of ['redis', 'cluster'] as const) {
      const single = variants.find((v) => v.kind === kind && v.processes === 1);
      if (!single) continue;
      for (const v of variants.filter((x) => x.kind === kind && x.processes > 1)) {
        ratios.push([`${p} ${v.label} / 1: handshakes/s`, rate(key(p, v)) / rate(key(p, single))]);
        ratios.push([`${p} ${v.label}: resumed share`, share(key(p, v))]);
      }
    }
  }
  for (const [name, value] of ratios) if (!Number.isNaN(value)) console.log(`${name.padEnd(58)} ${value.toFixed(3)}`);
  // For `npm run bench` (bench/run.ts), in the shape of the other benches.
  if (process.env.BENCH_JSON) {
    const list = protocols.flatMap((p) =>
      variants.map((v) => ({ label: key(p, v), perSecond: rate(key(p, v)), resumedShare: share(key(p, v)) })),
    );
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ rates: list, ratios: Object.fromEntries(ratios) }));
  }
}

// Cluster workers run this file again with the primary's argv, so they serve too.
if (process.argv[2] === '--serve') {
  serve(process.argv[3] as Kind, Number(process.argv[4]), process.argv[5] || undefined).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
