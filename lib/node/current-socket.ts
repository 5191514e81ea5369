/**
 * Which TLSSocket a Node session event belongs to.
 *
 * Node's `newSession` and `resumeSession` events carry no socket. Both are emitted
 * synchronously from the TLSWrap's native callback, so `executionAsyncResource()`
 * (public API) is that TLSWrap, and Node links a wrap to its TLSSocket under its
 * internal `owner_symbol` (internals.ts). Where that link is missing these return
 * undefined / null and callers treat the connection's facts as unknown.
 */
import { executionAsyncResource } from 'node:async_hooks';
import type * as tls from 'node:tls';
import { internals } from './internals.js';

/** The TLSSocket whose native callback is running now, or undefined. */
export function currentTlsSocket(): tls.TLSSocket | undefined {
  const resource = executionAsyncResource();
  if (typeof resource !== 'object' || resource === null) return undefined;
  const owner = internals.ownerOf(resource);
  return owner !== null && typeof owner === 'object' && 'encrypted' in owner ? (owner as tls.TLSSocket) : undefined;
}

/**
 * The SNI name of a connection: a lower-case name, undefined when the client sent
 * none, or null when the socket is unknown.
 */
export function serverNameOf(socket: tls.TLSSocket | undefined): string | undefined | null {
  if (socket === undefined) return null;
  const name = (socket as tls.TLSSocket & { servername?: string | false | null }).servername;
  return typeof name === 'string' && name.length > 0 ? name.toLowerCase() : undefined;
}

/** The SNI name of the connection whose session event is running (see serverNameOf). */
export function currentServerName(): string | undefined | null {
  return serverNameOf(currentTlsSocket());
}

/**
 * The raw stream a server TLSSocket reads from (what the 'connection' event gave the
 * server, and so what the ClientHello pre-parse read), or undefined where Node hides it.
 */
export function rawSocketOf(socket: tls.TLSSocket): object | undefined {
  return internals.rawSocketOf(socket);
}
