/**
 * What this Node lets the library do, probed once per server at attach time (and
 * confirmed by the first real session event), reported as named capabilities that
 * the user can read with `cache.capabilities()`.
 *
 * A feature the user configured that cannot work here is reported `degraded` with the
 * reason, and emits one coded warning (lib/warnings.ts); it is never left to resume
 * nothing in silence. Degraded always means safe: full handshakes, never a wrong
 * resumption. The rest of the library asks these booleans and never probes Node
 * itself (Go's `internal/cpu` pattern).
 */
import { Duplex } from 'node:stream';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { warnOnce, warningCodes } from '../warnings.js';
import { internals } from './internals.js';
import type { SidCtxDerivation } from './session-id-context.js';

/** The features `capabilities()` reports. */
export type CapabilityName =
  | 'contextSettings'
  | 'connectionFacts'
  | 'sessionIdContext'
  | 'tls13StatefulTickets'
  | 'serverNameBinding'
  | 'ticketKeyCallback';

/** `working`: as documented; `degraded`: safe but less (see `detail`); `off`: not configured. */
export type CapabilityStatus = 'working' | 'degraded' | 'off';

export interface Capability {
  readonly status: CapabilityStatus;
  /** One sentence for a person: what works, or what does not and why. */
  readonly detail: string;
}

export type Capabilities = { readonly [K in CapabilityName]: Capability };

/** Whether session events can be tied to their TLSSocket and the raw stream it reads. */
export interface ConnectionLinkProbe {
  /** `owner_symbol`: the TLSWrap that runs a session event knows its TLSSocket. */
  owner: boolean;
  /** `_parent` / `_parentWrap.stream`: a TLSSocket knows the stream the pre-parse read. */
  rawSocket: boolean;
}

/**
 * Probes the connection links on two throwaway client TLSSockets that never connect
 * (one over a net.Socket, one over a JavaScript Duplex). Synchronous, no I/O.
 */
export function probeConnectionLinks(): ConnectionLinkProbe {
  const duplex = new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); } });
  const raw = new net.Socket();
  let overDuplex: tls.TLSSocket | undefined;
  let overNet: tls.TLSSocket | undefined;
  try {
    overDuplex = new tls.TLSSocket(duplex);
    overNet = new tls.TLSSocket(raw);
    const handle = internals.handleOf(overDuplex);
    const owner = handle !== undefined && internals.ownerOf(handle) === overDuplex;
    const rawSocket = internals.rawSocketOf(overDuplex) === duplex && internals.rawSocketOf(overNet) === raw;
    return { owner, rawSocket };
  } catch {
    return { owner: false, rawSocket: false };
  } finally {
    overDuplex?.destroy();
    overNet?.destroy();
    duplex.destroy();
    raw.destroy();
  }
}

/** What the server was configured to need. */
export interface CapabilityNeeds {
  /** `tickets: 'off'` on a server that allows TLS 1.3. */
  tls13Stateful: boolean;
  /** Where SNI binding applies: 'off', or whether every resumption must be checked. */
  serverNameBinding: 'off' | 'where-parsed' | 'enforced';
  /** `ticketKeys` given, and which path it took. */
  ticketKeys: 'none' | 'callback' | 'setTicketKeys';
}

const working = (detail: string): Capability => Object.freeze({ status: 'working', detail });
const degraded = (detail: string): Capability => Object.freeze({ status: 'degraded', detail });
const off = (detail: string): Capability => Object.freeze({ status: 'off', detail });

/**
 * One server's capabilities. Built at attach time from the probes; the wiring updates
 * it when a session shows how Node derives the session id context, or that a session
 * event could not be tied to its connection after all.
 */
export class ServerCapabilities {
  readonly #server: tls.Server;
  #needs: CapabilityNeeds;
  #links: ConnectionLinkProbe;
  #linkFailedAtRuntime = false;
  #sidCtx: SidCtxDerivation | 'unknown' | undefined;

  constructor(server: tls.Server, needs: CapabilityNeeds) {
    this.#server = server;
    this.#needs = needs;
    this.#links = probeConnectionLinks(); // about 1 ms, once per attach
    this.#warnDegraded();
  }

  /** Whether session events can be tied to their connection (SNI name, pre-parse facts). */
  get connectionFacts(): boolean {
    return this.#links.owner && this.#links.rawSocket && !this.#linkFailedAtRuntime;
  }
  /** Whether a session event can at least find its TLSSocket (SNI name of new sessions). */
  get sessionSocket(): boolean {
    return this.#links.owner && !this.#linkFailedAtRuntime;
  }

  update(needs: Partial<CapabilityNeeds>): void {
    this.#needs = { ...this.#needs, ...needs };
    this.#warnDegraded();
  }

