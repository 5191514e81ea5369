/**
 * Shared session stores: resumed handshakes per second with the Redis store and the
 * cluster store, against the in-memory cache in the same run, driven by
 * `openssl s_time -reuse` (a C client, cheap and the same for every variant).
 *
 *   npx tsx bench/stores.ts            (BENCH_ROUNDS=3, BENCH_SECONDS=3 by default)
 *
 * Variants (each an HTTPS server in its own process, tickets 'off', TLS 1.2 ids):
 *   internal            the in-memory cache only
 *   internal+redis      the default mode with a sealed RedisStore: lookups hit the
 *                       internal store first, Redis is written to once per session
 *   redis only          mode no-internal-lookup: every resumption is a Redis GET + unseal
 *   cluster, no store   two cluster workers, each with its own cache
 *   cluster store       two workers sharing sessions through the primary
 *   cluster store only  no-internal-lookup: every resumption is an IPC round trip
 * With two workers the primary hands connections out in turn, so s_time's reconnects
 * alternate between workers: the hit rate across workers is what sharing buys.
 *
 * Then a micro-benchmark of one store call (sequential, µs per call): seal+open,
 * RedisStore.get, ClusterStore.get from a worker. Rounds are interleaved and medians
 * taken, so drift on a shared machine hits every variant alike. Nothing asserts.
 */
import { writeFileSync } from 'node:fs';
import { median, sTime } from './lib/measure.js';
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from 'redis';
import { attachSessionCache } from '../lib/server/attach.js';
import { RedisStore } from '../lib/stores/redis.js';
import { ClusterStore } from '../lib/stores/cluster.js';
import { SessionSealer } from '../lib/stores/seal.js';
import { key, cert } from '../test/fixtures/tls.js';
import { redisMissing, startRedis } from '../test/fixtures/redis.js';

const VARIANTS = ['internal', 'internal+redis', 'redis only', 'cluster, no store', 'cluster store', 'cluster store only'] as const;
type Variant = (typeof VARIANTS)[number];

// ---- the server side: `tsx bench/stores.ts --serve <variant> [redisUrl]` ----

