/**
 * A pure parser for the TLS ClientHello, read from the first bytes of a raw
 * connection before OpenSSL sees them. It gives the server wiring what Node's
 * `resumeSession` event cannot: the TLS 1.3 PSK identity (the real session
 * handle for stateful tickets), the SNI host name and the offered ALPN list.
 *
 * No I/O, no exceptions: every input, however hostile, gives a result object.
 * All reads go through `Reader`, so every length is bounds-checked. Byte fields
 * in the result are copies and never alias the caller's buffer.
 *
 * Known limitations:
 * - Only the plaintext record layer is understood (that is all a ClientHello
 *   travels in). DTLS, SSLv2-compatible hellos and QUIC are rejected.
 * - Extensions other than those in `ClientHello` are checked for framing only.
 */
import { Reader, TOO_SHORT, TRAILING_DATA } from './reader.js';

/*
 * Record layer, RFC 8446 §5.1 (same framing in RFC 5246 §6.2.1):
 *
 *   enum {
 *       invalid(0), change_cipher_spec(20), alert(21), handshake(22),
 *       application_data(23), (255)
 *   } ContentType;
 *
 *   struct {
 *       ContentType type;                   -- 22 for every record of a ClientHello
 *       ProtocolVersion legacy_record_version;  -- 0x0301 usually; any 0x03xx here
 *       uint16 length;                      -- 1..2^14: zero-length handshake
 *                                           -- fragments are forbidden (§5.1)
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;
 *
 * A handshake message may be split over any number of records, at any byte,
 * including inside its 4-byte header. RFC 8446 §5.1: a ClientHello that is
 * followed by a key change (early data) must end on a record boundary; no
 * other message may follow it in the same flight, so bytes after the
 * ClientHello inside its last record are an error here.
 *
 * Handshake header, RFC 8446 §4:
 *
 *   struct {
 *       HandshakeType msg_type;    -- client_hello(1)
 *       uint24 length;             -- bytes in the body that follows
 *       ClientHello body;
 *   } Handshake;
 *
 * An SSLv2-compatible ClientHello (RFC 5246 Appendix E.2) starts with a byte
 * that has the high bit set (a 2-byte SSLv2 record length); OpenSSL 3 servers
 * that only speak TLS 1.x with TLS extensions never need it.
 */

/** ContentType handshake. */
const RECORD_HANDSHAKE = 22;
/** HandshakeType client_hello. */
const HANDSHAKE_CLIENT_HELLO = 1;
/** TLSPlaintext header: type(1) + legacy_record_version(2) + length(2). */
const RECORD_HEADER_LENGTH = 5;
/** Handshake header: msg_type(1) + length(3). */
const HANDSHAKE_HEADER_LENGTH = 4;
/** RFC 8446 §5.1: a TLSPlaintext fragment is at most 2^14 bytes. */
const MAX_PLAINTEXT_LENGTH = 1 << 14;
/** Default bound on the bytes buffered before giving up. */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 65536;

const CONTENT_TYPE_NAMES: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec',
  21: 'alert',
  23: 'application_data',
};

/** Extension types this parser reads (IANA "TLS ExtensionType Values"). */
export const EXT_SERVER_NAME = 0;
export const EXT_ALPN = 16;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_PSK_KEY_EXCHANGE_MODES = 45;

/** What a ClientHello says that session resumption and SNI binding need. */
export interface ClientHello {
  /** legacy_version, e.g. 0x0303 (TLS 1.3 clients also send 0x0303). */
  legacyVersion: number;
  /** The 32-byte client random. */
  random: Buffer;
  /** legacy_session_id, 0..32 bytes. TLS 1.3 clients fill it with random bytes. */
  sessionId: Buffer;
  /** Offered cipher suites in order, including GREASE values. */
  cipherSuites: number[];
  /** SNI host_name (RFC 6066), ASCII lower-cased; undefined if absent. */
  serverName: string | undefined;
  /** ALPN protocol names (RFC 7301) in order, each byte as one latin1 character. */
  alpn: string[];
  /** supported_versions (ext 43) in order; empty if absent. */
  supportedVersions: number[];
  /** session_ticket (ext 35): undefined if absent, empty if present but empty. */
  sessionTicket: Buffer | undefined;
  /** pre_shared_key (ext 41) identities, each identity's opaque bytes; [] if absent. */
  pskIdentities: Buffer[];
  /** psk_key_exchange_modes (ext 45); empty if absent. */
  pskKeyExchangeModes: number[];
  /** Every extension type, in the order sent. */
  extensionTypes: number[];
}

