import t, { type Test } from 'tap';
import fc from 'fast-check';
import { constants, createHash } from 'node:crypto';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseSessionDer, type SessionDerResult, type SessionFacts } from '../lib/protocol/session-der.js';
import { ca, cert, key } from './fixtures/tls.js';
import { clientSessionDer, realSessions, type RealSessions } from './fixtures/protocol/capture.js';
import { contextField, encodeSession, explicit, integer, octets, sampleSession, sequence, tlv, type SessionSpec } from './fixtures/protocol/der-builder.js';
import { readHexFixture, readHexFixtures } from './fixtures/protocol/hex.js';
import { opensslSays, readSessionFixtures, sniBoundSidCtx, type SidCtxForm } from './fixtures/protocol/session-fixtures.js';

function facts(t: { fail(message: string): unknown }, r: SessionDerResult): SessionFacts {
  if (!r.ok) {
    t.fail(`expected a session, got: ${r.reason}`);
    throw new Error(r.reason);
  }
  return r.session;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The facts that `openssl sess_id -text` also prints must agree with it. */
function agreesWithOpenssl(t: { equal(found: unknown, wanted: unknown, message: string): unknown }, der: Buffer, s: SessionFacts, label: string) {
  const o = opensslSays(der);
  t.equal(o['Session-ID'], s.sessionId.toString('hex').toUpperCase(), `${label}: Session-ID`);
  t.equal(o['Session-ID-ctx'], s.sidCtx.toString('hex').toUpperCase(), `${label}: Session-ID-ctx`);
  t.equal(o['Start Time'], String(s.time), `${label}: Start Time`);
  t.equal(o['Timeout'], `${s.timeout} (sec)`, `${label}: Timeout`);
  t.equal(o['Verify return code']?.split(' ')[0], String(s.verifyResult), `${label}: Verify return code`);
  t.equal(o['Extended master secret'], s.flags & 1 ? 'yes' : 'no', `${label}: EMS flag`);
  t.equal(o['Protocol'], { 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' }[s.protocolVersion], `${label}: Protocol`);
  if (s.ticketLifetimeHint !== undefined) {
    t.equal(o['TLS session ticket lifetime hint'], `${s.ticketLifetimeHint} (seconds)`, `${label}: lifetime hint`);
  }
  // Printed for TLS 1.3 sessions only.
  if (o['Max Early Data'] !== undefined) t.equal(o['Max Early Data'], String(s.maxEarlyData ?? 0), `${label}: Max Early Data`);
}

const sessions: Record<string, RealSessions> = {};
let before = 0;
let after = 0;

t.before(async () => {
  before = nowSeconds();
  // TLS 1.2, session ids, explicit context and timeout, ALPN.
  sessions.tls12 = await realSessions(
    {
      secureOptions: constants.SSL_OP_NO_TICKET,
      sessionIdContext: 'protocol-test',
      sessionTimeout: 1234,
      ALPNProtocols: ['http/1.1'],
    },
    { servername: 'localhost', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', ALPNProtocols: ['http/1.1'] },
  );
  // TLS 1.3, stateful tickets, SNI and ALPN.
  sessions.tls13 = await realSessions(
    { secureOptions: constants.SSL_OP_NO_TICKET, ALPNProtocols: ['h2'] },
    { servername: 'a.example', ciphers: 'TLS_AES_128_GCM_SHA256', ALPNProtocols: ['h2'] },
  );
  // TLS 1.2 with a client certificate the server trusts.
  sessions.mtls = await realSessions(
    { secureOptions: constants.SSL_OP_NO_TICKET, requestCert: true, ca, sessionIdContext: 'mtls' },
    { servername: 'localhost', maxVersion: 'TLSv1.2', key, cert },
  );
  // TLS 1.3 with a client certificate the server cannot verify but accepts anyway.
  sessions.mtlsUnverified = await realSessions(
    { secureOptions: constants.SSL_OP_NO_TICKET, requestCert: true, rejectUnauthorized: false, sessionIdContext: 'mtls' },
    { servername: 'localhost', key, cert },
  );
  // TLS 1.2 with stateless tickets: the client's session holds the ticket.
  sessions.tls12Ticket = await realSessions({}, { servername: 'localhost', maxVersion: 'TLSv1.2' });
  after = nowSeconds();
});

/**
 * The sid_ctx form each measured Node writes into server sessions (see
 * ARCHITECTURE.md, "Node versions"); another version may write either.
 */
const MEASURED_FORMS: Record<string, SidCtxForm> = {
  'v20.20.2': 'configured',
  'v22.23.5': 'sni-bound',
  'v24.22.3': 'sni-bound',
  'v26.12.1': 'configured',
};
const formsSeen = new Set<SidCtxForm>();

/**
 * Checks a server session's sid_ctx and hostname against one of the two forms
 * Node writes: the configured context and no hostname (Node 20, 26.12), or
 * sha256(context + '\0' + SNI name) and the SNI name in [6] (Node 22.23, 24.22).
 */
function checkBinding(t: Test, s: SessionFacts, context: string, servername: string | undefined, label: string): void {
  const form: SidCtxForm | undefined = s.sidCtx.equals(Buffer.from(context))
    ? 'configured'
    : s.sidCtx.equals(sniBoundSidCtx(context, servername))
      ? 'sni-bound'
      : undefined;
  if (form === undefined) {
    t.fail(`${label}: sid_ctx ${s.sidCtx.toString('hex')} is neither the context nor sha256(context, servername)`);
    return;
  }
  formsSeen.add(form);
  const measured = MEASURED_FORMS[process.version];
  if (measured !== undefined) t.equal(form, measured, `${label}: sid_ctx form measured on ${process.version}`);
  const hostname = form === 'sni-bound' ? servername : undefined;
  t.equal(s.hostname, hostname, `${label}: hostname ${hostname ?? 'absent'} (${form})`);
}

/** Node's default session id context: the first 32 hex characters of sha1(process.argv.join(' ')). */
const defaultContext = createHash('sha1').update(process.argv.join(' ')).digest('hex').slice(0, 32);

t.test('TLS 1.2 server session: id, context, timeout, cipher, ALPN, EMS', async (t) => {
  const { ids, ders } = sessions.tls12!;
  t.equal(ders.length, 1);
  const s = facts(t, parseSessionDer(ders[0]!));
  t.equal(s.version, 1);
  t.equal(s.protocolVersion, 0x0303);
  t.equal(s.cipherId, 0xc02b, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  t.same(s.sessionId, ids[0], 'the id newSession reported');
  t.ok(s.hasMasterKey);
  t.ok(s.time >= before && s.time <= after, 'created during the test');
  t.equal(s.timeout, 1234, 'sessionTimeout');
  checkBinding(t, s, 'protocol-test', 'localhost', 'tls12');
  t.equal(s.hasPeerCert, false);
  t.equal(s.verifyResult, 0);
  t.equal(s.flags & 1, 1, 'extended master secret');
  t.same(s.alpn, Buffer.from('http/1.1'));
  t.equal(s.hasTicket, false);
  t.equal(s.kexGroup, 0x1d, 'X25519');
  t.same(s.unknownFields, []);
  agreesWithOpenssl(t, ders[0]!, s, 'tls12');
});

t.test('TLS 1.3 server sessions: one per ticket, each with its own id', async (t) => {
  const { ids, ders, groupName } = sessions.tls13!;
  t.equal(ders.length, 2, 'two tickets after a full handshake');
  for (const [i, der] of ders.entries()) {
    const s = facts(t, parseSessionDer(der));
    t.equal(s.protocolVersion, 0x0304);
    t.equal(s.cipherId, 0x1301, 'TLS_AES_128_GCM_SHA256');
    t.same(s.sessionId, ids[i]);
    t.ok(s.hasMasterKey, 'the resumption PSK');
    t.same(s.alpn, Buffer.from('h2'));
    checkBinding(t, s, defaultContext, 'a.example', `tls13 #${i}`);
    t.equal(s.timeout, 7200, "measured: OpenSSL 3's default when sessionTimeout is not set");
    // OpenSSL 3.5 negotiates the hybrid X25519MLKEM768 (0x11ec) by default, 3.0 X25519.
    const group = process.versions.openssl.startsWith('3.0.') ? 0x1d : 0x11ec;
    t.equal(s.kexGroup, group, `kex_group (client says ${groupName ?? 'nothing'})`);
    agreesWithOpenssl(t, der, s, `tls13 #${i}`);
  }
});

t.test('a client certificate makes [3] present', async (t) => {
  for (const name of ['mtls', 'mtlsUnverified'] as const) {
    const { ders } = sessions[name]!;
    t.ok(ders.length >= 1, `${name}: sessions`);
    for (const der of ders) {
      const s = facts(t, parseSessionDer(der));
      t.equal(s.hasPeerCert, true, `${name}: peer certificate stored`);
      checkBinding(t, s, 'mtls', 'localhost', name);
      // 0 = X509_V_OK. The server without our CA keeps the verify error (measured:
      // 19, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, as cert.pem carries the CA too);
      // agreesWithOpenssl checks the exact value against openssl.
      if (name === 'mtls') t.equal(s.verifyResult, 0, `${name}: verify result`);
      else t.not(s.verifyResult, 0, `${name}: verify error kept`);
      agreesWithOpenssl(t, der, s, name);
    }
  }
});

t.test("a TLS 1.2 client session holds the server's ticket and certificate", async (t) => {
  const { clientSessions } = sessions.tls12Ticket!;
  t.ok(clientSessions.length >= 1);
  // Node 22.23+, 24.17+, 26.3.1+ wrap the DER with the servername; Node 20 hands it bare.
  const { der, servername } = clientSessionDer(clientSessions.at(-1)!);
  t.ok(servername === undefined || servername === 'localhost', `wrapper servername: ${servername ?? 'none (bare DER)'}`);
  const s = facts(t, parseSessionDer(der));
  t.equal(s.hasTicket, true);
  t.ok(s.ticketLifetimeHint !== undefined && s.ticketLifetimeHint > 0, 'lifetime hint');
  t.equal(s.hasPeerCert, true, 'the server certificate');
  agreesWithOpenssl(t, der, s, 'client');
});

// ---- captured sessions of every Node version ------------------------------

const fixtureFiles = readSessionFixtures();

t.test('session fixtures exist for Node 20, 22, 24 and 26', async (t) => {
  t.same([...fixtureFiles.keys()], [20, 22, 24, 26]);
});

for (const [major, file] of fixtureFiles) {
  t.test(`Node ${major} (${file.node}, OpenSSL ${file.openssl}) server sessions parse to what was set up`, async (t) => {
    t.equal(file.sessions.length, 9, 'TLS 1.2 x3, TLS 1.3 x3 with two tickets each');
    for (const f of file.sessions) {
      const der = Buffer.from(f.der, 'hex');
      const e = f.expect;
      const s = facts(t, parseSessionDer(der));
      const label = `node${major} ${f.name}`;
      t.equal(s.version, 1, `${label}: version`);
      t.equal(s.sessionId.toString('hex'), e.sessionId, `${label}: the id newSession reported`);
      t.equal(s.sidCtx.toString('hex'), e.sidCtx, `${label}: sid_ctx (${e.sidCtxForm})`);
      t.equal(s.protocolVersion, e.protocolVersion, `${label}: protocol`);
      t.equal(s.cipherId, e.cipherId, `${label}: cipher`);
      t.ok(s.time >= e.timeMin && s.time <= e.timeMax, `${label}: time ${s.time} in [${e.timeMin}, ${e.timeMax}]`);
      t.equal(s.timeout, e.timeout, `${label}: timeout`);
      t.equal(s.hostname ?? null, e.hostname, `${label}: hostname`);
      t.equal(s.hasPeerCert, e.hasPeerCert, `${label}: peer certificate`);
      t.equal(s.verifyResult, e.verifyResult, `${label}: verify result`);
      t.equal(s.alpn?.toString('latin1') ?? null, e.alpn, `${label}: ALPN`);
      t.equal(s.kexGroup, e.kexGroup, `${label}: kex_group`);
      t.equal(s.hasTicket, e.hasTicket, `${label}: no ticket in a server session`);
      t.ok(s.hasMasterKey, `${label}: master key`);
      t.same(s.unknownFields, [], `${label}: no field beyond [20]`);
      agreesWithOpenssl(t, der, s, label);
    }
  });
}

t.test('the measured sid_ctx forms: configured on 20 and 26, SNI-bound sha256 on 22 and 24', async (t) => {
  const forms = [...fixtureFiles].map(([major, f]) => [major, [...new Set(f.sessions.map((s) => s.expect.sidCtxForm))]]);
  t.same(forms, [
    [20, ['configured']],
    [22, ['sni-bound']],
    [24, ['sni-bound']],
    [26, ['configured']],
  ]);
  // Without SNI the bound context is sha256(context + '\0'), and [6] is absent.
  for (const major of [22, 24]) {
    const noSni = fixtureFiles.get(major)!.sessions.find((s) => s.name === 'tls12-no-sni #0')!;
    t.equal(noSni.expect.sidCtx, sniBoundSidCtx('fixture', undefined).toString('hex'), `node${major}: no SNI`);
    t.equal(noSni.expect.hostname, null, `node${major}: no hostname without SNI`);
  }
});

t.test('the live sessions of this Node all have one sid_ctx form', async (t) => {
  t.equal(formsSeen.size, 1, [...formsSeen].join(', '));
});

t.test('an openssl s_client session with a hostname (hex fixture)', async (t) => {
  const f = readHexFixture(join(__dirname, 'fixtures', 'protocol', 'session-sclient-tls12.hex'));
  const s = facts(t, parseSessionDer(f.bytes));
  t.equal(s.hostname, 'a.example');
  t.equal(s.protocolVersion, 0x0303);
  t.equal(s.cipherId, 0xc02c);
  t.equal(s.ticketLifetimeHint, 7200);
  t.equal(s.hasTicket, true);
  t.equal(s.hasPeerCert, true);
  t.equal(s.flags, 1);
  t.equal(s.sidCtx.length, 0, 'present but empty');
  t.equal(s.sessionId.toString('hex'), 'e34690bc1d76947309d61cebf84bd4aea42fee76483cedd46752b2c365a77af7');
  agreesWithOpenssl(t, f.bytes, s, 's_client');
});

t.test('every truncated prefix of a real session is rejected', async (t) => {
  const all = allRealDers();
  for (const [name, der] of all) {
    const accepted: number[] = [];
    for (let i = 0; i < der.length; i++) if (parseSessionDer(der.subarray(0, i)).ok) accepted.push(i);
    t.same(accepted, [], `${name}: ${der.length} prefixes`);
  }
});

t.test('a trailing byte is rejected', async (t) => {
  for (const [name, der] of allRealDers()) {
    const r = parseSessionDer(Buffer.concat([der, Buffer.from([0])]));
    t.equal(r.ok, false, name);
  }
});

t.test('input that is not a Buffer is an error, not a throw', async (t) => {
  for (const input of [undefined, null, '3000', 7, {}, new Uint8Array([0x30, 0])]) {
    t.equal(parseSessionDer(input as unknown as Buffer).ok, false, String(input));
  }
});

t.test('results never alias the input', async (t) => {
  const der = Buffer.from(sessions.tls12!.ders[0]!);
  const s = facts(t, parseSessionDer(der));
  const id = Buffer.from(s.sessionId);
  der.fill(0);
  t.same(s.sessionId, id);
});

t.test('reject fixtures', async (t) => {
  const fixtures = readHexFixtures('session-der-reject');
  t.ok(fixtures.length >= 25, `${fixtures.length} fixtures`);
  for (const f of fixtures) {
    const r = parseSessionDer(f.bytes);
    t.equal(r.ok, false, `${f.name}: ${f.what}`);
    if (!r.ok) t.ok(r.reason.includes(f.expect), `${f.name}: "${r.reason}" includes "${f.expect}"`);
  }
});

function allRealDers(): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const [name, s] of Object.entries(sessions)) {
    s.ders.forEach((d, i) => out.push([`${name} server #${i}`, d]));
    s.clientSessions.forEach((d, i) => out.push([`${name} client #${i}`, clientSessionDer(d).der]));
  }
  for (const [major, file] of fixtureFiles) {
    for (const f of file.sessions) out.push([`node${major} ${f.name}`, Buffer.from(f.der, 'hex')]);
  }
  out.push(['s_client fixture', readHexFixture(join(__dirname, 'fixtures', 'protocol', 'session-sclient-tls12.hex')).bytes]);
  return out;
}

// ---- property tests -------------------------------------------------------

t.test('random bytes never throw', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => typeof parseSessionDer(Buffer.from(bytes)).ok === 'boolean'),
      { numRuns: 5000 },
    ),
  );
  // Random bytes inside a valid outer SEQUENCE reach the field parser.
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const inner = Buffer.from(bytes);
        const der = Buffer.concat([Buffer.from([0x30, 0x82, inner.length >> 8, inner.length & 0xff]), inner]);
        return typeof parseSessionDer(der).ok === 'boolean';
      }),
      { numRuns: 5000 },
    ),
  );
});

