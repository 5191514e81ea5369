/**
 * The one place that names Node's internals. Every underscore property and every
 * symbol found by its description that this library reads is read here, through one
 * small accessor each; nothing else in `lib/` touches them. The files beside this one
 * probe these accessors and report what works (see capabilities.ts).
 *
 * Measured unchanged on Node 20.20, 22.23, 24.22 and 26.12 (ARCHITECTURE.md, "Node
 * versions"); each accessor still returns `undefined` rather than throwing when a
 * future Node drops the field, and the callers degrade to full handshakes.
 *
 * | accessor            | internal                                  | used for                        |
 * | ------------------- | ----------------------------------------- | ------------------------------- |
 * | defaultContext      | `server._sharedCreds.context`             | settings on the default context |
 * | sniContexts         | `server._contexts` ([RegExp, ctx] pairs)  | settings on addContext contexts |
 * | sniCallbackSymbol   | the server's `snicallback` symbol         | settings on SNICallback results |
 * | ownerOf             | `owner_symbol` on a TLSWrap               | the socket of a session event   |
 * | handleOf            | `tlsSocket._handle` (the TLSWrap)         | probing the two above           |
 * | rawSocketOf         | `tlsSocket._parent`, `_handle._parentWrap`| the pre-parse's facts           |
 * | (native context)    | `enableTicketKeyCallback`, `onticketkeycallback` | ticket key ring          |
 */
import type * as tls from 'node:tls';

/** The subset of Node's native SecureContext (`secureContext.context`) this library uses. */
export interface NativeSecureContext {
  setSessionIdContext(ctx: string): void;
  setOptions(options: number): void;
  setTicketKeys(keys: Buffer): void;
  getTicketKeys?(): Buffer;
  setSessionTimeout?(seconds: number): void;
  enableTicketKeyCallback?(): void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, enc: boolean) => unknown[];
}

export type SNICallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void;

/** The names of the internals, as `capabilities()` reports them. */
export type InternalName = 'sharedCreds' | 'contexts' | 'sniCallbackSymbol' | 'ownerSymbol' | 'rawSocket' | 'ticketKeyCallback';

interface Accessors {
  defaultContext(server: tls.Server): NativeSecureContext | undefined;
  sniContexts(server: tls.Server): [RegExp, NativeSecureContext][] | undefined;
  sniCallbackSymbol(server: tls.Server): symbol | undefined;
  ownerOf(resource: object): unknown;
  handleOf(socket: tls.TLSSocket): object | undefined;
  rawSocketOf(socket: tls.TLSSocket): object | undefined;
  ticketKeyCallback(context: NativeSecureContext): boolean;
}

function isNativeContext(value: unknown): value is NativeSecureContext {
  return typeof value === 'object' && value !== null && typeof (value as NativeSecureContext).setSessionIdContext === 'function';
}

function findSymbol(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

let ownerSymbol: symbol | undefined;

const real: Accessors = {
  defaultContext(server) {
    const ctx = (server as unknown as { _sharedCreds?: { context?: unknown } })._sharedCreds?.context;
    return isNativeContext(ctx) ? ctx : undefined;
  },
  sniContexts(server) {
    const list = (server as unknown as { _contexts?: unknown })._contexts;
    return Array.isArray(list) ? (list as [RegExp, NativeSecureContext][]) : undefined;
  },
  sniCallbackSymbol(server) {
    return findSymbol(server, 'snicallback');
  },
  ownerOf(resource) {
    ownerSymbol ??= findSymbol(resource, 'owner_symbol');
    return ownerSymbol === undefined ? undefined : (resource as Record<symbol, unknown>)[ownerSymbol];
  },
  handleOf(socket) {
    const handle = (socket as tls.TLSSocket & { _handle?: unknown })._handle;
    return typeof handle === 'object' && handle !== null ? handle : undefined;
  },
  rawSocketOf(socket) {
    // `_parent` for a net.Socket; a JavaScript Duplex emitted as 'connection' is wrapped
    // in a JSStreamSocket, found as the TLSWrap's `_parentWrap.stream`.
    const s = socket as tls.TLSSocket & { _parent?: object | null; _handle?: { _parentWrap?: { stream?: object } } | null };
    return s._parent ?? s._handle?._parentWrap?.stream ?? undefined;
  },
  ticketKeyCallback(context) {
    return typeof context.enableTicketKeyCallback === 'function';
  },
};

const broken: Accessors = {
  defaultContext: () => undefined,
  sniContexts: () => undefined,
  sniCallbackSymbol: () => undefined,
  ownerOf: () => undefined,
  handleOf: () => undefined,
  rawSocketOf: () => undefined,
  ticketKeyCallback: () => false,
};

const ACCESSOR_OF: Record<InternalName, keyof Accessors> = {
  sharedCreds: 'defaultContext',
  contexts: 'sniContexts',
  sniCallbackSymbol: 'sniCallbackSymbol',
  ownerSymbol: 'ownerOf',
  rawSocket: 'rawSocketOf',
  ticketKeyCallback: 'ticketKeyCallback',
};

/** The accessors in force: the real ones, unless a test has hidden one. */
export const internals: Accessors = { ...real };

export { isNativeContext };

/**
 * Test seam: makes the library see `name` as missing, as on a Node that dropped it,
 * until the returned function is called. Only the library's view changes; Node keeps
 * working. Used by the tests that show each degraded path is safe and reported.
 */
export function hideInternalForTesting(name: InternalName): () => void {
  const key = ACCESSOR_OF[name];
  (internals as unknown as Record<string, unknown>)[key] = broken[key];
  return () => {
    (internals as unknown as Record<string, unknown>)[key] = real[key];
  };
}
