import t from 'tap';
import * as tls from 'node:tls';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runCli, summary, caFile, sClientCarriesOver, type CliRun } from './fixtures/cli/run.js';
import { attachSessionCache } from '../lib/server/attach.js';
import type { SessionCacheOptions } from '../lib/server/options.js';

const VERSION_OF = { 'tls1.3-ticket': 'tls1.3', 'tls1.2-ticket': 'tls1.2', 'tls1.2-session-id': 'tls1.2-id' } as const;

// `check` against this library's own server, in each mode. Names a.example and
// b.example are both on the fixture certificate. `truth`: what `openssl s_client` finds
// when it carries a session of the same mechanism from a.example to b.example on the
// same server ('accepted' / 'refused'), or null when the check carried nothing over.
const check = async (options: SessionCacheOptions): Promise<CliRun & { truth: string | null }> => {
  const server = tls.createServer({ key, cert }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });
  attachSessionCache(server, options);
  const port = await listen(server);
  try {
    const r = await runCli([
      'check', `127.0.0.1:${port}`, '--servername', 'a.example', '--other-servername', 'b.example',
      '--ca', caFile, '--count', '3', '--json',
    ]);
    const mechanism = (JSON.parse(r.stdout) as { crossSni: { mechanism: keyof typeof VERSION_OF | null } }).crossSni.mechanism;
    if (mechanism === null) return { ...r, truth: null };
    const accepted = await sClientCarriesOver(port, { from: 'a.example', to: 'b.example', version: VERSION_OF[mechanism] });
    return { ...r, truth: accepted ? 'accepted' : 'refused' };
  } finally {
    await close(server);
  }
};

// Node's stateless TLS 1.3 tickets are decrypted by OpenSSL without asking the cache, so
// whether one resumes under another name is the server's Node's decision: accepted on
// Node 20.20.2 and 26.12.1, refused on 22.23.5 and 24.22.3, which bind every session to
// its SNI name through the session id context (measured with s_client). The verdict
// must be what s_client finds on this server, whichever it is.
t.test('default mode: session ids, TLS 1.2 tickets and stateless TLS 1.3 tickets all resume', async (t) => {
  const r = await check({});
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: r.truth,
  });
  t.equal(JSON.parse(r.stdout).crossSni.mechanism, 'tls1.3-ticket');
});

t.test("tickets 'off': TLS 1.3 resumes by stateful tickets, and a session is refused under another name", async (t) => {
  const r = await check({ tickets: 'off' });
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateful' },
    // The library's own SNI binding, on every Node.
    crossSni: 'refused',
  });
  t.equal(r.truth, 'refused', 's_client is refused too');
});

t.test("mode 'off': session ids are not resumed, Node's tickets still are", async (t) => {
  const r = await check({ mode: 'off' });
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '0/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: r.truth,
  });
});

t.test("mode 'off' with tickets 'off' resumes nothing: exit 1", async (t) => {
  const r = await check({ mode: 'off', tickets: 'off' });
  t.equal(r.code, 1);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '0/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '0/3', kind: 'stateful' },
    crossSni: 'not-applicable',
  });
});
