/**
 * `tls-resumption check host:port`: the command-line entry point.
 *
 * `main(argv, io)` does everything and resolves an exit status; it never throws and never
 * prints a stack trace: every failure is one line on stderr (and, with --json, a JSON
 * document on stdout). `run()` is what the `bin` launcher calls.
 */
import { readFile } from 'node:fs/promises';
import { logger } from '../debug.js';
import { parseCommand, USAGE } from './args.js';
import { runCheck } from './probes.js';
import { ProgressLine, progressMode, type ProgressStream } from './progress.js';
import { formatTarget } from './target.js';
import { renderJson, renderJsonError } from './render-json.js';
import { renderTable } from './render-table.js';
import { EXIT, exitStatus } from './report.js';
import type { FailureKind } from './failure.js';

const debug = logger('cli');

/** Where `main` writes and how it reads the `--ca` file; injectable for tests. */
export interface CliIo {
  /** The report. `isTTY` (as on process.stdout) tells a terminal from a pipe, for the progress line. */
  readonly stdout: { write(chunk: string): unknown; readonly isTTY?: boolean };
  /** Errors and the progress line (see progress.ts). */
  readonly stderr: ProgressStream;
  /** Reads the `--ca` file; defaults to fs.promises.readFile. */
  readonly readFile?: (path: string) => Promise<Buffer>;
}

const PREFIX = 'tls-resumption: ';

/**
 * Runs the command line `argv` (without `node` and the script), e.g.
 * `['check', 'example.com:443', '--json']`, and resolves the exit status:
 * 0 resumes by at least one mechanism, 1 resumes nothing, 2 usage error,
 * 3 could not probe (DNS, refused, timeout, certificate, handshake), 4 not TLS.
 * Never rejects.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await mainUnguarded(argv, io);
  } catch (err) {
    // A bug, not a server problem: still one line, and still no stack unless debugging.
    debug('internal error: %O', err);
    io.stderr.write(`${PREFIX}internal error: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.UNREACHABLE;
  }
}

async function mainUnguarded(argv: readonly string[], io: CliIo): Promise<number> {
  const command = parseCommand(argv);
  if (command.kind === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'usage-error') {
    return usageError(io, command.message, command.json);
  }
  const options = command.options;

  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = await (io.readFile ?? readFile)(options.caFile);
    } catch (err) {
      const code = (err as { code?: string }).code;
      return usageError(io, `cannot read --ca file ${options.caFile}${code ? ` (${code})` : ''}`, options.json);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      return usageError(io, `--ca file ${options.caFile} holds no PEM certificate`, options.json);
    }
  }

  const mode = progressMode({ stdoutIsTTY: io.stdout.isTTY, stderrIsTTY: io.stderr.isTTY, json: options.json });
  const progress = new ProgressLine(io.stderr, mode, formatTarget(options.target));
  const outcome = await runCheck(
    {
      target: options.target,
      servername: options.servername,
      otherServername: options.otherServername,
      count: options.count,
      timeoutMs: options.timeoutMs,
      insecure: options.insecure,
      ca,
      connections: options.connections,
    },
    (p) => progress.update(p),
  );
  progress.clear();

  if (!outcome.ok) {
    const status = exitFor(outcome.failure.kind);
    io.stderr.write(`${PREFIX}${outcome.failure.message}\n`);
    if (options.json) io.stdout.write(renderJsonError(status, outcome.failure.kind, outcome.failure.message));
    return status;
  }
  io.stdout.write(options.json ? renderJson(outcome.report) : renderTable(outcome.report));
  return exitStatus(outcome.report);
}

/** Exit status for a check that could not run. */
export function exitFor(kind: FailureKind): number {
  return kind === 'not-tls' ? EXIT.NOT_TLS : EXIT.UNREACHABLE;
}

function usageError(io: CliIo, message: string, json: boolean): number {
  io.stderr.write(`${PREFIX}${message} (see --help)\n`);
  if (json) io.stdout.write(renderJsonError(EXIT.USAGE, 'usage', message));
  return EXIT.USAGE;
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr };
}

/**
 * Runs `main` on `process.argv` and sets the exit status. Every socket is closed by the
 * time `main` resolves, so the process ends by itself; an unref'd timer makes sure it
 * ends even if a library keeps a handle open.
 */
export function run(): void {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
    setTimeout(() => process.exit(status), 2000).unref();
  });
}

// Run when executed directly (`node --import tsx lib/cli/main.ts check ...`, or the CJS
// build). The ESM build has no `require`, so importing it never starts a check.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) run();
