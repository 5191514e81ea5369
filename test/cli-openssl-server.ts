import t from 'tap';
import { runCli, startSServer, summary, caFile } from './fixtures/cli/run.js';

// `openssl s_server` keeps OpenSSL's own session cache: the reference server for what
// `check` should report. Three resumption attempts per probe keep the file fast.
const check = async (args: string[]) => {
  const server = await startSServer(args);
  try {
    return await runCli(['check', `localhost:${server.port}`, '--ca', caFile, '--count', '3', '--json']);
  } finally {
    await server.stop();
  }
};

t.test('s_server with tickets on: every mechanism resumes, TLS 1.3 tickets are stateless', async (t) => {
  const r = await check([]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: 'accepted',
  });
});

t.test('s_server -no_ticket: session ids resume, no TLS 1.2 tickets, TLS 1.3 tickets are stateful', async (t) => {
  const r = await check(['-no_ticket']);
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateful' },
    crossSni: 'accepted',
  });
  const doc = JSON.parse(r.stdout);
  t.ok(doc.probes[2].ticketLengths.every((n: number) => n === 32), 'stateful TLS 1.3 tickets are the 32-byte session id');
});

t.test('s_server TLS 1.2 only, tickets on and off', async (t) => {
  const on = await check(['-tls1_2']);
  t.equal(on.code, 0);
  t.same(summary(on.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'unsupported', offered: null, resumed: '0/0', kind: null },
    crossSni: 'accepted',
  });
  const off = await check(['-tls1_2', '-no_ticket']);
  t.equal(off.code, 0);
  t.same(summary(off.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'unsupported', offered: null, resumed: '0/0', kind: null },
    crossSni: 'accepted',
  });
});

t.test('s_server TLS 1.3 only, tickets on and off', async (t) => {
  const on = await check(['-tls1_3']);
  t.equal(on.code, 0);
  t.same(summary(on.stdout), {
    'tls1.2-session-id': { status: 'unsupported', offered: null, resumed: '0/0', kind: null },
    'tls1.2-ticket': { status: 'unsupported', offered: null, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: 'accepted',
  });
  const off = await check(['-tls1_3', '-no_ticket']);
  t.equal(off.code, 0);
  t.same(summary(off.stdout).crossSni, 'accepted');
  t.same(summary(off.stdout)['tls1.3-ticket'], { status: 'ran', offered: true, resumed: '3/3', kind: 'stateful' });
});

t.test('s_server with no cache and no tickets resumes nothing: exit 1', async (t) => {
  const r = await check(['-no_cache', '-no_ticket']);
  t.equal(r.code, 1);
  t.same(summary(r.stdout), {
    // -no_cache: OpenSSL sends an empty session id, so there is nothing to offer back.
    'tls1.2-session-id': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    // Stateful tickets are still issued, but there is no cache to find them in.
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '0/3', kind: 'stateful' },
    crossSni: 'not-applicable',
  });
});

t.test('the table against s_server reads at a glance', async (t) => {
  const server = await startSServer(['-no_ticket']);
  const r = await runCli(['check', `localhost:${server.port}`, '--ca', caFile, '--count', '2']);
  await server.stop();
  t.equal(r.code, 0);
  t.match(r.stdout, /^TLS 1\.2 session id\s+yes\s+2\/2\s+[\d.]+\s+[\d.]+\s+yes$/m);
  t.match(r.stdout, /^TLS 1\.2 ticket\s+no\s+-\s+[\d.]+\s+-\s+no: server sends no tickets$/m);
  t.match(r.stdout, /^TLS 1\.3 ticket\s+yes\s+2\/2\s+[\d.]+\s+[\d.]+\s+yes \(stateful\)$/m);
  t.match(r.stdout, /Resumes by: TLS 1\.2 session id, TLS 1\.3 ticket\./);
});
