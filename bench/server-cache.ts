/**
 * Resumed handshakes per second on one server process, driven by `openssl s_time -reuse`:
 *
 * - TLS 1.2 session ids: this library vs the Node docs' bare Map handler vs no cache;
 *   the library both with its ClientHello pre-parse (tickets 'off' on a server that
 *   also speaks TLS 1.3) and without it (a TLS 1.2-only server).
 * - TLS 1.3: stateful tickets served by this library vs Node's stateless tickets.
 *
 * Rounds are interleaved and medians taken, so drift on a shared machine hits every
 * variant alike. Prints a table and the ratios. Not a test: nothing here asserts.
 */
import { median, startServer, sTime } from './lib/measure.js';

export interface Case {
  name: string;
  server: string;
  client: string[];
}

export const CASES: Case[] = [
  { name: 'TLS 1.2 no cache (Node as is)', server: 'none', client: ['-reuse', '-tls1_2'] },
  { name: 'TLS 1.2 bare Map handler', server: 'map', client: ['-reuse', '-tls1_2'] },
  { name: 'TLS 1.2 library, no pre-parse', server: 'library-tls12', client: ['-reuse', '-tls1_2'] },
  { name: 'TLS 1.2 library, pre-parse', server: 'library', client: ['-reuse', '-tls1_2'] },
  { name: 'TLS 1.3 library stateful', server: 'library', client: ['-reuse', '-tls1_3'] },
  { name: 'TLS 1.3 stateless tickets', server: 'library-stateless', client: ['-reuse', '-tls1_3'] },
  { name: 'TLS 1.3 stateless tickets, pre-parse', server: 'library-stateless-preparse', client: ['-reuse', '-tls1_3'] },
  { name: 'TLS 1.2 full handshakes', server: 'map', client: ['-new', '-tls1_2'] },
];

export async function runServerCacheBench(rounds = Number(process.env.BENCH_ROUNDS ?? 3), seconds = Number(process.env.BENCH_SECONDS ?? 3)) {
  const rates = new Map<string, number[]>();
  const hits = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      const server = await startServer('tls-server', [c.server]);
      const r = await sTime(server.port, c.client, seconds);
      const stats = (await server.stop()) as { hits?: number; acceptGood?: number } | undefined;
      if (!rates.has(c.name)) rates.set(c.name, []);
      rates.get(c.name)!.push(r.perSecond);
      if (stats?.acceptGood) hits.set(c.name, stats.hits! / stats.acceptGood);
      process.stderr.write(`round ${round + 1}/${rounds} ${c.name}: ${r.perSecond.toFixed(0)}/s\n`);
    }
  }
  const rate = (name: string) => median(rates.get(name)!);
  const table = CASES.map((c) => ({
    case: c.name,
    perSecond: Math.round(rate(c.name)),
    resumedShare: hits.has(c.name) ? Number(hits.get(c.name)!.toFixed(3)) : undefined,
  }));
  const ratios = {
    'library (no pre-parse) / bare Map, TLS 1.2 ids': rate(CASES[2]!.name) / rate(CASES[1]!.name),
    'library (pre-parse) / bare Map, TLS 1.2 ids': rate(CASES[3]!.name) / rate(CASES[1]!.name),
    'library / no cache, TLS 1.2': rate(CASES[3]!.name) / rate(CASES[0]!.name),
    'TLS 1.3 stateful / TLS 1.3 stateless': rate(CASES[4]!.name) / rate(CASES[5]!.name),
    'TLS 1.3 stateless with pre-parse / without (pre-parse cost)': rate(CASES[6]!.name) / rate(CASES[5]!.name),
    'resumed / full, TLS 1.2 (Map)': rate(CASES[1]!.name) / rate(CASES[7]!.name),
  };
  return { table, ratios, rounds, seconds };
}

if (require.main === module) {
  runServerCacheBench().then(({ table, ratios, rounds, seconds }) => {
    console.log(`\nserver cache, ${rounds} rounds x ${seconds} s, medians (openssl s_time client, loopback)\n`);
    console.table(table);
    for (const [k, v] of Object.entries(ratios)) console.log(`${k.padEnd(50)} ${v.toFixed(3)}`);
  });
}
