import t from 'tap';
import fc from 'fast-check';
import { constants } from 'node:crypto';
import {
  parseClientHelloBody,
  parseClientHelloRecords,
  type ClientHello,
  type ClientHelloResult,
} from '../lib/protocol/client-hello.js';
import { captureHello, nodeClient, opensslClient, realSessions } from './fixtures/protocol/capture.js';
import {
  ext,
  handshake,
  helloBody,
  record,
  records,
  sampleSpec,
  type Extension,
  type HelloSpec,
} from './fixtures/protocol/hello-builder.js';
import { readHexFixtures } from './fixtures/protocol/hex.js';

function complete(t: { fail(message: string): unknown }, result: ClientHelloResult): ClientHello {
  if (result.status !== 'complete') {
    t.fail(`expected a complete ClientHello, got ${JSON.stringify(result)}`);
    throw new Error('not complete');
  }
  return result.hello;
}

/** The status of a result, and the reason for errors, for short assertions. */
const statusOf = (r: ClientHelloResult) => (r.status === 'error' ? `error: ${r.reason}` : r.status);

/** The handshake message inside single- or multi-record hello bytes. */
function messageOf(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; ) {
    const len = data.readUInt16BE(off + 3);
    parts.push(data.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return Buffer.concat(parts);
}

// Real ClientHellos, captured once from real clients on loopback.
const real: Record<string, Buffer> = {};
const ids: Record<string, Buffer[]> = {};

t.before(async () => {
  real.node13 = await captureHello(nodeClient({ servername: 'A.Example', ALPNProtocols: ['h2', 'http/1.1'] }));
  real.nodeNoSni = await captureHello(nodeClient({}));
  real.node12NoTicket = await captureHello(
    nodeClient({ servername: 'localhost', maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET }),
  );

  // TLS 1.2 with session ids (server sets SSL_OP_NO_TICKET): the client resumes by id.
  const s12 = await realSessions({ secureOptions: constants.SSL_OP_NO_TICKET }, { servername: 'localhost', maxVersion: 'TLSv1.2' });
  ids.tls12 = s12.ids;
  real.node12ResumeId = await captureHello(nodeClient({ servername: 'localhost', session: s12.clientSessions.at(-1)! }));

  // TLS 1.2 with a stateless ticket: the client sends it in session_ticket.
  const s12t = await realSessions({}, { servername: 'localhost', maxVersion: 'TLSv1.2' });
  ids.tls12TicketSession = s12t.clientSessions;
  real.node12ResumeTicket = await captureHello(
    nodeClient({ servername: 'localhost', maxVersion: 'TLSv1.2', session: s12t.clientSessions.at(-1)! }),
  );

  // TLS 1.3 with stateful tickets: each ticket's PSK identity is a newSession id.
  const s13 = await realSessions({ secureOptions: constants.SSL_OP_NO_TICKET, ALPNProtocols: ['h2'] }, { servername: 'localhost', ALPNProtocols: ['h2'] });
  ids.tls13 = s13.ids;
  ids.tls13ClientSessions = s13.clientSessions;
  for (const [i, session] of s13.clientSessions.entries()) {
    real[`node13ResumePsk${i}`] = await captureHello(nodeClient({ servername: 'localhost', ALPNProtocols: ['h2'], session }));
  }

  real.openssl = await captureHello(opensslClient(['-servername', 'b.example', '-alpn', 'h2,http/1.1']));
  real.openssl12 = await captureHello(opensslClient(['-servername', 'b.example', '-tls1_2', '-no_ticket']));
});

t.test('Node TLS 1.3 ClientHello with SNI and ALPN', async (t) => {
  const result = parseClientHelloRecords(real.node13!);
  const hello = complete(t, result);
  t.equal(result.status === 'complete' && result.bytesConsumed, real.node13!.length, 'consumes exactly its records');
  t.equal(hello.legacyVersion, 0x0303);
  t.equal(hello.random.length, 32);
  t.equal(hello.sessionId.length, 32, 'middlebox-compatibility legacy_session_id');
  t.equal(hello.serverName, 'a.example', 'SNI is lower-cased');
  t.same(hello.alpn, ['h2', 'http/1.1']);
  t.ok(hello.supportedVersions.includes(0x0304) && hello.supportedVersions.includes(0x0303));
  t.ok(hello.cipherSuites.includes(0x1301) && hello.cipherSuites.includes(0x1302));
  t.same(hello.sessionTicket, Buffer.alloc(0), 'session_ticket present and empty');
  t.same(hello.pskIdentities, []);
  t.same(hello.pskKeyExchangeModes, [1], 'psk_dhe_ke');
  for (const type of [0, 16, 35, 43, 45, 51]) t.ok(hello.extensionTypes.includes(type), `extension ${type} listed`);
});

t.test('a result never aliases the input buffer', async (t) => {
  const copy = Buffer.from(real.node13!);
  const hello = complete(t, parseClientHelloRecords(copy));
  const sessionId = Buffer.from(hello.sessionId);
  const random = Buffer.from(hello.random);
  copy.fill(0);
  t.same(hello.sessionId, sessionId);
  t.same(hello.random, random);
});

t.test('a Node client connecting to an IP address without servername sends no SNI', async (t) => {
  const hello = complete(t, parseClientHelloRecords(real.nodeNoSni!));
  t.equal(hello.serverName, undefined);
  t.notOk(hello.extensionTypes.includes(0));
  t.same(hello.alpn, []);
});

t.test('TLS 1.2-only client with tickets disabled sends neither session_ticket nor supported_versions', async (t) => {
  const hello = complete(t, parseClientHelloRecords(real.node12NoTicket!));
  t.equal(hello.sessionTicket, undefined);
  t.notOk(hello.extensionTypes.includes(35));
  t.same(hello.supportedVersions, []);
  t.equal(hello.serverName, 'localhost');
  t.equal(hello.sessionId.length, 0, 'a fresh TLS 1.2 client sends an empty session id');
});

t.test('TLS 1.2 resuming client: legacy_session_id is the id newSession reported', async (t) => {
  t.equal(ids.tls12!.length, 1, 'one TLS 1.2 session');
  const hello = complete(t, parseClientHelloRecords(real.node12ResumeId!));
  t.same(hello.sessionId, ids.tls12![0]);
  t.same(hello.pskIdentities, []);
});

t.test('TLS 1.2 client resuming a ticket sends the ticket it was given', async (t) => {
  const hello = complete(t, parseClientHelloRecords(real.node12ResumeTicket!));
  t.ok(hello.sessionTicket && hello.sessionTicket.length > 0, 'non-empty session_ticket');
  // The client stores the ticket in its session ([10] of the DER).
  t.ok(ids.tls12TicketSession!.at(-1)!.includes(hello.sessionTicket!), 'the ticket from the client session');
});

t.test('TLS 1.3 resumption with stateful tickets: the PSK identity is the id newSession reported', async (t) => {
  t.equal(ids.tls13!.length, 2, 'two tickets after a full handshake');
  t.equal(ids.tls13ClientSessions!.length, 2);
  for (let i = 0; i < ids.tls13!.length; i++) {
    const hello = complete(t, parseClientHelloRecords(real[`node13ResumePsk${i}`]!));
    t.equal(hello.pskIdentities.length, 1);
    t.same(hello.pskIdentities[0], ids.tls13![i], `ticket ${i}: identity equals newSession id ${i}`);
    t.notSame(hello.sessionId, ids.tls13![i], 'legacy_session_id is not the handle in TLS 1.3');
    t.equal(hello.extensionTypes.at(-1), 41, 'pre_shared_key is last');
    t.ok(hello.pskKeyExchangeModes.includes(1));
    t.same(hello.alpn, ['h2']);
  }
});

t.test('openssl s_client ClientHellos', async (t) => {
  const hello = complete(t, parseClientHelloRecords(real.openssl!));
  t.equal(hello.serverName, 'b.example');
  t.same(hello.alpn, ['h2', 'http/1.1']);
  t.ok(hello.supportedVersions.includes(0x0304));

  const hello12 = complete(t, parseClientHelloRecords(real.openssl12!));
  t.equal(hello12.serverName, 'b.example');
  t.equal(hello12.sessionTicket, undefined, '-no_ticket');
  t.same(hello12.supportedVersions, []);
});

t.test('every truncated prefix of a real ClientHello is incomplete', async (t) => {
  for (const [name, data] of Object.entries(real)) {
    const bad: string[] = [];
    for (let i = 0; i < data.length; i++) {
      const s = statusOf(parseClientHelloRecords(data.subarray(0, i)));
      if (s !== 'incomplete') bad.push(`${i}: ${s}`);
    }
    t.same(bad, [], `${name}: ${data.length} prefixes`);
    t.equal(parseClientHelloRecords(data).status, 'complete', `${name}: whole`);
  }
});

t.test('a real ClientHello re-recorded into 2 records at every cut parses the same', async (t) => {
  for (const [name, data] of Object.entries(real)) {
    const message = messageOf(data);
    const expected = complete(t, parseClientHelloRecords(data));
    let mismatches = 0;
    for (let cut = 1; cut < message.length; cut++) {
      const split = records(message, [cut]);
      const r = parseClientHelloRecords(split);
      if (r.status !== 'complete' || r.bytesConsumed !== split.length || !sameHello(r.hello, expected)) mismatches++;
    }
    t.equal(mismatches, 0, `${name}: ${message.length - 1} cuts, including inside the handshake header`);
  }
});

t.test('a real ClientHello re-recorded into 3 records at every pair of cuts parses the same', async (t) => {
  const data = real.node13ResumePsk0!;
  const message = messageOf(data);
  const expected = complete(t, parseClientHelloRecords(data));
  let mismatches = 0;
  let count = 0;
  for (let a = 1; a < message.length - 1; a++) {
    for (let b = a + 1; b < message.length; b++) {
      const split = records(message, [a, b]);
      const r = parseClientHelloRecords(split);
      count++;
      if (r.status !== 'complete' || r.bytesConsumed !== split.length || !sameHello(r.hello, expected)) mismatches++;
    }
  }
  t.equal(mismatches, 0, `${count} splits`);
});

t.test('streamed in 2 and 3 chunks: incomplete until the last byte, then the same hello', async (t) => {
  const data = real.openssl!;
  const expected = complete(t, parseClientHelloRecords(data));
  // A caller appends each read to what it has and parses again.
  const feed = (cuts: number[]) => {
    const statuses: string[] = [];
    let last: ClientHelloResult | undefined;
    for (const end of [...cuts, data.length]) {
      last = parseClientHelloRecords(data.subarray(0, end));
      statuses.push(last.status);
    }
    return { statuses, last: last! };
  };
  let bad = 0;
  for (let a = 1; a < data.length; a++) {
    const two = feed([a]);
    if (two.statuses.join() !== 'incomplete,complete' || !sameHello(complete(t, two.last), expected)) bad++;
    const b = Math.min(data.length - 1, a + 1 + ((a * 7919) % (data.length - a)));
    if (b > a) {
      const three = feed([a, b]);
      if (three.statuses.join() !== 'incomplete,incomplete,complete') bad++;
    }
  }
  t.equal(bad, 0);
});

t.test('bytes after the ClientHello records are left for OpenSSL', async (t) => {
  const data = real.node13!;
  const ccs = record(Buffer.from([1]), 20);
  const early = record(Buffer.alloc(40, 0x99), 23);
  const r = parseClientHelloRecords(Buffer.concat([data, ccs, early]));
  t.equal(r.status, 'complete');
  t.equal(r.status === 'complete' && r.bytesConsumed, data.length);
});

t.test('any 0x03xx record version is accepted', async (t) => {
  const message = messageOf(real.node13!);
  for (const version of [0x0300, 0x0301, 0x0303, 0x0304]) {
    t.equal(parseClientHelloRecords(records(message, [], version)).status, 'complete', `0x0${version.toString(16)}`);
  }
});

t.test('maxBytes bounds the record bytes of the ClientHello', async (t) => {
  const data = real.node13!;
  t.equal(parseClientHelloRecords(data, data.length).status, 'complete', 'exactly at the limit');
  t.match(statusOf(parseClientHelloRecords(data, data.length - 1)), /larger than maxBytes/, 'one byte over');
  t.match(
    statusOf(parseClientHelloRecords(data.subarray(0, 9), data.length - 1)),
    /larger than maxBytes/,
    'known from the headers alone',
  );
  // A 20 KB hello needs two records: fits the default 64 KiB, not 16 KiB.
  const big = handshake(helloBody(sampleSpec({ extensions: [ext.raw(21, Buffer.alloc(20000))] })));
  const bigRecords = records(big, [16384]);
  t.equal(parseClientHelloRecords(bigRecords).status, 'complete');
  t.match(statusOf(parseClientHelloRecords(bigRecords.subarray(0, 100), 16384)), /larger than maxBytes/);
  t.match(statusOf(parseClientHelloRecords(Buffer.alloc(0), 0)), /larger than maxBytes/);
  t.match(statusOf(parseClientHelloRecords(data, -1)), /maxBytes must be/);
  t.match(statusOf(parseClientHelloRecords(data, Number.NaN)), /maxBytes must be/);
});

t.test('input that is not a Buffer is an error, not a throw', async (t) => {
  for (const input of [undefined, null, 'hello', 42, {}, [22, 3, 1], new Uint8Array([22, 3, 1])]) {
    const r = parseClientHelloRecords(input as unknown as Buffer);
    t.equal(r.status, 'error', String(input));
    t.equal(parseClientHelloBody(input as unknown as Buffer).ok, false);
  }
});

t.test('a TLS 1.2 ClientHello without an extensions block', async (t) => {
  const body = helloBody(sampleSpec({ extensions: undefined, sessionId: Buffer.alloc(0) }));
  const r = parseClientHelloBody(body);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.hello.extensionTypes, []);
  t.equal(r.hello.serverName, undefined);
  t.equal(r.hello.sessionTicket, undefined);
  t.same(r.hello.cipherSuites, [0x1301, 0x1302, 0xc02b]);
  t.ok(parseClientHelloBody(helloBody(sampleSpec({ extensions: [] }))).ok, 'an empty extensions block too');
});

