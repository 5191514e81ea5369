/**
 * The result of `tls-resumption check`, and the pure judgements made from it: verdicts,
 * medians, the exit status. Renderers (table, JSON) read only this, so they are testable
 * without a network.
 */
import type { TicketJudgement } from './ticket-kind.js';

/** The resumption mechanisms `check` probes, in the order it shows them. */
export type MechanismId = 'tls1.2-session-id' | 'tls1.2-ticket' | 'tls1.3-ticket';

/** Names shown to people. */
export const MECHANISM_LABELS: Readonly<Record<MechanismId, string>> = Object.freeze({
  'tls1.2-session-id': 'TLS 1.2 session id',
  'tls1.2-ticket': 'TLS 1.2 ticket',
  'tls1.3-ticket': 'TLS 1.3 ticket',
});

/** What one mechanism's probe found. Times are client-side handshake durations in ms. */
export interface ProbeResult {
  readonly mechanism: MechanismId;
  /**
   * 'ran': the probe made its connections; 'unsupported': the server refused the
   * protocol version the mechanism needs; 'failed': its first (full) connection failed.
   */
  readonly status: 'ran' | 'unsupported' | 'failed';
  /**
   * Whether the server handed out something to resume with: a session id in the
   * ServerHello, or a ticket. null when it cannot be told or the probe did not run.
   */
  readonly offered: boolean | null;
  /** Resumption attempts that completed a handshake. */
  readonly attempts: number;
  /** Of those, how many the server resumed. */
  readonly resumed: number;
  /** Handshake times of full handshakes (the first connection and refused resumptions). */
  readonly fullMs: readonly number[];
  /** Handshake times of resumed handshakes. */
  readonly resumedMs: readonly number[];
  /** Lengths in bytes of the tickets received, in order. */
  readonly ticketLengths: readonly number[];
  /** TLS 1.3 only: stateful or stateless, as far as a client can tell. */
  readonly tickets: TicketJudgement | null;
  /** One-line messages of connections that failed, at most a few. */
  readonly errors: readonly string[];
}

/** Whether a session made under one SNI name is resumed under another. */
export interface CrossSniResult {
  /**
   * 'accepted': at least one session resumed under the other name; 'refused': all were
   * full handshakes; 'not-applicable': nothing resumes, so there is nothing to carry
   * over; 'failed': no connection under the other name completed; 'not-probed': this
   * client could not offer the session under the other name (see `errors` for why), so
   * nothing is known about the server.
   */
  readonly status: 'accepted' | 'refused' | 'not-applicable' | 'failed' | 'not-probed';
  /** The mechanism whose sessions were carried over. */
  readonly mechanism: MechanismId | null;
  /** The name the sessions were made under (null: no SNI, an IP target). */
  readonly from: string | null;
  /** The name they were offered under. */
  readonly to: string;
  readonly attempts: number;
  readonly accepted: number;
  readonly errors: readonly string[];
}

/**
 * Fleet mode (`--connections N`): N reconnections with a default client, each offering a
 * session from the first connection's server (or from a server that resumed one of
 * those, so it shares their cache or keys). Behind a load balancer whose servers share
 * nothing, about 1 in (number of servers) resumes.
 */
export interface FleetResult {
  /** Reconnections asked for (`--connections`). */
  readonly connections: number;
  /** 'ran', or 'failed' when its first (full) connection failed. */
  readonly status: 'ran' | 'failed';
  /** The protocol of the first connection (the default client negotiates it). */
  readonly protocol: string | null;
  /** Whether the first connection gave a session to offer. */
  readonly offered: boolean | null;
  /** Reconnections that completed a handshake. */
  readonly attempts: number;
  /** Of those, how many resumed. */
  readonly resumed: number;
  readonly fullMs: readonly number[];
  readonly resumedMs: readonly number[];
  readonly errors: readonly string[];
}

/** Everything one check found. */
export interface CheckReport {
  readonly target: {
    readonly host: string;
    readonly port: number;
    /** The address connected to (DNS is resolved once). */
    readonly address: string;
    readonly servername: string | null;
  };
  /** The protocol a default client negotiated. */
  readonly negotiated: string;
  readonly probes: readonly ProbeResult[];
  readonly crossSni: CrossSniResult;
  /** Fleet mode's result; absent or null without `--connections`. */
  readonly fleet?: FleetResult | null;
  readonly settings: { readonly count: number; readonly timeoutMs: number; readonly insecure: boolean };
}

/** Exit statuses of `tls-resumption check`. */
export const EXIT = Object.freeze({
  /** The server resumes by at least one mechanism. */
  RESUMES: 0,
  /** The server resumes nothing. */
  RESUMES_NOTHING: 1,
  /** Bad option or address. */
  USAGE: 2,
  /** DNS, refused, timeout, untrusted certificate, handshake failure: nothing could be probed. */
  UNREACHABLE: 3,
  /** The peer does not speak TLS. */
  NOT_TLS: 4,
});