export type ClientHelloResult =
  /** `bytesConsumed`: the bytes of the TLS records that hold the ClientHello. */
  | { status: 'complete'; hello: ClientHello; bytesConsumed: number }
  /** A valid prefix: call again with more bytes. */
  | { status: 'incomplete' }
  /** Not a TLS ClientHello, malformed, or over the size limit. */
  | { status: 'error'; reason: string };

const INCOMPLETE: ClientHelloResult = Object.freeze({ status: 'incomplete' }) as ClientHelloResult;

function error(reason: string): ClientHelloResult {
  return { status: 'error', reason };
}

const hex = (n: number, digits: number) => '0x' + n.toString(16).padStart(digits, '0');

/**
 * Parses the start of a raw TLS byte stream holding a ClientHello, which may be
 * split across several handshake records and any number of reads: call it again
 * with all bytes received so far while it returns `'incomplete'`.
 *
 * Every prefix of a valid stream is `'incomplete'`; errors are reported as soon
 * as the bytes seen prove the stream is not one (wrong first byte, bad record
 * header, wrong handshake type, a size over `maxBytes`). `maxBytes` (default
 * 65536) bounds the record bytes the ClientHello may occupy, so a caller that
 * buffers until a result never holds more than that. Bytes after the records
 * of the ClientHello (e.g. TLS 1.3 early data) are left alone: see
 * `bytesConsumed`.
 *
 * Never throws.
 */
export function parseClientHelloRecords(
  data: Buffer,
  maxBytes: number = DEFAULT_MAX_CLIENT_HELLO_BYTES,
): ClientHelloResult {
  if (!Buffer.isBuffer(data)) return error('input is not a Buffer');
  if (!(maxBytes >= 0)) return error('maxBytes must be a non-negative number');
  const length = data.length;

  let off = 0; // start of the current record
  // The handshake message as it is collected: where its fragments are in
  // `data` (start, end pairs), how many bytes of it we have, and its total
  // length once the 4-byte header is known.
  const fragments: number[] = [];
  let have = 0;
  let total = -1;
  let header = 0; // the header bytes seen so far, accumulated big-endian

  for (;;) {
    if (off >= length) return off + RECORD_HEADER_LENGTH > maxBytes ? tooLarge(maxBytes) : INCOMPLETE;

    const type = data[off]!;
    if (type !== RECORD_HANDSHAKE) {
      if (off === 0 && type & 0x80) return error('SSLv2-compatible ClientHello is not supported');
      const name = CONTENT_TYPE_NAMES[type];
      return error(
        name === undefined
          ? `not a TLS handshake record (content type ${type})`
          : `${name} record where the ClientHello was expected`,
      );
    }
    if (off + 1 < length && data[off + 1] !== 3) {
      return error(`record version ${hex(data[off + 1]!, 2)}.. is not TLS`);
    }
    if (off + RECORD_HEADER_LENGTH > length) {
      return off + RECORD_HEADER_LENGTH > maxBytes ? tooLarge(maxBytes) : INCOMPLETE;
    }
    const fragmentLength = (data[off + 3]! << 8) | data[off + 4]!;
    if (fragmentLength === 0) return error('empty handshake record');
    if (fragmentLength > MAX_PLAINTEXT_LENGTH) return error(`record length ${fragmentLength} is over 2^14`);
    const recordEnd = off + RECORD_HEADER_LENGTH + fragmentLength;
    if (recordEnd > maxBytes) return tooLarge(maxBytes);
    if (total >= 0 && have + fragmentLength > total) return error('data after the ClientHello in its record');

    const start = off + RECORD_HEADER_LENGTH;
    const available = Math.min(recordEnd, length) - start;

    // The handshake header, possibly split over records.
    for (let i = 0; have + i < HANDSHAKE_HEADER_LENGTH && i < available; i++) {
      header = header * 256 + data[start + i]!;
      if (have + i === 0 && header !== HANDSHAKE_CLIENT_HELLO) {
        return error(`handshake message type ${header} is not client_hello`);
      }
      if (have + i === HANDSHAKE_HEADER_LENGTH - 1) {
        total = HANDSHAKE_HEADER_LENGTH + (header & 0xffffff);
        // The fewest record bytes that can carry a message this long.
        const minRecordBytes = total + RECORD_HEADER_LENGTH * Math.ceil(total / MAX_PLAINTEXT_LENGTH);
        if (minRecordBytes > maxBytes) return tooLarge(maxBytes);
        if (have + fragmentLength > total) return error('data after the ClientHello in its record');
      }
    }

    if (recordEnd > length) return INCOMPLETE;

    fragments.push(start, recordEnd);
    have += fragmentLength;
    off = recordEnd;

    if (have === total) {
      let body: Reader;
      if (fragments.length === 2) {
        body = new Reader(data, fragments[0]! + HANDSHAKE_HEADER_LENGTH, fragments[1]);
      } else {
        // Reassemble the fragments; the copy is the only one a split hello costs.
        const message = Buffer.allocUnsafe(total);
        for (let i = 0, at = 0; i < fragments.length; i += 2) {
          at += data.copy(message, at, fragments[i], fragments[i + 1]);
        }
        body = new Reader(message, HANDSHAKE_HEADER_LENGTH);
      }
      const parsed = parseBody(body);
      if (typeof parsed === 'string') return error(parsed);
      return { status: 'complete', hello: parsed, bytesConsumed: off };
    }
  }
}

