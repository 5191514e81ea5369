/**
 * What the cache keeps for one session: the DER OpenSSL gave us (secret: it holds the
 * master secret) and the few facts the resume decision needs, parsed once.
 */
export interface CachedSession {
  /** i2d_SSL_SESSION bytes, handed back to OpenSSL on resumption. Secret. */
  readonly der: Buffer;
  /** The session id on the wire (TLS 1.2) or the PSK identity (TLS 1.3 stateful tickets). */
  readonly wireId: Buffer;
  /** The session id context the session was made under (DER tag [4]). */
  readonly sidCtx: Buffer;
  /**
   * The SNI name of the full handshake, lower case; undefined when the client sent
   * none; null when it could not be learned (then SNI binding cannot apply to it).
   */
  readonly serverName: string | undefined | null;
  /** 0x0303 for TLS 1.2, 0x0304 for TLS 1.3. */
  readonly protocolVersion: number;
  /** When the session stops being resumable, in ms since the epoch. */
  readonly expiresAtMs: number;
  /**
   * When the authentication behind it is too old to restore, in ms since the epoch: the
   * full handshake's time plus the cache's timeout, inherited along a chain of TLS 1.3
   * resumptions (each issues a fresh ticket with a fresh lifetime; RFC 8446 §4.6.1
   * lets a server bound the chain).
   */
  readonly authExpiresAtMs: number;
  /** The trust settings' fingerprint it was made under; undefined when not known (add()). */
  readonly trust: string | undefined;
  /** The peer certificate's validity window, in ms since the epoch, when it carries one. */
  readonly peerCertValidity: { readonly notBeforeMs: number; readonly notAfterMs: number } | undefined;
}
