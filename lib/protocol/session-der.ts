/**
 * A pure parser for OpenSSL's serialized SSL_SESSION: the DER that
 * `i2d_SSL_SESSION` writes and that Node hands to `newSession` (server) and
 * `'session'` (client). It reads the facts the cache policy needs (id, context,
 * times, version, cipher, peer-certificate presence) without OpenSSL and without
 * exposing the master secret.
 *
 * Strict DER, as OpenSSL writes it: definite minimal lengths, minimal INTEGERs,
 * fields in tag order, nothing after the SEQUENCE. Anything else is rejected
 * with a reason; nothing throws. It runs on every `newSession`, so it allocates
 * per field (a small reader object each, and copies of the id, context and
 * ALPN), never per byte, and builds no strings unless it fails.
 *
 * Forward compatible: a context-tagged field after the last one this parser
 * knows ([20]) is skipped, not rejected, so that a session written by a newer
 * OpenSSL still gives its facts. It must still be well-formed DER in tag order;
 * its number is reported in `unknownFields`. (OpenSSL's own d2i_SSL_SESSION
 * rejects fields it does not know; OpenSSL 3.5 writes none beyond [19].)
 *
 * Known limitations:
 * - INTEGERs of 64-bit fields beyond 2^53-1 are rejected: JavaScript numbers
 *   cannot hold them exactly, and no real session has one.
 * - The peer certificate is checked to be one DER SEQUENCE, not parsed.
 * - An unknown field is checked for framing only (one level deep).
 *
 * Security: the DER holds the master secret (TLS 1.3: the resumption PSK) in
 * clear. This parser reports only whether it is there.
 */
import { Reader, TOO_SHORT, TRAILING_DATA } from './reader.js';

/*
 * SSL_SESSION_ASN1 as OpenSSL 3 writes it (ssl/ssl_asn1.c; OpenSSL 3.0 writes
 * fields up to [19], 3.2 added [20]; 3.5 and master add nothing: the template is
 * the same, only values differ, e.g. kexGroup 0x11ec X25519MLKEM768 for TLS
 * 1.3). EXPLICIT tagging throughout except [0].
 * The "Z" integer types are left out when zero; the others are always written.
 *
 *   SSLSession ::= SEQUENCE {
 *     version            INTEGER,              -- UINT32, SSL_SESSION_ASN1_VERSION = 1
 *     sslVersion         INTEGER,              -- INT32, e.g. 0x0303, 0x0304
 *     cipher             OCTET STRING,         -- SIZE(2): the cipher suite id
 *     sessionID          OCTET STRING,         -- 0..32 bytes
 *     masterKey          OCTET STRING,         -- 0..512 bytes; TLS 1.3: resumption PSK
 *     keyArg         [0] IMPLICIT OCTET STRING OPTIONAL,   -- SSLv2 leftover, unused
 *     time           [1] EXPLICIT INTEGER OPTIONAL,        -- ZINT64, seconds since epoch
 *     timeout        [2] EXPLICIT INTEGER OPTIONAL,        -- ZINT64, seconds
 *     peer           [3] EXPLICIT Certificate OPTIONAL,    -- the peer's leaf certificate
 *     sidCtx         [4] EXPLICIT OCTET STRING OPTIONAL,   -- 0..32 bytes
 *     verifyResult   [5] EXPLICIT INTEGER OPTIONAL,        -- ZINT32, X509_V_OK = 0
 *     hostName       [6] EXPLICIT OCTET STRING OPTIONAL,   -- SNI, only if the server acked it
 *     pskIdentityHint [7] EXPLICIT OCTET STRING OPTIONAL,
 *     pskIdentity    [8] EXPLICIT OCTET STRING OPTIONAL,
 *     ticketLifetimeHint [9] EXPLICIT INTEGER OPTIONAL,    -- ZUINT64, seconds
 *     ticket        [10] EXPLICIT OCTET STRING OPTIONAL,   -- client side: the ticket
 *     compMethod    [11] EXPLICIT OCTET STRING OPTIONAL,   -- SIZE(1)
 *     srpUsername   [12] EXPLICIT OCTET STRING OPTIONAL,
 *     flags         [13] EXPLICIT INTEGER OPTIONAL,        -- ZUINT64, 0x1 = extended master secret
 *     tickAgeAdd    [14] EXPLICIT INTEGER OPTIONAL,        -- ZUINT32
 *     maxEarlyData  [15] EXPLICIT INTEGER OPTIONAL,        -- ZUINT32
 *     alpnSelected  [16] EXPLICIT OCTET STRING OPTIONAL,
 *     maxFragLenMode [17] EXPLICIT INTEGER OPTIONAL,       -- ZUINT32
 *     ticketAppdata [18] EXPLICIT OCTET STRING OPTIONAL,
 *     kexGroup      [19] EXPLICIT INTEGER OPTIONAL,        -- UINT32, written even when 0
 *     peerRpk       [20] EXPLICIT OCTET STRING OPTIONAL,   -- 3.2+: raw public key
 *     ...                                                    -- newer fields: skipped
 *   }
 *
 * What this parser takes for a newer field ("..." above): a context-specific
 * tag [n], n > 20 and above every field before it, EXPLICIT (constructed,
 * holding one or more DER TLVs) or IMPLICIT (primitive, any octets). X.690
 * 8.1.2.4: a tag number of 31 or more is written in the high-tag-number form,
 * 0x9f / 0xbf then the number in base 128, most significant group first, bit 8
 * set on every byte but the last, no leading 0x80; at most 3 bytes (2^21) here.
 * Universal, application and private tags are still rejected: a field OpenSSL
 * adds to an OPTIONAL tail must be context-tagged to be decodable at all.
 *
 * DER encodings used: tag byte (context tags n < 31 fit in one byte: 0x80 | n
 * primitive, 0xa0 | n constructed), then a length: 0..127 in one byte, else
 * 0x80 | k followed by k big-endian bytes, minimal (no leading zero, never
 * below 128). 0x80 alone (indefinite length) is BER only.
 *
 * d2i_SSL_SESSION also refuses a cipher that is not 2 bytes, a session id or
 * sid_ctx over 32 bytes, a master key over TLS13_MAX_RESUMPTION_PSK_LENGTH (512),
 * a version other than 1, and an ssl_version that is neither TLS (0x03xx) nor
 * DTLS (0xfexx, 0x0100); so does this parser.
 */