function tooLarge(maxBytes: number): ClientHelloResult {
  return error(`ClientHello is larger than maxBytes (${maxBytes})`);
}

/*
 * ClientHello body, RFC 8446 §4.1.2 (TLS 1.2, RFC 5246 §7.4.1.2, has the same
 * shape; its extensions block may be absent altogether):
 *
 *   uint16 ProtocolVersion;
 *   opaque Random[32];
 *   uint8 CipherSuite[2];
 *
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;
 *       opaque legacy_session_id<0..32>;
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       opaque legacy_compression_methods<1..2^8-1>;
 *       Extension extensions<8..2^16-1>;
 *   } ClientHello;
 *
 *   struct {
 *       ExtensionType extension_type;
 *       opaque extension_data<0..2^16-1>;
 *   } Extension;
 *
 * RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type";
 * §4.2.11: pre_shared_key "MUST be the last extension in the ClientHello".
 * Both are checked (OpenSSL rejects either with an alert).
 */

/**
 * Parses a bare ClientHello handshake body (after the 4-byte handshake header).
 * Every byte must be used: a body with bytes after its last field is an error.
 * Never throws.
 */
export function parseClientHelloBody(body: Buffer): { ok: true; hello: ClientHello } | { ok: false; reason: string } {
  if (!Buffer.isBuffer(body)) return { ok: false, reason: 'input is not a Buffer' };
  const parsed = parseBody(new Reader(body));
  return typeof parsed === 'string' ? { ok: false, reason: parsed } : { ok: true, hello: parsed };
}

