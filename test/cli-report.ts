import t from 'tap';
import { judgeTickets } from '../lib/cli/ticket-kind.js';
import {
  crossSniVerdict,
  exitStatus,
  median,
  probeVerdict,
  resumesAny,
  type CheckReport,
  type CrossSniResult,
  type ProbeResult,
} from '../lib/cli/report.js';
import { renderTable, formatMs } from '../lib/cli/render-table.js';
import { renderJson, renderJsonError } from '../lib/cli/render-json.js';
import { formatProgress, ProgressLine } from '../lib/cli/progress.js';

const probe = (over: Partial<ProbeResult> & Pick<ProbeResult, 'mechanism'>): ProbeResult => ({
  status: 'ran',
  offered: true,
  attempts: 5,
  resumed: 5,
  fullMs: [3, 1, 2],
  resumedMs: [0.5, 0.25, 0.75, 1],
  ticketLengths: [],
  tickets: null,
  errors: [],
  ...over,
});

const cross = (over: Partial<CrossSniResult> = {}): CrossSniResult => ({
  status: 'refused',
  mechanism: 'tls1.3-ticket',
  from: 'a.example',
  to: 'tls-resumption-check.example',
  attempts: 3,
  accepted: 0,
  errors: [],
  ...over,
});

const report = (probes: ProbeResult[], crossSni: CrossSniResult = cross()): CheckReport => ({
  target: { host: 'a.example', port: 8443, address: '127.0.0.1', servername: 'a.example' },
  negotiated: 'TLSv1.3',
  probes,
  crossSni,
  settings: { count: 5, timeoutMs: 5000, insecure: false },
});

t.test('median takes the middle sample, or the mean of the two middle ones', async (t) => {
  t.equal(median([]), null);
  t.equal(median([4]), 4);
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
});

t.test('judgeTickets: short tickets are stateful, long ones likely stateless, others unknown', async (t) => {
  t.equal(judgeTickets([]).kind, 'unknown');
  t.equal(judgeTickets([32, 32]).kind, 'stateful');
  t.match(judgeTickets([32]).reason, /32-byte tickets are too short/);
  t.equal(judgeTickets([47]).kind, 'stateful');
  t.equal(judgeTickets([48]).kind, 'unknown');
  t.equal(judgeTickets([95]).kind, 'unknown');
  t.equal(judgeTickets([96]).kind, 'stateless');
  t.equal(judgeTickets([208, 240]).kind, 'stateless');
  t.match(judgeTickets([208, 240]).reason, /208-240-byte tickets .*likely stateless/);
  t.equal(judgeTickets([32, 240]).kind, 'unknown', 'a mix is not claimed either way');
});

t.test('probeVerdict says yes, partly or no with the reason', async (t) => {
  t.same(probeVerdict(probe({ mechanism: 'tls1.2-session-id' })), { text: 'yes', good: true });
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-ticket', resumed: 2 })).text, /^partly: 2 of 5/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-session-id', resumed: 0 })).text, /never resumed \(no server cache\)/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-ticket', resumed: 0 })).text, /tickets issued but refused/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-session-id', offered: false, attempts: 0, resumed: 0 })).text, /no session id/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.3-ticket', offered: false, attempts: 0, resumed: 0 })).text, /no tickets/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.3-ticket', status: 'unsupported' })).text, /does not speak TLS 1\.3/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-ticket', status: 'unsupported' })).text, /does not speak TLS 1\.2/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-ticket', status: 'failed' })).text, /^error/);
  t.match(probeVerdict(probe({ mechanism: 'tls1.2-ticket', attempts: 0, resumed: 0 })).text, /no resumption attempt completed/);
  const stateful = probe({ mechanism: 'tls1.3-ticket', tickets: judgeTickets([32]) });
  t.equal(probeVerdict(stateful).text, 'yes (stateful)');
});