t.test('duplicate extensions are found among many', async (t) => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => ext.raw(1000 + i));
  const parse = (extensions: Extension[]) => statusOf(parseClientHelloRecords(records(handshake(helloBody(sampleSpec({ extensions })))), 1 << 20));
  t.equal(parse(many(40)), 'complete', '40 distinct');
  t.equal(parse([...many(40), ext.raw(1005)]), 'error: duplicate extension 1005', 'a duplicate after 40');
  t.equal(parse([...many(10), ext.raw(1005)]), 'error: duplicate extension 1005', 'a duplicate after 10');
  const r = parseClientHelloBody(helloBody(sampleSpec({ extensions: many(16000) })));
  t.equal(r.ok && r.hello.extensionTypes.length, 16000, '16000 distinct extensions in one hello');
});

t.test('reject fixtures', async (t) => {
  const fixtures = readHexFixtures('client-hello-reject');
  t.ok(fixtures.length >= 25, `${fixtures.length} fixtures`);
  for (const f of fixtures) {
    const r = parseClientHelloRecords(f.bytes);
    t.equal(r.status, 'error', `${f.name}: ${f.what}`);
    if (r.status === 'error') t.ok(r.reason.includes(f.expect), `${f.name}: "${r.reason}" includes "${f.expect}"`);
  }
});

