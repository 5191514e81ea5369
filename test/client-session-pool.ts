// Pure policy tests of the client session pool: entries are made by hand (their
// bytes are labels, not sessions) and time is a number passed in.
import t from 'tap';
import { ClientSessionPool, type ClientSessionEntry } from '../lib/client/session-pool.js';

const T0 = 1_700_000_000_000;

function entry(destination: string, label: string, tls13: boolean, expiresAt = T0 + 60_000): ClientSessionEntry {
  // Unwrapped, as on Node 20: the session is its own DER.
  const bytes = Buffer.from(label);
  return { destination, session: bytes, der: bytes, tls13, expiresAt, shortId: label };
}

const label = (e: ClientSessionEntry | undefined) => e?.session.toString();

t.test('a TLS 1.3 ticket is handed out once, newest first', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  t.ok(pool.add(entry('a', 't1', true), T0));
  t.ok(pool.add(entry('a', 't2', true), T0));
  t.equal(label(pool.take('a', T0)), 't2');
  t.equal(label(pool.take('a', T0)), 't1');
  t.equal(pool.take('a', T0), undefined);
  t.equal(pool.size, 0);
  t.equal(pool.destinations, 0);
});

t.test('a TLS 1.2 session is handed out again until it expires', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  pool.add(entry('a', 's1', false, T0 + 1000), T0);
  t.equal(label(pool.take('a', T0)), 's1');
  t.equal(label(pool.take('a', T0 + 999)), 's1');
  t.equal(pool.take('a', T0 + 1000), undefined);
  t.equal(pool.counters.expired, 1);
  t.equal(pool.size, 0);
});

t.test('a newer TLS 1.2 session replaces the older one of the same destination', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  pool.add(entry('a', 's1', false), T0);
  pool.add(entry('a', 's2', false), T0);
  t.equal(pool.size, 1);
  t.equal(label(pool.take('a', T0)), 's2');
  t.equal(pool.counters.evicted, 0, 'a replacement is not an eviction');
});

t.test('sessions of one destination are never handed to another', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  pool.add(entry('a', 'ta', true), T0);
  pool.add(entry('a', 'sa', false), T0);
  t.equal(pool.take('b', T0), undefined);
  t.same(pool.peek('b', T0), []);
  t.equal(pool.size, 2);
});

t.test('at most ticketsPerDestination tickets are kept; the oldest go first', async (t) => {
  const pool = new ClientSessionPool(100, 2);
  pool.add(entry('a', 't1', true), T0);
  pool.add(entry('a', 't2', true), T0);
  pool.add(entry('a', 't3', true), T0);
  t.same(pool.peek('a', T0).map(label), ['t2', 't3']);
  t.equal(pool.counters.evicted, 1);
});

t.test('the global bound evicts the least recently used session', async (t) => {
  const pool = new ClientSessionPool(3, 4);
  pool.add(entry('a', 'sa', false), T0);
  pool.add(entry('b', 'sb', false), T0);
  pool.add(entry('c', 'sc', false), T0);
  t.equal(label(pool.take('a', T0)), 'sa', 'offering a TLS 1.2 session marks it used');
  pool.add(entry('d', 'sd', false), T0);
  t.equal(pool.size, 3);
  t.equal(pool.take('b', T0), undefined, 'b was the least recently used');
  t.equal(label(pool.take('a', T0)), 'sa');
  t.equal(pool.counters.evicted, 1);
  for (let i = 0; i < 50; i++) pool.add(entry(`x${i}`, `s${i}`, i % 2 === 0), T0);
  t.equal(pool.size, 3, 'the bound holds');
  t.equal(pool.counters.evicted, 51);
});

t.test('an expired session is neither stored nor handed out; flushExpired drops them all', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  t.notOk(pool.add(entry('a', 'old', true, T0), T0), 'already expired');
  pool.add(entry('a', 't1', true, T0 + 10), T0);
  pool.add(entry('b', 's1', false, T0 + 10), T0);
  pool.add(entry('c', 's2', false, T0 + 100), T0);
  t.equal(pool.flushExpired(T0 + 10), 2);
  t.equal(pool.size, 1);
  t.equal(pool.counters.expired, 3);
  t.equal(pool.take('a', T0 + 10), undefined);
});

t.test('an expired newest ticket is skipped for an older live one', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  pool.add(entry('a', 'long', true, T0 + 1000), T0);
  pool.add(entry('a', 'short', true, T0 + 10), T0);
  t.equal(label(pool.take('a', T0 + 20)), 'long');
  t.equal(pool.counters.expired, 1);
});

t.test('adding the same bytes twice stores one entry', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  t.ok(pool.add(entry('a', 'same', true), T0));
  t.notOk(pool.add(entry('a', 'same', true), T0));
  t.equal(pool.size, 1);
});

t.test('remove works on the very entry; removeSession and removeDestination by bytes and destination', async (t) => {
  const pool = new ClientSessionPool(100, 4);
  const e = entry('a', 's1', false);
  pool.add(e, T0);
  pool.add(entry('a', 't1', true), T0);
  pool.add(entry('a', 't2', true), T0);
  t.ok(pool.remove(e));
  t.notOk(pool.remove(e), 'already gone');
  t.equal(pool.removeSession('a', Buffer.from('t1')), 1);
  t.equal(pool.removeSession('b', Buffer.from('t2')), 0, 'other destination');
  t.equal(pool.removeDestination('a'), 1);
  t.equal(pool.size, 0);
  pool.add(entry('a', 't3', true), T0);
  pool.clear();
  t.equal(pool.size, 0);
  t.equal(pool.destinations, 0);
});