t.test('crossSniVerdict names both names', async (t) => {
  t.match(crossSniVerdict(cross({ status: 'accepted', accepted: 1 })).text, /^accepted: a session from a\.example resumed under tls-resumption-check\.example/);
  t.match(crossSniVerdict(cross()).text, /^refused/);
  t.equal(
    crossSniVerdict(cross({ status: 'accepted', from: null, to: 'tls-resumption-check.invalid' })).text,
    'accepted: a session made without SNI (the target is an IP address) resumed when offered under the name tls-resumption-check.invalid',
  );
  t.equal(
    crossSniVerdict(cross({ status: 'refused', from: null, to: 'tls-resumption-check.invalid' })).text,
    'refused: a session made without SNI (the target is an IP address) got a full handshake when offered under the name tls-resumption-check.invalid',
  );
  t.equal(
    crossSniVerdict(cross({ status: 'not-probed', from: null, to: 'tls-resumption-check.invalid' })).text,
    'not probed: this client could not offer a session made without SNI (the target is an IP address) under the name tls-resumption-check.invalid',
  );
  t.match(crossSniVerdict(cross({ status: 'not-applicable' })).text, /nothing resumes/);
  t.match(crossSniVerdict(cross({ status: 'failed' })).text, /^error/);
});

t.test('exit status is 0 when any mechanism resumed once, 1 otherwise; cross-SNI does not count', async (t) => {
  const none = [
    probe({ mechanism: 'tls1.2-session-id', resumed: 0 }),
    probe({ mechanism: 'tls1.2-ticket', offered: false, attempts: 0, resumed: 0 }),
    probe({ mechanism: 'tls1.3-ticket', status: 'unsupported', offered: null, attempts: 0, resumed: 0 }),
  ];
  t.equal(exitStatus(report(none, cross({ status: 'accepted', accepted: 3 }))), 1);
  t.equal(resumesAny(report(none)), false);
  const one = [...none.slice(0, 2), probe({ mechanism: 'tls1.3-ticket', resumed: 1 })];
  t.equal(exitStatus(report(one)), 0);
});

t.test('renderTable shows one aligned row per mechanism with medians and verdicts', async (t) => {
  const text = renderTable(
    report([
      probe({ mechanism: 'tls1.2-session-id', resumed: 0, resumedMs: [], fullMs: [2, 2.25, 2.5, 2.75, 3, 3.25] }),
      probe({ mechanism: 'tls1.2-ticket', ticketLengths: [192] }),
      probe({ mechanism: 'tls1.3-ticket', ticketLengths: [240, 240], tickets: judgeTickets([240, 240]), errors: ['x timed out'] }),
    ]),
  );
  const lines = text.split('\n');
  t.equal(lines[0], 'a.example:8443 (127.0.0.1, SNI a.example): negotiates TLSv1.3 by default');
  t.match(lines[2], /^mechanism\s+offered\s+resumed\s+full ms\s+resumed ms\s+verdict$/);
  t.match(lines[3], /^TLS 1\.2 session id\s+yes\s+0\/5\s+2\.6\s+-\s+no: session ids issued but never resumed/);
  t.match(lines[4], /^TLS 1\.2 ticket\s+yes\s+5\/5\s+2\.0\s+0\.6\s+yes$/);
  t.match(lines[5], /^TLS 1\.3 ticket\s+yes\s+5\/5\s+2\.0\s+0\.6\s+yes \(stateless\)$/);
  t.match(lines[6], /^other SNI name\s+-\s+0\/3\s+-\s+-\s+refused/);
  // Columns line up: the verdict column starts at the same offset on every row.
  const at = lines[2]!.indexOf('verdict');
  for (const line of lines.slice(3, 7)) t.match(line.slice(at), /^(no|yes|refused)/);
  t.match(text, /Resumes by: TLS 1\.2 ticket, TLS 1\.3 ticket\./);
  t.match(text, /TLS 1\.3 ticket: 240-byte tickets have room for an encrypted session/);
  t.match(text, /TLS 1\.3 ticket: x timed out/);
  t.notMatch(text, /--insecure/);
  t.ok(text.endsWith('\n'));
});

t.test('renderTable says when nothing resumes and when the certificate was not verified', async (t) => {
  const r = report([probe({ mechanism: 'tls1.2-session-id', resumed: 0 })], cross({ status: 'not-applicable', mechanism: null, attempts: 0 }));
  const text = renderTable({ ...r, settings: { ...r.settings, insecure: true }, target: { ...r.target, servername: null } });
  t.match(text, /Resumes nothing/);
  t.match(text, /no SNI/);
  t.match(text, /other SNI name\s+-\s+-\s+-\s+-\s+n\/a: nothing resumes/);
  t.match(text, /Warning: the server certificate was not verified \(--insecure\)/);
});