// ---- property tests -------------------------------------------------------

const validResult = (r: ClientHelloResult, input: Buffer) =>
  (r.status === 'incomplete' && Object.keys(r).length === 1) ||
  (r.status === 'error' && typeof r.reason === 'string' && r.reason.length > 0) ||
  (r.status === 'complete' && r.bytesConsumed > 0 && r.bytesConsumed <= input.length);

t.test('random bytes never throw', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 70000 }), (bytes, maxBytes) => {
        const input = Buffer.from(bytes);
        return validResult(parseClientHelloRecords(input, maxBytes), input) && typeof parseClientHelloBody(input).ok === 'boolean';
      }),
      { numRuns: 5000 },
    ),
  );
  // Random bytes behind a valid record and handshake header reach the body parser.
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (bytes) => {
        const input = records(handshake(Buffer.from(bytes)));
        return validResult(parseClientHelloRecords(input), input);
      }),
      { numRuns: 5000 },
    ),
  );
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(data: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(data);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'set') out[at] = m.value;
    else if (m.kind === 'flip') out[at] = out[at]! ^ (1 << m.bit);
    else if (m.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
  }
  return out;
}

t.test('mutated real ClientHellos never throw', async (t) => {
  const samples = Object.values(real);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
        const input = mutate(samples[pick % samples.length]!, mutations);
        return validResult(parseClientHelloRecords(input), input);
      }),
      { numRuns: 5000 },
    ),
  );
});

