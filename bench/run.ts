/**
 * npm run bench: every benchmark in one go on loopback, then bench/REPORT.md with the
 * tables, the headline ratios, and bench/report.svg, a chart of resumed handshakes
 * per second per mechanism. Each benchmark also runs on its own (`npx tsx bench/<name>.ts`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServerCacheBench } from './server-cache.js';
import { barChartSvg, type Bar } from './lib/svg-chart.js';

interface ChildBench {
  output: string;
  json?: { rates?: { label: string; perSecond: number }[]; ratios?: Record<string, number> };
}

const here = __dirname;

function runChild(script: string): Promise<ChildBench> {
  const jsonPath = join(mkdtempSync(join(tmpdir(), 'tlsr-bench-')), 'out.json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, script)], {
      env: { ...process.env, BENCH_JSON: jsonPath },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      output += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      const result: ChildBench = { output: code === 0 ? output : `${output}\n(exited with ${code})` };
      if (existsSync(jsonPath)) result.json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      resolve(result);
    });
  });
}

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(3));

async function main() {
  const started = new Date();
  console.log('server session cache…');
  const server = await runServerCacheBench();
  console.table(server.table);
  console.log('\nshared stores…');
  const stores = await runChild('stores.ts');
  console.log('\nticket keys…');
  const tickets = await runChild('tickets.ts');
  console.log('\nclient session cache…');
  const client = await runChild('client.ts');

  const serverRate = (name: string) => server.table.find((r) => r.case === name)?.perSecond;
  const storeRate = (label: string) => stores.json?.rates?.find((r) => r.label === label)?.perSecond;
  const ticketRate = (label: string) => tickets.json?.rates?.find((r) => r.label === label)?.perSecond;
  const bars: Bar[] = [
    { label: 'TLS 1.2, no cache (full handshakes)', value: serverRate('TLS 1.2 no cache (Node as is)') ?? NaN },
    { label: 'TLS 1.2 ids, bare Map handler', value: serverRate('TLS 1.2 bare Map handler') ?? NaN },
    { label: 'TLS 1.2 ids, library in memory', value: serverRate('TLS 1.2 library, pre-parse') ?? NaN },
    { label: 'TLS 1.2 ids, library + Redis', value: storeRate('internal+redis') ?? NaN },
    { label: 'TLS 1.2 ids, cluster store (2 workers)', value: storeRate('cluster store') ?? NaN },
    { label: 'TLS 1.3 stateful tickets, library', value: serverRate('TLS 1.3 library stateful') ?? NaN },
    { label: 'TLS 1.3 stateless, Node built-in keys', value: ticketRate('TLS 1.3 built-in') ?? serverRate('TLS 1.3 stateless tickets') ?? NaN },
    { label: 'TLS 1.3 stateless, ticket key ring', value: ticketRate('TLS 1.3 ring') ?? NaN },
  ];
  writeFileSync(join(here, 'report.svg'), barChartSvg('Handshakes per second by mechanism (loopback, openssl s_time)', '/s', bars));

  const ratioLines = [
    ...Object.entries(server.ratios),
    ...Object.entries(stores.json?.ratios ?? {}),
    ...Object.entries(tickets.json?.ratios ?? {}),
  ].map(([k, v]) => `| ${k} | ${fmt(v)} |`);
  const report = `# Benchmark report

Written by \`npm run bench\` on ${started.toISOString()}, Node ${process.version}, on this
machine (${require('node:os').cpus().length} cores, shared: figures move between runs; the ratios are taken within
one run). Clients: \`openssl s_time\` for servers, Node for the client cache.

![Handshakes per second by mechanism](report.svg)

## Headline ratios

| ratio | value |
| --- | --- |
${ratioLines.join('\n')}

## Server session cache (resumed handshakes per second, medians of ${server.rounds} rounds x ${server.seconds} s)

| case | handshakes/s | resumed share |
| --- | --- | --- |
${server.table.map((r) => `| ${r.case} | ${r.perSecond} | ${r.resumedShare ?? 'n/a'} |`).join('\n')}

## Shared stores

\`\`\`
${stores.output.trim()}
\`\`\`

## Ticket keys

\`\`\`
${tickets.output.trim()}
\`\`\`

## Client session cache

\`\`\`
${client.output.trim()}
\`\`\`
`;
  writeFileSync(join(here, 'REPORT.md'), report);
  console.log('\nwrote bench/REPORT.md and bench/report.svg');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
