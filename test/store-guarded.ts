/**
 * Policy unit tests of GuardedStore (deadline, breaker, counters). The stores here are
 * named fakes: each one models a failure a real store can have (never answers,
 * rejects, throws, returns junk); the real-Redis behaviour is in store-redis-outage.ts.
 */
import t from 'tap';
import { GuardedStore } from '../lib/stores/guarded.js';
import { makeError } from '../lib/errors.js';
import type { SessionStore } from '../lib/stores/store.js';

/** Fake: a store whose calls never settle (a blackholed network peer). */
class NeverAnsweringStore implements SessionStore {
  calls = 0;
  get(): Promise<Buffer | undefined> {
    this.calls++;
    return new Promise(() => {});
  }
  set(): Promise<void> {
    this.calls++;
    return new Promise(() => {});
  }
  delete(): Promise<boolean> {
    this.calls++;
    return new Promise(() => {});
  }
}

/** Fake: a store whose behaviour each test scripts per call. */
class ScriptedStore implements SessionStore {
  calls = 0;
  constructor(public behave: (op: string, key: string) => unknown) {}
  get(key: string) {
    this.calls++;
    return this.behave('get', key) as Promise<Buffer | undefined>;
  }
  set(key: string) {
    this.calls++;
    return this.behave('set', key) as Promise<void>;
  }
  delete(key: string) {
    this.calls++;
    return this.behave('delete', key) as Promise<boolean>;
  }
}

const rejectWith = (err: unknown) => () => Promise.reject(err);

t.test('a store that never answers costs one deadline, as a timeout, for get, set and delete', async (t) => {
  const store = new NeverAnsweringStore();
  const guard = new GuardedStore(store, { timeoutMs: 20, failureThreshold: 100 });
  t.same(await guard.get('k'), { outcome: 'timeout' });
  t.equal(await guard.set('k', Buffer.from('v'), 1000), 'timeout');
  t.equal(await guard.delete('k'), 'timeout');
  t.match(guard.stats(), { timeouts: 3, errors: 0, circuitOpen: false });
});

t.test('rejections, synchronous throws and non-bytes are counted errors, never thrown', async (t) => {
  const cases: [string, () => unknown][] = [
    ['rejects', rejectWith(new Error('boom'))],
    ['rejects with a non-error', rejectWith(Object.create(null))],
    ['throws synchronously', () => {
      throw new Error('sync');
    }],
    ['returns a string', () => Promise.resolve('not bytes')],
    ['returns an object', () => Promise.resolve({ length: 3 })],
    ['returns a number, not a promise', () => 42],
    ['returns a thenable that throws', () => ({ then() { throw new Error('then'); } })],
  ];
  for (const [name, behave] of cases) {
    const guard = new GuardedStore(new ScriptedStore(behave), { failureThreshold: 100 });
    t.same(await guard.get('k'), { outcome: 'error' }, name);
    t.equal(guard.stats().errors, 1, `${name}: counted`);
  }
  const guard = new GuardedStore(new ScriptedStore(rejectWith(new Error('w'))), { failureThreshold: 100 });
  t.equal(await guard.set('k', Buffer.from('v'), 1000), 'error');
  t.equal(await guard.delete('k'), 'error');
});

t.test('absent is a miss, bytes are a hit, an UNSEAL rejection is tampered', async (t) => {
  const value = Buffer.from('sealed session');
  const guard = new GuardedStore(
    new ScriptedStore((_op, key) => {
      if (key === 'absent') return Promise.resolve(undefined);
      if (key === 'null') return Promise.resolve(null);
      if (key === 'u8') return Promise.resolve(new Uint8Array([1, 2, 3]));
      if (key === 'bad') return Promise.reject(makeError('ERR_TLS_RESUMPTION_UNSEAL', 'tampered'));
      return Promise.resolve(value);
    }),
  );
  t.same(await guard.get('absent'), { outcome: 'miss' });
  t.same(await guard.get('null'), { outcome: 'miss' });
  const hit = await guard.get('present');
  t.equal(hit.outcome, 'hit');
  t.same(hit.value, value);
  const u8 = await guard.get('u8');
  t.ok(Buffer.isBuffer(u8.value), 'a Uint8Array comes back as a Buffer');
  t.same(await guard.get('bad'), { outcome: 'tampered' });
  t.match(guard.stats(), { hits: 2, misses: 2, tampered: 1, errors: 0 });
});

t.test('tampered entries do not open the circuit (the store is answering)', async (t) => {
  const guard = new GuardedStore(
    new ScriptedStore(rejectWith(makeError('ERR_TLS_RESUMPTION_UNSEAL', 'x'))),
    { failureThreshold: 2 },
  );
  for (let i = 0; i < 5; i++) t.same(await guard.get('k'), { outcome: 'tampered' });
  t.match(guard.stats(), { tampered: 5, circuitOpen: false, circuitOpened: 0 });
});

