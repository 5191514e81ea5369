/**
 * The probes behind `tls-resumption check`: each makes one full handshake with Node's own
 * TLS client, then offers the session it got back on fresh connections and asks OpenSSL
 * whether the server resumed it.
 *
 * Known limits, stated here because they shape what the report can claim:
 * - Whether a TLS 1.3 server is stateful is judged from ticket length alone (see
 *   ticket-kind.ts); the client cannot see the server's cache.
 * - A TLS 1.2 client that offers a ticket also sends a session id; a server that refuses
 *   the ticket could in principle resume by id. OpenSSL-based servers never do (a ticket
 *   that does not decrypt means a full handshake), so the ticket row is reported as such.
 * - Times are measured by this client from TCP connected to handshake done: they include
 *   the network and this machine's load, and are medians of a few samples, not a benchmark.
 * - The cross-SNI probe asks the server, not Node: Node 22.23+, 24.17+ and 26.3.1+ bind a
 *   client session to the name it was made for and never offer it under another
 *   (CVE-2026-48934). Where the session comes in Node's wrapper, the probe wraps the same
 *   SSL_SESSION for the other name, so the ClientHello carries the other SNI name and the
 *   original session, exactly as `openssl s_client -sess_in ... -servername other` sends
 *   it. It then checks that Node did put the session on the connection; where it did not
 *   (a wrapper this tool does not know), the probe reports 'not-probed', never 'refused'.
 */
import { constants as cryptoConstants } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SecureVersion } from 'node:tls';
import { openConnection, type ConnectionResult, type ConnectionSpec } from './connection.js';
import { classifyError, type Failure } from './failure.js';
import { describePeer, identifyPeer, provesNotTls, type PeerIdentity } from './identify.js';
import { judgeTickets } from './ticket-kind.js';
import { sessionIdIssued } from './session-facts.js';
import { formatTarget, siblingName, type Target } from './target.js';
import { sessionIdentity, unwrapClientSession, wrapClientSession } from '../node/client-session.js';
import type { CheckReport, CrossSniResult, FleetResult, MechanismId, ProbeResult } from './report.js';
import { MECHANISM_LABELS } from './report.js';

/** What a check needs; all validated by the caller (see args.ts). */
export interface CheckSettings {
  readonly target: Target;
  readonly servername: string | undefined;
  readonly otherServername: string | undefined;
  readonly count: number;
  readonly timeoutMs: number;
  readonly insecure: boolean;
  readonly ca: Buffer | undefined;
  /** Fleet mode: this many reconnections offering the first server's sessions; undefined: off. */
  readonly connections?: number | undefined;
}

/** Progress as the check works: which step, and the connection within it. */
export interface Progress {
  readonly step: string;
  readonly connection: number;
  readonly of: number;
  /** Resolving and the first connection, before any probe: not worth a line in a log. */
  readonly setup?: boolean;
}

/** A check either produces a report or stops at the first connection with a reason. */
export type CheckOutcome = { ok: true; report: CheckReport } | { ok: false; failure: Failure };

/** Cross-SNI pairs to try: enough to not be fooled by one unlucky connection. */
const CROSS_SNI_PAIRS = 3;
/** A probe stops after this many failed connections rather than hammering a sick server. */
const MAX_FAILED_CONNECTIONS = 3;
/** Full handshakes per probe (at most `count`), for the "full ms" median. */
const FULL_HANDSHAKES = 3;
/** Shortest wait for a TLS 1.3 ticket after the probe's first connection, in ms. */
const MIN_TICKET_WAIT_MS = 250;
/**
 * A TLS server answers a ClientHello within about a round trip. After this long without a
 * handshake (at least, and at least 20 TCP connect times), the first connection's peer is
 * asked what it is, on a second plain TCP connection, while the handshake goes on waiting.
 */
const SILENCE_MS = 1000;
/** Longest wait for the peer's answer to the identifying line, in ms. */
const IDENTIFY_WAIT_MS = 1500;

interface ClientSettings {
  minVersion: SecureVersion | undefined;
  maxVersion: SecureVersion | undefined;
  secureOptions: number | undefined;
}

