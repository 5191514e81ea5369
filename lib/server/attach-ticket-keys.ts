/**
 * The one call `attachSessionCache` makes for its `ticketKeys` option: validate it,
 * build the ring (static, random, derived, or fed from the shared store), install it
 * on the server, and start syncing with the store.
 *
 *   const tickets = attachTicketKeys(server, { rotateEvery: '12h', keep: 2 }, { store });
 *   await tickets.ready;          // optional: the first keys are loaded
 *   tickets.stats();              // encryptions, decryptions by key age, renewals, unknown keys
 *   tickets.stop();               // detach, stop timers, zero the keys
 */
import type * as tls from 'node:tls';
import { logger } from '../debug.js';
import { makeError } from '../errors.js';
import type { SessionStore } from '../stores/store.js';
import type { RandomBytes } from '../tickets/key.js';
import { installTicketKeys, type TicketKeyPath, type TicketKeysStats } from './ticket-key-installation.js';
import { validateTicketKeysOption, type TicketKeysConfig } from '../tickets/options.js';
import { TicketKeyRing } from '../tickets/ring.js';
import { SharedTicketKeys, type SharedTicketKeysStats } from '../tickets/shared.js';
import { derivedKeySource, randomKeySource } from '../tickets/sources.js';

const log = logger('tickets');

/** Things the caller supplies besides the option itself. */
export interface TicketKeysContext {
  /** The session cache's store; used when the option names none. Must be sealed and have add(). */
  store?: SessionStore;
  /** The clock (ms). Default Date.now. Tests drive it. */
  now?: () => number;
  /** `false` forces the setTicketKeys() fallback. */
  useCallback?: boolean;
  /** Randomness for new keys. */
  random?: RandomBytes;
}

/** Ticket keys attached to a server, as `attachTicketKeys()` returns them. */
export interface TicketKeysHandle {
  /** How the keys reach OpenSSL: Node's ticket-key callback, or the setTicketKeys() fallback. */
  readonly path: TicketKeyPath;
  /**
   * Resolves when the first keys are in place: `true` at once for static, random and
   * derived keys; after the first store sync otherwise, `true` when the ring holds the
   * fleet's shared key and `false` when it is still on its local key (store connecting
   * or down; it keeps retrying). Never rejects.
   */
  readonly ready: Promise<boolean>;
  /** The ring's counters, the path, and the store's counters when shared. */
  stats(): TicketKeysStats & { store?: SharedTicketKeysStats };
  /**
   * Static keys only: replaces the keys (48- or 80-byte Buffers, newest first), as
   * reloading nginx's key files does. Validated like the option; throws on bad input
   * (and for rotating rings, ERR_TLS_RESUMPTION_TICKET_ROTATION).
   */
  setKeys(keys: readonly Uint8Array[]): void;
  /** Detaches from the server, stops the timers, and zeroes every key. Idempotent. */
  stop(): void;
}

/** The handle with the ring and its store sync, for the library and its tests. */
export interface AttachedTicketKeys extends TicketKeysHandle {
  readonly ring: TicketKeyRing;
  /** Present when keys are shared through a store. */
  readonly shared?: SharedTicketKeys;
}

/** Builds the ring a validated config describes (a store-fed ring starts empty). */
export function createTicketKeyRing(
  config: TicketKeysConfig,
  options: { now?: () => number; random?: RandomBytes } = {},
): TicketKeyRing {
  if (config.kind === 'static') return TicketKeyRing.fixed(config.keys);
  const source =
    config.source === 'secret'
      ? derivedKeySource(config.secret!, config.rotateEveryMs)
      : config.source === 'local'
        ? randomKeySource(options.random)
        : undefined;
  const ringOptions: Parameters<typeof TicketKeyRing.rotating>[0] = { rotateEveryMs: config.rotateEveryMs, keep: config.keep };
  if (options.now) ringOptions.now = options.now;
  if (source) ringOptions.source = source;
  return TicketKeyRing.rotating(ringOptions);
}

/**
 * Validates `option` (see options.ts), builds the ring, installs it on `server`
 * (callback or setTicketKeys fallback, see node-callback.ts) and, for store-shared keys,
 * starts syncing. Throws the option's validation errors synchronously.
 */
export function attachTicketKeys(server: tls.Server, option: unknown, context: TicketKeysContext = {}): TicketKeysHandle {
  const { path, ready, stats, setKeys, stop } = attachTicketKeyRing(server, option, context);
  return { path, ready, stats, setKeys, stop };
}

/** `attachTicketKeys` returning the ring too (what its tests and the session cache hold). */
export function attachTicketKeyRing(server: tls.Server, option: unknown, context: TicketKeysContext = {}): AttachedTicketKeys {
  const config = validateTicketKeysOption(option, context.store ? { store: context.store } : {});
  const ringOptions: { now?: () => number; random?: RandomBytes } = {};
  if (context.now) ringOptions.now = context.now;
  if (context.random) ringOptions.random = context.random;
  const ring = createTicketKeyRing(config, ringOptions);

  let shared: SharedTicketKeys | undefined;
  if (config.kind === 'rotating' && config.source === 'store') {
    const sharedOptions: ConstructorParameters<typeof SharedTicketKeys>[0] = {
      store: config.store!,
      ring,
      namespace: config.namespace,
      storeTimeoutMs: config.storeTimeoutMs,
      refreshEveryMs: config.refreshEveryMs,
    };
    if (context.random) sharedOptions.random = context.random;
    shared = new SharedTicketKeys(sharedOptions);
  }

  const installOptions = context.useCallback === undefined ? {} : { useCallback: context.useCallback };
  const installation = installTicketKeys(server, ring, installOptions);
  const ready = shared ? shared.start().then((report) => report.ok, () => false) : Promise.resolve(true);
  let stopped = false;

  if (config.kind === 'rotating') {
    // OpenSSL accepts a ticket's session for `sessionTimeout` seconds (Node's default 300);
    // a ticket is only decryptable for at least (keep - 1) rotation periods.
    const timeoutMs = ((server as unknown as { sessionTimeout?: number }).sessionTimeout ?? 300) * 1000;
    const minLifetimeMs = (config.keep - 1) * config.rotateEveryMs;
    if (minLifetimeMs < timeoutMs) {
      log(
        'note: tickets may outlive their key: keep - 1 = %d period(s) of %d ms is shorter than the session timeout (%d ms); ' +
          'such tickets get a full handshake',
        config.keep - 1,
        config.rotateEveryMs,
        timeoutMs,
      );
    }
  }

  const handle: AttachedTicketKeys = {
    ring,
    path: installation.path,
    ready,
    setKeys(keys) {
      if (config.kind !== 'static') {
        throw makeError('ERR_TLS_RESUMPTION_TICKET_ROTATION', 'setKeys() is for static ticket keys; rotating keys rotate by themselves');
      }
      const next = validateTicketKeysOption(keys);
      if (next.kind !== 'static') throw makeError('ERR_TLS_RESUMPTION_TICKET_KEY', 'setKeys() takes an array of keys');
      ring.replaceKeys(next.keys);
    },
    stats() {
      const s: TicketKeysStats & { store?: SharedTicketKeysStats } = installation.stats();
      if (shared) s.store = shared.stats();
      return s;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      shared?.stop();
      installation.stop();
      ring.destroy();
    },
  };
  if (shared) Object.defineProperty(handle, 'shared', { value: shared, enumerable: true });
  return handle;
}