/** Parses a ClientHello body that fills `r`: the hello, or the reason it is not one. */
function parseBody(r: Reader): ClientHello | string {
  const legacyVersion = r.u16();
  if (legacyVersion < 0) return `legacy_version: ${TOO_SHORT}`;
  if (legacyVersion >> 8 !== 3) return `legacy_version ${hex(legacyVersion, 4)} is not TLS`;

  const random = r.copy(32);
  if (random === undefined) return `random: ${TOO_SHORT}`;

  const sessionIdReader = r.vector8();
  if (sessionIdReader === undefined) return `legacy_session_id: ${TOO_SHORT}`;
  if (sessionIdReader.remaining > 32) return 'legacy_session_id is longer than 32 bytes';

  const suites = r.vector16();
  if (suites === undefined) return `cipher_suites: ${TOO_SHORT}`;
  if (suites.remaining < 2 || suites.remaining % 2 !== 0) return 'cipher_suites must be a non-empty list of 2-byte values';
  const cipherSuites: number[] = new Array(suites.remaining / 2);
  for (let i = 0; i < cipherSuites.length; i++) cipherSuites[i] = suites.u16();

  const compression = r.vector8();
  if (compression === undefined) return `legacy_compression_methods: ${TOO_SHORT}`;
  if (compression.empty) return 'legacy_compression_methods is empty';

  const hello: ClientHello = {
    legacyVersion,
    random,
    sessionId: sessionIdReader.copy(sessionIdReader.remaining)!,
    cipherSuites,
    serverName: undefined,
    alpn: [],
    supportedVersions: [],
    sessionTicket: undefined,
    pskIdentities: [],
    pskKeyExchangeModes: [],
    extensionTypes: [],
  };

  // TLS 1.2 and older: "the presence of extensions can be detected by
  // determining whether there are bytes following the compression_methods".
  if (r.empty) return hello;

  const extensions = r.vector16();
  if (extensions === undefined) return `extensions: ${TOO_SHORT}`;
  if (!r.empty) return `ClientHello: ${TRAILING_DATA} after extensions`;

  const types = hello.extensionTypes;
  // A linear scan finds duplicates fastest for the usual 10-20 extensions; a
  // hostile hello with thousands of them gets a Set instead of O(n^2).
  let seen: Set<number> | undefined;
  while (!extensions.empty) {
    const type = extensions.u16();
    if (type < 0) return `extension type: ${TOO_SHORT}`;
    const ext = extensions.vector16();
    if (ext === undefined) return `extension ${type}: ${TOO_SHORT}`;
    if (types.length > 0 && types[types.length - 1] === EXT_PRE_SHARED_KEY) {
      return type === EXT_PRE_SHARED_KEY ? `duplicate extension ${type}` : 'pre_shared_key is not the last extension';
    }
    if (seen === undefined && types.length >= 32) seen = new Set(types);
    if (seen === undefined ? types.includes(type) : seen.has(type)) return `duplicate extension ${type}`;
    seen?.add(type);
    types.push(type);

    let reason: string | undefined;
    switch (type) {
      case EXT_SERVER_NAME:
        reason = parseServerName(ext, hello);
        break;
      case EXT_ALPN:
        reason = parseAlpn(ext, hello);
        break;
      case EXT_SESSION_TICKET:
        hello.sessionTicket = ext.copy(ext.remaining);
        break;
      case EXT_PRE_SHARED_KEY:
        reason = parsePreSharedKey(ext, hello);
        break;
      case EXT_SUPPORTED_VERSIONS:
        reason = parseSupportedVersions(ext, hello);
        break;
      case EXT_PSK_KEY_EXCHANGE_MODES:
        reason = parsePskKeyExchangeModes(ext, hello);
        break;
      default:
        break; // framing checked by vector16; contents not needed
    }
    if (reason !== undefined) return reason;
  }
  return hello;
}

/*
 * server_name, RFC 6066 §3:
 *
 *   struct {
 *       NameType name_type;
 *       select (name_type) {
 *           case host_name: HostName;
 *       } name;
 *   } ServerName;
 *
 *   enum { host_name(0), (255) } NameType;
 *   opaque HostName<1..2^16-1>;
 *
 *   struct {
 *       ServerName server_name_list<1..2^16-1>
 *   } ServerNameList;
 *
 * "The ServerNameList MUST NOT contain more than one name of the same
 * name_type"; HostName is ASCII without a trailing dot. OpenSSL also caps it at
 * 255 bytes (TLSEXT_MAXLEN_host_name) and refuses NUL bytes; this parser also
 * refuses spaces, control characters and non-ASCII bytes. Entries of other
 * name types are skipped (none is defined, and their framing is assumed to be
 * HostName's, as every implementation does).
 */
function parseServerName(ext: Reader, hello: ClientHello): string | undefined {
  const list = ext.vector16();
  if (list === undefined) return `server_name: ${TOO_SHORT}`;
  if (!ext.empty) return `server_name: ${TRAILING_DATA}`;
  if (list.empty) return 'server_name: empty server_name_list';
  while (!list.empty) {
    const nameType = list.u8();
    const name = list.vector16();
    if (nameType < 0 || name === undefined) return `server_name: ${TOO_SHORT}`;
    if (nameType !== 0) continue;
    if (hello.serverName !== undefined) return 'server_name: more than one host_name';
    const n = name.remaining;
    if (n === 0 || n > 255) return 'server_name: host_name must be 1..255 bytes';
    const bytes = name.buf;
    let upper = false;
    for (let i = name.offset, end = i + n; i < end; i++) {
      const b = bytes[i]!;
      if (b <= 0x20 || b >= 0x7f) return 'server_name: host_name is not printable ASCII';
      if (b >= 0x41 && b <= 0x5a) upper = true;
    }
    const host = name.latin1(n)!;
    hello.serverName = upper ? host.toLowerCase() : host;
  }
  return undefined;
}

