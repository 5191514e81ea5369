import * as tls from 'node:tls';
import { logger } from '../debug.js';
import { classifyError, timeoutFailure, type Failure } from './failure.js';

const debug = logger('cli');

/** One probe connection: where to connect and which client settings to use. */
export interface ConnectionSpec {
  /** Resolved IP address (DNS is done once per check, not per connection). */
  readonly address: string;
  readonly port: number;
  /** `host:port` for messages. */
  readonly where: string;
  /** SNI to send and the name the certificate is checked against; none for an IP target. */
  readonly servername: string | undefined;
  /**
   * Check that the certificate is valid for `servername`. The cross-SNI probe turns this
   * off, because its second name is made up; the chain is still verified unless `insecure`.
   */
  readonly checkName: boolean;
  readonly insecure: boolean;
  /** Trusted CAs replacing the system roots, or undefined for Node's defaults. */
  readonly ca: Buffer | undefined;
  readonly minVersion: tls.SecureVersion | undefined;
  readonly maxVersion: tls.SecureVersion | undefined;
  readonly secureOptions: number | undefined;
  /**
   * A session to offer for resumption, in the form Node handed it out (its wrapper on
   * Node 22.23+, 24.17+, 26.3.1+, else the DER; see lib/node/client-session.ts).
   */
  readonly session: Buffer | undefined;
  /** Deadline for TCP connect + handshake, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * How long to wait after the handshake for a TLS 1.3 NewSessionTicket, which the server
   * sends after the handshake; the wait ends as soon as one arrives. 0: do not wait.
   */
  readonly ticketWaitMs: number;
}

/** What one connection showed. `sessions` hold secrets: they stay in memory and are never printed. */
export type ConnectionResult =
  | {
      readonly ok: true;
      /** 'TLSv1.2', 'TLSv1.3'. */
      readonly protocol: string;
      /** OpenSSL's SSL_session_reused(): the server accepted the offered session. */
      readonly resumed: boolean;
      /**
       * Whether Node put `spec.session` on the connection to offer it (null: none was
       * given). false means Node dropped it before the ClientHello: a wrapped session
       * whose name is not the connection's, or a bare DER on a verifying client.
       */
      readonly sessionSet: boolean | null;
      /** Client-side time from TCP connected to handshake complete, in milliseconds. */
      readonly handshakeMs: number;
      /** Time from starting the TCP connect to it completing, in milliseconds (about one round trip). */
      readonly connectMs: number;
      /**
       * Sessions the server gave (DER), oldest first, to offer next time: TLS 1.3 one per
       * ticket (none if the server sent no ticket); TLS 1.2 the connection's session.
       */
      readonly sessions: readonly Buffer[];
      /** TLS 1.3: milliseconds from handshake done to the first ticket; null if none came. */
      readonly ticketDelayMs: number | null;
      /** Byte lengths of the tickets received (TLS 1.3: one per NewSessionTicket; TLS 1.2: at most one). */
      readonly ticketLengths: readonly number[];
      /** The server closed the connection before any TLS 1.3 ticket arrived. */
      readonly closedBeforeTicket: boolean;
    }
  | { readonly ok: false; readonly failure: Failure };

/** Optional hooks of one connection. */
export interface ConnectionHooks {
  /** Aborting fails the connection at once with the Failure given as the abort reason. */
  readonly signal?: AbortSignal;
  /** Called when TCP is connected, with the connect time in milliseconds. */
  readonly onConnected?: (connectMs: number) => void;
}

/**
 * Makes one real TLS connection with Node's client (OpenSSL underneath), measures the
 * handshake, collects the session, and closes cleanly (close_notify). Never rejects;
 * every failure is classified. A connection that worked has closed before the promise
 * settles (one that failed is destroyed), so a check leaves no handle behind.
 */
