// Real handshakes between ClientSessionCache.connect() and `openssl s_server`:
// session ids and tickets, TLS 1.2 and 1.3 (stateless and stateful tickets).
import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spawn, type ChildProcess } from 'node:child_process';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { ca, fixturePath } from './fixtures/tls.js';

interface Outcome {
  reused: boolean;
  protocol: string | null;
  error?: Error;
}

function exchange(socket: tls.TLSSocket): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { reused: false, protocol: null };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      out.protocol = socket.getProtocol();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface SServer {
  port: number;
  stop(): Promise<void>;
}

/** `openssl s_server -www` with the fixture certificate; resolves once it accepts. */
async function sServer(args: string[], port?: number): Promise<SServer> {
  port ??= await freePort();
  const child: ChildProcess = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-key', fixturePath('key.pem'), '-cert', fixturePath('cert.pem'), '-www', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${out}`)), 15000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ACCEPT')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s_server exited with ${code}: ${out}`));
    });
  });
  return {
    port,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
}

async function run(cache: ClientSessionCache, port: number, n: number): Promise<string> {
  let pattern = '';
  for (let i = 0; i < n; i++) {
    const out = await exchange(cache.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }));
    if (out.error) throw out.error;
    pattern += out.reused ? 'R' : 'F';
  }
  return pattern;
}

const cases: [string, string[], string][] = [
  ['TLS 1.2 session ids', ['-tls1_2', '-no_ticket'], 'TLSv1.2'],
  ['TLS 1.2 tickets', ['-tls1_2'], 'TLSv1.2'],
  ['TLS 1.3 stateless tickets', ['-tls1_3'], 'TLSv1.3'],
  ['TLS 1.3 stateful tickets', ['-tls1_3', '-no_ticket'], 'TLSv1.3'],
];

for (const [name, args, protocol] of cases) {
  t.test(`s_server, ${name}: first connection full, the next five resumed`, async (t) => {
    const server = await sServer(args);
    t.teardown(server.stop);
    const cache = new ClientSessionCache();
    const first = await exchange(cache.connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' }));
    t.equal(first.protocol, protocol);
    t.equal(first.reused, false);
    t.equal(await run(cache, server.port, 5), 'RRRRR');
    const s = cache.stats();
    t.equal(s.offered, 5);
    t.equal(s.resumed, 5);
    t.equal(s.declined, 0);
  });
}

t.test('s_server, TLS 1.3: with -num_tickets 4 the cache keeps at most ticketsPerDestination', async (t) => {
  const server = await sServer(['-tls1_3', '-num_tickets', '4']);
  t.teardown(server.stop);
  const cache = new ClientSessionCache({ ticketsPerDestination: 3 });
  await exchange(cache.connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' }));
  t.equal(cache.stats().stored, 4);
  t.equal(cache.stats().number, 3);
  t.equal(cache.stats().evicted, 1);
});

t.test('s_server restarted: the old sessions are declined and removed, the new ones resume', async (t) => {
  for (const args of [['-tls1_2', '-no_ticket'], ['-tls1_3']]) {
    const first = await sServer(args);
    const cache = new ClientSessionCache();
    t.equal(await run(cache, first.port, 2), 'FR');
    await first.stop();
    // Same port, new process: new ticket keys, empty session cache.
    const second = await sServer(args, first.port);
    t.teardown(second.stop);
    t.equal(await run(cache, second.port, 2), 'FR', args.join(' '));
    t.equal(cache.stats().declined, 1);
  }
});
