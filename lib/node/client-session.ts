/**
 * Node's client session wrapper (CVE-2026-48934; Node 22.23+, 24.17+, 26.3.1+), the
 * one place this library knows its format. Pure functions, no I/O, nothing throws.
 *
 * On those versions the client's `'session'` event and `tlsSocket.getSession()` do not
 * return OpenSSL's SSL_SESSION DER but
 *
 *   "\0nodejs:tls:session:1\0"   22 bytes, the prefix
 *   uint16 big-endian           length of the name in bytes
 *   name                        UTF-8: the identity the session was authenticated for
 *   SSL_SESSION DER             what i2d_SSL_SESSION wrote
 *
 * and a Node client passed `session` (tls.connect, setSession) offers it only when the
 * name equals the connection's identity: `servername || host || socket._host ||
 * 'localhost'` of its connect options (so a connection to an IP without SNI binds its
 * sessions to the IP string). A bare DER is ignored by a client that verifies the
 * server (`rejectUnauthorized !== false`), offered by one that does not. Older Nodes
 * hand out and take the bare DER, and pass the wrapper to OpenSSL as is, where it does
 * not parse. Measured on 20.20.2 (bare), 22.23.5, 24.22.3 and 26.12.1 (wrapped), from
 * Node's own `wrapSessionState` / `unwrapSessionState` / `getSessionForReuse`.
 *
 * Which form the running Node uses is detected by behaviour (lib/client/node-session-form.ts),
 * never from its version number.
 */

/** The bytes every wrapped session starts with (format version 1). */
const PREFIX = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');
/** Bytes before the name: the prefix and the 2-byte length. */
const HEADER = PREFIX.length + 2;
/** The longest name the 2-byte length can hold. */
const MAX_NAME_BYTES = 0xffff;

/** What a client session buffer is. `der` is a view into the input, not a copy. */
export type ClientSessionForm =
  /** Node's wrapper: the name it is bound to and the SSL_SESSION DER inside. */
  | { readonly form: 'wrapped'; readonly servername: string; readonly der: Buffer }
  /** No wrapper: the bytes are (or claim to be) the SSL_SESSION DER itself. */
  | { readonly form: 'bare'; readonly der: Buffer }
  /** Starts like a wrapper but is cut short, or is not a Buffer at all. */
  | { readonly form: 'malformed'; readonly reason: string };

/** True when `bytes` begin with the wrapper's prefix (whether or not the rest is whole). */
export function hasWrapperPrefix(bytes: Uint8Array): boolean {
  if (bytes.length < PREFIX.length) return false;
  for (let i = 0; i < PREFIX.length; i++) if (bytes[i] !== PREFIX[i]) return false;
  return true;
}

/**
 * Splits a client session into its name and DER, as Node's `unwrapSessionState` does
 * (the name decoded as UTF-8, the DER everything after it). Bytes without the prefix
 * are 'bare'; whether they are a valid SSL_SESSION is for lib/protocol/session-der.ts.
 * A wrapper with an empty DER is 'malformed' (Node would hand OpenSSL nothing).
 */
export function unwrapClientSession(bytes: unknown): ClientSessionForm {
  if (!(bytes instanceof Uint8Array)) return { form: 'malformed', reason: 'not a Buffer' };
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!hasWrapperPrefix(buf)) return { form: 'bare', der: buf };
  if (buf.length < HEADER) return { form: 'malformed', reason: 'wrapped session cut short before the name length' };
  const nameLength = buf.readUInt16BE(PREFIX.length);
  const nameEnd = HEADER + nameLength;
  if (buf.length < nameEnd) return { form: 'malformed', reason: 'wrapped session cut short inside the name' };
  if (buf.length === nameEnd) return { form: 'malformed', reason: 'wrapped session holds no SSL_SESSION' };
  return { form: 'wrapped', servername: buf.toString('utf8', HEADER, nameEnd), der: buf.subarray(nameEnd) };
}

/**
 * Wraps a DER for `servername`, byte for byte as Node's `wrapSessionState` does.
 * Undefined when the name does not fit the 2-byte length (no DNS name comes close).
 */
export function wrapClientSession(der: Uint8Array, servername: string): Buffer | undefined {
  const name = Buffer.from(servername, 'utf8');
  if (name.length > MAX_NAME_BYTES) return undefined;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(name.length, 0);
  return Buffer.concat([PREFIX, length, name, der]);
}

/** The connect options Node reads the session identity from. */
export interface SessionIdentityOptions {
  readonly servername?: unknown;
  readonly host?: unknown;
  readonly socket?: unknown;
}

/**
 * The name Node binds a client session to and checks before offering one
 * (`getSessionServerIdentity`): the first non-empty of servername, host, the given
 * socket's `_host`, else 'localhost' (Node's default host).
 */
export function sessionIdentity(options: SessionIdentityOptions): string {
  for (const value of [options.servername, options.host, socketHost(options.socket)]) {
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'localhost';
}

function socketHost(socket: unknown): unknown {
  return typeof socket === 'object' && socket !== null ? (socket as { _host?: unknown })._host : undefined;
}
