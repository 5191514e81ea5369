/**
 * The one warning a store built with `insecurePlaintext: true` emits, once per process
 * whichever store asked first: unsealed sessions are a real risk, but repeating the
 * warning per store or per worker restart would only train people to ignore it.
 */
import { warnOnce, warningCodes } from '../warnings.js';

/** Warning code emitted once when a store is built with `insecurePlaintext: true`. */
export const INSECURE_PLAINTEXT_WARNING = warningCodes.INSECURE_PLAINTEXT;

/** Emits the insecure-plaintext warning (naming `what`, e.g. 'RedisStore') once per process. */
export function warnInsecurePlaintext(what: string): void {
  warnOnce(
    INSECURE_PLAINTEXT_WARNING,
    `${what} stores TLS sessions unsealed (insecurePlaintext: true): whoever can read the store can decrypt ` +
      'recorded traffic, and whoever can write it can forge sessions. Pass sealKeys instead.',
  );
}