t.test('breaker: opens after the threshold, skips without calling, half-opens after cooldown', async (t) => {
  let clock = 1_000_000;
  let failing = true;
  const changes: boolean[] = [];
  const store = new ScriptedStore(() => (failing ? Promise.reject(new Error('down')) : Promise.resolve(undefined)));
  const guard = new GuardedStore(store, {
    failureThreshold: 3,
    cooldownMs: 5000,
    now: () => clock,
    onCircuitChange: (open) => changes.push(open),
  });
  t.same(await guard.get('k'), { outcome: 'error' });
  t.same(await guard.get('k'), { outcome: 'error' });
  t.equal(guard.stats().circuitOpen, false, 'two failures: still closed');
  t.same(await guard.get('k'), { outcome: 'error' });
  t.match(guard.stats(), { circuitOpen: true, circuitOpened: 1 });
  t.same(changes, [true]);

  const callsWhenOpened = store.calls;
  t.same(await guard.get('k'), { outcome: 'skipped' });
  t.equal(await guard.set('k', Buffer.from('v'), 10), 'skipped');
  t.equal(await guard.delete('k'), 'skipped');
  clock += 4999;
  t.same(await guard.get('k'), { outcome: 'skipped' }, 'still open just before the cooldown ends');
  t.equal(store.calls, callsWhenOpened, 'the store is not called while open');
  t.equal(guard.stats().skipped, 4);

  clock += 1;
  t.same(await guard.get('k'), { outcome: 'error' }, 'after the cooldown one probe goes through');
  t.equal(store.calls, callsWhenOpened + 1);
  t.match(guard.stats(), { circuitOpen: true, circuitOpened: 2 }, 'a failed probe reopens');
  t.same(await guard.get('k'), { outcome: 'skipped' }, 'and the cooldown restarts');

  clock += 5000;
  failing = false;
  t.same(await guard.get('k'), { outcome: 'miss' }, 'a probe that answers');
  t.match(guard.stats(), { circuitOpen: false, circuitOpened: 2 }, 'closes the circuit');
  t.same(changes, [true, false]);
  t.same(await guard.get('k'), { outcome: 'miss' });
  t.equal(store.calls, callsWhenOpened + 3);
});

t.test('breaker: only one probe at a time while half-open', async (t) => {
  let clock = 0;
  let release: (v: undefined) => void = () => {};
  let mode: 'fail' | 'hold' = 'fail';
  const store = new ScriptedStore(() =>
    mode === 'fail' ? Promise.reject(new Error('down')) : new Promise((r) => (release = r)),
  );
  const guard = new GuardedStore(store, { failureThreshold: 1, cooldownMs: 100, now: () => clock });
  await guard.get('k');
  t.equal(guard.stats().circuitOpen, true);
  clock = 100;
  mode = 'hold';
  const probe = guard.get('k');
  t.same(await guard.get('k'), { outcome: 'skipped' }, 'a second call during the probe is skipped');
  release(undefined);
  t.same(await probe, { outcome: 'miss' });
  t.equal(guard.stats().circuitOpen, false);
});

t.test('a success resets the count of consecutive failures', async (t) => {
  let n = 0;
  const guard = new GuardedStore(
    new ScriptedStore(() => (++n % 3 === 0 ? Promise.resolve(undefined) : Promise.reject(new Error('flaky')))),
    { failureThreshold: 3 },
  );
  for (let i = 0; i < 12; i++) await guard.get('k');
  t.match(guard.stats(), { errors: 8, misses: 4, circuitOpen: false });
});

t.test('late answers after the deadline are ignored and late rejections are not unhandled', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  let lateReject: (e: Error) => void = () => {};
  const guard = new GuardedStore(
    new ScriptedStore(() => new Promise((_, reject) => (lateReject = reject))),
    { timeoutMs: 10, failureThreshold: 100 },
  );
  t.same(await guard.get('k'), { outcome: 'timeout' });
  lateReject(new Error('too late'));
  // Node reports unhandled rejections after the microtask queue drains: two turns of
  // the event loop are past that point, no sleep needed.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  process.off('unhandledRejection', onUnhandled);
  t.same(unhandled, []);
  t.match(guard.stats(), { timeouts: 1, errors: 0 });
});

t.test('a throwing onCircuitChange does not escape', async (t) => {
  const guard = new GuardedStore(new ScriptedStore(rejectWith(new Error('x'))), {
    failureThreshold: 1,
    onCircuitChange: () => {
      throw new Error('listener bug');
    },
  });
  t.same(await guard.get('k'), { outcome: 'error' });
  t.equal(guard.stats().circuitOpen, true);
});

