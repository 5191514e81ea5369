import { MODE_NAMES, SESS_CACHE_ALL_BITS } from '../constants.js';
import { makeError } from '../errors.js';

/** A cache mode name, as OpenSSL's SSL_SESS_CACHE_* names in lower case. */
export type ModeName =
  | 'off'
  | 'client'
  | 'server'
  | 'both'
  | 'no-auto-clear'
  | 'no-internal-lookup'
  | 'no-internal-store'
  | 'no-internal';

/** A mode as accepted in options: OpenSSL's number, one name, or a list of names and numbers. */
export type ModeInput = number | ModeName | readonly (ModeName | number)[];

/**
 * Turns a mode given as a number, a name or a list into OpenSSL's bit mask.
 * Throws a TypeError (ERR_TLS_RESUMPTION_INVALID_MODE) for unknown names or bits.
 */
export function parseMode(input: unknown, what = 'mode'): number {
  const parts = Array.isArray(input) ? input : [input];
  let mode = 0;
  for (const part of parts) {
    if (typeof part === 'number') {
      if (!Number.isInteger(part) || part < 0 || (part & ~SESS_CACHE_ALL_BITS) !== 0) {
        throw makeError('ERR_TLS_RESUMPTION_INVALID_MODE', `${what}: 0x${Number(part).toString(16)} has bits that are no cache mode`);
      }
      mode |= part;
    } else if (typeof part === 'string' && Object.prototype.hasOwnProperty.call(MODE_NAMES, part.toLowerCase())) {
      mode |= MODE_NAMES[part.toLowerCase()]!;
    } else {
      throw makeError(
        'ERR_TLS_RESUMPTION_INVALID_MODE',
        `${what}: ${JSON.stringify(part)} is not a cache mode (use a number or one of ${Object.keys(MODE_NAMES).join(', ')})`,
      );
    }
  }
  return mode;
}
