/**
 * Installs a TicketKeyRing on a tls.Server, on every OpenSSL context it has now or
 * gets later (`setSecureContext()` for certificate renewal, `addContext()`, contexts a
 * user's SNICallback returns), through one of two paths:
 *
 * 1. The ticket-key callback (preferred). Node's native SecureContext has an internal
 *    `enableTicketKeyCallback()`; after it, OpenSSL's ticket callback calls
 *    `context.onticketkeycallback(name, iv, enc)` synchronously with `this` = that
 *    native context, `name` and `iv` 16-byte Buffer copies and `enc` a boolean
 *    (measured on Node 20.20 / OpenSSL 3.0, confirmed in src/crypto/crypto_context.cc
 *    SecureContext::TicketKeyCallback). It must return
 *       encrypt:  [1, hmacKey, aesKey16, name16, iv16]   (0 instead of 1: no ticket is issued)
 *       decrypt:  [1, hmacKey, aesKey16]                 (2: accept and issue a fresh ticket)
 *                 [0, hmacKey, aesKey16]                 unknown key: full handshake
 *    Measured facts this file relies on:
 *    - Node reads the HMAC and AES entries whatever the status, so a bare `[0]` aborts
 *      the whole process (assertion in node::Buffer::Length). Unknown keys return
 *      dummy buffers of the right length.
 *    - A thrown exception or a negative status fails the handshake (internal_error
 *      alert) and reaches 'uncaughtException'. The handler therefore never throws.
 *    - Status 2 renews: TLS 1.2 gets a new ticket under the current key, TLS 1.3 one new
 *      ticket. Status 1 on TLS 1.3 issues no new ticket after a resumption.
 *    - The cipher is always AES-128-CBC (the AES key must be 16 bytes), HMAC is SHA-256.
 *    - Node's SNI (addContext, SNICallback) only copies the certificate and key of the
 *      SNI context into the connection; OpenSSL keeps the default context, so ticket
 *      keys of SNI contexts are never used. They get the ring anyway, so nothing depends
 *      on that detail.
 *    - `setSecureContext()` creates a new native context without the callback: it is
 *      installed again on the new one.
 * 2. `setTicketKeys()` (fallback, or forced with `useCallback: false`): Node's built-in
 *    ticket handling with one key, the ring's current one, set again whenever the ring
 *    rotates and after the server starts listening (node:cluster workers receive the
 *    first worker's keys at listen time through `Server#_setServerData`). Known limitation: one key only, so tickets under the previous key get a
 *    full handshake after each rotation, and the ring's counters cannot see handshakes.
 *    Logged through `debug` (tls-resumption:tickets) when it is chosen.
 *
 * Security: keys are never logged (names at most, as short prefixes; names are public).
 */
import type * as tls from 'node:tls';
import { randomFillSync } from 'node:crypto';
import { logger } from '../debug.js';
import { warnOnce, warningCodes } from '../warnings.js';
import { makeError } from '../errors.js';
import { allContexts, defaultContext, watchSecureContexts, type NativeSecureContext } from '../node/secure-contexts.js';
import { hasTicketKeyCallback, replaceTicketKeyHandler, useTicketKeyHandler, type TicketKeyHandler } from '../node/ticket-key-callback.js';
import { keyLabel, nodeTicketKeyBytes, type TicketKey } from '../tickets/key.js';
import type { TicketKeyRing, TicketKeyRingStats } from '../tickets/ring.js';

const log = logger('tickets');

/** Which way the ring reaches OpenSSL. */
export type TicketKeyPath = 'callback' | 'setTicketKeys';

/** Options of `installTicketKeys`. */
export interface InstallTicketKeysOptions {
  /** `false` forces the `setTicketKeys()` fallback. Default: the callback where this Node has it. */
  useCallback?: boolean;
}

/** Counters of an installation: the ring's, plus the path in use. */
export interface TicketKeysStats extends TicketKeyRingStats {
  path: TicketKeyPath;
}

