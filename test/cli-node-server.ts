import t from 'tap';
import * as tls from 'node:tls';
import { constants } from 'node:crypto';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runCli, spawnCli, summary, caFile, sClientCarriesOver, sClientGetsTicket } from './fixtures/cli/run.js';
import { siblingName } from '../lib/cli/target.js';

// A server that, like an HTTPS server, keeps the connection until the client ends it.
const serve = (options: tls.TlsOptions = {}) =>
  tls.createServer({ key, cert, ...options }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });

t.test('a plain Node server resumes tickets but not session ids (Node turns the cache off)', async (t) => {
  const server = serve();
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`, '--servername', 'a.example', '--other-servername', 'b.example', '--ca', caFile, '--count', '3', '--json']);
  // Whether a.example's ticket resumes under b.example is the server's Node's choice:
  // yes on 20.20.2 and 26.12.1 (Node's ticket keys are per server, not per name), no on
  // 22.23.5 and 24.22.3 (sessions bound to the SNI name through the session id context).
  // The check must say what s_client, a client that is not Node, finds.
  const truth = (await sClientCarriesOver(port, { from: 'a.example', to: 'b.example', version: 'tls1.3' })) ? 'accepted' : 'refused';
  await close(server);
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    // Node sends a session id but keeps no cache, so offering it back gets a full handshake.
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '0/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: truth,
  });
  const doc = JSON.parse(r.stdout);
  t.same(doc.target, { host: '127.0.0.1', port, address: '127.0.0.1', servername: 'a.example' });
  t.equal(doc.crossSni.from, 'a.example');
  t.equal(doc.crossSni.to, 'b.example');
  t.equal(doc.crossSni.mechanism, 'tls1.3-ticket');
  t.equal(doc.probes[0].medianResumedMs, null, 'no resumed handshake, no resumed time');
  t.equal(doc.probes[0].fullMs.length, 6, 'three full handshakes plus three refused resumptions');
  t.equal(doc.probes[1].fullMs.length, 3, 'three full handshakes');
  t.equal(doc.probes[2].resumedMs.length, 3);
});

t.test('a Node server without tickets resumes nothing: exit 1 and a table that says so', async (t) => {
  const server = serve({ secureOptions: constants.SSL_OP_NO_TICKET });
  const port = await listen(server);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '2']);
  await close(server);
  t.equal(r.code, 1);
  // stdout is piped here (no isTTY) and stderr is no terminal: one plain progress line.
  t.equal(r.stderr, `checking localhost:${port}: TLS 1.2 session id, TLS 1.2 ticket, TLS 1.3 ticket: done\n`);
  t.match(r.stdout, /^TLS 1\.2 session id\s+yes\s+0\/2\s.*no: session ids issued but never resumed/m);
  t.match(r.stdout, /^TLS 1\.2 ticket\s+no\s.*no: server sends no tickets/m);
  // TLS 1.3 stateful tickets through Node's events need the ClientHello pre-parse (nodejs/node#60847).
  t.match(r.stdout, /^TLS 1\.3 ticket\s+yes\s+0\/2\s.*no: tickets issued but refused/m);
  t.match(r.stdout, /^other SNI name\s.*n\/a: nothing resumes/m);
  t.match(r.stdout, /Resumes nothing/);
});

t.test('a server refusing TLS 1.2 gets n/a rows, not errors', async (t) => {
  const server = serve({ minVersion: 'TLSv1.3' });
  const port = await listen(server);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1']);
  await close(server);
  t.equal(r.code, 0);
  t.match(r.stdout, /^TLS 1\.2 session id\s+-\s+-\s+-\s+-\s+n\/a: server does not speak TLS 1\.2$/m);
  t.match(r.stdout, /^TLS 1\.2 ticket\s+-\s+-\s+-\s+-\s+n\/a: server does not speak TLS 1\.2$/m);
  t.notMatch(r.stdout, /protocol version/, 'the refused version is the verdict, not an error note');
});

t.test('progress goes to a terminal stderr only, and is erased before the report', async (t) => {
  const server = serve();
  const port = await listen(server);
  const tty = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1'], { tty: true });
  await close(server);
  t.equal(tty.code, 0);
  t.match(tty.stderr, /^\rchecking: resolving localhost\x1b\[K\rchecking: connecting, connection 1 of 1\x1b\[K/);
  t.match(tty.stderr, /\rchecking: TLS 1\.2 session id, connection 2 of 2\x1b\[K/);
  t.match(tty.stderr, /\rchecking: cross-SNI, connection 1 of 1\x1b\[K/);
  t.ok(tty.stderr.endsWith('\r\x1b[K'), 'the line is erased at the end');
  t.notMatch(tty.stdout, /checking:/);
});

t.test('progress: a plain line when stdout is piped, nothing with --json or when stdout is a terminal', async (t) => {
  const server = serve();
  const port = await listen(server);
  const piped = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1']);
  const json = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1', '--json']);
  const jsonTty = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1', '--json'], { tty: true });
  const terminalStdout = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1'], { stdoutTty: true });
  const spawned = await spawnCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '1']);
  await close(server);
  t.equal(piped.code, 0);
  t.equal(piped.stderr, `checking localhost:${port}: TLS 1.2 session id, TLS 1.2 ticket, TLS 1.3 ticket, cross-SNI: done\n`);
  t.notMatch(piped.stdout, /checking/);
  t.equal(json.stderr, '', '--json: nothing on stderr');
  t.equal(jsonTty.stderr, '', '--json: nothing even on a terminal');
  t.equal(terminalStdout.stderr, '', 'a person reads stdout on the terminal: no progress in the log');
  t.equal(spawned.code, 0, 'as a real process with stdout and stderr piped');
  t.equal(spawned.stderr, `checking localhost:${port}: TLS 1.2 session id, TLS 1.2 ticket, TLS 1.3 ticket, cross-SNI: done\n`);
});

t.test('--help states the real default other-SNI names, and an IP target is said in words', async (t) => {
  const help = await runCli(['--help']);
  t.match(help.stdout, /default:\s+tls-resumption-check\.invalid;/);
  t.match(help.stdout, /www\.example\.com -> tls-resumption-check\.example\.com/);
  t.notMatch(help.stdout, /made-up sibling/);
  t.equal(siblingName('localhost'), 'tls-resumption-check.invalid', 'what the help says for a one-label name');
  t.equal(siblingName('www.example.com'), 'tls-resumption-check.example.com', 'and for a name with a parent');

  const server = serve();
  const port = await listen(server);
  const r = await runCli(['check', `127.0.0.1:${port}`, '--insecure', '--count', '1', '--json']);
  const table = await runCli(['check', `127.0.0.1:${port}`, '--insecure', '--count', '1']);
  await close(server);
  const doc = JSON.parse(r.stdout);
  t.equal(doc.target.servername, null, 'no SNI for an IP target');
  t.equal(doc.crossSni.to, 'tls-resumption-check.invalid', 'the default other name, as --help says');
  t.match(doc.crossSni.verdict, /^(accepted|refused|not probed): .*a session made without SNI \(the target is an IP address\) .*the name tls-resumption-check\.invalid$/);
  t.notMatch(table.stdout, /\(no SNI\)/, 'no pseudo-name in the verdict');
  t.match(table.stdout, /a session made without SNI \(the target is an IP address\)/);
});

t.test('a server that ends the connection on secureConnection: the TLS 1.3 row says whether tickets came, and why not', async (t) => {
  // Measured with s_client -msg: a Node 20.20.2 or 22.23.5 server writes close_notify
  // before any NewSessionTicket here; 24.22.3 and 26.12.1 send their two tickets first.
  // So what the report must say is measured on this server, by s_client.
  const server = tls.createServer({ key, cert }, (socket) => socket.end());
  const port = await listen(server);
  const ticketsCome = await sClientGetsTicket(port);
  const r = await runCli(['check', `localhost:${port}`, '--ca', caFile, '--count', '2']);
  await close(server);
  t.equal(r.code, 0, 'TLS 1.2 tickets still resume');
  if (ticketsCome) {
    t.match(r.stdout, /^TLS 1\.3 ticket\s+yes\s+2\/2\s+[\d.]+\s+[\d.]+\s+yes \(stateless\)$/m);
    t.notMatch(r.stdout, /closed the connection before sending a ticket/);
  } else {
    t.match(r.stdout, /^TLS 1\.3 ticket\s+no\s+-\s+[\d.]+\s+-\s+no: server sends no tickets$/m);
    t.match(r.stdout, /^TLS 1\.3 ticket: the server closed the connection before sending a ticket$/m);
  }
});