t.test('mutated real sessions never throw, and what they accept is in range', async (t) => {
  const samples = allRealDers().map(([, d]) => d);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), op: fc.integer({ min: 0, max: 2 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (pick, mutations) => {
          let der = Buffer.from(samples[pick % samples.length]!);
          for (const m of mutations) {
            const at = m.at % der.length;
            if (m.op === 0) der[at] = m.value;
            else if (m.op === 1) der = Buffer.concat([der.subarray(0, at), der.subarray(at + 1)]);
            else der = Buffer.concat([der.subarray(0, at), Buffer.from([m.value]), der.subarray(at)]);
          }
          const r = parseSessionDer(der);
          if (!r.ok) return typeof r.reason === 'string' && r.reason.length > 0;
          const s = r.session;
          return (
            s.version === 1 &&
            s.sessionId.length <= 32 &&
            s.sidCtx.length <= 32 &&
            s.cipherId >= 0 &&
            s.cipherId <= 0xffff &&
            Number.isSafeInteger(s.time) &&
            Number.isSafeInteger(s.timeout)
          );
        },
      ),
      { numRuns: 5000 },
    ),
  );
});

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const uint64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

/** One DER value as an EXPLICIT field would wrap it. */
const innerValue = fc.oneof(
  bytes(40).map(octets),
  int64.map(integer),
  fc.constant(Buffer.from([0x05, 0x00])), // NULL
  bytes(20).map((b) => tlv(0x30, octets(b))),
);