t.test('options are validated', async (t) => {
  const store = new ScriptedStore(() => Promise.resolve(undefined));
  t.throws(() => new GuardedStore(store, { timeoutMs: 0 }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => new GuardedStore(store, { timeoutMs: Infinity }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => new GuardedStore(store, { failureThreshold: 1.5 }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => new GuardedStore(store, { cooldownMs: '5' as unknown as number }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => new GuardedStore(store, { timeout: 5 } as never), { code: 'ERR_TLS_RESUMPTION_UNKNOWN_OPTION', message: /timeout/ });
  t.throws(() => new GuardedStore({} as never), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
});

// ---- the deadline measures the store, not this event loop (issue 11) ----------------

/**
 * Fake: a store that answers over a real loopback socket (an echo server), as a Redis
 * client does: the answer arrives in the kernel's socket buffer and is read only when
 * the event loop polls.
 */
async function echoStore(t: { teardown(fn: () => void): void }) {
  const net = await import('node:net');
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const socket = net.connect((echo.address() as import('node:net').AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  t.teardown(() => {
    socket.destroy();
    echo.close();
  });
  const waiting: ((b: Buffer) => void)[] = [];
  socket.on('data', (d: Buffer) => {
    for (const byte of d) waiting.shift()?.(Buffer.from([byte]));
  });
  const store: SessionStore = {
    get: () =>
      new Promise<Buffer>((resolve) => {
        waiting.push(resolve);
        socket.write(Buffer.from([7]));
      }),
    set: async () => {},
    delete: async () => true,
  };
  return store;
}

function blockLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

t.test('an answer that arrived in time while the event loop was blocked is an answer, not a timeout', async (t) => {
  const guard = new GuardedStore(await echoStore(t), { timeoutMs: 30, failureThreshold: 1 });
  const pending = Promise.all(Array.from({ length: 5 }, () => guard.get('k')));
  // The requests go out in this iteration's check phase; then the loop blocks for 4
  // deadlines while the echo server answers at once.
  setImmediate(() => setImmediate(() => blockLoop(120)));
  const results = await pending;
  t.same(results.map((r) => r.outcome), ['hit', 'hit', 'hit', 'hit', 'hit'], 'every answer counts');
  t.match(guard.stats(), { timeouts: 0, circuitOpen: false, circuitOpened: 0 });
  t.ok(guard.stats().lagged >= 1, `answers read after their timer fired are counted as lagged (${guard.stats().lagged})`);
});

t.test('a call made while the loop is busy gets its whole deadline after the request goes out', async (t) => {
  const guard = new GuardedStore(await echoStore(t), { timeoutMs: 30, failureThreshold: 1 });
  // The call is made, then this same callback keeps the loop busy past the deadline
  // before the request is even written (as 200 handshakes in one poll phase do).
  const outcome = guard.get('k');
  blockLoop(80);
  t.equal((await outcome).outcome, 'hit');
  t.equal(guard.stats().timeouts, 0);
});

t.test('a store that really does not answer still times out and opens the circuit', async (t) => {
  const guard = new GuardedStore(new NeverAnsweringStore(), { timeoutMs: 20, failureThreshold: 2 });
  t.equal((await guard.get('a')).outcome, 'timeout');
  t.equal((await guard.get('b')).outcome, 'timeout');
  t.match(guard.stats(), { timeouts: 2, lagTimeouts: 0, circuitOpen: true, circuitOpened: 1 });
});

t.test('a timeout behind a loop blocked for more than a deadline is not held against the store', async (t) => {
  const guard = new GuardedStore(new NeverAnsweringStore(), { timeoutMs: 20, failureThreshold: 1 });
  const outcome = guard.get('a');
  setImmediate(() => setImmediate(() => blockLoop(70)));
  t.equal((await outcome).outcome, 'timeout', 'the handshake still moves on at the deadline');
  t.match(guard.stats(), { timeouts: 1, lagTimeouts: 1, circuitOpen: false, circuitOpened: 0 });
});

t.test("a store's ready event closes the circuit at once, without waiting out the cooldown", async (t) => {
  const listeners = new Set<() => void>();
  let up = false;
  const store: SessionStore = {
    get: () => (up ? Promise.resolve(Buffer.from('v')) : Promise.reject(new Error('down'))),
    set: async () => {},
    delete: async () => true,
    onReady(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const now = 1_000_000; // the injected clock never moves: only the event can end the cooldown
  const guard = new GuardedStore(store, { timeoutMs: 50, failureThreshold: 2, cooldownMs: 5000, now: () => now });
  await guard.get('a');
  await guard.get('b');
  t.equal(guard.stats().circuitOpen, true, 'open after two errors');
  up = true;
  t.equal((await guard.get('c')).outcome, 'skipped', 'still skipped: the cooldown has not passed');
  for (const l of listeners) l();
  t.equal(guard.stats().circuitOpen, false, 'closed by the ready event');
  const [d, e] = await Promise.all([guard.get('d'), guard.get('e')]);
  t.same([d.outcome, e.outcome], ['hit', 'hit'], 'concurrent calls all go to the store again (no single probe)');
  t.match(guard.stats(), { circuitOpen: false, readyCloses: 1 });
  up = false;
  await guard.get('f');
  await guard.get('g');
  t.equal(guard.stats().circuitOpen, true, 'a store still failing after its ready event opens the circuit again');
  await guard.close();
  t.equal(listeners.size, 0, 'close() removes the listener');
});
