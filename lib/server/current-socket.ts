/**
 * Which TLSSocket a Node session event belongs to.
 *
 * Node's `newSession` and `resumeSession` events carry no socket, and OpenSSL does not
 * record the SNI name in sessions made by a Node server (Node selects SNI contexts
 * outside OpenSSL's servername callback, so DER tag [6] stays empty; measured on
 * Node 20 / OpenSSL 3.0). Both events are emitted synchronously from the TLSWrap's
 * native callback, so `executionAsyncResource()` (public API) is that TLSWrap, and
 * Node links a wrap to its TLSSocket under its internal `owner_symbol`.
 *
 * That symbol is internal: it is found by description and feature-detected; where it
 * is missing this returns undefined and callers treat the server name as unknown.
 */
import { executionAsyncResource } from 'node:async_hooks';
import type * as tls from 'node:tls';

let ownerSymbol: symbol | undefined | null; // null: looked for on a wrap and not found

function findOwnerSymbol(resource: object): symbol | undefined {
  if (ownerSymbol === undefined || ownerSymbol === null) {
    const found = Object.getOwnPropertySymbols(resource).find((s) => s.description === 'owner_symbol');
    if (found !== undefined) ownerSymbol = found;
    else if (ownerSymbol === undefined) ownerSymbol = null;
    return found;
  }
  return ownerSymbol;
}

/** The TLSSocket whose native callback is running now, or undefined. */
export function currentTlsSocket(): tls.TLSSocket | undefined {
  const resource = executionAsyncResource() as Record<symbol, unknown> | undefined;
  if (typeof resource !== 'object' || resource === null) return undefined;
  const sym = findOwnerSymbol(resource);
  if (sym === undefined) return undefined;
  const owner = resource[sym] as tls.TLSSocket | undefined;
  return owner !== null && typeof owner === 'object' && 'encrypted' in owner ? owner : undefined;
}

/**
 * The SNI name of the connection whose session event is running: a lower-case name,
 * undefined when the client sent none, or null when the socket cannot be found.
 */
export function currentServerName(): string | undefined | null {
  const socket = currentTlsSocket();
  if (socket === undefined) return null;
  const name = (socket as tls.TLSSocket & { servername?: string | false | null }).servername;
  return typeof name === 'string' && name.length > 0 ? name.toLowerCase() : undefined;
}
