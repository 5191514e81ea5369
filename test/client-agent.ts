// https.request through sessions.agent(): fresh connections resume, seen from
// the server's side of each connection.
import t from 'tap';
import * as https from 'node:https';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { ClientSessionAgent } from '../lib/client/agent.js';
import { key, cert, ca, listen, close } from './fixtures/tls.js';

/** An https server that answers with whether this connection resumed, and counts connections. */
function server(): { srv: https.Server; connections: () => number } {
  let n = 0;
  const srv = https.createServer({ key, cert }, (req, res) => {
    res.end(req.socket && (req.socket as import('node:tls').TLSSocket).isSessionReused() ? 'R' : 'F');
  });
  srv.on('secureConnection', () => n++);
  return { srv, connections: () => n };
}

function get(agent: https.Agent, port: number, extra: https.RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, ca, agent, path: '/', ...extra }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${maxVersion}: https.request with the agent resumes every fresh connection after the first`, async (t) => {
    const { srv, connections } = server();
    const port = await listen(srv);
    t.teardown(() => close(srv));
    const sessions = new ClientSessionCache();
    const agent = sessions.agent({ keepAlive: false, maxVersion });
    t.teardown(() => agent.destroy());
    t.ok(agent instanceof ClientSessionAgent);
    t.ok(agent instanceof https.Agent);
    let pattern = '';
    // TLS 1.3 against a Node server: two tickets per full handshake, each used once.
    for (let i = 0; i < 6; i++) pattern += await get(agent, port, { headers: { connection: 'close' } });
    t.equal(connections(), 6, 'six fresh connections');
    t.equal(pattern, maxVersion === 'TLSv1.2' ? 'FRRRRR' : 'FRRFRR');
    t.equal(sessions.stats().resumed, maxVersion === 'TLSv1.2' ? 5 : 4);
  });
}

t.test('the servername Node derives from the Host header is part of the destination', async (t) => {
  const { srv } = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const sessions = new ClientSessionCache();
  const agent = sessions.agent({ maxVersion: 'TLSv1.2' });
  t.teardown(() => agent.destroy());
  t.equal(await get(agent, port, { host: 'localhost' }), 'F');
  t.equal(await get(agent, port, { host: '127.0.0.1', headers: { host: 'a.example' } }), 'F', 'another name, another destination');
  t.equal(await get(agent, port, { host: 'localhost' }), 'R');
  t.equal(await get(agent, port, { host: '127.0.0.1', headers: { host: 'a.example' } }), 'R');
});

t.test('keepAlive: a reused socket needs no handshake; the cache serves new sockets only', async (t) => {
  const { srv, connections } = server();
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const sessions = new ClientSessionCache();
  const agent = sessions.agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 3; i++) t.equal(await get(agent, port), 'F', 'same (first) connection');
  t.equal(connections(), 1);
  t.equal(sessions.stats().offered, 0);
});

t.test("Node's own https.Agent session cache is off in this agent", async (t) => {
  const sessions = new ClientSessionCache();
  const agent = sessions.agent({ maxCachedSessions: 100 });
  t.equal(agent.options.maxCachedSessions, 0);
  t.equal(agent.sessions, sessions);
  agent.destroy();
});