// Generated ClientHellos: encode with the test builder, cut into random records,
// parse, and compare with what was encoded.
const hostLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const helloArb = fc
  .record({
    legacyVersion: fc.integer({ min: 0x0300, max: 0x03ff }),
    random: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    sessionId: fc.uint8Array({ maxLength: 32 }),
    cipherSuites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 40 }),
    compressionMethods: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }),
    hasExtensions: fc.boolean(),
    serverName: fc.option(fc.array(hostLabel, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'))),
    upper: fc.boolean(),
    alpn: fc.option(fc.array(fc.stringMatching(/^[\x21-\x7e]{1,12}$/), { minLength: 1, maxLength: 4 })),
    sessionTicket: fc.option(fc.uint8Array({ maxLength: 200 })),
    supportedVersions: fc.option(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 })),
    pskModes: fc.option(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 })),
    psk: fc.option(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 4 })),
    others: fc.uniqueArray(
      fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 40 }) }),
      { selector: (e) => e.type, maxLength: 8 },
    ),
    order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
  })
  .filter((h) => h.serverName === null || h.serverName.length <= 255);

const KNOWN = new Set([0, 16, 35, 41, 43, 45]);

function specOf(h: typeof helloArb extends fc.Arbitrary<infer H> ? H : never): { spec: HelloSpec; expected: ClientHello } {
  const exts: Extension[] = [];
  const expected: ClientHello = {
    legacyVersion: h.legacyVersion,
    random: Buffer.from(h.random),
    sessionId: Buffer.from(h.sessionId),
    cipherSuites: h.cipherSuites,
    serverName: undefined,
    alpn: [],
    supportedVersions: [],
    sessionTicket: undefined,
    pskIdentities: [],
    pskKeyExchangeModes: [],
    extensionTypes: [],
  };
  if (h.hasExtensions) {
    if (h.serverName !== null) {
      exts.push(ext.serverName(h.upper ? h.serverName.toUpperCase() : h.serverName));
      expected.serverName = h.serverName;
    }
    if (h.alpn !== null) {
      exts.push(ext.alpn(h.alpn));
      expected.alpn = h.alpn;
    }
    if (h.sessionTicket !== null) {
      exts.push(ext.sessionTicket(Buffer.from(h.sessionTicket)));
      expected.sessionTicket = Buffer.from(h.sessionTicket);
    }
    if (h.supportedVersions !== null) {
      exts.push(ext.supportedVersions(h.supportedVersions));
      expected.supportedVersions = h.supportedVersions;
    }
    if (h.pskModes !== null) {
      exts.push(ext.pskKeyExchangeModes(h.pskModes));
      expected.pskKeyExchangeModes = h.pskModes;
    }
    for (const o of h.others) if (!KNOWN.has(o.type)) exts.push(ext.raw(o.type, Buffer.from(o.data)));
    // Shuffle, then pre_shared_key last as RFC 8446 requires.
    for (let i = exts.length - 1; i > 0; i--) {
      const j = h.order[i % h.order.length]! % (i + 1);
      [exts[i], exts[j]] = [exts[j]!, exts[i]!];
    }
    if (h.psk !== null) {
      exts.push(ext.preSharedKey(h.psk.map((p) => Buffer.from(p))));
      expected.pskIdentities = h.psk.map((p) => Buffer.from(p));
    }
    expected.extensionTypes = exts.map((e) => e.type);
  }
  const spec: HelloSpec = {
    legacyVersion: h.legacyVersion,
    random: Buffer.from(h.random),
    sessionId: Buffer.from(h.sessionId),
    cipherSuites: h.cipherSuites,
    compressionMethods: h.compressionMethods,
    extensions: h.hasExtensions ? exts : undefined,
  };
  return { spec, expected };
}