/**
 * Fields after [20] as a newer OpenSSL might add them: increasing tag numbers
 * (one-byte form up to 30, high-tag-number form beyond), EXPLICIT (one or more
 * values inside) or IMPLICIT (any octets).
 */
const unknownFieldsArb = fc
  .uniqueArray(fc.oneof(fc.integer({ min: 21, max: 40 }), fc.integer({ min: 21, max: (1 << 21) - 1 })), {
    minLength: 1,
    maxLength: 4,
  })
  .chain((ns) =>
    fc.tuple(
      ...[...ns]
        .sort((a, b) => a - b)
        .map((n) =>
          fc.oneof(
            fc.array(innerValue, { minLength: 1, maxLength: 3 }).map((vs) => ({ n, constructed: true, contents: Buffer.concat(vs) })),
            bytes(40).map((contents) => ({ n, constructed: false, contents })),
          ),
        ),
    ),
  );

/** A certificate-shaped SEQUENCE: only its framing matters to the parser. */
const fakeCert = bytes(300).map((b) => encodeSession({ ...sampleSession(), masterKey: b }));

const sessionArb: fc.Arbitrary<SessionSpec> = fc.record(
  {
    version: fc.constant(1),
    sslVersion: fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0xfefd, 0x0100),
    cipher: fc.uint8Array({ minLength: 2, maxLength: 2 }).map((b) => Buffer.from(b)),
    sessionId: bytes(32),
    masterKey: bytes(512),
    keyArg: opt(bytes(8)),
    time: opt(int64),
    timeout: opt(int64),
    peer: opt(fakeCert),
    sidCtx: opt(bytes(32)),
    verifyResult: opt(int32),
    hostname: opt(fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('latin1'))),
    pskIdentityHint: opt(bytes(20)),
    pskIdentity: opt(bytes(20)),
    ticketLifetimeHint: opt(uint64),
    ticket: opt(bytes(300)),
    compMethod: opt(fc.uint8Array({ minLength: 1, maxLength: 1 }).map((b) => Buffer.from(b))),
    srpUsername: opt(bytes(20)),
    flags: opt(uint64),
    tickAgeAdd: opt(uint32),
    maxEarlyData: opt(uint32),
    alpn: opt(bytes(20)),
    maxFragLenMode: opt(uint32),
    ticketAppdata: opt(bytes(20)),
    kexGroup: opt(uint32),
    peerRpk: opt(bytes(100)),
    extra: opt(unknownFieldsArb),
  },
  { requiredKeys: ['version', 'sslVersion', 'cipher', 'sessionId', 'masterKey'] },
);

