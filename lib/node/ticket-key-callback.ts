/**
 * Node's internal ticket-key callback on a native SecureContext: after
 * `enableTicketKeyCallback()`, OpenSSL's ticket callback calls
 * `context.onticketkeycallback(name, iv, enc)` synchronously (src/crypto/crypto_context.cc,
 * SecureContext::TicketKeyCallback; measured on Node 20.20, 22.23, 24.22 and 26.12).
 * The array it must return is described in tickets/node-callback.ts, its one user.
 * Where the hook is missing, the ring falls back to the public `setTicketKeys()`.
 */
import { internals, type NativeSecureContext } from './internals.js';

export type TicketKeyHandler = (name: Buffer, iv: Buffer, enc: boolean) => unknown[];

/** Whether `context` has Node's ticket-key callback. */
export function hasTicketKeyCallback(context: NativeSecureContext): boolean {
  return internals.ticketKeyCallback(context);
}

/**
 * Routes `context`'s ticket keys through `handler` from the next handshake on. The
 * handler is set before the callback is enabled, so no handshake sees one without the
 * other. Returns false (and changes nothing) where the hook is missing.
 */
export function useTicketKeyHandler(context: NativeSecureContext, handler: TicketKeyHandler): boolean {
  if (!hasTicketKeyCallback(context)) return false;
  context.onticketkeycallback = handler;
  context.enableTicketKeyCallback!();
  return true;
}

/** Replaces the handler of a context whose callback is already enabled (it cannot be disabled). */
export function replaceTicketKeyHandler(context: NativeSecureContext, handler: TicketKeyHandler): void {
  context.onticketkeycallback = handler;
}