/**
 * True when at least one mechanism resumed at least once, in its probe or in fleet mode
 * (behind a round-robin balancer every probe may meet another server than the one it got
 * its session from, while fleet mode finds the first server again). The cross-SNI probe
 * does not count.
 */
export function resumesAny(report: CheckReport): boolean {
  return report.probes.some((p) => p.resumed > 0) || (report.fleet?.resumed ?? 0) > 0;
}

/** 0 when the server resumes by at least one mechanism, else 1. */
export function exitStatus(report: CheckReport): number {
  return resumesAny(report) ? EXIT.RESUMES : EXIT.RESUMES_NOTHING;
}

/** Median of samples, or null for none. */
export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A verdict: short text for the table, and whether it is good news. */
export interface Verdict {
  readonly text: string;
  readonly good: boolean;
}

/** The verdict for one probe. Pure. */
export function probeVerdict(probe: ProbeResult): Verdict {
  const version = probe.mechanism === 'tls1.3-ticket' ? 'TLS 1.3' : 'TLS 1.2';
  if (probe.status === 'unsupported') return { text: `n/a: server does not speak ${version}`, good: false };
  if (probe.status === 'failed') return { text: 'error: first connection failed', good: false };
  if (probe.offered === false) {
    return {
      text: probe.mechanism === 'tls1.2-session-id' ? 'no: server sends no session id' : 'no: server sends no tickets',
      good: false,
    };
  }
  if (probe.attempts === 0) return { text: 'error: no resumption attempt completed', good: false };
  const kind = probe.tickets && probe.tickets.kind !== 'unknown' ? ` (${probe.tickets.kind})` : '';
  if (probe.resumed === probe.attempts) return { text: `yes${kind}`, good: true };
  if (probe.resumed > 0) {
    return { text: `partly${kind}: ${probe.resumed} of ${probe.attempts} (several servers not sharing a cache or keys?)`, good: true };
  }
  if (probe.mechanism === 'tls1.2-session-id') return { text: 'no: session ids issued but never resumed (no server cache)', good: false };
  return { text: 'no: tickets issued but refused', good: false };
}

/** The verdict for the cross-SNI probe. Accepting is not an error; it is worth knowing. */
export function crossSniVerdict(cross: CrossSniResult): Verdict {
  // An IP target sends no SNI: say so in words, not as a pseudo-name.
  const session = cross.from === null ? 'a session made without SNI (the target is an IP address)' : `a session from ${cross.from}`;
  const under = cross.from === null ? `when offered under the name ${cross.to}` : `under ${cross.to}`;
  switch (cross.status) {
    case 'accepted':
      return { text: `accepted: ${session} resumed ${under}`, good: true };
    case 'refused':
      return { text: `refused: ${session} got a full handshake ${under}`, good: true };
    case 'not-applicable':
      return { text: 'n/a: nothing resumes', good: false };
    case 'failed':
      return { text: `error: no connection under ${cross.to} completed`, good: false };
    case 'not-probed':
      return {
        text: `not probed: this client could not offer ${session} ${cross.from === null ? `under the name ${cross.to}` : `under ${cross.to}`}`,
        good: false,
      };
  }
}

/** Share of fleet reconnections that resumed, 0 to 1; null when none completed. */
export function fleetRate(fleet: FleetResult): number | null {
  return fleet.attempts === 0 ? null : fleet.resumed / fleet.attempts;
}

/** The verdict for fleet mode. Pure. */
export function fleetVerdict(fleet: FleetResult): Verdict {
  if (fleet.status === 'failed') return { text: 'error: first connection failed', good: false };
  if (fleet.offered === false) return { text: 'no: the server gave no session to offer', good: false };
  const rate = fleetRate(fleet);
  if (rate === null) return { text: 'error: no reconnection completed', good: false };
  const pct = `${Math.round(rate * 100)}%`;
  if (rate === 1) return { text: `yes: ${pct}, every reconnection resumed`, good: true };
  if (rate === 0) return { text: `no: 0%, no reconnection resumed`, good: false };
  const oneIn = Math.round(1 / rate);
  const hint =
    oneIn >= 2
      ? `about 1 in ${oneIn} reached a server that knew the session (${oneIn} or more servers not sharing a session cache or ticket keys?)`
      : 'some reconnections reached a server that did not know the session (servers not sharing a session cache or ticket keys?)';
  return { text: `partly: ${pct} (${fleet.resumed} of ${fleet.attempts}): ${hint}`, good: true };
}