t.test('round trip: generated ClientHellos in random records parse to what was encoded', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(helloArb, fc.array(fc.nat(), { maxLength: 5 }), fc.integer({ min: 0x0300, max: 0x0304 }), (h, rawCuts, version) => {
        const { spec, expected } = specOf(h);
        const message = handshake(helloBody(spec));
        const cuts = [...new Set(rawCuts.map((c) => 1 + (c % (message.length - 1))))].sort((a, b) => a - b);
        const data = records(message, cuts, version);
        const r = parseClientHelloRecords(data);
        if (r.status !== 'complete') throw new Error(`expected complete, got ${statusOf(r)}`);
        if (r.bytesConsumed !== data.length) return false;
        if (!sameHello(r.hello, expected)) throw new Error(`mismatch:\n${JSON.stringify(r.hello)}\n${JSON.stringify(expected)}`);
        // And every prefix of it is incomplete (sampled: a few per case).
        for (const i of [0, 1, 4, 5, 6, 9, Math.floor(data.length / 2), data.length - 1]) {
          if (i < data.length && parseClientHelloRecords(data.subarray(0, i)).status !== 'incomplete') return false;
        }
        return true;
      }),
      { numRuns: 1500 },
    ),
  );
});

function sameHello(a: ClientHello, b: ClientHello): boolean {
  const norm = (h: ClientHello) =>
    JSON.stringify({
      ...h,
      random: h.random.toString('hex'),
      sessionId: h.sessionId.toString('hex'),
      sessionTicket: h.sessionTicket?.toString('hex') ?? null,
      pskIdentities: h.pskIdentities.map((p) => p.toString('hex')),
    });
  return norm(a) === norm(b);
}