/** What a serialized session says, minus its secrets. */
export interface SessionFacts {
  /** SSL_SESSION_ASN1_VERSION: always 1 (anything else is rejected). */
  version: number;
  /** ssl_version, e.g. 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3). */
  protocolVersion: number;
  /** The 2-byte cipher suite id, e.g. 0x1302 (TLS_AES_256_GCM_SHA384). */
  cipherId: number;
  /** The session id (0..32 bytes). For TLS 1.3 stateful tickets, the PSK identity. */
  sessionId: Buffer;
  /** Whether a master secret is present. The secret itself is never exposed. */
  hasMasterKey: boolean;
  /** Creation time, seconds since the epoch ([1]); 0 if absent (OpenSSL then uses "now"). */
  time: number;
  /** Lifetime in seconds ([2]); 0 if absent (OpenSSL then uses 3 seconds). */
  timeout: number;
  /** Whether the peer's certificate is stored ([3]). */
  hasPeerCert: boolean;
  /** The peer's leaf certificate as DER (a view into the input), undefined if absent. */
  peerCert: Buffer | undefined;
  /** Session id context ([4]); empty if absent. */
  sidCtx: Buffer;
  /** X509 verify result for the peer certificate ([5]); 0 (X509_V_OK) if absent. */
  verifyResult: number;
  /** SNI host name ([6]) as latin1; undefined if absent. */
  hostname: string | undefined;
  /** Ticket lifetime hint in seconds ([9]); undefined if absent. */
  ticketLifetimeHint: number | undefined;
  /** Whether a ticket is stored ([10]; client-side sessions). */
  hasTicket: boolean;
  /** Session flags ([13]); 0 if absent. 0x1 = extended master secret. */
  flags: number;
  /** Max early data ([15]); undefined if absent. */
  maxEarlyData: number | undefined;
  /** Selected ALPN protocol ([16]); undefined if absent. */
  alpn: Buffer | undefined;
  /**
   * Key exchange group ([19]), a TLS NamedGroup: 0x1d X25519, 0x17 P-256, 0x11ec
   * X25519MLKEM768 (OpenSSL 3.5's default for TLS 1.3); undefined if absent.
   */
  kexGroup: number | undefined;
  /** Numbers of the fields after [20] that were skipped (a newer OpenSSL); usually empty. */
  unknownFields: readonly number[];
}

export type SessionDerResult = { ok: true; session: SessionFacts } | { ok: false; reason: string };