/** What the parser must report for a spec. */
function expectedFacts(s: SessionSpec): SessionFacts {
  return {
    version: s.version,
    protocolVersion: s.sslVersion,
    cipherId: s.cipher.readUInt16BE(0),
    sessionId: s.sessionId,
    hasMasterKey: s.masterKey.length > 0,
    time: s.time ?? 0,
    timeout: s.timeout ?? 0,
    hasPeerCert: s.peer !== undefined,
    peerCert: s.peer,
    sidCtx: s.sidCtx ?? Buffer.alloc(0),
    verifyResult: s.verifyResult ?? 0,
    hostname: s.hostname,
    ticketLifetimeHint: s.ticketLifetimeHint,
    hasTicket: s.ticket !== undefined,
    flags: s.flags ?? 0,
    maxEarlyData: s.maxEarlyData,
    alpn: s.alpn,
    kexGroup: s.kexGroup,
    unknownFields: (s.extra ?? []).map((f) => f.n),
  };
}

t.test('round trip: generated sessions encode and parse back to their facts', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(sessionArb, (spec) => {
        const der = encodeSession(spec);
        const r = parseSessionDer(der);
        if (!r.ok) throw new Error(`rejected: ${r.reason}`);
        if (!isDeepStrictEqual(r.session, expectedFacts(spec))) {
          throw new Error(`mismatch: ${JSON.stringify(r.session)} vs ${JSON.stringify(expectedFacts(spec))}`);
        }
        // Every truncated prefix is rejected (sampled).
        for (const i of [0, 1, 2, 3, 4, Math.floor(der.length / 2), der.length - 1]) {
          if (i < der.length && parseSessionDer(der.subarray(0, i)).ok) return false;
        }
        return true;
      }),
      { numRuns: 1000 },
    ),
  );
});

