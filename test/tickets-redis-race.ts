import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { startRedis, type RedisServer, runIfRedis } from './fixtures/redis.js';
import { handshake } from './fixtures/tickets/tls.js';

const HOUR = 3_600_000;
runIfRedis(t, main);

interface Worker {
  child: ChildProcess;
  port: number;
  request(msg: object): Promise<Record<string, unknown>>;
}

function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'tickets', 'race-worker.ts')], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((msg: Record<string, unknown>) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  return next().then((ready) => ({
    child,
    port: ready.port as number,
    request(msg: object) {
      const answer = next();
      child.stdin!.write(`${JSON.stringify(msg)}\n`);
      return answer;
    },
  }));
}

function main() {
  let redis: RedisServer;
  const workers: Worker[] = [];

  t.before(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      SEAL_KEY: randomBytes(32).toString('hex'),
      NAMESPACE: `race-${randomBytes(4).toString('hex')}`,
      START: String(10_000 * HOUR),
    };
    workers.push(...(await Promise.all([startWorker(env), startWorker(env)])));
  });
  t.teardown(async () => {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.stdin!.write('{"cmd":"exit"}\n');
            setTimeout(() => w.child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    await redis?.stop();
  });

  t.test('two processes racing to rotate: one key per period, both use it, tickets cross over', async (t) => {
    const creators = new Map<number, number[]>();
    let previousTicket: { session: Buffer | undefined; name: string | undefined } | undefined;
    for (let round = 0; round < 6; round++) {
      const now = (10_000 + round) * HOUR + 1000;
      // Both get the command at the same moment and race through get -> add (SET NX PX).
      const answers = await Promise.all(workers.map((w) => w.request({ cmd: 'sync', now })));
      answers.forEach((a, i) => {
        for (const p of a.created as number[]) creators.set(p, [...(creators.get(p) ?? []), i]);
      });
      t.equal(answers[0]!.current, answers[1]!.current, `round ${round}: both processes encrypt with the same key`);
      t.same(answers[0]!.keys, answers[1]!.keys, `round ${round}: both hold the same keys`);

      // A ticket from the previous round (previous key) resumes on the other process, renewed.
      if (previousTicket) {
        const v = round % 2 === 0 ? 'TLSv1.2' : 'TLSv1.3';
        const r = await handshake(workers[round % 2]!.port, v, { session: previousTicket.session });
        t.equal(r.resumed, true, `round ${round} ${v}: last period's ticket resumes on the other process`);
        t.equal(r.ticketName, answers[0]!.current, `round ${round} ${v}: renewed under the new key`);
      }
      const v = round % 2 === 0 ? 'TLSv1.3' : 'TLSv1.2';
      const fresh = await handshake(workers[(round + 1) % 2]!.port, v);
      t.equal(fresh.ticketName, answers[0]!.current);
      const cross = await handshake(workers[round % 2]!.port, v, { session: fresh.session });
      t.equal(cross.resumed, true, `round ${round} ${v}: this period's ticket resumes on the other process`);
      previousTicket = { session: fresh.session, name: fresh.ticketName };
    }
    // Periods 10000..10006 (current and next of each round) were each created exactly once.
    t.same([...creators.keys()].sort((a, b) => a - b), [10_000, 10_001, 10_002, 10_003, 10_004, 10_005, 10_006]);
    for (const [p, who] of creators) t.equal(who.length, 1, `period ${p} was created by exactly one process`);
    const stats = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' })));
    const created = stats.map((s) => (s.shared as { created: number }).created);
    t.equal(created[0]! + created[1]!, 7, `creations split ${created[0]}/${created[1]} between the processes`);
  });
}