const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_SEQUENCE = 0x30;
const CONTEXT_PRIMITIVE = 0x80;
const CONTEXT_CONSTRUCTED = 0xa0;
/** The last context tag OpenSSL defines ([20] peer_rpk, OpenSSL 3.2). */
const LAST_FIELD = 20;
/** Low tag-number bits that announce the high-tag-number form (X.690 8.1.2.4). */
const HIGH_TAG_NUMBER = 0x1f;
/** Most base-128 bytes of a high tag number: 3 reach 2^21, far beyond any OpenSSL field. */
const MAX_TAG_NUMBER_BYTES = 3;
/** The constructed bit of an identifier octet. */
const CONSTRUCTED = 0x20;

/** SSL_SESSION_ASN1_VERSION. */
const SESSION_ASN1_VERSION = 1;
/** SSL_MAX_SSL_SESSION_ID_LENGTH. */
const MAX_SESSION_ID_LENGTH = 32;
/** SSL_MAX_SID_CTX_LENGTH. */
const MAX_SID_CTX_LENGTH = 32;
/** TLS13_MAX_RESUMPTION_PSK_LENGTH in OpenSSL 3. */
const MAX_MASTER_KEY_LENGTH = 512;
/** DTLS1_BAD_VER: the pre-standard DTLS version OpenSSL still accepts. */
const DTLS1_BAD_VER = 0x0100;

const hex = (n: number) => '0x' + n.toString(16).padStart(2, '0');

/**
 * Parses the DER of an OpenSSL SSL_SESSION. Rejects (never throws) truncated
 * input, wrong or out-of-order tags, lengths past the end, indefinite or
 * non-minimal lengths, non-minimal or over-long INTEGERs, values out of their
 * type's range, and bytes after the SEQUENCE. Byte fields are copies.
 */