t.test('OpenSSL itself reads sessions from the test encoder', async (t) => {
  // Cross-checks the encoder the round trip relies on against d2i_SSL_SESSION.
  const samples: SessionSpec[] = [
    sampleSession(),
    sampleSession({ sslVersion: 0x0304, cipher: Buffer.from([0x13, 0x01]), time: 1_800_000_000, timeout: 7200, alpn: Buffer.from('h2') }),
    sampleSession({ verifyResult: 20, ticketLifetimeHint: 300, ticket: Buffer.alloc(100, 1), maxEarlyData: 16384 }),
  ];
  for (const spec of samples) {
    const der = encodeSession(spec);
    const s = facts(t, parseSessionDer(der));
    agreesWithOpenssl(t, der, s, `encoded ${spec.sslVersion.toString(16)}`);
  }
});

// ---- fields a newer OpenSSL may add ---------------------------------------

/** A real session with `fields` appended inside its SEQUENCE. */
function withFields(der: Buffer, ...fields: Buffer[]): Buffer {
  const lengthBytes = der[1]! < 0x80 ? 1 : 1 + (der[1]! & 0x7f);
  return sequence(der.subarray(1 + lengthBytes), ...fields);
}

t.test('fields after [20] are skipped: every real session with new fields gives the same facts', async (t) => {
  const newFields: [string, Buffer[], number[]][] = [
    ['[21] EXPLICIT INTEGER', [explicit(21, integer(7))], [21]],
    ['[22] IMPLICIT octets', [contextField(22, false, Buffer.from('future'))], [22]],
    ['[30] EXPLICIT SEQUENCE', [explicit(30, sequence(integer(1), octets(Buffer.alloc(3))))], [30]],
    ['[31] high tag number', [contextField(31, true, octets(Buffer.alloc(100, 1)))], [31]],
    ['[200] EXPLICIT, two values', [contextField(200, true, Buffer.concat([integer(1), integer(2)]))], [200]],
    ['[21], [25], [16383]', [explicit(21, integer(1)), contextField(25, false, Buffer.alloc(0)), contextField(16383, true, integer(-1))], [21, 25, 16383]],
    ['[2097151] (2^21-1)', [contextField(2 ** 21 - 1, false, Buffer.from([1]))], [2 ** 21 - 1]],
  ];
  for (const [name, der] of allRealDers()) {
    const plain = facts(t, parseSessionDer(der));
    for (const [what, fields, numbers] of newFields) {
      const r = parseSessionDer(withFields(der, ...fields));
      const s = facts(t, r);
      t.same(s.unknownFields, numbers, `${name} + ${what}: reported`);
      t.ok(isDeepStrictEqual({ ...s, unknownFields: [] }, { ...plain, unknownFields: [] }), `${name} + ${what}: same facts`);
    }
  }
});

t.test('a real session with a new field: every truncation and a trailing byte are still rejected', async (t) => {
  const der = withFields(Buffer.from(fixtureFiles.get(24)!.sessions[0]!.der, 'hex'), contextField(300, true, octets(Buffer.alloc(200, 2))));
  t.ok(parseSessionDer(der).ok);
  const accepted: number[] = [];
  for (let i = 0; i < der.length; i++) if (parseSessionDer(der.subarray(0, i)).ok) accepted.push(i);
  t.same(accepted, [], `${der.length} prefixes`);
  t.equal(parseSessionDer(Buffer.concat([der, Buffer.from([0])])).ok, false, 'trailing byte');
});

t.test('property: generated unknown fields never hide a malformed field after them', async (t) => {
  // A session with unknown fields, then a known field out of order: always rejected.
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(sessionArb, unknownFieldsArb, (spec, extra) => {
        const der = encodeSession({ ...spec, extra });
        const bad = withFields(der, explicit(19, integer(0x1d)));
        const r = parseSessionDer(bad);
        return !r.ok && r.reason.includes('out of order');
      }),
      { numRuns: 500 },
    ),
  );
});
