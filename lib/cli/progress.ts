import type { Progress } from './probes.js';

/** The text of the progress line, e.g. `checking: TLS 1.2 ticket, connection 3 of 6`. Pure. */
export function formatProgress(progress: Progress): string {
  const of = progress.of > 0 ? `, connection ${progress.connection} of ${progress.of}` : '';
  return `checking: ${progress.step}${of}`;
}

/** Where the progress line goes. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * How progress is shown: 'terminal' rewrites one line in place (carriage return + erase
 * to end of line) and erases it before the report; 'log' writes one plain line that grows
 * by a word per step (`checking host:443: TLS 1.2 session id, TLS 1.2 ticket, ...: done`),
 * for a stderr that is a file or pipe while stdout is piped too; 'off' writes nothing.
 */
export type ProgressMode = 'terminal' | 'log' | 'off';

/**
 * The mode `check` uses: nothing with --json (stdout is for a program); the in-place line
 * when stderr is a terminal; the plain line when stdout is piped and stderr is not a
 * terminal either (a person is likely reading a log); else nothing.
 */
export function progressMode(io: { stdoutIsTTY: boolean | undefined; stderrIsTTY: boolean | undefined; json: boolean }): ProgressMode {
  if (io.json) return 'off';
  if (io.stderrIsTTY === true) return 'terminal';
  return io.stdoutIsTTY === true ? 'off' : 'log';
}

export class ProgressLine {
  private shown = false;
  private lastStep: string | undefined;

  /** `mode` defaults to 'terminal' on a terminal, else 'off'; `target` names the server in 'log' mode. */
  constructor(
    private readonly stream: ProgressStream,
    private readonly mode: ProgressMode = stream.isTTY === true ? 'terminal' : 'off',
    private readonly target = '',
  ) {}

  /** Shows `progress`, replacing the previous line (terminal) or adding its step (log). */
  update(progress: Progress): void {
    if (this.mode === 'terminal') {
      this.stream.write(`\r${formatProgress(progress)}\x1b[K`);
      this.shown = true;
    } else if (this.mode === 'log') {
      // Resolving and connecting take no time worth logging; a failure there is the one line.
      if (progress.setup === true || progress.step === this.lastStep) return;
      this.stream.write(this.shown ? `, ${progress.step}` : `checking ${this.target}: ${progress.step}`);
      this.lastStep = progress.step;
      this.shown = true;
    }
  }

  /** Erases the line (terminal) or ends it (log), if one was shown. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write(this.mode === 'terminal' ? '\r\x1b[K' : ': done\n');
    this.shown = false;
  }
}
