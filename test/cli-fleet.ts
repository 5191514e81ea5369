// Fleet mode (`--connections N`) against real Node TLS servers: two servers that share
// nothing (per-process ticket keys, no session store) behind a round-robin TCP proxy
// resume about half the reconnections; one server, or two sharing a session cache and
// ticket keys, resume them all.
import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runCli, caFile, startSServer } from './fixtures/cli/run.js';
import { parseCommand, MAX_CONNECTIONS } from '../lib/cli/args.js';
import { fleetVerdict, type FleetResult } from '../lib/cli/report.js';

// Like an HTTPS server: keeps the connection until the client ends it.
const serve = (options: tls.TlsOptions = {}) =>
  tls.createServer({ key, cert, ...options }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });

/** A TCP proxy sending each new connection to the next backend in turn. */
async function roundRobin(backends: number[]) {
  let next = 0;
  const counts = backends.map(() => 0);
  const proxy = net.createServer((client) => {
    const i = next++ % backends.length;
    counts[i] = (counts[i] ?? 0) + 1;
    const upstream = net.connect({ host: '127.0.0.1', port: backends[i] as number });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(proxy);
  return { port, counts, close: () => close(proxy) };
}

interface FleetJson {
  connections: number;
  status: string;
  offered: boolean;
  attempts: number;
  resumed: number;
  rate: number;
  verdict: string;
  errors: string[];
}

const N = 20;

t.test('two servers sharing nothing behind a round-robin proxy: about 1 in 2 resumes', async (t) => {
  const a = serve();
  const b = serve();
  const proxy = await roundRobin([await listen(a), await listen(b)]);
  const r = await runCli(['check', `localhost:${proxy.port}`, '--ca', caFile, '--count', '2', '--connections', String(N), '--json']);
  const table = await runCli(['check', `localhost:${proxy.port}`, '--ca', caFile, '--count', '2', '--connections', String(N)]);
  await proxy.close();
  await Promise.all([close(a), close(b)]);
  t.equal(r.code, 0, 'each server resumes its own sessions');
  const fleet = JSON.parse(r.stdout).fleet as FleetJson;
  t.equal(fleet.connections, N);
  t.equal(fleet.status, 'ran');
  t.equal(fleet.attempts, N, 'every reconnection completed');
  t.comment(`resumed ${fleet.resumed} of ${fleet.attempts} (${fleet.rate})`);
  t.ok(fleet.rate < 0.75, `well below 100%: ${fleet.rate}`);
  t.ok(fleet.rate > 0.25, `well above 0%: ${fleet.rate}`);
  t.equal(fleet.rate, fleet.resumed / fleet.attempts);
  t.match(fleet.verdict, /^partly: \d+% \(\d+ of 20\): about 1 in 2 reached a server that knew the session/);
  t.ok(proxy.counts.every((c) => c > N / 2), `both servers were reached: ${proxy.counts}`);
  t.match(table.stdout, /^fleet, 20 reconnections\s+yes\s+\d+\/20\s+[\d.]+\s+[\d.]+\s+partly: /m);
  t.match(table.stdout, /^fleet: 20 reconnections with a default client \(TLSv1\.3\), each offering a session of the first server .*: \d+% resumed\.$/m);
});

t.test('one server: every reconnection resumes', async (t) => {
  const server = serve();
  const port = await listen(server);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1', '--connections', String(N), '--json']);
  await close(server);
  const fleet = JSON.parse(r.stdout).fleet as FleetJson;
  t.equal(r.code, 0);
  t.same({ attempts: fleet.attempts, resumed: fleet.resumed, rate: fleet.rate }, { attempts: N, resumed: N, rate: 1 });
  t.equal(fleet.verdict, 'yes: 100%, every reconnection resumed');
});

t.test('one server with single-use stateful TLS 1.3 tickets (openssl s_server -no_ticket): every reconnection resumes', async (t) => {
  const server = await startSServer(['-no_ticket']);
  let r;
  try {
    r = await runCli(['check', `localhost:${server.port}`, '--ca', caFile, '--count', '1', '--connections', String(N), '--json']);
  } finally {
    await server.stop();
  }
  const doc = JSON.parse(r.stdout);
  t.equal(doc.probes[2].ticketKind, 'stateful');
  t.equal(doc.fleet.rate, 1, `each ticket offered once: ${doc.fleet.resumed} of ${doc.fleet.attempts}`);
});

t.test('two servers sharing ticket keys behind the proxy: every reconnection resumes', async (t) => {
  const keys = randomBytes(48);
  const a = serve({ ticketKeys: keys });
  const b = serve({ ticketKeys: keys });
  const proxy = await roundRobin([await listen(a), await listen(b)]);
  const r = await runCli(['check', `localhost:${proxy.port}`, '--ca', caFile, '--count', '1', '--connections', String(N), '--json']);
  await proxy.close();
  await Promise.all([close(a), close(b)]);
  const fleet = JSON.parse(r.stdout).fleet as FleetJson;
  t.equal(fleet.rate, 1, `${fleet.resumed} of ${fleet.attempts}`);
});

t.test('without --connections the JSON says fleet: null and the table has no fleet row', async (t) => {
  const server = serve();
  const port = await listen(server);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1', '--json']);
  const table = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1']);
  await close(server);
  t.equal(JSON.parse(r.stdout).fleet, null);
  t.notMatch(table.stdout, /fleet/);
});

t.test('--connections is checked like --count', async (t) => {
  const ok = parseCommand(['check', 'a.example', '--connections', '50']);
  t.equal(ok.kind === 'check' && ok.options.connections, 50);
  const none = parseCommand(['check', 'a.example']);
  t.equal(none.kind === 'check' && none.options.connections, undefined);
  for (const bad of ['0', '-1', '2.5', 'x', '', String(MAX_CONNECTIONS + 1)]) {
    const r = parseCommand(['check', 'a.example', `--connections=${bad}`]);
    t.equal(r.kind, 'usage-error', `--connections ${JSON.stringify(bad)}`);
    t.match(r.kind === 'usage-error' && r.message, /^--connections must be a whole number from 1 to 1000/);
  }
});

t.test('fleetVerdict', async (t) => {
  const f = (over: Partial<FleetResult>): FleetResult => ({
    connections: 10, status: 'ran', protocol: 'TLSv1.3', offered: true, attempts: 10, resumed: 10, fullMs: [], resumedMs: [], errors: [], ...over,
  });
  t.same(fleetVerdict(f({})), { text: 'yes: 100%, every reconnection resumed', good: true });
  t.same(fleetVerdict(f({ resumed: 0 })), { text: 'no: 0%, no reconnection resumed', good: false });
  t.match(fleetVerdict(f({ resumed: 3, attempts: 9 })).text, /^partly: 33% \(3 of 9\): about 1 in 3 reached/);
  t.match(fleetVerdict(f({ resumed: 8, attempts: 10 })).text, /^partly: 80% \(8 of 10\): some reconnections reached a server that did not know/);
  t.equal(fleetVerdict(f({ offered: false, attempts: 0, resumed: 0 })).text, 'no: the server gave no session to offer');
  t.equal(fleetVerdict(f({ status: 'failed', offered: null, attempts: 0, resumed: 0 })).text, 'error: first connection failed');
  t.equal(fleetVerdict(f({ attempts: 0, resumed: 0 })).text, 'error: no reconnection completed');
});