/*
 * application_layer_protocol_negotiation, RFC 7301 §3.1:
 *
 *   opaque ProtocolName<1..2^8-1>;
 *
 *   struct {
 *       ProtocolName protocol_name_list<2..2^16-1>
 *   } ProtocolNameList;
 *
 * "Empty strings MUST NOT be included".
 */
function parseAlpn(ext: Reader, hello: ClientHello): string | undefined {
  const list = ext.vector16();
  if (list === undefined) return `alpn: ${TOO_SHORT}`;
  if (!ext.empty) return `alpn: ${TRAILING_DATA}`;
  if (list.empty) return 'alpn: empty protocol_name_list';
  while (!list.empty) {
    const name = list.vector8();
    if (name === undefined) return `alpn: ${TOO_SHORT}`;
    if (name.empty) return 'alpn: empty protocol name';
    hello.alpn.push(name.latin1(name.remaining)!);
  }
  return undefined;
}

/*
 * supported_versions in a ClientHello, RFC 8446 §4.2.1:
 *
 *   struct {
 *       select (Handshake.msg_type) {
 *           case client_hello:
 *                ProtocolVersion versions<2..254>;
 *       };
 *   } SupportedVersions;
 */
function parseSupportedVersions(ext: Reader, hello: ClientHello): string | undefined {
  const list = ext.vector8();
  if (list === undefined) return `supported_versions: ${TOO_SHORT}`;
  if (!ext.empty) return `supported_versions: ${TRAILING_DATA}`;
  if (list.remaining < 2 || list.remaining % 2 !== 0) return 'supported_versions must be a non-empty list of 2-byte values';
  while (!list.empty) hello.supportedVersions.push(list.u16());
  return undefined;
}

/*
 * psk_key_exchange_modes, RFC 8446 §4.2.9:
 *
 *   enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
 *
 *   struct {
 *       PskKeyExchangeMode ke_modes<1..255>;
 *   } PskKeyExchangeModes;
 */
function parsePskKeyExchangeModes(ext: Reader, hello: ClientHello): string | undefined {
  const list = ext.vector8();
  if (list === undefined) return `psk_key_exchange_modes: ${TOO_SHORT}`;
  if (!ext.empty) return `psk_key_exchange_modes: ${TRAILING_DATA}`;
  if (list.empty) return 'psk_key_exchange_modes is empty';
  while (!list.empty) hello.pskKeyExchangeModes.push(list.u8());
  return undefined;
}

/*
 * pre_shared_key in a ClientHello, RFC 8446 §4.2.11:
 *
 *   struct {
 *       opaque identity<1..2^16-1>;
 *       uint32 obfuscated_ticket_age;
 *   } PskIdentity;
 *
 *   opaque PskBinderEntry<32..255>;
 *
 *   struct {
 *       PskIdentity identities<7..2^16-1>;
 *       PskBinderEntry binders<33..2^16-1>;
 *   } OfferedPsks;
 *
 * "binders: A series of HMAC values, one for each value in the identities
 * list and in the same order", so the two counts must match. For a stateful
 * ticket (server with SSL_OP_NO_TICKET) OpenSSL makes the identity the session
 * id that `newSession` reported; for a stateless one it is the sealed ticket.
 */
function parsePreSharedKey(ext: Reader, hello: ClientHello): string | undefined {
  const identities = ext.vector16();
  if (identities === undefined) return `pre_shared_key identities: ${TOO_SHORT}`;
  if (identities.empty) return 'pre_shared_key: no identities';
  const binders = ext.vector16();
  if (binders === undefined) return `pre_shared_key binders: ${TOO_SHORT}`;
  if (!ext.empty) return `pre_shared_key: ${TRAILING_DATA}`;

  while (!identities.empty) {
    const identity = identities.vector16();
    if (identity === undefined || identities.u32() < 0) return `pre_shared_key identity: ${TOO_SHORT}`;
    if (identity.empty) return 'pre_shared_key: empty identity';
    hello.pskIdentities.push(identity.copy(identity.remaining)!);
  }
  let count = 0;
  while (!binders.empty) {
    const binder = binders.vector8();
    if (binder === undefined) return `pre_shared_key binder: ${TOO_SHORT}`;
    if (binder.remaining < 32) return 'pre_shared_key: binder shorter than 32 bytes';
    count++;
  }
  if (count !== hello.pskIdentities.length) {
    return `pre_shared_key: ${hello.pskIdentities.length} identities but ${count} binders`;
  }
  return undefined;
}
