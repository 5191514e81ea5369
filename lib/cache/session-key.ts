import { MAX_SESSION_ID_LENGTH } from '../constants.js';

/**
 * Names the key a session is stored under, after SSL_CTX_set_generate_session_id(3).
 *
 * OpenSSL mints the session id on the wire and Node exposes no hook for the
 * generate-session-id callback, so this library cannot change the id a client sees.
 * What it controls is the key under which the session is cached, and that key must
 * be derivable from what a returning client sends: the wire id (TLS 1.2) or the PSK
 * identity (TLS 1.3 stateful tickets, which equals the id). Hence a key is a pure
 * function of the wire id: at most 32 bytes (SSL_MAX_SSL_SESSION_ID_LENGTH), starting
 * with the configured prefix (a host or shard tag, as the man page's "www-18"),
 * the rest filled from the wire id, which is already random.
 *
 * A user generator may shorten keys (as the man page allows shortening ids); two ids
 * may then map to one key. The cache checks with `hasMatchingSessionId` and leaves a
 * clashing session uncached. Retrying a pure function yields the same key, so the man
 * page's retry loop has nothing to retry here.
 */
export type GenerateSessionKey = (wireId: Buffer, maxLength: number) => Buffer | Uint8Array;

export type SessionKeyResult = { ok: true; key: string } | { ok: false; reason: string };

export interface SessionKeyNaming {
  /** Bytes every key starts with (may be empty). At most 32 bytes. */
  readonly prefix: Buffer;
  /** A user generator replacing the default fill; must be pure. */
  readonly generate: GenerateSessionKey | undefined;
}

/** The storage key (hex) for a wire id, or why none could be made. Never throws. */
export function sessionKeyFor(wireId: Buffer, naming: SessionKeyNaming): SessionKeyResult {
  if (wireId.length === 0 || wireId.length > MAX_SESSION_ID_LENGTH) {
    return { ok: false, reason: `wire id of ${wireId.length} bytes` };
  }
  if (naming.generate === undefined) {
    if (naming.prefix.length === 0) return { ok: true, key: wireId.toString('hex') };
    const room = MAX_SESSION_ID_LENGTH - naming.prefix.length;
    return { ok: true, key: naming.prefix.toString('hex') + wireId.subarray(0, room).toString('hex') };
  }
  let generated: Buffer | Uint8Array;
  try {
    generated = naming.generate(wireId, MAX_SESSION_ID_LENGTH);
  } catch (err) {
    return { ok: false, reason: `generator threw: ${(err as Error)?.message ?? String(err)}` };
  }
  if (!(generated instanceof Uint8Array)) return { ok: false, reason: 'generator returned no bytes' };
  if (generated.length === 0 || generated.length > MAX_SESSION_ID_LENGTH) {
    return { ok: false, reason: `generator returned ${generated.length} bytes (1..${MAX_SESSION_ID_LENGTH} allowed)` };
  }
  return { ok: true, key: Buffer.from(generated.buffer, generated.byteOffset, generated.length).toString('hex') };
}