/** A ring installed on a server. */
export interface TicketKeysInstallation {
  readonly path: TicketKeyPath;
  /** The ring's counters. On the setTicketKeys path only `rotations` and `keys` move. */
  stats(): TicketKeysStats;
  /**
   * Detaches the ring (idempotent). Every context keeps resuming tickets under the
   * ring's current key; the ring's other keys stop working. The ring itself is not
   * destroyed: that is its owner's call.
   */
  stop(): void;
}


// Status values of Node's ticket-key callback array (index 0).
const UNKNOWN_KEY = 0;
const ACCEPT = 1;
const ACCEPT_AND_RENEW = 2;

const ZERO16 = Buffer.alloc(16);
// Node reads all entries whatever the status, so "no key" answers carry dummy buffers.
const NO_TICKET: readonly unknown[] = Object.freeze([UNKNOWN_KEY, ZERO16, ZERO16, ZERO16, ZERO16]);
const NOT_FOUND: readonly unknown[] = Object.freeze([UNKNOWN_KEY, ZERO16, ZERO16]);

const kInstalled = Symbol.for('tls-resumption.ticket-keys');

/** True when this Node exposes the ticket-key callback on the server's default context. */
export function ticketKeyCallbackSupported(server: tls.Server): boolean {
  const ctx = defaultContext(server);
  return ctx !== undefined && hasTicketKeyCallback(ctx);
}

/** Random IVs from a pooled CSPRNG buffer: one syscall per 256 tickets instead of one each. */
function ivSource(): () => Buffer {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 16 > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafeSlow(4096));
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + 16);
    offset += 16;
    return iv;
  };
}

function ringHandler(ring: TicketKeyRing): TicketKeyHandler {
  const nextIv = ivSource();
  return function onTicketKey(name, _iv, enc) {
    try {
      if (enc) {
        const key = ring.encryptionKey();
        if (key === undefined) return NO_TICKET as unknown[];
        return [ACCEPT, key.nodeHmacKey, key.nodeAesKey, key.name, nextIv()];
      }
      const found = ring.decryptionKey(name);
      if (found === undefined) return NOT_FOUND as unknown[];
      return [found.renew ? ACCEPT_AND_RENEW : ACCEPT, found.key.nodeHmacKey, found.key.nodeAesKey];
    } catch (err) {
      // Never let an exception reach OpenSSL: it would fail the handshake and surface as
      // an uncaught exception. No ticket / unknown key = a full handshake, nothing worse.
      log('ticket key callback failed (%s): %s', enc ? 'encrypt' : 'decrypt', (err as Error)?.message);
      return (enc ? NO_TICKET : NOT_FOUND) as unknown[];
    }
  };
}

/**
 * After `stop()`: behave like Node's built-in handling (one key, the context's own
 * `getTicketKeys()`), since the native callback cannot be switched off again.
 */
function builtinLikeHandler(context: NativeSecureContext): TicketKeyHandler {
  const nextIv = ivSource();
  return function onTicketKey(name, _iv, enc) {
    try {
      const keys = typeof context.getTicketKeys === 'function' ? context.getTicketKeys() : undefined;
      if (!keys || keys.length !== 48) return (enc ? NO_TICKET : NOT_FOUND) as unknown[];
      const keyName = keys.subarray(0, 16);
      if (enc) return [ACCEPT, keys.subarray(16, 32), keys.subarray(32, 48), keyName, nextIv()];
      return keyName.equals(name) ? [ACCEPT, keys.subarray(16, 32), keys.subarray(32, 48)] : (NOT_FOUND as unknown[]);
    } catch {
      return (enc ? NO_TICKET : NOT_FOUND) as unknown[];
    }
  };
}

function setKeyOn(target: { setTicketKeys(keys: Buffer): unknown }, key: TicketKey): void {
  const bytes = nodeTicketKeyBytes(key);
  try {
    target.setTicketKeys(bytes); // Node copies the 48 bytes into the native context.
  } finally {
    bytes.fill(0);
  }
}

/**
 * Installs `ring` on `server` (see the file comment for the two paths). Throws
 * ERR_TLS_RESUMPTION_ALREADY_ATTACHED if a ring is already installed on this server.
 * A timer (unref'd) ticks the ring at each period boundary, so expired keys are zeroed
 * on time even on an idle server and the fallback path switches keys promptly.
 */
