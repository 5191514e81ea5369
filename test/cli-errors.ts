import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runCli, spawnCli, caFile } from './fixtures/cli/run.js';

/** Exactly one line on stderr, so no stack trace. */
const ONE_LINE = /^tls-resumption: [^\n]+\n$/;

const tlsServer = () =>
  tls.createServer({ key, cert }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });

/** A port that was free a moment ago and now has nothing listening. */
const closedPort = async () => {
  const s = net.createServer();
  const port = await listen(s);
  await close(s);
  return port;
};

t.test('a plain HTTP server is not TLS: exit 4', async (t) => {
  const server = http.createServer((_req, res) => res.end('hello'));
  const port = await listen(server);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile]);
  const j = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--json']);
  await close(server);
  t.equal(r.code, 4);
  t.equal(r.stdout, '');
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /does not speak TLS: its reply is not a TLS record \(wrong version number\)/);
  t.equal(j.code, 4);
  t.same(JSON.parse(j.stdout), {
    schema: 1,
    ok: false,
    exitCode: 4,
    error: { kind: 'not-tls', message: r.stderr.replace(/^tls-resumption: /, '').trim() },
  });
});

t.test('an SSH-like banner is not TLS either: exit 4', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.resume(); // read, so the client's close is seen and close(server) can finish
    socket.end('SSH-2.0-OpenSSH_9.6\r\n');
  });
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`]);
  await close(server);
  t.equal(r.code, 4);
  t.match(r.stderr, ONE_LINE);
});

t.test('a closed port is unreachable: exit 3, connection refused', async (t) => {
  const port = await closedPort();
  const r = await runCli(['check', `127.0.0.1:${port}`]);
  t.equal(r.code, 3);
  t.equal(r.stderr, `tls-resumption: connection refused by 127.0.0.1:${port}: nothing listens on that port\n`);
});

t.test('a name that does not resolve is unreachable: exit 3', async (t) => {
  const r = await runCli(['check', 'no-such-host.invalid:443']);
  t.equal(r.code, 3);
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /cannot resolve no-such-host\.invalid/);
});

t.test('a malformed address is a usage error: exit 2, one line', async (t) => {
  for (const address of ['localhost:99999', 'a:b:c', 'bad host:443', 'localhost:port']) {
    const r = await runCli(['check', address]);
    t.equal(r.code, 2, address);
    t.match(r.stderr, ONE_LINE);
    t.match(r.stderr, /\(see --help\)\n$/);
  }
});

t.test('a server the client does not trust: exit 3, one line saying how to proceed', async (t) => {
  const server = tlsServer();
  const port = await listen(server);
  const untrusted = await runCli(['check', `localhost:${port}`, '--count', '1']);
  const wrongName = await runCli(['check', `127.0.0.1:${port}`, '--servername', 'c.other', '--ca', caFile, '--count', '1']);
  const insecure = await runCli(['check', `localhost:${port}`, '--insecure', '--count', '1']);
  await close(server);

  t.equal(untrusted.code, 3);
  t.match(untrusted.stderr, ONE_LINE);
  t.match(untrusted.stderr, /certificate problem at localhost:\d+: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); pass --ca <file> to trust its CA, or --insecure to probe anyway/);

  t.equal(wrongName.code, 3);
  t.match(wrongName.stderr, /the certificate is not valid for c\.other \(ERR_TLS_CERT_ALTNAME_INVALID\)/);

  t.equal(insecure.code, 0, '--insecure probes anyway');
  t.match(insecure.stdout, /Warning: the server certificate was not verified \(--insecure\)/);
});

t.test('a server that accepts and says nothing times out: exit 3', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.resume();
  });
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`, '--timeout', '0.3']);
  await close(server);
  t.equal(r.code, 3);
  t.equal(r.stderr, `tls-resumption: 127.0.0.1:${port} accepted the connection but sent no TLS handshake reply within 0.3 s (is this a TLS port?)\n`);
});

t.test('a server that closes on the ClientHello: exit 3', async (t) => {
  const server = net.createServer((socket) => socket.destroy());
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`]);
  await close(server);
  t.equal(r.code, 3);
  t.match(r.stderr, ONE_LINE);
  t.match(r.stderr, /closed the connection during the TLS handshake/);
});

t.test('a --ca file that cannot be read or holds no certificate is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  const missing = await runCli(['check', 'localhost:1', '--ca', join(dir, 'missing.pem')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read --ca file .*missing\.pem \(ENOENT\)/);
  const wrong = await runCli(['check', 'localhost:1', '--ca', notPem, '--json']);
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /holds no PEM certificate/);
  t.equal(JSON.parse(wrong.stdout).error.kind, 'usage');
});

t.test('as a real process: exit statuses, one-line errors and help', async (t) => {
  const server = http.createServer((_req, res) => res.end('hello'));
  const port = await listen(server);
  const notTls = await spawnCli(['check', `127.0.0.1:${port}`]);
  await close(server);
  t.equal(notTls.code, 4);
  t.equal(notTls.stdout, '');
  t.match(notTls.stderr, ONE_LINE);

  const usage = await spawnCli(['check', 'a:b:c']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, ONE_LINE);

  const help = await spawnCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: tls-resumption check <host\[:port\]>/);
  t.match(help.stdout, /4 {2}the server does not speak TLS/);
});
