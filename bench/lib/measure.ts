/**
 * Shared benchmark plumbing: start a server variant in its own process and drive it
 * with `openssl s_time` (a C client, so the client costs little and the same for all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';

const root = join(__dirname, '..', '..');

export interface RunningServer {
  port: number;
  child: ChildProcess;
  /** Ends the server; resolves the JSON it printed last (cache stats), if any. */
  stop(): Promise<unknown>;
}

/** Starts `bench/servers/<script>.ts <args>` under tsx and waits for its port. */
export async function startServer(script: string, args: string[]): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'servers', `${script}.ts`), ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        child.stdout!.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)));
  });
  return {
    port,
    child,
    async stop() {
      child.stdin!.end();
      await once(child, 'exit');
      const lines = out.trim().split('\n');
      const last = lines[lines.length - 1];
      try {
        return lines.length > 1 && last ? JSON.parse(last) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export interface STimeResult {
  connections: number;
  seconds: number;
  perSecond: number;
  /** Connections that resumed (s_time prints one progress character each: 'r' reused, '*' new). */
  reused: number;
  /** reused / connections seen in the progress lines. */
  resumedShare: number;
}

/** `openssl s_time` (`-reuse` or `-new` among `args`) against the port for `seconds`. */
export async function sTime(port: number, args: string[], seconds: number): Promise<STimeResult> {
  const child = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-www', '/', '-time', String(seconds), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stderr.resume();
  await once(child, 'exit');
  // "1234 connections in 4 real seconds, 0 bytes read per connection"
  const m = /(\d+) connections in (\d+) real seconds/.exec(out);
  if (!m) throw new Error(`s_time printed no result:\n${out.slice(-500)}`);
  const connections = Number(m[1]);
  const secs = Number(m[2]);
  const progress = out.split('\n').filter((l) => /^[r*]+$/.test(l)).join('');
  const reused = [...progress].filter((c) => c === 'r').length;
  return { connections, seconds: secs, perSecond: connections / secs, reused, resumedShare: progress.length ? reused / progress.length : 0 };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