export function installTicketKeys(
  server: tls.Server,
  ring: TicketKeyRing,
  options: InstallTicketKeysOptions = {},
): TicketKeysInstallation {
  const holder = server as unknown as Record<symbol, unknown>;
  if (holder[kInstalled]) {
    throw makeError('ERR_TLS_RESUMPTION_ALREADY_ATTACHED', 'a ticket key ring is already installed on this server');
  }
  const supported = ticketKeyCallbackSupported(server);
  const path: TicketKeyPath = options.useCallback !== false && supported ? 'callback' : 'setTicketKeys';
  if (path === 'setTicketKeys' && options.useCallback !== false) {
    warnOnce(
      warningCodes.NO_TICKET_KEY_CALLBACK,
      "tls-resumption: this Node has no ticket-key callback; the ticket key ring falls back to setTicketKeys() with one key " +
        'at a time, so tickets of the previous key get a full handshake after each rotation.',
    );
  }
  if (path === 'setTicketKeys') {
    log(
      'WARNING: %s; falling back to setTicketKeys(): one key at a time, so tickets under the previous key ' +
        'get a full handshake after each rotation, and per-ticket counters are not available',
      options.useCallback === false ? 'ticket-key callback disabled by option' : 'this Node has no ticket-key callback',
    );
  }

  const handler = ringHandler(ring);
  const enabled: WeakRef<NativeSecureContext>[] = [];

  const applyCallback = (context: NativeSecureContext) => {
    if (!useTicketKeyHandler(context, handler)) {
      // An odd context without the hook: give it the current key at least.
      const key = ring.currentKey();
      if (key) setKeyOn(context, key);
      return;
    }
    enabled.push(new WeakRef(context));
  };

  const applyKey = (context: NativeSecureContext) => {
    const key = ring.currentKey();
    if (key) setKeyOn(context, key);
  };

  const setEverywhere = (key: TicketKey | undefined) => {
    if (!key) {
      log('ring has no usable key: servers keep their last ticket key');
      return;
    }
    const contexts = allContexts(server);
    if (contexts.length === 0) setKeyOn(server, key);
    else for (const { context } of contexts) setKeyOn(context, key);
    log('ticket key set to %s on %d context(s)', keyLabel(key.name), Math.max(contexts.length, 1));
  };

  let stopWatching: () => void = () => {};
  let unsubscribe: () => void = () => {};
  if (path === 'callback') {
    stopWatching = watchSecureContexts(server, applyCallback);
  } else {
    if (defaultContext(server)) stopWatching = watchSecureContexts(server, applyKey);
    // No access to native contexts at all: the public API is all there is.
    else setEverywhere(ring.currentKey());
    const unsubscribeRing = ring.onChange(setEverywhere);
    // node:cluster hands every worker the first worker's ticket keys when it listens
    // (Server#_setServerData), overwriting ours: set the ring's key again afterwards.
    const onListening = () => setEverywhere(ring.currentKey());
    server.on('listening', onListening);
    unsubscribe = () => {
      unsubscribeRing();
      server.off('listening', onListening);
    };
  }
  Object.defineProperty(server, kInstalled, { value: true, configurable: true });

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const wait = ring.msUntilNextPeriod();
    if (!Number.isFinite(wait)) return;
    // At least 250 ms, so a test clock that stands still cannot spin this loop.
    timer = setTimeout(
      () => {
        ring.tick();
        schedule();
      },
      Math.min(Math.max(wait + 5, 250), 2 ** 31 - 1),
    );
    timer.unref();
  };
  schedule();

  return {
    path,
    stats: () => ({ ...ring.stats(), path }),
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      unsubscribe();
      stopWatching();
      delete holder[kInstalled];
      if (path !== 'callback') return;
      const key = ring.currentKey();
      for (const ref of enabled) {
        const ctx = ref.deref();
        if (!ctx) continue;
        if (key) setKeyOn(ctx, key);
        replaceTicketKeyHandler(ctx, builtinLikeHandler(ctx));
      }
      enabled.length = 0;
    },
  };
}
