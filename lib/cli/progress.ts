import type { Progress } from './probes.js';

/** The text of the progress line, e.g. `checking: TLS 1.2 ticket, connection 3 of 6`. Pure. */
export function formatProgress(progress: Progress): string {
  const of = progress.of > 0 ? `, connection ${progress.connection} of ${progress.of}` : '';
  return `checking: ${progress.step}${of}`;
}

/** Where the progress line goes: a terminal gets it, redirected output does not. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * One line, rewritten in place (carriage return + erase to end of line), shown only
 * when the stream is a terminal so logs and pipes stay clean. `clear()` erases it before
 * the report is printed.
 */
export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: ProgressStream) {}

  /** Shows `progress`, replacing the previous line. */
  update(progress: Progress): void {
    if (this.stream.isTTY !== true) return;
    this.stream.write(`\r${formatProgress(progress)}\x1b[K`);
    this.shown = true;
  }

  /** Erases the line if one was shown. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
