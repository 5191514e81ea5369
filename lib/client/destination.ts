import { createHmac, randomBytes, type Hmac } from 'node:crypto';

/**
 * Where a client session may be offered again: the key a ClientSessionCache files
 * sessions under, computed from the same options one passes to `tls.connect`.
 *
 * A session may only go back to the server that issued it *and* to a connection
 * that would have accepted the same server: on a resumed handshake OpenSSL does not
 * verify the certificate again and Node skips `checkServerIdentity` (the peer
 * certificate and verify result come out of the session). So the key holds:
 *
 * - the address: host (Node's default 'localhost'), port, unix socket path;
 * - the name the server was checked against: servername (SNI);
 * - ALPN, since a server may bind sessions to the protocol (RFC 8446 4.6.1);
 * - every option that decides which server is trusted or how we authenticate:
 *   ca, crl, rejectUnauthorized, checkServerIdentity, the client certificate
 *   and key (a session resumes the client identity it was made with), cipher,
 *   version, curve and signature-algorithm settings, secureOptions, secureContext,
 *   pskCallback - the same list Node's https.Agent keys its own session cache on,
 *   plus the identity-bearing functions and objects.
 *
 * Functions and non-plain objects (a SecureContext, a KeyObject) count by identity:
 * the same function twice is the same destination, two equal closures are not.
 * Key material is never kept in the key: the option values are folded into an
 * HMAC-SHA256 under a random per-cache salt.
 *
 * Not part of the key: lookup, family, localAddress, timeouts, highWaterMark and
 * other transport settings that the server cannot see and that do not change trust.
 */
export type DestinationOptions = Readonly<Record<string, unknown>>;

/** TLS options folded into the key, in a fixed order. */
const TRUST_OPTIONS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'crl',
  'ciphers',
  'ecdhCurve',
  'sigalgs',
  'minVersion',
  'maxVersion',
  'secureProtocol',
  'secureOptions',
  'secureContext',
  'clientCertEngine',
  'privateKeyEngine',
  'privateKeyIdentifier',
  'checkServerIdentity',
  'pskCallback',
  'minDHSize',
] as const;

/** Computes destination keys for one cache: one salt, one identity table. */
export class DestinationKeys {
  readonly #salt: Buffer;
  readonly #identities = new WeakMap<object, number>();
  #nextIdentity = 1;

  constructor(salt: Buffer = randomBytes(32)) {
    this.#salt = salt;
  }

  /**
   * The destination key for `options` (the options of `tls.connect`). Equal
   * options give equal keys; any difference in the fields listed above gives a
   * different key. Never throws on odd values: unknown shapes count by identity.
   */
  keyOf(options: DestinationOptions): string {
    const host = stringOr(options.host, 'localhost');
    const port = options.port === undefined || options.port === null ? '' : String(Number(options.port));
    const path = stringOr(options.path, '');
    const servername = stringOr(options.servername, '');
    const hmac = createHmac('sha256', this.#salt);
    hmac.update('alpn=');
    this.#feed(hmac, options.ALPNProtocols);
    // Node's default is to reject; `undefined` and `true` are the same setting.
    hmac.update(`\nrejectUnauthorized=${options.rejectUnauthorized !== false}`);
    for (const name of TRUST_OPTIONS) {
      const value = options[name];
      if (value === undefined || value === null) continue;
      hmac.update(`\n${name}=`);
      this.#feed(hmac, value);
    }
    const where = path ? `unix:${path}` : host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return `${where}/${servername}#${hmac.digest('base64url').slice(0, 32)}`;
  }

  /**
   * Feeds a canonical, unambiguous encoding of an option value to the HMAC (every
   * variable-length part is length-prefixed). Objects that are not plain data
   * count by identity.
   */
  #feed(hmac: Hmac, value: unknown): void {
    if (value === undefined || value === null) {
      hmac.update('-');
    } else if (typeof value === 'string') {
      hmac.update(`s${Buffer.byteLength(value)}:`);
      hmac.update(value);
    } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      hmac.update(`${typeof value}:${String(value)};`);
    } else if (value instanceof Uint8Array) {
      hmac.update(`b${value.byteLength}:`);
      hmac.update(value);
    } else if (Array.isArray(value)) {
      hmac.update(`[${value.length}:`);
      for (const item of value) this.#feed(hmac, item);
      hmac.update(']');
    } else if (typeof value === 'object' && isPlain(value)) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      hmac.update(`{${keys.length}:`);
      for (const k of keys) {
        this.#feed(hmac, k);
        this.#feed(hmac, record[k]);
      }
      hmac.update('}');
    } else if (typeof value === 'object' || typeof value === 'function') {
      hmac.update(`#${this.#identity(value as object)};`);
    } else {
      hmac.update(`?${typeof value};`);
    }
  }

  #identity(value: object): number {
    let id = this.#identities.get(value);
    if (id === undefined) {
      id = this.#nextIdentity++;
      this.#identities.set(value, id);
    }
    return id;
  }
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** The readable part of a destination key (address and servername), for logs. */
export function describeDestination(key: string): string {
  const hash = key.lastIndexOf('#');
  return hash === -1 ? key : key.slice(0, hash);
}