t.test('formatMs keeps one decimal below 100 ms', async (t) => {
  t.equal(formatMs(null), '-');
  t.equal(formatMs(0.04), '0.0');
  t.equal(formatMs(12.345), '12.3');
  t.equal(formatMs(123.6), '124');
});

t.test('renderJson is a versioned document with the exit code and every sample', async (t) => {
  const r = report([probe({ mechanism: 'tls1.3-ticket', ticketLengths: [32], tickets: judgeTickets([32]) })], cross({ status: 'accepted', accepted: 2 }));
  const doc = JSON.parse(renderJson(r));
  t.equal(doc.schema, 1);
  t.equal(doc.ok, true);
  t.equal(doc.exitCode, 0);
  t.equal(doc.resumes, true);
  t.same(doc.target, r.target);
  t.same(doc.probes[0], {
    mechanism: 'tls1.3-ticket',
    status: 'ran',
    offered: true,
    attempts: 5,
    resumed: 5,
    medianFullMs: 2,
    medianResumedMs: 0.625,
    fullMs: [3, 1, 2],
    resumedMs: [0.5, 0.25, 0.75, 1],
    ticketLengths: [32],
    ticketKind: 'stateful',
    ticketKindReason: judgeTickets([32]).reason,
    verdict: 'yes (stateful)',
    errors: [],
  });
  t.equal(doc.crossSni.status, 'accepted');
  t.match(doc.crossSni.verdict, /^accepted/);
});

t.test('renderJsonError reports the kind, message and exit code', async (t) => {
  t.same(JSON.parse(renderJsonError(4, 'not-tls', 'nope')), {
    schema: 1,
    ok: false,
    exitCode: 4,
    error: { kind: 'not-tls', message: 'nope' },
  });
});

t.test('the progress line is shown only on a terminal and erased before the report', async (t) => {
  t.equal(formatProgress({ step: 'TLS 1.2 ticket', connection: 3, of: 6 }), 'checking: TLS 1.2 ticket, connection 3 of 6');
  t.equal(formatProgress({ step: 'resolving a.example', connection: 0, of: 0 }), 'checking: resolving a.example');

  const piped: string[] = [];
  const quiet = new ProgressLine({ write: (s: string) => piped.push(s), isTTY: false });
  quiet.update({ step: 'x', connection: 1, of: 2 });
  quiet.clear();
  t.same(piped, []);

  const tty: string[] = [];
  const line = new ProgressLine({ write: (s: string) => tty.push(s), isTTY: true });
  line.clear();
  t.same(tty, [], 'nothing to erase before anything was shown');
  line.update({ step: 'x', connection: 1, of: 2 });
  line.update({ step: 'x', connection: 2, of: 2 });
  line.clear();
  t.same(tty, ['\rchecking: x, connection 1 of 2\x1b[K', '\rchecking: x, connection 2 of 2\x1b[K', '\r\x1b[K']);
});

t.test('a cross-SNI probe that could not be made says so in the table and the JSON, and is never "refused"', async (t) => {
  const reason = 'not probed: Node did not put the session on the connection under tls-resumption-check.example, so it was never offered';
  const r = report([probe({ mechanism: 'tls1.3-ticket' })], cross({ status: 'not-probed', attempts: 0, errors: [reason] }));
  t.match(crossSniVerdict(r.crossSni).text, /^not probed: this client could not offer a session from a\.example under tls-resumption-check\.example$/);
  t.equal(crossSniVerdict(r.crossSni).good, false);
  const text = renderTable(r);
  t.match(text, /^other SNI name\s+-\s+-\s+-\s+-\s+not probed: /m);
  t.match(text, /^other SNI name: not probed: Node did not put the session on the connection/m);
  t.notMatch(text, /offered under/, 'no claim that sessions were offered');
  const doc = JSON.parse(renderJson(r));
  t.equal(doc.crossSni.status, 'not-probed');
  t.match(doc.crossSni.verdict, /^not probed/);
  t.same(doc.crossSni.errors, [reason]);
  t.equal(doc.exitCode, 0, 'the probes that ran still decide the exit status');
});
