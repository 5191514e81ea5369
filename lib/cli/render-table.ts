/**
 * The human-readable report of `tls-resumption check`: a table a person reads at a glance,
 * then a few notes. Pure: a string from a report, no I/O, no colour codes (the output is
 * often pasted into tickets and logs).
 */
import { formatTarget } from './target.js';
import {
  MECHANISM_LABELS,
  crossSniVerdict,
  fleetRate,
  fleetVerdict,
  median,
  probeVerdict,
  resumesAny,
  type CheckReport,
  type ProbeResult,
} from './report.js';

const HEADERS = ['mechanism', 'offered', 'resumed', 'full ms', 'resumed ms', 'verdict'] as const;

/** Renders the report as a table plus notes, ending with a newline. */
export function renderTable(report: CheckReport): string {
  const { target } = report;
  const sni = target.servername === null ? 'no SNI' : `SNI ${target.servername}`;
  const lines: string[] = [];
  lines.push(`${formatTarget(target)} (${target.address}, ${sni}): negotiates ${report.negotiated} by default`);
  lines.push('');

  const rows: string[][] = [HEADERS.slice()];
  for (const probe of report.probes) rows.push(probeRow(probe));
  const cross = report.crossSni;
  rows.push([
    'other SNI name',
    '-',
    cross.attempts > 0 ? `${cross.accepted}/${cross.attempts}` : '-',
    '-',
    '-',
    crossSniVerdict(cross).text,
  ]);
  const fleet = report.fleet ?? null;
  if (fleet !== null) {
    const ran = fleet.status === 'ran' && fleet.offered !== false;
    rows.push([
      `fleet, ${fleet.connections} reconnections`,
      fleet.offered === null ? '-' : fleet.offered ? 'yes' : 'no',
      ran ? `${fleet.resumed}/${fleet.attempts}` : '-',
      formatMs(median(fleet.fullMs)),
      formatMs(median(fleet.resumedMs)),
      fleetVerdict(fleet).text,
    ]);
  }
  lines.push(...formatRows(rows));
  lines.push('');

  const resumed = report.probes.filter((p) => p.resumed > 0).map((p) => MECHANISM_LABELS[p.mechanism]);
  lines.push(
    !resumesAny(report)
      ? 'Resumes nothing: every reconnection offering a session got a full handshake.'
      : resumed.length > 0
        ? `Resumes by: ${resumed.join(', ')}.`
        : 'Resumes only in fleet mode: each probe offered a session of the server it had reached just before, and got another server (several servers behind this address, not sharing a session cache or ticket keys?).',
  );
  for (const probe of report.probes) {
    const label = MECHANISM_LABELS[probe.mechanism];
    if (probe.tickets && probe.status === 'ran' && probe.ticketLengths.length > 0) {
      lines.push(`${label}: ${probe.tickets.reason}.`);
    }
    for (const error of probe.errors) lines.push(`${label}: ${error}`);
  }
  if (cross.mechanism !== null && cross.status !== 'not-applicable' && cross.status !== 'not-probed') {
    lines.push(`other SNI name: sessions of the ${MECHANISM_LABELS[cross.mechanism]} probe, offered under ${cross.to}.`);
  }
  for (const error of cross.errors) lines.push(`other SNI name: ${error}`);
  if (fleet !== null) {
    const rate = fleetRate(fleet);
    lines.push(
      `fleet: ${fleet.connections} reconnections with a default client${fleet.protocol ? ` (${fleet.protocol})` : ''}, each offering a session ` +
        `of the first server (or of a server that resumed one of them)${rate === null ? '' : `: ${Math.round(rate * 100)}% resumed`}.`,
    );
    for (const error of fleet.errors) lines.push(`fleet: ${error}`);
  }
  lines.push(
    `Times: client-side medians (TCP connected to handshake done) over ${report.settings.count} resumption attempts per probe; they include the network and this machine's load.`,
  );
  if (report.settings.insecure) lines.push('Warning: the server certificate was not verified (--insecure).');
  return lines.join('\n') + '\n';
}

function probeRow(probe: ProbeResult): string[] {
  const ran = probe.status === 'ran';
  const offered = !ran ? '-' : probe.offered === null ? '?' : probe.offered ? 'yes' : 'no';
  const resumed = ran && probe.offered !== false ? `${probe.resumed}/${probe.attempts}` : '-';
  return [
    MECHANISM_LABELS[probe.mechanism],
    offered,
    resumed,
    formatMs(median(probe.fullMs)),
    formatMs(median(probe.resumedMs)),
    probeVerdict(probe).text,
  ];
}

/** Milliseconds with one decimal below 100, whole above; '-' for no samples. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 100 ? ms.toFixed(1) : Math.round(ms).toString();
}

function formatRows(rows: readonly string[][]): string[] {
  const widths = HEADERS.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
