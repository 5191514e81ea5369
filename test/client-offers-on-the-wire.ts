// What the client actually sends: a recording TCP proxy parses every ClientHello
// that goes through it, so these tests see the offered tickets and session ids on
// the wire, not the cache's idea of them.
import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spawn } from 'node:child_process';
import { constants } from 'node:crypto';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { parseClientHelloRecords, type ClientHello } from '../lib/protocol/client-hello.js';
import { key, cert, ca, listen, close, fixturePath } from './fixtures/tls.js';

interface Recorder {
  port: number;
  hellos: ClientHello[];
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:target that records each connection's ClientHello. */
async function recorder(target: number): Promise<Recorder> {
  const hellos: ClientHello[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((down) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(down).add(up);
    let seen = Buffer.alloc(0);
    let parsed = false;
    down.on('data', (d) => {
      if (!parsed) {
        seen = Buffer.concat([seen, d]);
        const r = parseClientHelloRecords(seen);
        if (r.status === 'complete') hellos.push(r.hello);
        if (r.status !== 'incomplete') parsed = true;
      }
    });
    down.pipe(up).pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  const port = await listen(proxy);
  return {
    port,
    hellos,
    close: async () => {
      for (const s of sockets) s.destroy();
      await close(proxy);
    },
  };
}

function exchange(socket: tls.TLSSocket): Promise<{ reused: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const out: { reused: boolean; error?: Error } = { reused: false };
    socket.once('secureConnect', () => {
      out.reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    socket.once('data', () => socket.end());
    socket.on('error', (err) => (out.error ??= err));
    socket.once('close', () => resolve(out));
  });
}

function nodeServer(): tls.Server {
  return tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** `openssl s_server -www` on a free port; resolves the port and a stop function. */
async function sServer(args: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-key', fixturePath('key.pem'), '-cert', fixturePath('cert.pem'), '-www', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ACCEPT')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`s_server exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
}

const hex = (b: Buffer) => b.toString('hex');

for (const kind of ['Node server', 's_server'] as const) {
  t.test(`${kind}, TLS 1.3: no PSK identity is ever sent twice`, async (t) => {
    const server = kind === 'Node server' ? nodeServer() : undefined;
    const s = server ? { port: await listen(server), stop: () => close(server) } : await sServer(['-tls1_3']);
    t.teardown(s.stop);
    const rec = await recorder(s.port);
    t.teardown(rec.close);
    const cache = new ClientSessionCache();
    let resumed = 0;
    for (let i = 0; i < 8; i++) {
      const out = await exchange(cache.connect({ host: '127.0.0.1', port: rec.port, ca, servername: 'localhost' }));
      t.equal(out.error, undefined);
      if (out.reused) resumed++;
    }
    const identities = rec.hellos.flatMap((h) => h.pskIdentities.map(hex));
    t.equal(rec.hellos.length, 8);
    t.ok(identities.length >= 5, `identities were offered (${identities.length})`);
    t.equal(new Set(identities).size, identities.length, 'all offered identities differ');
    t.equal(resumed, identities.length, 'every offered ticket resumed');
    t.equal(cache.stats().offered, identities.length);
  });
}

t.test('a session from host A is never offered to host B on the same server', async (t) => {
  const server = nodeServer();
  const port = await listen(server);
  t.teardown(() => close(server));
  const rec = await recorder(port);
  t.teardown(rec.close);
  const cache = new ClientSessionCache();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const from = rec.hellos.length;
    const a = { host: '127.0.0.1', port: rec.port, ca, servername: 'a.example', maxVersion };
    const b = { ...a, servername: 'b.example' };
    t.equal((await exchange(cache.connect(a))).reused, false);
    t.equal((await exchange(cache.connect(b))).reused, false, `${maxVersion}: b does a full handshake`);
    t.equal((await exchange(cache.connect(a))).reused, true, `${maxVersion}: a resumes`);
    t.equal((await exchange(cache.connect(b))).reused, true, `${maxVersion}: b resumes its own session`);
    const [a1, b1, a2, b2] = rec.hellos.slice(from);
    t.equal(b1!.serverName, 'b.example');
    t.same(b1!.pskIdentities, [], `${maxVersion}: b's first hello offers no PSK`);
    t.ok(b1!.sessionTicket === undefined || b1!.sessionTicket.length === 0, `${maxVersion}: b's first hello carries no ticket`);
    t.ok(a1!.serverName === 'a.example' && a2!.serverName === 'a.example' && b2!.serverName === 'b.example');
  }
  // Everything ever offered (TLS 1.3 PSK identities, TLS 1.2 tickets), by SNI:
  // the two sets must not meet.
  const offers = (name: string) =>
    new Set(
      rec.hellos
        .filter((h) => h.serverName === name)
        .flatMap((h) => [...h.pskIdentities, ...(h.sessionTicket?.length ? [h.sessionTicket] : [])].map(hex)),
    );
  const toA = offers('a.example');
  const toB = offers('b.example');
  t.ok(toA.size > 0 && toB.size > 0);
  t.same([...toB].filter((x) => toA.has(x)), [], 'nothing offered to b was ever offered to a');
});

t.test('TLS 1.2: the same session id is offered again (allowed), and to its destination only', async (t) => {
  const server = tls.createServer({ key, cert, secureOptions: constants.SSL_OP_NO_TICKET }, (s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
  });
  const ids = new Map<string, Buffer>();
  server.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
    ids.set(hex(id), der);
    done();
  });
  server.on('resumeSession', (id: Buffer, cb: (e: Error | null, d: Buffer | null) => void) => cb(null, ids.get(hex(id)) ?? null));
  const port = await listen(server);
  t.teardown(() => close(server));
  const rec = await recorder(port);
  t.teardown(rec.close);
  const cache = new ClientSessionCache();
  const a = { host: '127.0.0.1', port: rec.port, ca, servername: 'a.example', maxVersion: 'TLSv1.2' as const };
  for (let i = 0; i < 3; i++) await exchange(cache.connect(a));
  await exchange(cache.connect({ ...a, servername: 'b.example' }));
  const sent = rec.hellos.map((h) => hex(h.sessionId));
  t.equal(sent[0], '', 'first hello: no session id');
  t.equal(sent[1], sent[2], 'the TLS 1.2 session id is offered again');
  t.ok(ids.has(sent[1]!), 'it is the id the server issued');
  t.equal(sent[3], '', 'b.example gets no session id');
});
