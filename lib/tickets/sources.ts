/**
 * Synchronous key sources for rotating rings that need no store.
 *
 * - `randomKeySource`: fresh random keys for the current and next periods, never for
 *   past ones. One process only: nothing is shared, and a restart forgets every key.
 * - `derivedKeySource`: each period's key is HKDF-SHA256(secret, period), so every
 *   worker and host holding the secret computes the same keys without a store.
 *
 * Security note on derived keys: the secret is long-lived, so whoever obtains it can
 * recompute every period's key, past and future, and decrypt every recorded TLS 1.2
 * ticket (which carries the master secret). Forward secrecy is then bounded by the
 * secret's lifetime, not by the rotation period. Store-shared random keys (shared.ts)
 * do not have this weakness: a key dropped from the store and the rings is gone.
 */
import { hkdfSync } from 'node:crypto';
import { generateTicketKey, parseTicketKey, type RandomBytes } from './key.js';
import { keyNamePrefix, type TicketKeySource } from './ring.js';

/** Random keys for the current and next periods; nothing for past periods. */
export function randomKeySource(random?: RandomBytes): TicketKeySource {
  return (period, past) => (past ? undefined : generateTicketKey(keyNamePrefix(period), random));
}

const SALT = Buffer.from('tls-resumption ticket keys v1', 'utf8');

/**
 * Keys derived from `secret` per period. `rotateEveryMs` is part of the derivation, so
 * fleets with different schedules never share a key. The 48-byte key is
 * name = period (8 bytes, big-endian) || 8 derived bytes, then 16 + 16 derived bytes.
 */
export function deriveTicketKey(secret: Buffer, rotateEveryMs: number, period: number) {
  const info = Buffer.from(`period ${rotateEveryMs}/${period}`, 'utf8');
  const okm = Buffer.from(hkdfSync('sha256', secret, SALT, info, 40));
  const bytes = Buffer.concat([keyNamePrefix(period), okm]);
  const key = parseTicketKey(bytes);
  okm.fill(0);
  bytes.fill(0);
  return key;
}

/** A source deriving every period's key (past ones included) from `secret`. */
export function derivedKeySource(secret: Buffer, rotateEveryMs: number): TicketKeySource {
  return (period) => deriveTicketKey(secret, rotateEveryMs, period);
}