// How each mechanism is isolated on the client side.
const CLIENT_SETTINGS: Readonly<Record<MechanismId, ClientSettings>> = {
  // No ticket extension at all: the server can only resume by session id.
  'tls1.2-session-id': { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', secureOptions: cryptoConstants.SSL_OP_NO_TICKET },
  'tls1.2-ticket': { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', secureOptions: undefined },
  // TLS 1.3 has only one resumption mechanism on the wire: a PSK identity from a ticket.
  'tls1.3-ticket': { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', secureOptions: undefined },
};

const ORDER: readonly MechanismId[] = ['tls1.2-session-id', 'tls1.2-ticket', 'tls1.3-ticket'];

/**
 * Runs every probe against `settings.target`, sequentially (one connection at a time,
 * so a small server is not flooded and timings do not compete). Resolves the host once.
 * Stops early, with a classified failure, only when a default client cannot complete a
 * single handshake (DNS, refused, timeout, certificate, not TLS). Never rejects.
 */
export async function runCheck(settings: CheckSettings, onProgress: (p: Progress) => void = () => {}): Promise<CheckOutcome> {
  const where = formatTarget(settings.target);
  let address = settings.target.host;
  if (isIP(address) === 0) {
    onProgress({ step: `resolving ${settings.target.host}`, connection: 0, of: 0, setup: true });
    try {
      address = (await lookup(settings.target.host)).address;
    } catch (err) {
      return { ok: false, failure: classifyError(err, { where, servername: settings.servername }) };
    }
  }

  const base: ConnectionSpec = {
    address,
    port: settings.target.port,
    where,
    servername: settings.servername,
    checkName: true,
    insecure: settings.insecure,
    ca: settings.ca,
    minVersion: undefined,
    maxVersion: undefined,
    secureOptions: undefined,
    session: undefined,
    timeoutMs: settings.timeoutMs,
    ticketWaitMs: Math.min(settings.timeoutMs, 2000),
  };

  // One connection as any client would make it: if this fails there is nothing to probe.
  onProgress({ step: 'connecting', connection: 1, of: 1, setup: true });
  const first = await firstConnection(base);
  if (!first.ok) return { ok: false, failure: first.failure };
  // Tickets arrive about one round trip after the handshake; the TCP connect time is a
  // round trip. Wait generously, since the wait ends as soon as a ticket arrives.
  const ticketWaitMs = Math.min(settings.timeoutMs, Math.max(1000, Math.ceil(first.connectMs * 4 + first.handshakeMs * 2)));
  const spec: ConnectionSpec = { ...base, ticketWaitMs };

  const probes: ProbeResult[] = [];
  for (const mechanism of ORDER) {
    probes.push(await probeMechanism(mechanism, spec, settings.count, onProgress));
  }
  const crossSni = await probeCrossSni(probes, spec, settings, onProgress);
  const fleet = settings.connections === undefined ? null : await probeFleet(spec, settings.connections, onProgress);

  return {
    ok: true,
    report: {
      target: { host: settings.target.host, port: settings.target.port, address, servername: settings.servername ?? null },
      negotiated: first.protocol,
      probes,
      crossSni,
      fleet,
      settings: { count: settings.count, timeoutMs: settings.timeoutMs, insecure: settings.insecure },
    },
  };
}

/**
 * The first connection, as any client would make it, and what the peer is when that
 * fails in a way that could mean "not TLS". A peer that stays silent after the
 * ClientHello (Redis waits for a newline that never comes) is asked on a second plain
 * connection once SILENCE_MS have passed; if it answers like a non-TLS server the check
 * stops at once (exit 4) instead of waiting out --timeout.
 */
async function firstConnection(spec: ConnectionSpec): Promise<ConnectionResult> {
  const identifyWait = Math.min(IDENTIFY_WAIT_MS, spec.timeoutMs);
  const identify = () => identifyPeer(spec.address, spec.port, identifyWait);
  const controller = new AbortController();
  let silenceTimer: NodeJS.Timeout | undefined;
  let identified: Promise<PeerIdentity> | undefined;
  const connection = openConnection(spec, {
    signal: controller.signal,
    onConnected: (connectMs) => {
      const silenceMs = Math.max(SILENCE_MS, Math.ceil(connectMs * 20));
      if (silenceMs >= spec.timeoutMs) return;
      silenceTimer = setTimeout(() => {
        identified = identify();
        void identified.then((identity) => {
          const description = describePeer(identity, { echoedClientHello: false });
          if (provesNotTls(identity) && description !== undefined) {
            controller.abort(notTls(spec.where, `it sent nothing back to our ClientHello, and ${description}`));
          }
        });
      }, silenceMs);
    },
  });
  const result = await connection;
  clearTimeout(silenceTimer);
  if (result.ok || controller.signal.aborted) {
    // Succeeded, or stopped by the identification above. Let a running identification end
    // before returning, so the check leaves no socket behind.
    await identified;
    return result;
  }
  const failure = result.failure;
  const couldBeNotTls =
    failure.kind === 'not-tls' || failure.kind === 'handshake' || failure.kind === 'closed' || (failure.kind === 'timeout' && failure.code === undefined);
  if (!couldBeNotTls) return result;
  const identity = await (identified ?? identify());
  const description = describePeer(identity, { echoedClientHello: failure.code === 'ERR_SSL_UNEXPECTED_MESSAGE' || failure.kind !== 'not-tls' });
  if (!provesNotTls(identity) || description === undefined) return result;
  if (failure.kind === 'not-tls') {
    // OpenSSL already said it is not a TLS record; add what the server is.
    return { ok: false, failure: { ...failure, message: failure.message.replace(/; is this a plain HTTP or other non-TLS port\?$/, '') + `; ${description}` } };
  }
  const silent = failure.kind === 'timeout' ? 'it sent nothing back to our ClientHello, and ' : '';
  return { ok: false, failure: notTls(spec.where, `${silent}${description}`, failure.code) };
}

function notTls(where: string, description: string, code?: string): Failure {
  return { kind: 'not-tls', code, message: `${where} does not speak TLS: ${description}` };
}

/**
 * Fleet mode: one full handshake with the default client, then `connections`
 * reconnections, each offering a session from a server that knows the first one's
 * sessions: the first connection's own, or one handed out by a reconnection that resumed
 * (it reached a server sharing the cache or keys). A session a server did not resume is
 * offered again, since another server may still know it. So a fleet whose servers share
 * nothing resumes about 1 in (number of servers), a shared one every time.
 */
async function probeFleet(spec: ConnectionSpec, connections: number, onProgress: (p: Progress) => void): Promise<FleetResult> {
  const step = `${connections} reconnections`;
  const fullMs: number[] = [];
  const resumedMs: number[] = [];
  const errors: string[] = [];
  const result = (status: FleetResult['status'], protocol: string | null, offered: boolean | null, attempts: number, resumed: number): FleetResult => ({
    connections,
    status,
    protocol,
    offered,
    attempts,
    resumed,
    fullMs,
    resumedMs,
    errors,
  });
  onProgress({ step, connection: 1, of: connections + 1 });
  const origin = await openConnection(spec);
  if (!origin.ok) {
    errors.push(origin.failure.message);
    return result('failed', null, null, 0, 0);
  }
  fullMs.push(round(origin.handshakeMs));
  const known = [...origin.sessions];
  if (known.length === 0) return result('ran', origin.protocol, false, 0, 0);
  let last = known.at(-1) as Buffer;
  // As in the probes: later tickets come about as fast as the first did (a stateless
  // server sends none after a resumption, so do not wait long for one).
  const wait = origin.ticketDelayMs !== null ? Math.max(MIN_TICKET_WAIT_MS, Math.ceil(origin.ticketDelayMs * 5)) : spec.ticketWaitMs;
  const next: ConnectionSpec = { ...spec, ticketWaitMs: Math.min(spec.ticketWaitMs, wait) };
  let attempts = 0;
  let resumed = 0;
  let failed = 0;
  let expectTicket = true;
  for (let i = 0; i < connections && failed < MAX_FAILED_CONNECTIONS; i++) {
    onProgress({ step, connection: i + 2, of: connections + 1 });
    // Newest first, each ticket once while there are several (RFC 8446 C.4).
    const session = known.pop() ?? last;
    last = session;
    const connection = await openConnection(expectTicket ? { ...next, session } : { ...next, session, ticketWaitMs: 0 });
    if (!connection.ok) {
      failed++;
      errors.push(connection.failure.message);
      known.push(session);
      continue;
    }
    if (connection.sessionSet === false) {
      errors.push('Node did not offer the session it was given (a session form this tool does not know?)');
      break;
    }
    attempts++;
    if (connection.resumed) {
      resumed++;
      resumedMs.push(round(connection.handshakeMs));
      // A server that sends no ticket after a resumption (stateless tickets stay valid)
      // will not send one next time either: stop waiting for it.
      if (connection.sessions.length === 0) expectTicket = false;
      // Sessions from a server that resumed ours: it shares the first server's cache or keys.
      known.push(...connection.sessions);
    } else {
      fullMs.push(round(connection.handshakeMs));
      // Another server: its sessions belong to it, ours may still resume elsewhere.
      known.push(session);
    }
  }
  return result('ran', origin.protocol, true, attempts, resumed);
}

async function probeMechanism(
  mechanism: MechanismId,
  base: ConnectionSpec,
  count: number,
  onProgress: (p: Progress) => void,
): Promise<ProbeResult> {
  const spec: ConnectionSpec = { ...base, ...CLIENT_SETTINGS[mechanism] };
  const step = MECHANISM_LABELS[mechanism];
  const fullMs: number[] = [];
  const resumedMs: number[] = [];
  const ticketLengths: number[] = [];
  const errors: string[] = [];
  const isTls13 = mechanism === 'tls1.3-ticket';
  const result = (status: ProbeResult['status'], offered: boolean | null, attempts: number, resumed: number): ProbeResult => ({
    mechanism,
    status,
    offered,
    attempts,
    resumed,
    fullMs,
    resumedMs,
    ticketLengths,
    tickets: isTls13 && status === 'ran' ? judgeTickets(ticketLengths) : null,
    errors,
  });

  // A few full handshakes, so "full ms" is a median too, then `count` resumptions.
  const fullCount = Math.min(FULL_HANDSHAKES, count);
  const total = fullCount + count;
  onProgress({ step, connection: 1, of: total });
  const full = await openConnection(spec);
  if (!full.ok) {
    // A refused version is the verdict itself ("n/a"); anything else is worth showing.
    if (full.failure.kind === 'protocol-version') return result('unsupported', null, 0, 0);
    errors.push(full.failure.message);
    return result('failed', null, 0, 0);
  }
  record(full);
  const offered = mechanism === 'tls1.2-session-id' ? sessionIdIssued(full.sessions.at(-1)) : full.ticketLengths.length > 0;
  if (offered === false) {
    if (isTls13 && full.closedBeforeTicket) errors.push('the server closed the connection before sending a ticket');
    return result('ran', false, 0, 0);
  }

  const unused = [...full.sessions];
  for (let i = 1; i < fullCount && errors.length < MAX_FAILED_CONNECTIONS; i++) {
    onProgress({ step, connection: i + 1, of: total });
    const another = await openConnection(spec);
    if (!another.ok) {
      errors.push(another.failure.message);
      continue;
    }
    record(another);
    unused.push(...another.sessions);
  }
  // Offer each session once, newest first, as RFC 8446 C.4 asks of clients: TLS 1.3
  // stateful tickets are single-use. Only when none is left is the last one offered again
  // (a stateless server may send no new ticket after a resumption).
  let last = unused.at(-1);
  // Later tickets arrive about as fast as the first did; wait a few times that, since a
  // missed ticket only means an older one is offered.
  const wait = isTls13 && full.ticketDelayMs !== null ? Math.max(MIN_TICKET_WAIT_MS, Math.ceil(full.ticketDelayMs * 5)) : spec.ticketWaitMs;
  const next: ConnectionSpec = { ...spec, ticketWaitMs: Math.min(spec.ticketWaitMs, wait) };
  let attempts = 0;
  let resumed = 0;
  for (let i = 0; i < count && errors.length < MAX_FAILED_CONNECTIONS; i++) {
    onProgress({ step, connection: fullCount + i + 1, of: total });
    const session = unused.pop() ?? last;
    last = session;
    const connection = await openConnection({ ...next, session });
    if (!connection.ok) {
      errors.push(connection.failure.message);
      continue;
    }
    if (connection.sessionSet === false) {
      // Never on the wire, so the full handshake says nothing about the server.
      errors.push('Node did not offer the session it was given (a session form this tool does not know?)');
      break;
    }
    attempts++;
    if (connection.resumed) resumed++;
    record(connection);
    // A refused session is replaced by the new one, as a real client does.
    unused.push(...connection.sessions);
  }
  return result('ran', offered, attempts, resumed);

  function record(connection: Extract<ConnectionResult, { ok: true }>): void {
    (connection.resumed ? resumedMs : fullMs).push(round(connection.handshakeMs));
    ticketLengths.push(...connection.ticketLengths);
  }
}

async function probeCrossSni(
  probes: readonly ProbeResult[],
  base: ConnectionSpec,
  settings: CheckSettings,
  onProgress: (p: Progress) => void,
): Promise<CrossSniResult> {
  const from = settings.servername ?? null;
  const to = settings.otherServername ?? siblingName(settings.servername);
  // Carry over sessions of the mechanism most clients use that this server resumes.
  const preferred: readonly MechanismId[] = ['tls1.3-ticket', 'tls1.2-ticket', 'tls1.2-session-id'];
  const mechanism = preferred.find((m) => probes.some((p) => p.mechanism === m && p.resumed > 0)) ?? null;
  const errors: string[] = [];
  if (mechanism === null) return { status: 'not-applicable', mechanism, from, to, attempts: 0, accepted: 0, errors };

  const spec: ConnectionSpec = { ...base, ...CLIENT_SETTINGS[mechanism] };
  const pairs = Math.min(settings.count, CROSS_SNI_PAIRS);
  let attempts = 0;
  let accepted = 0;
  let notOffered: string | undefined;
  for (let i = 0; i < pairs && notOffered === undefined; i++) {
    onProgress({ step: 'cross-SNI', connection: i + 1, of: pairs });
    const made = await openConnection(spec);
    if (!made.ok) {
      errors.push(made.failure.message);
      continue;
    }
    if (made.sessions.length === 0) {
      errors.push(`no session to carry over: the server sent none under ${from ?? 'no SNI'}`);
      continue;
    }
    const carried = carryOver(made.sessions.at(-1) as Buffer, { servername: to, host: base.address });
    if (!carried.ok) {
      notOffered = carried.reason;
      break;
    }
    // The other name is made up, so the certificate cannot be checked against it; the
    // chain is still verified (unless --insecure), and no data is exchanged.
    const offered = await openConnection({ ...spec, servername: to, checkName: false, session: carried.session, ticketWaitMs: 0 });
    if (!offered.ok) {
      errors.push(`under ${to}: ${offered.failure.message}`);
      continue;
    }
    if (offered.sessionSet === false) {
      // Its handshake was a full one whatever the server would have done: not evidence.
      notOffered = `Node did not put the session on the connection under ${to}, so it was never offered`;
      break;
    }
    attempts++;
    if (offered.resumed) accepted++;
  }
  if (notOffered !== undefined) {
    errors.push(`not probed: ${notOffered}`);
    return { status: 'not-probed', mechanism, from, to, attempts: 0, accepted: 0, errors };
  }
  const status = accepted > 0 ? 'accepted' : attempts > 0 ? 'refused' : 'failed';
  return { status, mechanism, from, to, attempts, accepted, errors };
}

/**
 * The session to offer under another name, in the form this Node offers: a bare DER as
 * it is (Nodes that hand out bare DER offer it under any name); Node's wrapper re-made
 * for the other connection's identity around the same SSL_SESSION. A session in a form
 * this tool does not know cannot be carried over.
 */
function carryOver(
  session: Buffer,
  connection: { servername: string; host: string },
): { ok: true; session: Buffer } | { ok: false; reason: string } {
  const form = unwrapClientSession(session);
  if (form.form === 'bare') return { ok: true, session };
  if (form.form === 'malformed') return { ok: false, reason: `Node handed out a session this tool cannot read (${form.reason})` };
  const rewrapped = wrapClientSession(form.der, sessionIdentity(connection));
  if (rewrapped === undefined) return { ok: false, reason: 'the other name is too long to bind a session to' };
  return { ok: true, session: rewrapped };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
