import t from 'tap';
import * as tls from 'node:tls';
import { constants } from 'node:crypto';
import { attachSessionCache, type SessionStore } from '../lib/index.js';
import { key, cert, listen, close, connect } from './fixtures/tls.js';

const NO_TICKET = constants.SSL_OP_NO_TICKET;

/** A fake store for this policy test: every call fails. Counts how often it was called. */
class FailingStoreFake implements SessionStore {
  readonly sealed = true;
  calls = 0;
  async get(): Promise<Buffer | undefined> {
    this.calls++;
    throw new Error('down');
  }
  async set(): Promise<void> {
    this.calls++;
    throw new Error('down');
  }
  async delete(): Promise<boolean> {
    this.calls++;
    throw new Error('down');
  }
}

t.test('storeFailureThreshold and storeCooldownMs drive the circuit breaker', async (t) => {
  // Sessions from another server: ids this cache never stored, so every offer is a lookup.
  const other = tls.createServer({ key, cert, secureOptions: NO_TICKET }, (s) => s.end('ok'));
  other.on('newSession', (_id, _der, done) => done());
  other.on('resumeSession', (_id, cb) => cb(null, null));
  const otherPort = await listen(other);
  const foreign: Buffer[] = [];
  for (let i = 0; i < 4; i++) foreign.push((await connect(otherPort, { maxVersion: 'TLSv1.2' })).sessions.at(-1)!);
  await close(other);

  let now = 1_000_000;
  const store = new FailingStoreFake();
  const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
  const cache = attachSessionCache(server, {
    sessionIdContext: 'breaker',
    store,
    storeFailureThreshold: 2,
    storeCooldownMs: 60_000,
    mode: ['server', 'no-internal-store'], // full handshakes write nothing in process: every offer reaches the store
    now: () => now,
  });
  const port = await listen(server);
  t.teardown(() => close(server));
  const offer = async (session: Buffer) => {
    const r = await connect(port, { maxVersion: 'TLSv1.2', secureOptions: NO_TICKET, session });
    t.equal(r.error, undefined, 'the handshake completes');
    t.equal(r.resumed, false, 'as a full handshake');
  };
  await offer(foreign[0]!);
  await offer(foreign[1]!);
  const opened = cache.stats();
  t.equal(opened.circuitOpen, true, 'two consecutive failures open the circuit');
  const callsWhenOpened = store.calls;
  await offer(foreign[2]!);
  t.equal(store.calls, callsWhenOpened, 'while open the store is not called');
  t.ok(cache.stats().storeSkipped > opened.storeSkipped, 'and the skip is counted');
  now += 60_001;
  await offer(foreign[3]!);
  t.ok(store.calls > callsWhenOpened, 'after the cooldown one probe reaches the store');
});

t.test('the breaker options are validated', async (t) => {
  const s = tls.createServer({ key, cert });
  t.throws(() => attachSessionCache(s, { storeFailureThreshold: 0 }), { code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => attachSessionCache(s, { storeCooldownMs: '5s' as never }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});