async function serve(variant: Variant, redisUrl: string | undefined): Promise<void> {
  const clustered = variant.startsWith('cluster');
  if (clustered && cluster.isPrimary) {
    if (variant !== 'cluster, no store') ClusterStore.primary({ cacheSize: 100_000 });
    let listening = 0;
    cluster.on('listening', (_w, address) => {
      if (++listening === 2) process.stdout.write(`${address.port}\n`);
    });
    cluster.fork();
    cluster.fork();
    process.stdin.resume();
    process.stdin.on('end', () => cluster.disconnect(() => process.exit(0)));
    return;
  }
  const server = https.createServer({ key, cert }, (_req, res) => res.end('ok\n'));
  let store: RedisStore | ClusterStore | undefined;
  if (variant === 'internal+redis' || variant === 'redis only') {
    const client = createClient({ url: redisUrl! });
    client.on('error', () => {});
    await client.connect();
    store = new RedisStore({ client, sealKeys: [randomBytes(32)] });
  } else if (variant === 'cluster store' || variant === 'cluster store only') {
    store = new ClusterStore();
  }
  attachSessionCache(server, {
    sessionIdContext: 'bench',
    tickets: 'off',
    ...(store ? { store } : {}),
    ...(variant.endsWith('only') ? { mode: ['server', 'no-internal-lookup'] as const } : {}),
  } as Parameters<typeof attachSessionCache>[1]);
  server.listen(0, '127.0.0.1', () => {
    if (!clustered) process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
  if (!clustered) {
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  }
}

// ---- the driver ----

async function startVariant(variant: Variant, redisUrl: string | undefined) {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve', variant, redisUrl ?? ''], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
  });
  return {
    port,
    async stop() {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

/** µs per call of `fn`, sequential, after a warm-up. */
async function perCall(fn: () => Promise<unknown> | unknown, n: number): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / n;
}

/** In a cluster worker: µs per ClusterStore.get of a present session. */
async function clusterCallCost(): Promise<number> {
  if (cluster.isPrimary) {
    ClusterStore.primary();
    const worker = cluster.fork({ BENCH_CLUSTER_CALL: '1' });
    // The worker's store requests arrive as 'message' events too: wait for the result.
    const us = await new Promise<number>((resolve) =>
      worker.on('message', (m: { us?: number }) => {
        if (typeof m?.us === 'number') resolve(m.us);
      }),
    );
    worker.kill();
    return us;
  }
  const store = new ClusterStore();
  await store.set('bench:key', randomBytes(1200), 60_000);
  const us = await perCall(() => store.get('bench:key'), 5000);
  process.send!({ us });
  return us;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const missing = redisMissing();
  if (missing) console.error(`${missing}\n(Redis variants skipped)`);
  const redis = missing ? undefined : await startRedis();
  const variants = VARIANTS.filter((v) => !(missing && v.includes('redis')));
  const rates = new Map<Variant, number[]>();
  const shares = new Map<Variant, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      const server = await startVariant(v, redis?.url);
      const r = await sTime(server.port, ['-reuse', '-tls1_2'], seconds);
      await server.stop();
      (rates.get(v) ?? rates.set(v, []).get(v)!).push(r.perSecond);
      (shares.get(v) ?? shares.set(v, []).get(v)!).push(r.resumedShare);
      process.stderr.write(`round ${round + 1}/${rounds} ${v}: ${r.perSecond.toFixed(0)}/s, ${(r.resumedShare * 100).toFixed(1)}% resumed\n`);
    }
  }
  const rate = (v: Variant) => median(rates.get(v) ?? [NaN]);
  console.log(`\nshared stores, ${rounds} rounds x ${seconds} s, medians (openssl s_time -reuse -tls1_2, loopback)\n`);
  console.table(
    variants.map((v) => ({
      variant: v,
      'handshakes/s': Math.round(rate(v)),
      resumed: `${(median(shares.get(v)!) * 100).toFixed(1)}%`,
    })),
  );
  // The cluster variants pay for the primary handing each connection to a worker, so
  // they are compared with each other; the single-process ones with 'internal'.
  const ratios: [string, number][] = [
    ['internal+redis / internal (resumed; target >= 0.9)', rate('internal+redis') / rate('internal')],
    ['redis only / internal (every lookup a Redis GET)', rate('redis only') / rate('internal')],
    ['cluster store / cluster, no store (sharing across 2 workers)', rate('cluster store') / rate('cluster, no store')],
    ['cluster store only / cluster store (every lookup over IPC)', rate('cluster store only') / rate('cluster store')],
  ];
  for (const [name, value] of ratios) if (!Number.isNaN(value)) console.log(`${name.padEnd(62)} ${value.toFixed(3)}`);
  // For `npm run bench` (bench/run.ts), which draws the report's chart.
  if (process.env.BENCH_JSON) {
    const rateList = variants.map((v) => ({ label: v, perSecond: rate(v) }));
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ rates: rateList, ratios: Object.fromEntries(ratios) }));
  }

  // One store call, sequential.
  const sealer = new SessionSealer([randomBytes(32)]);
  const session = randomBytes(1200);
  console.log('\none store call, sequential (µs per call, ~1.2 KB session):');
  console.log(`  seal + open (AES-256-GCM)            ${(await perCall(() => sealer.open('k', sealer.seal('k', session)), 20000)).toFixed(1)}`);
  if (redis) {
    const client = createClient({ url: redis.url });
    await client.connect();
    const store = new RedisStore({ client, sealKeys: [randomBytes(32)] });
    await store.set('bench:key', session, 60_000);
    console.log(`  RedisStore.get (GET + unseal)        ${(await perCall(() => store.get('bench:key'), 5000)).toFixed(1)}`);
    await client.close();
    await redis.stop();
  }
  console.log(`  ClusterStore.get (IPC + unseal)      ${(await clusterCallCost()).toFixed(1)}`);
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3] as Variant, process.argv[4] || undefined).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (process.env.BENCH_CLUSTER_CALL) {
  void clusterCallCost();
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
