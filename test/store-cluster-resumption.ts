/**
 * A real `cluster` with two TLS workers (test/fixtures/cluster-server.ts): with the
 * cluster store, a session made by one worker resumes on the other in 99% or more of
 * attempts, for TLS 1.2 ids and TLS 1.3 stateful tickets. Without it the cross-worker
 * rate is measured and printed for contrast (it is 0: each worker has its own cache).
 */
import t from 'tap';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { ca, spawnTied } from './fixtures/tls.js';
import { PROTOCOLS } from './fixtures/store-fleet.js';

const ATTEMPTS = 100;
const script = join(__dirname, 'fixtures', 'cluster-server.ts');

interface Answer {
  resumed: boolean;
  worker: string;
  session: Buffer | undefined;
  error?: Error;
}

/** One connection: handshake, read the worker's id, keep the newest session. */
function ask(port: number, options: tls.ConnectionOptions): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options });
    let data = '';
    let session: Buffer | undefined;
    let done = false;
    let resumed = false;
    socket.once('secureConnect', () => (resumed = socket.isSessionReused()));
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ resumed, worker: data.trim(), session, ...(error ? { error } : {}) });
    };
    socket.on('session', (s) => (session = s));
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    // TLS 1.3 tickets arrive before the server's data; end comes after both.
    socket.on('end', () => finish());
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(data ? undefined : new Error('closed without an answer')));
  });
}

async function startCluster(mode: 'shared' | 'internal') {
  // spawnTied: the primary dies with this test process, and its workers with it.
  const child = spawnTied(process.execPath, ['--import', 'tsx', script, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cluster did not start: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited (${code}) before listening: ${stderr}`));
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    port,
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Full handshake, then a reconnection offering its session; counts the reconnections that landed on the other worker. */
async function measure(port: number, options: tls.ConnectionOptions) {
  let cross = 0;
  let crossResumed = 0;
  let failed = 0;
  for (let i = 0; i < ATTEMPTS; i++) {
    const first = await ask(port, options);
    if (first.error || !first.session) {
      failed++;
      continue;
    }
    const second = await ask(port, { ...options, session: first.session });
    if (second.error) {
      failed++;
      continue;
    }
    if (second.worker !== first.worker) {
      cross++;
      if (second.resumed) crossResumed++;
    }
  }
  return { cross, crossResumed, failed };
}

for (const mode of ['shared', 'internal'] as const) {
  t.test(`cluster of two workers, ${mode === 'shared' ? 'with the cluster store' : 'each with its own cache'}`, async (t) => {
    const c = await startCluster(mode);
    t.teardown(() => c.stop());
    for (const [protocol, options] of Object.entries(PROTOCOLS)) {
      const r = await measure(c.port, options);
      const rate = r.cross === 0 ? 0 : r.crossResumed / r.cross;
      t.comment(`${protocol}, ${mode}: ${r.crossResumed}/${r.cross} cross-worker resumptions (${(rate * 100).toFixed(1)}%)`);
      t.equal(r.failed, 0, 'no connection failed');
      t.ok(r.cross >= ATTEMPTS / 4, `the reconnections reached the other worker often (${r.cross}/${ATTEMPTS})`);
      if (mode === 'shared') t.ok(rate >= 0.99, `${protocol}: cross-worker resumption ${(rate * 100).toFixed(1)}% >= 99%`);
      else t.equal(r.crossResumed, 0, `${protocol}: without the store no session crosses workers`);
    }
  });
}