export function parseSessionDer(der: Buffer): SessionDerResult {
  if (!Buffer.isBuffer(der)) return fail('input is not a Buffer');
  const top = new Reader(der);
  const seq = tlv(top, TAG_SEQUENCE, 'SSL_SESSION');
  if (typeof seq === 'string') return fail(seq);
  if (!top.empty) return fail(`SSL_SESSION: ${TRAILING_DATA} after the SEQUENCE`);

  const version = integer(seq, 'version', UINT32);
  if (typeof version === 'string') return fail(version);
  if (version !== SESSION_ASN1_VERSION) return fail(`unsupported SSL_SESSION_ASN1 version ${version}`);

  const protocolVersion = integer(seq, 'ssl_version', INT32);
  if (typeof protocolVersion === 'string') return fail(protocolVersion);
  const major = protocolVersion >> 8;
  if (major !== 0x03 && major !== 0xfe && protocolVersion !== DTLS1_BAD_VER) {
    return fail(`ssl_version ${protocolVersion} is neither TLS nor DTLS`);
  }

  const cipher = tlv(seq, TAG_OCTET_STRING, 'cipher');
  if (typeof cipher === 'string') return fail(cipher);
  if (cipher.remaining !== 2) return fail('cipher must be 2 bytes');
  const cipherId = cipher.u16();

  const sessionId = tlv(seq, TAG_OCTET_STRING, 'session_id');
  if (typeof sessionId === 'string') return fail(sessionId);
  if (sessionId.remaining > MAX_SESSION_ID_LENGTH) return fail('session_id is longer than 32 bytes');

  const masterKey = tlv(seq, TAG_OCTET_STRING, 'master_key');
  if (typeof masterKey === 'string') return fail(masterKey);
  if (masterKey.remaining > MAX_MASTER_KEY_LENGTH) return fail('master_key is longer than 512 bytes');

  const session: SessionFacts = {
    version,
    protocolVersion,
    cipherId,
    sessionId: sessionId.copy(sessionId.remaining)!,
    hasMasterKey: masterKey.remaining > 0,
    time: 0,
    timeout: 0,
    hasPeerCert: false,
    peerCert: undefined,
    sidCtx: EMPTY,
    verifyResult: 0,
    hostname: undefined,
    ticketLifetimeHint: undefined,
    hasTicket: false,
    flags: 0,
    maxEarlyData: undefined,
    alpn: undefined,
    kexGroup: undefined,
    unknownFields: NONE,
  };

  let next = 0; // lowest field number still allowed: fields come in tag order, once
  while (!seq.empty) {
    const tag = seq.peek();
    if ((tag & 0xc0) !== CONTEXT_PRIMITIVE) return fail(`unexpected tag ${hex(tag)} in SSL_SESSION`);
    // A high tag number is read here (it is always over LAST_FIELD); a low one is only peeked.
    const n = (tag & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER ? highTagNumber(seq) : tag & HIGH_TAG_NUMBER;
    if (typeof n === 'string') return fail(n);
    if (n < next) return fail(`field [${n}] out of order or repeated`);
    next = n + 1;

    if (n > LAST_FIELD) {
      if (n < HIGH_TAG_NUMBER) seq.u8();
      const malformed = skipUnknownField(seq, n, (tag & CONSTRUCTED) !== 0);
      if (malformed !== undefined) return fail(malformed);
      session.unknownFields = session.unknownFields === NONE ? [n] : [...session.unknownFields, n];
      continue;
    }

    if (n === 0) {
      // key_arg is the one IMPLICIT field: a primitive [0] holding octets.
      const keyArg = tlv(seq, CONTEXT_PRIMITIVE, '[0] key_arg');
      if (typeof keyArg === 'string') return fail(keyArg);
      continue;
    }
    const what = FIELD_LABELS[n]!;
    const field = tlv(seq, CONTEXT_CONSTRUCTED | n, what);
    if (typeof field === 'string') return fail(field);

    let value: number | string | Reader;
    switch (n) {
      case 1: // time
      case 2: // timeout
        value = integer(field, what, INT64);
        if (typeof value === 'string') return fail(value);
        if (n === 1) session.time = value;
        else session.timeout = value;
        break;
      case 3: {
        // peer certificate: one SEQUENCE, not looked into here
        const certificate = field.view();
        value = tlv(field, TAG_SEQUENCE, what);
        if (typeof value === 'string') return fail(value);
        session.hasPeerCert = true;
        session.peerCert = certificate;
        break;
      }
      case 4: // sid_ctx
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
        if (value.remaining > MAX_SID_CTX_LENGTH) return fail(`${what} is longer than 32 bytes`);
        session.sidCtx = value.copy(value.remaining)!;
        break;
      case 5: // verify_result
        value = integer(field, what, INT32);
        if (typeof value === 'string') return fail(value);
        session.verifyResult = value;
        break;
      case 6: // hostname
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
        session.hostname = value.latin1(value.remaining);
        break;
      case 9: // ticket lifetime hint
      case 13: // flags
        value = integer(field, what, UINT64);
        if (typeof value === 'string') return fail(value);
        if (n === 9) session.ticketLifetimeHint = value;
        else session.flags = value;
        break;
      case 10: // ticket
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
        session.hasTicket = true;
        break;
      case 11: // compression method
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
        if (value.remaining !== 1) return fail(`${what} must be 1 byte`);
        break;
      case 14: // tick_age_add
      case 15: // max_early_data
      case 17: // max_fragment_len_mode
      case 19: // kex_group
        value = integer(field, what, UINT32);
        if (typeof value === 'string') return fail(value);
        if (n === 15) session.maxEarlyData = value;
        else if (n === 19) session.kexGroup = value;
        break;
      case 16: // alpn_selected
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
        session.alpn = value.copy(value.remaining);
        break;
      default: // 7, 8, 12, 18, 20: OCTET STRINGs not reported
        value = tlv(field, TAG_OCTET_STRING, what);
        if (typeof value === 'string') return fail(value);
    }
    if (!field.empty) return fail(`${what}: ${TRAILING_DATA}`);
  }
  return { ok: true, session };
}

const EMPTY = Buffer.alloc(0);
const NONE: readonly number[] = Object.freeze([]);

const FIELD_NAMES: readonly string[] = [
  'key_arg',
  'time',
  'timeout',
  'peer',
  'session_id_context',
  'verify_result',
  'hostname',
  'psk_identity_hint',
  'psk_identity',
  'ticket_lifetime_hint',
  'ticket',
  'comp_id',
  'srp_username',
  'flags',
  'tick_age_add',
  'max_early_data',
  'alpn_selected',
  'max_fragment_len_mode',
  'ticket_appdata',
  'kex_group',
  'peer_rpk',
];

/** '[n] name' for each field, made once so that a parse builds no strings. */
const FIELD_LABELS: readonly string[] = FIELD_NAMES.map((name, n) => `[${n}] ${name}`);

function fail(reason: string): SessionDerResult {
  return { ok: false, reason };
}

/**
 * Reads one DER TLV whose tag must be `tag`, and returns a reader over its
 * contents, or the reason it cannot.
 */
function tlv(r: Reader, tag: number, what: string): Reader | string {
  const t = r.u8();
  if (t < 0) return `${what}: ${TOO_SHORT}`;
  if (t !== tag) return `${what}: expected tag ${hex(tag)}, got ${hex(t)}`;
  return contents(r, what);
}

/**
 * Reads DER length octets and returns a reader over the contents they announce,
 * or the reason it cannot: definite, minimal, within `r`.
 */
function contents(r: Reader, what: string): Reader | string {
  const first = r.u8();
  if (first < 0) return `${what}: ${TOO_SHORT}`;
  let length = first;
  if (first >= 0x80) {
    if (first === 0x80) return `${what}: indefinite length is not DER`;
    const k = first & 0x7f;
    // Four length bytes already reach 4 GiB; a session is a few KiB.
    if (k > 4) return `${what}: length of ${k} bytes is too long`;
    length = 0;
    for (let i = 0; i < k; i++) {
      const b = r.u8();
      if (b < 0) return `${what}: ${TOO_SHORT}`;
      if (i === 0 && b === 0) return `${what}: non-minimal length`;
      length = length * 256 + b;
    }
    if (length < 0x80) return `${what}: non-minimal length`;
  }
  const inside = r.sub(length);
  if (inside === undefined) return `${what}: length ${length} runs past the end`;
  return inside;
}

/**
 * Reads a high-tag-number identifier (X.690 8.1.2.4: the first byte's low five
 * bits all set, then base-128 groups) and returns the tag number, or the reason
 * it cannot. Minimal: no leading 0x80 group, and a number below 31 would have
 * fitted in the first byte.
 */
function highTagNumber(r: Reader): number | string {
  r.u8(); // the identifier byte with the five low bits set, already peeked
  let n = 0;
  for (let i = 0; ; i++) {
    if (i === MAX_TAG_NUMBER_BYTES) return 'tag number too large';
    const b = r.u8();
    if (b < 0) return `tag number: ${TOO_SHORT}`;
    if (i === 0 && b === 0x80) return 'non-minimal tag number';
    n = n * 128 + (b & 0x7f);
    if (b < 0x80) break;
  }
  if (n < HIGH_TAG_NUMBER) return `non-minimal tag number ${n}`;
  return n;
}

/**
 * Skips the contents of field [n], one this parser does not know (its
 * identifier already read), checking its framing: the length, and for a
 * constructed (EXPLICIT) field, that it holds one or more complete TLVs (not
 * looked into). Returns the reason it is malformed, or undefined.
 */
function skipUnknownField(seq: Reader, n: number, constructed: boolean): string | undefined {
  const what = `[${n}] unknown field`;
  const field = contents(seq, what);
  if (typeof field === 'string') return field;
  if (!constructed) return undefined;
  if (field.empty) return `${what}: empty EXPLICIT field`;
  while (!field.empty) {
    if ((field.peek() & HIGH_TAG_NUMBER) === HIGH_TAG_NUMBER) {
      const inner = highTagNumber(field);
      if (typeof inner === 'string') return `${what}: ${inner}`;
    } else {
      field.u8();
    }
    const inner = contents(field, what);
    if (typeof inner === 'string') return inner;
  }
  return undefined;
}

/** An INTEGER type of OpenSSL's ASN.1 templates: content bytes allowed, signedness, range. */
interface IntType {
  readonly maxBytes: number;
  readonly signed: boolean;
  readonly min: number;
  readonly max: number;
}
const INT32: IntType = { maxBytes: 4, signed: true, min: -0x80000000, max: 0x7fffffff };
const UINT32: IntType = { maxBytes: 5, signed: false, min: 0, max: 0xffffffff };
const INT64: IntType = { maxBytes: 8, signed: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
const UINT64: IntType = { maxBytes: 9, signed: false, min: 0, max: Number.MAX_SAFE_INTEGER };

/**
 * Reads a DER INTEGER (two's complement, big-endian, minimal) of type `type`
 * and returns its value, or the reason it cannot.
 */
function integer(r: Reader, what: string, type: IntType): number | string {
  const c = tlv(r, TAG_INTEGER, what);
  if (typeof c === 'string') return c;
  const n = c.remaining;
  if (n === 0) return `${what}: empty INTEGER`;
  if (n > type.maxBytes) return `${what}: INTEGER too long`;
  const b = c.buf;
  const p = c.offset;
  const b0 = b[p]!;
  if (n > 1) {
    const b1 = b[p + 1]!;
    if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) return `${what}: non-minimal INTEGER`;
  }
  const negative = b0 >= 0x80;
  if (negative && !type.signed) return `${what}: negative value`;
  // Exact while the magnitude stays below 2^53; a larger one rounds to a value
  // that is at least 2^53 and fails the range check below.
  let value = 0;
  if (negative) {
    for (let i = 0; i < n; i++) value = value * 256 + (0xff - b[p + i]!);
    value = -value - 1;
  } else {
    for (let i = 0; i < n; i++) value = value * 256 + b[p + i]!;
  }
  if (value < type.min || value > type.max) return `${what}: value out of range`;
  return value;
}