  /** A session event ran and its TLSSocket could not be found: the link is broken here. */
  sessionEventWithoutSocket(): void {
    if (this.#linkFailedAtRuntime) return;
    this.#linkFailedAtRuntime = true;
    this.#warnDegraded();
  }

  /** A session showed how this Node derives sid_ctx; undefined: in no way known here. */
  sessionIdContextObserved(derivation: SidCtxDerivation | undefined): void {
    const next = derivation ?? 'unknown';
    if (this.#sidCtx === next) return;
    this.#sidCtx = next;
    if (next === 'unknown') {
      warnOnce(
        warningCodes.SID_CTX_UNKNOWN,
        'tls-resumption: this Node stores a session id context in its sessions that the library cannot derive ' +
          'from the configured one, so it cannot tell its own sessions from foreign ones and caches none: ' +
          'every handshake is full. See cache.capabilities().sessionIdContext.',
      );
    }
  }

  report(): Capabilities {
    const server = this.#server;
    const defaultOk = internals.defaultContext(server) !== undefined;
    const sniListOk = internals.sniContexts(server) !== undefined;
    const sniCallbackOk = internals.sniCallbackSymbol(server) !== undefined;
    const unreachable = [
      defaultOk ? undefined : 'the default context',
      sniListOk ? undefined : 'addContext() contexts',
      sniCallbackOk ? undefined : 'SNICallback contexts',
    ].filter((x): x is string => x !== undefined);
    const contextSettings =
      unreachable.length === 0
        ? working('session id context, timeout and ticket options are set on the default, addContext() and SNICallback contexts')
        : degraded(`settings cannot reach ${unreachable.join(', ')}: sessions there keep Node's defaults (Node internals missing)`);

    const facts = this.connectionFacts;
    const connectionFacts = facts
      ? working('session events are tied to their connection (its SNI name and parsed ClientHello)')
      : degraded(
          this.#linkFailedAtRuntime
            ? 'a session event could not be tied to its connection on this Node: sessions carry no SNI name from the socket, TLS 1.3 stateful tickets get full handshakes'
            : "Node's owner_symbol or _parent link is missing: sessions carry no SNI name from the socket, TLS 1.3 stateful tickets get full handshakes",
        );

    let sessionIdContext: Capability;
    switch (this.#sidCtx) {
      case undefined:
        sessionIdContext = working('no session made yet: how Node derives the session id context is read from the first one');
        break;
      case 'literal':
        sessionIdContext = working('sessions carry the configured context as is (SSL_CTX_set_session_id_context)');
        break;
      case 'server-name':
        sessionIdContext = working(
          'Node binds sessions to the SNI name: they carry sha256(context, name), and OpenSSL resumes a session id only under its own name',
        );
        break;
      default:
        sessionIdContext = degraded('sessions carry a context the library cannot derive: none is cached, every handshake is full');
    }

    const tls13StatefulTickets = !this.#needs.tls13Stateful
      ? off("TLS 1.3 resumes by Node's stateless tickets (tickets: 'node'), or the server does not allow TLS 1.3")
      : facts
        ? working('TLS 1.3 clients resume by stateful tickets this cache serves (ClientHello pre-parse)')
        : degraded('TLS 1.3 stateful tickets cannot be matched to their sessions here: TLS 1.3 handshakes are full');

    const binding = this.#needs.serverNameBinding;
    const serverNameBinding =
      binding === 'off'
        ? off("serverNameBinding: 'off', or nothing needs it (one certificate, no client certificates)")
        : facts
          ? working(
              binding === 'enforced'
                ? 'every resumption this cache serves must match the SNI name its session was made for'
                : 'resumptions whose ClientHello was parsed must match the SNI name their session was made for',
            )
          : degraded(
              binding === 'enforced'
                ? 'the SNI name of a resuming connection is unknown here, so every resumption is refused (fail closed)'
                : 'sessions cannot be tied to SNI names here; they resume under any name',
            );

    const keys = this.#needs.ticketKeys;
    const ticketKeyCallback =
      keys === 'none'
        ? off('no ticketKeys option')
        : keys === 'callback'
          ? working("the ring encrypts with its current key and decrypts with older ones through Node's ticket-key callback")
          : degraded("Node's ticket-key callback is not available: setTicketKeys() with one key, so tickets of the previous key get a full handshake after each rotation");

    return Object.freeze({ contextSettings, connectionFacts, sessionIdContext, tls13StatefulTickets, serverNameBinding, ticketKeyCallback });
  }

  #warnDegraded(): void {
    const r = this.report();
    if (r.contextSettings.status === 'degraded') {
      warnOnce(warningCodes.CONTEXTS_UNREACHABLE, `tls-resumption: ${r.contextSettings.detail}. See cache.capabilities().`);
    }
    const needFacts = this.#needs.tls13Stateful || this.#needs.serverNameBinding !== 'off';
    if (needFacts && !this.connectionFacts) {
      warnOnce(
        warningCodes.NO_CONNECTION_FACTS,
        `tls-resumption: ${r.connectionFacts.detail}` +
          (this.#needs.serverNameBinding === 'enforced' ? `; ${r.serverNameBinding.detail}` : '') +
          '. See cache.capabilities().',
      );
    }
  }
}
