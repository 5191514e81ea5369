/**
 * The one warning a store built with `insecurePlaintext: true` emits, once per process
 * whichever store asked first: unsealed sessions are a real risk, but repeating the
 * warning per store or per worker restart would only train people to ignore it.
 */

/** Warning code emitted once when a store is built with `insecurePlaintext: true`. */
export const INSECURE_PLAINTEXT_WARNING = 'TLS_RESUMPTION_INSECURE_PLAINTEXT';

let warned = false;

/** Emits the insecure-plaintext warning (naming `what`, e.g. 'RedisStore') once per process. */
export function warnInsecurePlaintext(what: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `${what} stores TLS sessions unsealed (insecurePlaintext: true): whoever can read the store can decrypt ` +
      'recorded traffic, and whoever can write it can forge sessions. Pass sealKeys instead.',
    { code: INSECURE_PLAINTEXT_WARNING },
  );
}
