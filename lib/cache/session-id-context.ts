import { MAX_SID_CTX_LENGTH } from '../constants.js';
import { makeError } from '../errors.js';

/**
 * Validates a session id context (SSL_CTX_set_session_id_context(3)) and returns it
 * as the string Node's native context takes.
 *
 * OpenSSL takes at most 32 bytes (SSL_MAX_SID_CTX_LENGTH) and fails otherwise; so do
 * we, with a RangeError, before anything is changed. Node's native setter accepts
 * only strings (their UTF-8 bytes become the context), so a Buffer is accepted when
 * it is valid UTF-8; any other Buffer is a TypeError rather than a silent rewrite.
 */
export function normalizeSessionIdContext(ctx: unknown, what = 'sessionIdContext'): string {
  let str: string;
  if (typeof ctx === 'string') {
    str = ctx;
  } else if (Buffer.isBuffer(ctx) || ctx instanceof Uint8Array) {
    const buf = Buffer.from(ctx);
    str = buf.toString('utf8');
    if (!Buffer.from(str, 'utf8').equals(buf)) {
      throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `${what}: Node's session id context setter takes text; this Buffer is not valid UTF-8`);
    }
  } else {
    throw makeError('ERR_TLS_RESUMPTION_INVALID_OPTION', `${what} must be a string or a Buffer`);
  }
  const length = Buffer.byteLength(str, 'utf8');
  if (length > MAX_SID_CTX_LENGTH) {
    throw makeError(
      'ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG',
      `${what} is ${length} bytes; OpenSSL allows at most ${MAX_SID_CTX_LENGTH} (SSL_MAX_SID_CTX_LENGTH)`,
    );
  }
  return str;
}
