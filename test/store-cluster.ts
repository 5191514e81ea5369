/**
 * ClusterStore with a real `cluster` primary and two workers (test/fixtures/cluster-store.ts).
 */
import t from 'tap';
import cluster from 'node:cluster';
import { join } from 'node:path';
import { ClusterStore } from '../lib/stores/cluster.js';
import { serveClusterSessions } from '../lib/stores/cluster-primary.js';
import { spawnTied } from './fixtures/tls.js';

const script = join(__dirname, 'fixtures', 'cluster-store.ts');

function runCluster(mode: string): Promise<{ result: any; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // spawnTied: the primary dies with this test process, and its workers with it.
    const child = spawnTied(process.execPath, ['--import', 'tsx', script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    // 'close' waits for every holder of the pipe, workers included.
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ result: line ? JSON.parse(line.slice(7)) : undefined, code, stderr });
    });
  });
}

t.test('two workers share sessions through the primary', async (t) => {
  const { result, code, stderr } = await runCluster('share');
  if (code !== 0) t.comment(stderr);
  t.equal(code, 0, 'the cluster exited cleanly');
  t.ok(result, 'the cluster reported');
  t.same(result.writer, {
    addExisting: false,
    addNew: true,
    deleted: true,
    deletedAgain: false,
    sealed: [true, true, false],
    ready: { before: [false, false], after: [true, true], events: 2, again: 'resolved' },
  }, 'ready() resolves after one round trip to the primary, onReady fires once per store');
  t.equal(result.reader.hits, 199, 'every session one worker stored, the other reads back');
  t.equal(result.reader.wrong, 0);
  t.equal(result.reader.deletedIsMiss, true, 'a deleted session is gone for every worker');
  t.equal(result.reader.addedNew, true);
  t.equal(result.reader.addDidNotReplace, true);
  t.equal(result.reader.expiredIsMiss, true, 'an expired session is a miss');
  t.equal(result.reader.ownKeyHits, 10, "workers sharing their own seal keys open each other's sessions");
  t.equal(result.reader.primaryHoldsCiphertext, true, 'by default and with sealKeys the primary holds ciphertext');
  t.equal(result.reader.otherKeyCode, 'ERR_TLS_RESUMPTION_UNSEAL', 'another key does not open');
  t.equal(result.reader.defaultReadsOwnCode, 'ERR_TLS_RESUMPTION_UNSEAL', 'the cluster key does not open entries of own keys');
  t.equal(result.reader.clearRoundTrip, true, 'insecurePlaintext round-trips');
  t.equal(result.reader.pending, 0, 'no request left pending');
  t.match(
    result.primary,
    { hits: 199 + 10 + 2 + 3 + 2, rejected: 1 },
    'the primary counted the hits (199 + 10 own-key + 2 raw + 3 other reads + 2 add checks) and the malformed message',
  );
});

t.test('pending calls reject when the primary goes away, and a silent primary times out', async (t) => {
  const { result, code, stderr } = await runCluster('disconnect');
  if (code !== 0) t.comment(stderr);
  t.equal(code, 0, 'the cluster exited cleanly');
  t.ok(result, 'the worker reported');
  t.equal(result.timeoutCode, 'ERR_TLS_RESUMPTION_STORE_TIMEOUT', 'no answer within requestTimeoutMs rejects');
  t.equal(result.shortPending, 0, 'and leaves nothing pending');
  t.equal(result.pendingBefore, 3);
  t.same(result.codes, [
    'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE',
    'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE',
    'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE',
  ]);
  t.equal(result.pendingAfter, 0, 'no pending request leaks');
  t.equal(result.after, 'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'later calls fail at once');
  t.equal(result.readyAfter, 'ERR_TLS_RESUMPTION_STORE_UNAVAILABLE', 'ready() rejects once the primary is gone');
});

t.test('each side refuses the other role', async (t) => {
  t.equal(cluster.isPrimary, true);
  t.throws(() => new ClusterStore(), { code: 'ERR_TLS_RESUMPTION_CLUSTER_ROLE' });
  t.throws(() => serveClusterSessions({ isPrimary: false, on() {} } as never), { code: 'ERR_TLS_RESUMPTION_CLUSTER_ROLE' });
  const served = ClusterStore.primary({ cacheSize: 10 });
  t.throws(() => ClusterStore.primary(), { code: 'ERR_TLS_RESUMPTION_ALREADY_ATTACHED' });
  served.close();
  ClusterStore.primary().close();
  t.throws(() => ClusterStore.primary({ cacheSize: 0 }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
});
