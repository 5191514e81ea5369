// Node's two forms of client session (lib/node/client-session.ts): the wrapper that
// Node 22.23+, 24.17+ and 26.3.1+ hand out and the bare DER of Node 20, checked against
// what this Node really does in real handshakes, and `add()` with either form.
import t from 'tap';
import * as tls from 'node:tls';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { detectNodeSessionForm, nodeSessionForm, PROBE_SESSION_DER } from '../lib/client/node-session-form.js';
import { hasWrapperPrefix, sessionIdentity, unwrapClientSession, wrapClientSession } from '../lib/node/client-session.js';
import { parseSessionDer } from '../lib/protocol/session-der.js';
import { key, cert, ca, listen, close, connect } from './fixtures/tls.js';

const PREFIX = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');

function server(maxVersion: tls.SecureVersion): tls.Server {
  return tls.createServer({ key, cert, maxVersion }, (s) => {
    s.on('error', () => {});
    // Data first tells the test client a TLS 1.2 handshake is over (fixtures/tls.ts connect()).
    s.write('hello');
    s.resume();
    s.on('end', () => s.end());
  });
}

/** One session from a real handshake under `servername` (TLS 1.3: the last ticket). */
async function sessionFrom(port: number, servername: string, maxVersion: tls.SecureVersion): Promise<Buffer> {
  const r = await connect(port, { servername, maxVersion });
  if (r.error) throw r.error;
  const session = r.sessions.at(-1);
  if (session === undefined) throw new Error('no session');
  return session;
}

/** Connects through the cache and resolves whether the handshake resumed. */
function resumes(sessions: ClientSessionCache, options: tls.ConnectionOptions): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = sessions.connect(options);
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      socket.end();
      resolve(reused);
    });
    socket.resume();
    socket.on('error', reject);
  });
}

t.test('pure: wrap and unwrap are inverse, byte for byte as Node lays it out', async (t) => {
  const der = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const wrapped = wrapClientSession(der, 'ä.example')!;
  const name = Buffer.from('ä.example', 'utf8');
  t.same(wrapped, Buffer.concat([PREFIX, Buffer.from([0, name.length]), name, der]));
  t.ok(hasWrapperPrefix(wrapped));
  t.same(unwrapClientSession(wrapped), { form: 'wrapped', servername: 'ä.example', der });
  t.same(unwrapClientSession(der), { form: 'bare', der });
  t.same(unwrapClientSession(new Uint8Array(der)), { form: 'bare', der }, 'a Uint8Array is read as a Buffer');
  t.equal(unwrapClientSession(wrapped.subarray(0, PREFIX.length + 1)).form, 'malformed', 'cut in the length');
  t.equal(unwrapClientSession(wrapped.subarray(0, PREFIX.length + 4)).form, 'malformed', 'cut in the name');
  t.equal(unwrapClientSession(wrapped.subarray(0, PREFIX.length + 2 + name.length)).form, 'malformed', 'no DER');
  t.equal(unwrapClientSession('text').form, 'malformed');
  t.equal(unwrapClientSession(null).form, 'malformed');
  t.equal(wrapClientSession(der, 'x'.repeat(0x10000)), undefined, 'a name over 65535 bytes does not fit');
  t.equal(wrapClientSession(der, '')!.length, PREFIX.length + 2 + der.length, 'an empty name fits');
});

t.test('pure: the identity is servername, else host, else the socket\'s host, else localhost', async (t) => {
  t.equal(sessionIdentity({ servername: 'a.example', host: '127.0.0.1' }), 'a.example');
  t.equal(sessionIdentity({ servername: '', host: '127.0.0.1' }), '127.0.0.1');
  t.equal(sessionIdentity({ socket: { _host: 'b.example' } }), 'b.example');
  t.equal(sessionIdentity({}), 'localhost');
});

