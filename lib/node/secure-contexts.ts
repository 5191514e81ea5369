/**
 * Keeps settings applied to every OpenSSL context a tls.Server uses.
 *
 * A Node server has one default context (`server._sharedCreds.context`), which
 * `server.setSecureContext()` replaces (certificate renewal), plus one per
 * `server.addContext()` entry and whatever a user's `SNICallback` returns. Anything
 * this library sets on a context (session id context, SSL_OP_NO_TICKET, ticket keys)
 * must be set again on each of them. This module calls `apply` for every context
 * now and every context that appears later, until the returned function is called.
 *
 * Known limitation: the contexts are reached through Node internals (internals.ts).
 * Where one is missing, that path is skipped, never a crash, and capabilities.ts
 * reports which settings cannot reach which contexts.
 */
import type * as tls from 'node:tls';
import { internals, isNativeContext, type NativeSecureContext, type SNICallback } from './internals.js';

export type { NativeSecureContext } from './internals.js';

/** Where a context came from: the server's default one, or an SNI context. */
export type ContextOrigin = 'default' | 'sni';
/** For an `addContext(servername, options)` context: its name and the options given. */
export interface AddedContext {
  servername: string;
  options: unknown;
}
export type ContextListener = (context: NativeSecureContext, origin: ContextOrigin, added?: AddedContext) => void;

interface PublicMethods {
  setSecureContext: tls.Server['setSecureContext'];
  addContext: tls.Server['addContext'];
}

interface Registry {
  listeners: Set<ContextListener>;
  restore: () => void;
}

const kRegistry = Symbol.for('tls-resumption.secure-contexts');

/** The server's current default native context, or undefined where Node hides it. */
export function defaultContext(server: tls.Server): NativeSecureContext | undefined {
  return internals.defaultContext(server);
}

/** Every native context the server has now: the default one, then SNI ones. */
export function allContexts(server: tls.Server): { context: NativeSecureContext; origin: ContextOrigin }[] {
  const out: { context: NativeSecureContext; origin: ContextOrigin }[] = [];
  const def = defaultContext(server);
  if (def) out.push({ context: def, origin: 'default' });
  const sni = internals.sniContexts(server);
  if (sni !== undefined) {
    for (const entry of sni) if (isNativeContext(entry?.[1])) out.push({ context: entry[1], origin: 'sni' });
  }
  return out;
}

function install(server: tls.Server): Registry {
  const methods = server as unknown as PublicMethods;
  const listeners = new Set<ContextListener>();
  const notify = (context: NativeSecureContext, origin: ContextOrigin, added?: AddedContext) => {
    for (const listener of listeners) listener(context, origin, added);
  };

  // Own-property wrappers, so restoring is `delete` and the prototype stays untouched.
  const hadOwnSet = Object.prototype.hasOwnProperty.call(server, 'setSecureContext');
  const hadOwnAdd = Object.prototype.hasOwnProperty.call(server, 'addContext');
  const originalSet = methods.setSecureContext;
  const originalAdd = methods.addContext;

  methods.setSecureContext = function setSecureContext(this: tls.Server, options) {
    originalSet.call(this, options);
    const ctx = defaultContext(server);
    if (ctx) notify(ctx, 'default');
  };
  methods.addContext = function addContext(this: tls.Server, hostname, context) {
    originalAdd.call(this, hostname, context);
    const list = internals.sniContexts(server);
    const added = list !== undefined ? list[list.length - 1]?.[1] : undefined;
    if (isNativeContext(added)) notify(added, 'sni', { servername: String(hostname), options: context });
  };

  // A user's SNICallback returns contexts we never see otherwise; apply to each once.
  const sniSymbol = internals.sniCallbackSymbol(server);
  const record = server as unknown as Record<symbol, SNICallback | undefined>;
  const originalSni = sniSymbol ? record[sniSymbol] : undefined;
  if (sniSymbol && typeof originalSni === 'function') {
    const seen = new WeakSet<object>();
    record[sniSymbol] = function sniCallback(servername, cb) {
      originalSni(servername, (err, ctx) => {
        const native = (ctx as unknown as { context?: unknown } | undefined)?.context;
        if (!err && isNativeContext(native) && !seen.has(native)) {
          seen.add(native);
          try {
            notify(native, 'sni');
          } catch (e) {
            return cb(e as Error);
          }
        }
        cb(err, ctx);
      });
    };
  }

  return {
    listeners,
    restore() {
      if (hadOwnSet) methods.setSecureContext = originalSet;
      else delete (methods as Partial<PublicMethods>).setSecureContext;
      if (hadOwnAdd) methods.addContext = originalAdd;
      else delete (methods as Partial<PublicMethods>).addContext;
      if (sniSymbol) record[sniSymbol] = originalSni;
    },
  };
}

/**
 * Calls `apply` for each context the server has now and each one it gets later
 * (setSecureContext, addContext, contexts returned by a user SNICallback).
 * Returns an idempotent function that stops watching; when the last watcher of a
 * server stops, the server's methods are restored exactly.
 */
export function watchSecureContexts(server: tls.Server, apply: ContextListener): () => void {
  const holder = server as unknown as Record<symbol, Registry | undefined>;
  let registry = holder[kRegistry];
  if (!registry) {
    registry = install(server);
    Object.defineProperty(server, kRegistry, { value: registry, configurable: true, writable: true });
  }
  for (const { context, origin } of allContexts(server)) apply(context, origin);
  registry.listeners.add(apply);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    const reg = holder[kRegistry];
    if (!reg) return;
    reg.listeners.delete(apply);
    if (reg.listeners.size === 0) {
      reg.restore();
      delete holder[kRegistry];
    }
  };
}
