/**
 * What the ClientHello pre-parse learned of each connection, kept per raw socket until
 * Node's `resumeSession` event for that connection asks for it.
 */
import type * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CacheAccounting } from '../cache/accounting.js';
import type { ClientHello } from '../protocol/client-hello.js';
import { rawSocketOf } from '../node/current-socket.js';
import { TLS1_2_VERSION, TLS1_3_VERSION } from '../constants.js';


/** What the pre-parse learned of one connection that will emit resumeSession. */
export interface HelloFacts {
  serverName: string | undefined;
  protocolVersion: number | undefined;
  /** TLS 1.3: the first PSK identity, the stateful ticket's session id. */
  pskIdentity: Buffer | undefined;
}

/**
 * Facts per raw socket (the one the pre-parse read); resumeSession finds its socket
 * through the running TLSWrap.
 */
export class HelloFactsBySocket {
  readonly #accounting: CacheAccounting;
  readonly #serverAllowsTls13: () => boolean;
  readonly #facts = new WeakMap<object, HelloFacts>();

  /** `serverAllowsTls13` is asked per hello: the server's maxVersion may change. */
  constructor(accounting: CacheAccounting, serverAllowsTls13: () => boolean) {
    this.#accounting = accounting;
    this.#serverAllowsTls13 = serverAllowsTls13;
  }

  /** The pre-parse's callback (installHelloTap's `onHello`): counts the hello, keeps its facts. */
  readonly onHello = (socket: Duplex, hello: ClientHello | undefined): void => {
    this.#accounting.hello(hello !== undefined);
    // Node emits resumeSession only for a non-empty legacy id and no TLS 1.2 ticket.
    if (hello === undefined || hello.sessionId.length === 0) return;
    if (hello.sessionTicket !== undefined && hello.sessionTicket.length > 0) return;
    const tls13 = hello.supportedVersions.includes(TLS1_3_VERSION) && this.#serverAllowsTls13();
    this.#facts.set(socket, {
      serverName: hello.serverName,
      protocolVersion: tls13 ? TLS1_3_VERSION : hello.legacyVersion === TLS1_2_VERSION ? TLS1_2_VERSION : undefined,
      // OpenSSL asks the session callback for the first identity only before it
      // checks binders; serving a later one would fail the binder check.
      pskIdentity: tls13 ? hello.pskIdentities[0] : undefined,
    });
  };

  /** The facts of a TLSSocket's connection, found through the raw socket it reads from. */
  of(socket: tls.TLSSocket): HelloFacts | undefined {
    return this.#facts.get(rawSocketOf(socket) ?? socket);
  }
}
