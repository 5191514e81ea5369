/**
 * The machine-readable report of `tls-resumption check --json`. Pure. The shape is
 * versioned (`schema`); fields are only ever added within a schema version.
 */
import type { Failure } from './failure.js';
import { crossSniVerdict, exitStatus, fleetRate, fleetVerdict, median, probeVerdict, resumesAny, type CheckReport } from './report.js';

/** Version of the JSON shape below. */
export const JSON_SCHEMA_VERSION = 1;

/** The JSON report for a completed check, as a string ending with a newline. */
export function renderJson(report: CheckReport): string {
  const doc = {
    schema: JSON_SCHEMA_VERSION,
    ok: true,
    exitCode: exitStatus(report),
    resumes: resumesAny(report),
    target: report.target,
    negotiated: report.negotiated,
    settings: report.settings,
    probes: report.probes.map((p) => ({
      mechanism: p.mechanism,
      status: p.status,
      offered: p.offered,
      attempts: p.attempts,
      resumed: p.resumed,
      medianFullMs: median(p.fullMs),
      medianResumedMs: median(p.resumedMs),
      fullMs: p.fullMs,
      resumedMs: p.resumedMs,
      ticketLengths: p.ticketLengths,
      ticketKind: p.tickets?.kind ?? null,
      ticketKindReason: p.tickets?.reason ?? null,
      verdict: probeVerdict(p).text,
      errors: p.errors,
    })),
    crossSni: { ...report.crossSni, verdict: crossSniVerdict(report.crossSni).text },
    fleet:
      report.fleet == null
        ? null
        : {
            connections: report.fleet.connections,
            status: report.fleet.status,
            protocol: report.fleet.protocol,
            offered: report.fleet.offered,
            attempts: report.fleet.attempts,
            resumed: report.fleet.resumed,
            rate: fleetRate(report.fleet),
            medianFullMs: median(report.fleet.fullMs),
            medianResumedMs: median(report.fleet.resumedMs),
            fullMs: report.fleet.fullMs,
            resumedMs: report.fleet.resumedMs,
            verdict: fleetVerdict(report.fleet).text,
            errors: report.fleet.errors,
          },
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The JSON document for a check that could not run or a usage error. */
export function renderJsonError(exitCode: number, kind: Failure['kind'] | 'usage', message: string): string {
  return JSON.stringify({ schema: JSON_SCHEMA_VERSION, ok: false, exitCode, error: { kind, message } }, null, 2) + '\n';
}