export function openConnection(spec: ConnectionSpec, hooks: ConnectionHooks = {}): Promise<ConnectionResult> {
  return new Promise((resolve) => {
    const options: tls.ConnectionOptions = {
      host: spec.address,
      port: spec.port,
      rejectUnauthorized: !spec.insecure,
    };
    if (spec.servername !== undefined) options.servername = spec.servername;
    if (spec.ca !== undefined) options.ca = spec.ca;
    if (spec.minVersion !== undefined) options.minVersion = spec.minVersion;
    if (spec.maxVersion !== undefined) options.maxVersion = spec.maxVersion;
    if (spec.secureOptions !== undefined) options.secureOptions = spec.secureOptions;
    if (spec.session !== undefined) options.session = spec.session;
    if (!spec.checkName) options.checkServerIdentity = () => undefined;

    const context = { where: spec.where, servername: spec.servername };
    const started = process.hrtime.bigint();
    let connectedAt: bigint | undefined;
    let secureAt: bigint | undefined;
    const sessions: Buffer[] = [];
    let firstTicketAt: bigint | undefined;
    const ticketLengths: number[] = [];
    let settled = false;
    let ticketTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;

    const socket = tls.connect(options);
    // Node sets the session synchronously in tls.connect, before any byte is sent, and
    // getSession() returns it until the handshake replaces it; it returns nothing when
    // Node refused to offer it (measured on 20, 22, 24 and 26).
    const sessionSet = spec.session === undefined ? null : Buffer.isBuffer(socket.getSession());
    const deadline = setTimeout(() => {
      fail(timeoutFailure(context, spec.timeoutMs, connectedAt !== undefined));
    }, spec.timeoutMs);

    const onAbort = () => fail(hooks.signal?.reason as Failure);
    hooks.signal?.addEventListener('abort', onAbort, { once: true });

    function fail(failure: Failure): void {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      clearTimeout(deadline);
      if (ticketTimer) clearTimeout(ticketTimer);
      debug('connection to %s failed: %s', spec.where, failure.kind);
      socket.destroy();
      resolve({ ok: false, failure });
    }

    function succeed(closedBeforeTicket: boolean, closed = false): void {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      clearTimeout(deadline);
      if (ticketTimer) clearTimeout(ticketTimer);
      const protocol = socket.getProtocol() ?? 'unknown';
      const result: ConnectionResult = {
        ok: true,
        protocol,
        resumed: socket.isSessionReused(),
        sessionSet,
        handshakeMs: Number((secureAt ?? 0n) - (connectedAt ?? started)) / 1e6,
        connectMs: Number((connectedAt ?? started) - started) / 1e6,
        sessions,
        ticketDelayMs:
          firstTicketAt === undefined || secureAt === undefined ? null : Math.max(0, Number(firstTicketAt - secureAt) / 1e6),
        ticketLengths,
        closedBeforeTicket,
      };
      debug('%s %s resumed=%s tickets=%o', spec.where, protocol, result.resumed, ticketLengths);
      // Close politely (close_notify) so the server keeps the session: OpenSSL drops a
      // session from its cache when a connection is torn down without a shutdown. Wait for
      // the close so a one-connection-at-a-time server (openssl s_server) is free again.
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      if (closed) {
        resolve(result);
        return;
      }
      socket.once('close', () => {
        clearTimeout(closeTimer);
        resolve(result);
      });
      closeTimer = setTimeout(() => socket.destroy(), Math.min(1000, spec.timeoutMs));
      socket.end();
    }

    socket.once('connect', () => {
      connectedAt = process.hrtime.bigint();
      if (!settled) hooks.onConnected?.(Number(connectedAt - started) / 1e6);
    });
    socket.on('session', (der: Buffer) => {
      // TLS 1.2 sessions are read at secureConnect; TLS 1.3 ones come with each ticket.
      if (settled || socket.getProtocol() !== 'TLSv1.3') return;
      sessions.push(der);
      firstTicketAt ??= process.hrtime.bigint();
      // getTLSTicket() reads the ticket of the session just installed: this ticket.
      const ticket = socket.getTLSTicket();
      if (ticket) ticketLengths.push(ticket.length);
      // Servers usually send two tickets back to back; take what arrived in this read.
      if (secureAt !== undefined) setImmediate(() => succeed(false));
    });
    socket.once('secureConnect', () => {
      secureAt = process.hrtime.bigint();
      // The deadline bounds connect + handshake; the ticket wait has its own bound.
      clearTimeout(deadline);
      if (socket.getProtocol() === 'TLSv1.3') {
        if (spec.ticketWaitMs <= 0 || sessions.length > 0) {
          setImmediate(() => succeed(false));
          return;
        }
        // Tickets come after the handshake; wait a bounded time for the first.
        ticketTimer = setTimeout(() => succeed(false), spec.ticketWaitMs);
        socket.once('end', () => succeed(true));
        // Read (and discard) whatever the server sends, so OpenSSL processes the tickets.
        socket.resume();
        return;
      }
      // TLS 1.2: a ticket, if any, came inside the handshake.
      const ticket = socket.getTLSTicket();
      if (ticket) ticketLengths.push(ticket.length);
      const session = socket.getSession();
      if (session) sessions.push(session);
      succeed(false);
    });
    socket.on('error', (err) => fail(classifyError(err, context)));
    socket.once('close', () => {
      if (secureAt === undefined) {
        fail(classifyError(new Error('Client network socket disconnected before secure TLS connection was established'), context));
      } else {
        succeed(true, true);
      }
    });
  });
}
