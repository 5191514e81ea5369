// Ports that are not TLS, as `check` meets them: a real redis-server (silent on a
// ClientHello unless its random bytes hold a newline), an echo service, plain HTTP, and a
// TLS server that is merely slow (which must still be probed, not called "not TLS").
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runIfRedis, startRedis } from './fixtures/redis.js';
import { runCli, spawnCli, caFile } from './fixtures/cli/run.js';
import { classifyReply, PROBE_LINE } from '../lib/cli/identify.js';

const ONE_LINE = /^tls-resumption: [^\n]+\n$/;

/** Runs the CLI and measures how long it took, in ms. */
async function timed(argv: string[]) {
  const started = process.hrtime.bigint();
  const r = await runCli(argv);
  return { ...r, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

runIfRedis(t, () => {
  t.test('a Redis port is not TLS: exit 4 well before the deadline, saying what answered', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    // Several runs: a ClientHello whose random bytes hold a newline gets Redis' -ERR at
    // once (not a TLS record); one without is met with silence, then the text probe.
    for (let i = 0; i < 3; i++) {
      const r = await timed(['check', `127.0.0.1:${redis.port}`, '--timeout', '10']);
      t.equal(r.code, 4, 'not TLS');
      t.match(r.stderr, ONE_LINE);
      t.match(r.stderr, new RegExp(`^tls-resumption: 127\\.0\\.0\\.1:${redis.port} does not speak TLS: .*it answered in a plain-text protocol: -ERR unknown command`));
      t.ok(r.ms < 5000, `prompt: ${Math.round(r.ms)} ms, the deadline was 10 s`);
    }
    const j = await runCli(['check', `127.0.0.1:${redis.port}`, '--json']);
    t.equal(j.code, 4);
    t.equal(JSON.parse(j.stdout).error.kind, 'not-tls');
    const spawned = await spawnCli(['check', `127.0.0.1:${redis.port}`]);
    t.equal(spawned.code, 4, 'as a real process');
    t.match(spawned.stderr, ONE_LINE);
  });
});

t.test('an echo server is not TLS: it echoed our ClientHello back', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  const port = await listen(server);
  const r = await timed(['check', `127.0.0.1:${port}`, '--timeout', '10']);
  const j = await runCli(['check', `127.0.0.1:${port}`, '--json']);
  await close(server);
  t.equal(r.code, 4);
  t.equal(r.stderr, `tls-resumption: 127.0.0.1:${port} does not speak TLS: it echoed our ClientHello back (an echo service)\n`);
  t.ok(r.ms < 5000, `prompt: ${Math.round(r.ms)} ms`);
  t.same(JSON.parse(j.stdout).error, { kind: 'not-tls', message: r.stderr.replace(/^tls-resumption: /, '').trim() });
});

t.test('plain HTTP: not a TLS record, and what the server answered', async (t) => {
  const server = http.createServer((_req, res) => res.end('hello'));
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`]);
  await close(server);
  t.equal(r.code, 4);
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /does not speak TLS: its reply is not a TLS record \(wrong version number\); it answered in a plain-text protocol: HTTP\/1\.1 400 Bad Request\n$/);
});

t.test('a slow TLS server is still probed: the text probe meets TLS and proves nothing', async (t) => {
  const tlsServer = tls.createServer({ key, cert }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });
  tlsServer.on('tlsClientError', () => {});
  // The first two connections (the check's first TLS connection and the text probe) are
  // held 1.5 s before the TLS server sees them: longer than the 1 s silence bound.
  let held = 0;
  const front = net.createServer((socket) => {
    socket.on('error', () => {});
    if (held >= 2) return tlsServer.emit('connection', socket);
    held++;
    socket.pause();
    setTimeout(() => tlsServer.emit('connection', socket), 1500);
  });
  const port = await listen(front);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1', '--json']);
  await close(front);
  t.equal(held, 2, 'the text probe was sent while the first handshake waited');
  t.equal(r.code, 0, 'a TLS server that resumes');
  t.equal(JSON.parse(r.stdout).ok, true);
});

t.test('classifyReply: echo, text, TLS, binary, nothing', async (t) => {
  t.same(classifyReply(Buffer.from(PROBE_LINE)), { kind: 'echo' });
  t.same(classifyReply(Buffer.from(PROBE_LINE.slice(0, 12))), { kind: 'echo' }, 'part of the line echoed');
  t.same(classifyReply(Buffer.from('-ERR unknown command\r\n')), { kind: 'text', firstLine: '-ERR unknown command' });
  t.same(classifyReply(Buffer.from('220 smtp.example ESMTP\r\n')), { kind: 'text', firstLine: '220 smtp.example ESMTP' });
  t.same(classifyReply(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])), { kind: 'tls' }, 'a TLS alert');
  t.same(classifyReply(Buffer.from([0x00, 0x01, 0xff, 0x7f])), { kind: 'binary', firstBytes: '00 01 ff 7f' });
  t.same(classifyReply(Buffer.alloc(0)), { kind: 'unknown' });
  const long = classifyReply(Buffer.from(`${'x'.repeat(300)}\n`));
  t.equal(long.kind === 'text' && long.firstLine.length, 103, 'a long line is shortened');
});
