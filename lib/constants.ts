/**
 * Session cache modes, with OpenSSL's names and values (SSL_CTX_set_session_cache_mode(3)).
 * "Internal" is this library's in-process store; "external" is a configured shared store.
 */

/** No session caching for client or server. */
export const SESS_CACHE_OFF = 0x0;
/** Client sessions are added to the client cache (see ClientSessionCache). */
export const SESS_CACHE_CLIENT = 0x1;
/** Server sessions are added to the cache and looked up on resumption. The default. */
export const SESS_CACHE_SERVER = 0x2;
/** Both client and server caching. */
export const SESS_CACHE_BOTH = SESS_CACHE_CLIENT | SESS_CACHE_SERVER;
/** Expired sessions are not flushed automatically every 255 connections. */
export const SESS_CACHE_NO_AUTO_CLEAR = 0x80;
/** Lookups skip the internal store and go to the external store only. */
export const SESS_CACHE_NO_INTERNAL_LOOKUP = 0x100;
/** New sessions and external hits are not put into the internal store. */
export const SESS_CACHE_NO_INTERNAL_STORE = 0x200;
/** NO_INTERNAL_LOOKUP | NO_INTERNAL_STORE. */
export const SESS_CACHE_NO_INTERNAL = SESS_CACHE_NO_INTERNAL_LOOKUP | SESS_CACHE_NO_INTERNAL_STORE;

/** Every bit a mode may have. */
export const SESS_CACHE_ALL_BITS = SESS_CACHE_BOTH | SESS_CACHE_NO_AUTO_CLEAR | SESS_CACHE_NO_INTERNAL;

/** Mode names accepted in options, lower-case as OpenSSL's names without the prefix. */
export const MODE_NAMES: Readonly<Record<string, number>> = Object.freeze({
  off: SESS_CACHE_OFF,
  client: SESS_CACHE_CLIENT,
  server: SESS_CACHE_SERVER,
  both: SESS_CACHE_BOTH,
  'no-auto-clear': SESS_CACHE_NO_AUTO_CLEAR,
  'no-internal-lookup': SESS_CACHE_NO_INTERNAL_LOOKUP,
  'no-internal-store': SESS_CACHE_NO_INTERNAL_STORE,
  'no-internal': SESS_CACHE_NO_INTERNAL,
});

/** SSL_MAX_SID_CTX_LENGTH: the longest session id context OpenSSL accepts. */
export const MAX_SID_CTX_LENGTH = 32;
/** SSL_MAX_SSL_SESSION_ID_LENGTH: the longest session id. */
export const MAX_SESSION_ID_LENGTH = 32;
/** OpenSSL's default cache size (SSL_SESSION_CACHE_MAX_SIZE_DEFAULT). */
export const DEFAULT_CACHE_SIZE = 1024 * 20;
/**
 * The session lifetime this library sets, in seconds: Node's documented `sessionTimeout`
 * default. (OpenSSL's own default for TLS, which a Node server's sessions carry when
 * no timeout is set, is 7200 s; measured.)
 */
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** OpenSSL flushes expired sessions every 255 connections unless NO_AUTO_CLEAR. */
export const AUTO_CLEAR_EVERY = 255;

/** ProtocolVersion values on the wire and in SSL_SESSION (RFC 8446 §4.2.1). */
export const TLS1_2_VERSION = 0x0303;
export const TLS1_3_VERSION = 0x0304;
