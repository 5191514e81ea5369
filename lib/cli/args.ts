import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { isHostname, parseTarget, type Target } from './target.js';

/** What `tls-resumption check` was asked to do, validated. */
export interface CheckOptions {
  readonly target: Target;
  /** SNI to send; undefined sends none (the default for an IP target). */
  readonly servername: string | undefined;
  /** Name for the cross-SNI probe; undefined means `siblingName(servername)` (target.ts). */
  readonly otherServername: string | undefined;
  readonly json: boolean;
  /** Resumption attempts per probe, after one full handshake. */
  readonly count: number;
  /** Per-connection deadline, in milliseconds. */
  readonly timeoutMs: number;
  /** Skip certificate verification. */
  readonly insecure: boolean;
  /** Path of a PEM file of trusted CAs, replacing the system roots. */
  readonly caFile: string | undefined;
  /** Fleet mode: reconnections offering the first server's sessions; undefined: off. */
  readonly connections: number | undefined;
}

/** Parsed command line: a check to run, a request for help, or a usage error. */
export type ParsedCommand =
  | { kind: 'check'; options: CheckOptions }
  | { kind: 'help' }
  | { kind: 'usage-error'; message: string; json: boolean };

/** Defaults, frozen: one full handshake then this many resumptions, per probe. */
export const CHECK_DEFAULTS = Object.freeze({ count: 5, timeoutSeconds: 5 });
/** Most resumption attempts `--count` accepts, so a typo cannot hammer a server. */
export const MAX_COUNT = 100;
/** Most reconnections `--connections` accepts. */
export const MAX_CONNECTIONS = 1000;
/** Longest `--timeout`, in seconds. */
export const MAX_TIMEOUT_SECONDS = 120;

/** The usage text `--help` prints. */
export const USAGE = `Usage: tls-resumption check <host[:port]> [options]

Probes a TLS server with fresh connections and reports which session
resumption mechanisms it supports: TLS 1.2 session ids, TLS 1.2 tickets,
TLS 1.3 tickets (stateful or stateless where that can be told), and
whether a session is accepted under another SNI name.

Options:
  --servername <name>        SNI to send (default: the host, none for an IP)
  --other-servername <name>  name for the cross-SNI probe (default:
                             tls-resumption-check.invalid; when the SNI
                             name has a parent domain, the same label under
                             it: www.example.com -> tls-resumption-check.example.com)
  --count <n>                resumption attempts per probe (default ${CHECK_DEFAULTS.count}, max ${MAX_COUNT})
  --connections <n>          fleet mode: also make n reconnections with a
                             default client, each offering a session of the
                             first server, and report the share that resumed
                             (behind a load balancer whose servers share no
                             cache or keys: about 1 in the number of servers;
                             max ${MAX_CONNECTIONS})
  --timeout <seconds>        per-connection deadline (default ${CHECK_DEFAULTS.timeoutSeconds})
  --ca <file>                trust the CA certificates in this PEM file
  --insecure                 do not verify the server's certificate
  --json                     print a JSON report instead of a table
  -h, --help                 show this help

Progress goes to stderr: one line rewritten in place on a terminal, or
one plain line when output is piped; none with --json.

Exit status:
  0  the server resumes sessions by at least one mechanism
  1  the server resumes nothing
  2  usage error (bad option or address)
  3  could not probe: DNS failure, connection refused, timeout,
     untrusted certificate, or TLS handshake failure
  4  the server does not speak TLS (plain HTTP, Redis, an echo service, ...)
`;

/**
 * Parses argv (without `node` and the script), e.g. `['check', 'example.com:443', '--json']`.
 * Never throws: every problem is a `usage-error` with a one-line message naming the bad
 * option. Does not touch the file system or network.
 */
export function parseCommand(argv: readonly string[]): ParsedCommand {
  const wantsJson = argv.includes('--json');
  const fail = (message: string): ParsedCommand => ({ kind: 'usage-error', message, json: wantsJson });

  let parsed: ReturnType<typeof parseCheckArgv>;
  try {
    parsed = parseCheckArgv(argv);
  } catch (err) {
    // parseArgs throws TypeErrors for unknown options and missing values; its messages
    // run long (advice about '--'), so keep the part that names the problem.
    const message = firstLine((err as Error).message);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    if (unknown) return fail(`unknown option ${unknown[1]}`);
    const trimmed = message.replace(/\. To specify .*$/, '');
    return fail(trimmed.charAt(0).toLowerCase() + trimmed.slice(1));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };

  const [command, address, ...extra] = positionals;
  if (command === undefined) return fail('no command given (expected: check <host[:port]>)');
  if (command !== 'check') return fail(`unknown command "${command}" (expected: check)`);
  if (address === undefined) return fail('check needs an address: tls-resumption check <host[:port]>');
  if (extra.length > 0) return fail(`unexpected argument "${extra[0]}"`);

  const target = parseTarget(address);
  if (!target.ok) return fail(target.reason);

  const count = values.count === undefined ? CHECK_DEFAULTS.count : Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    return fail(`--count must be a whole number from 1 to ${MAX_COUNT}, got "${values.count}"`);
  }
  const timeoutSeconds = values.timeout === undefined ? CHECK_DEFAULTS.timeoutSeconds : Number(values.timeout);
  if (values.timeout?.trim() === '' || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    return fail(`--timeout must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, got "${values.timeout}"`);
  }

  let connections: number | undefined;
  if (values.connections !== undefined) {
    connections = Number(values.connections);
    if (values.connections.trim() === '' || !Number.isInteger(connections) || connections < 1 || connections > MAX_CONNECTIONS) {
      return fail(`--connections must be a whole number from 1 to ${MAX_CONNECTIONS}, got "${values.connections}"`);
    }
  }

  let servername = values.servername;
  if (servername !== undefined) {
    const problem = servernameProblem(servername, '--servername');
    if (problem) return fail(problem);
  } else if (isIP(target.target.host) === 0) {
    servername = target.target.host;
  }
  const otherServername = values['other-servername'];
  if (otherServername !== undefined) {
    const problem = servernameProblem(otherServername, '--other-servername');
    if (problem) return fail(problem);
    if (otherServername.toLowerCase() === servername?.toLowerCase()) {
      return fail('--other-servername must differ from the name the session is made under');
    }
  }
  if (values.ca !== undefined && values.ca === '') return fail('--ca needs a file name');

  return {
    kind: 'check',
    options: Object.freeze({
      target: target.target,
      servername,
      otherServername,
      json: values.json === true,
      count,
      timeoutMs: Math.round(timeoutSeconds * 1000),
      insecure: values.insecure === true,
      caFile: values.ca,
      connections,
    }),
  };
}

function parseCheckArgv(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      servername: { type: 'string' },
      'other-servername': { type: 'string' },
      json: { type: 'boolean' },
      count: { type: 'string' },
      connections: { type: 'string' },
      timeout: { type: 'string' },
      insecure: { type: 'boolean' },
      ca: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

// RFC 6066: SNI carries a DNS host name, never an IP literal.
function servernameProblem(name: string, option: string): string | undefined {
  if (isIP(name) !== 0) return `${option} must be a host name; SNI cannot carry an IP address`;
  return isHostname(name) ? undefined : `${option} "${name}" is not a valid host name`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
