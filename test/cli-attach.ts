import t from 'tap';
import * as tls from 'node:tls';
import { key, cert, listen, close } from './fixtures/tls.js';
import { runCli, summary, caFile } from './fixtures/cli/run.js';
import { attachSessionCache } from '../lib/server/attach.js';
import type { SessionCacheOptions } from '../lib/cache/options.js';

// `check` against this library's own server, in each mode. Names a.example and
// b.example are both on the fixture certificate.
const check = async (options: SessionCacheOptions) => {
  const server = tls.createServer({ key, cert }, (socket) => {
    socket.resume();
    socket.on('end', () => socket.end());
  });
  attachSessionCache(server, options);
  const port = await listen(server);
  try {
    return await runCli([
      'check', `127.0.0.1:${port}`, '--servername', 'a.example', '--other-servername', 'b.example',
      '--ca', caFile, '--count', '3', '--json',
    ]);
  } finally {
    await close(server);
  }
};

t.test('default mode: session ids, TLS 1.2 tickets and stateless TLS 1.3 tickets all resume', async (t) => {
  const r = await check({});
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: 'accepted',
  });
});

t.test("tickets 'off': TLS 1.3 resumes by stateful tickets, and a session is refused under another name", async (t) => {
  const r = await check({ tickets: 'off' });
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: false, resumed: '0/0', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateful' },
    crossSni: 'refused',
  });
});

t.test("mode 'off': session ids are not resumed, Node's tickets still are", async (t) => {
  const r = await check({ mode: 'off' });
  t.equal(r.code, 0);
  t.same(summary(r.stdout), {
    'tls1.2-session-id': { status: 'ran', offered: true, resumed: '0/3', kind: null },
    'tls1.2-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: null },
    'tls1.3-ticket': { status: 'ran', offered: true, resumed: '3/3', kind: 'stateless' },
    crossSni: 'accepted',
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
