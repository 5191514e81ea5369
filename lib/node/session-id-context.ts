/**
 * How Node turns a server's session id context into the sid_ctx OpenSSL stores in
 * each session (DER tag [4]) and compares on resumption.
 *
 * Two behaviours are known, and a running Node shows which one it has in every
 * session it makes; this library never decides by version number:
 *
 * - `literal`: the configured context itself (SSL_CTX_set_session_id_context(3));
 *   measured on Node 20.20 and 26.12.
 * - `server-name`: sha256(context + "\0" + SNI name), or sha256(context + "\0")
 *   without SNI: Node binds sessions to the SNI name itself, and OpenSSL refuses a
 *   session made for another name. Measured on Node 22.23 and 24.22 (the security
 *   release that 26.12 has not had yet); the DER then also carries the name in tag [6].
 *
 * A session made under the configured context matches one of the two; one made under
 * another context matches neither (but for a SHA-256 collision).
 */
import { createHash } from 'node:crypto';

export type SidCtxDerivation = 'literal' | 'server-name';

/**
 * The context Node gives a server that was not given one: the first 32 hex
 * characters of sha1(process.argv.join(' ')). Two workers or hosts started with
 * different arguments get different contexts and never resume each other's sessions.
 */
export function nodeDefaultSessionIdContext(argv: readonly string[] = process.argv): string {
  return createHash('sha1').update(argv.join(' ')).digest('hex').slice(0, 32);
}

/** sha256(context + "\0" + name): the sid_ctx of a `server-name` Node. */
export function serverNameSidCtx(context: Buffer, serverName: string | undefined): Buffer {
  const hash = createHash('sha256').update(context).update('\0');
  if (serverName !== undefined) hash.update(serverName, 'utf8');
  return hash.digest();
}

/** Bound on the memo of derived contexts, one entry per SNI name seen. */
const MAX_MEMO = 1024;

/**
 * Matches sessions' sid_ctx against one configured context under either derivation.
 * Derived values are memoized per name (a resumed handshake pays one Map lookup).
 */
export class SidCtxMatcher {
  readonly #context: Buffer;
  readonly #memo = new Map<string, Buffer>();

  constructor(context: string) {
    this.#context = Buffer.from(context, 'utf8');
  }

  /**
   * How `sidCtx` was derived from this context for a session of `serverName`
   * (undefined: no SNI; null: not known, so only the literal and no-SNI forms can be
   * recognised), or undefined when it was made under another context.
   */
  derivationOf(sidCtx: Buffer, serverName: string | undefined | null): SidCtxDerivation | undefined {
    if (sidCtx.equals(this.#context)) return 'literal';
    if (sidCtx.length !== 32) return undefined;
    if (serverName !== null && sidCtx.equals(this.#derived(serverName))) return 'server-name';
    if (serverName === null && sidCtx.equals(this.#derived(undefined))) return 'server-name';
    return undefined;
  }

  #derived(serverName: string | undefined): Buffer {
    const key = serverName ?? '';
    let value = this.#memo.get(key);
    if (value === undefined) {
      if (this.#memo.size >= MAX_MEMO) this.#memo.clear();
      value = serverNameSidCtx(this.#context, serverName);
      this.#memo.set(key, value);
    }
    return value;
  }
}

/** The check the cache policy uses for a context (cache/resume-decision.ts). */
export function sidCtxCheck(context: string): SidCtxMatcher {
  return new SidCtxMatcher(context);
}