t.test('the probe session is a valid SSL_SESSION and the detected form is stable', async (t) => {
  t.ok(parseSessionDer(PROBE_SESSION_DER).ok);
  t.equal(detectNodeSessionForm(), nodeSessionForm());
  t.not(nodeSessionForm(), 'unknown', 'this Node is one of the two known kinds');
});

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${maxVersion}: the detected form is what real sessions come in, and Node offers them only under their own name`, async (t) => {
    const srv = server(maxVersion);
    const port = await listen(srv);
    t.teardown(() => close(srv));
    const session = await sessionFrom(port, 'a.example', maxVersion);
    const form = unwrapClientSession(session);
    t.equal(form.form, nodeSessionForm(), 'the probe predicted the form of a real session');
    if (form.form === 'wrapped') t.equal(form.servername, 'a.example', 'bound to the connection\'s servername');
    t.ok(form.form !== 'malformed' && parseSessionDer(form.der).ok, 'the DER inside parses');
    // These three only need to know whether they resumed ({ tickets: 0 }: done at
    // secureConnect; a resumed TLS 1.3 handshake on Node's stateless tickets brings none).
    const once = { tickets: 0 };
    // Same name: resumes in both forms.
    const again = await connect(port, { servername: 'a.example', maxVersion, session: await sessionFrom(port, 'a.example', maxVersion) }, once);
    t.equal(again.resumed, true);
    // Another name, as Node handed it out: a wrapping Node does not offer it. (This server
    // would accept it on Node 20 and 26, which do not bind tickets to names.)
    const other = await connect(port, { servername: 'b.example', maxVersion, session: await sessionFrom(port, 'a.example', maxVersion) }, once);
    if (nodeSessionForm() === 'wrapped') t.equal(other.resumed, false, 'never offered under another name');
    // The bare DER on a verifying client: Node 20 offers it, a wrapping Node ignores it.
    const bare = unwrapClientSession(await sessionFrom(port, 'a.example', maxVersion));
    const raw = await connect(port, { servername: 'a.example', maxVersion, session: (bare as { der: Buffer }).der }, once);
    t.equal(raw.resumed, nodeSessionForm() === 'bare', 'a bare DER resumes only where Node takes bare DER');
  });
}

t.test('add() takes both forms and stores what this Node offers: both resume', async (t) => {
  const srv = server('TLSv1.2');
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const destination = { host: '127.0.0.1', port, servername: 'a.example', maxVersion: 'TLSv1.2' as const, ca };

  // As Node handed it out.
  const native = new ClientSessionCache({ mode: 'off' });
  t.equal(native.add(destination, await sessionFrom(port, 'a.example', 'TLSv1.2')), true);
  t.equal(await resumes(native, destination), true);

  // The other form: a bare DER (wrapped for the destination on a wrapping Node), or a
  // wrapper (unwrapped on Node 20).
  const given = unwrapClientSession(await sessionFrom(port, 'a.example', 'TLSv1.2'));
  const otherForm = given.form === 'wrapped' ? given.der : wrapClientSession((given as { der: Buffer }).der, 'a.example')!;
  const converted = new ClientSessionCache({ mode: 'off' });
  t.equal(converted.add(destination, otherForm), true);
  const held = converted.get(destination)!;
  t.equal(unwrapClientSession(held).form, nodeSessionForm(), 'stored in this Node\'s form');
  t.equal(converted.add(destination, held), false, 'the same session in the other form is the same session');
  t.equal(await resumes(converted, destination), true);
  t.equal(converted.stats().resumed, 1);

  // remove() finds it in either form.
  t.equal(converted.remove(destination, otherForm), 1);
  t.equal(converted.size, 0);
});

t.test('add(): a host-only destination binds to the host, as Node does', async (t) => {
  const srv = server('TLSv1.2');
  const port = await listen(srv);
  t.teardown(() => close(srv));
  const destination = { host: '127.0.0.1', port, maxVersion: 'TLSv1.2' as const, ca };
  const made = await new Promise<Buffer>((resolve, reject) => {
    const s = tls.connect(destination, () => {
      resolve(s.getSession()!);
      s.end();
    });
    s.resume();
    s.on('error', reject);
  });
  const form = unwrapClientSession(made);
  if (form.form === 'wrapped') t.equal(form.servername, '127.0.0.1', 'Node binds a no-SNI session to the host');
  const sessions = new ClientSessionCache({ mode: 'off' });
  t.equal(sessions.add(destination, form.form === 'malformed' ? made : form.der), true);
  t.equal(await resumes(sessions, destination), true);
});

t.test('add(): bad input is a clear error with a code, never a crash', async (t) => {
  const sessions = new ClientSessionCache();
  const destination = { host: '127.0.0.1', port: 1, servername: 'a.example' };
  const der = PROBE_SESSION_DER;
  t.throws(() => sessions.add(destination, Buffer.from('not a session')), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' });
  t.throws(() => sessions.add(destination, PREFIX), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' }, 'a wrapper cut short');
  t.throws(() => sessions.add(destination, wrapClientSession(Buffer.from('junk'), 'a.example')!), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' }, 'a wrapper around junk');
  t.throws(() => sessions.add(destination, 'text' as unknown as Buffer), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' });
  t.throws(() => sessions.remove(destination, 42 as unknown as Buffer), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' });
  // A session bound to another name is refused, in every Node: rewrapping it would
  // resume a session authenticated for b.example on a connection to a.example.
  t.throws(() => sessions.add(destination, wrapClientSession(der, 'b.example')!), {
    name: 'Error',
    code: 'ERR_TLS_RESUMPTION_SESSION_SERVERNAME',
    message: /bound to "b\.example", the destination is "a\.example"/,
  });
  t.equal(sessions.size, 0);
  t.equal(sessions.add(destination, wrapClientSession(der, 'a.example')!), false, 'the probe session (time 1) expired long ago: not stored');
});
