import t from 'tap';
import { randomBytes } from 'node:crypto';
import { parseDuration, validateTicketKeysOption, checkTicketKeyStore } from '../lib/tickets/options.js';
import type { SessionStore } from '../lib/stores/store.js';

// A stand-in with the shape of a sealed store, for option checks only: nothing is stored.
const sealedShape = (extra: Partial<SessionStore> & { sealed?: unknown } = {}) =>
  ({
    sealed: true,
    get: async () => undefined,
    set: async () => {},
    delete: async () => false,
    add: async () => true,
    ...extra,
  }) as SessionStore;

t.test('durations: numbers are milliseconds, strings take ms/s/m/h/d and compounds', async (t) => {
  t.equal(parseDuration(1500, 'x'), 1500);
  t.equal(parseDuration('500ms', 'x'), 500);
  t.equal(parseDuration('30s', 'x'), 30_000);
  t.equal(parseDuration('30m', 'x'), 1_800_000);
  t.equal(parseDuration('12h', 'x'), 43_200_000);
  t.equal(parseDuration('1d', 'x'), 86_400_000);
  t.equal(parseDuration('1h30m', 'x'), 5_400_000);
  t.equal(parseDuration('1.5h', 'x'), 5_400_000);
  for (const bad of ['12', 'h', '12 h', '-1h', '1w', '', 'abc', null, {}, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => parseDuration(bad, 'ticketKeys.rotateEvery'), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' }, String(bad));
  }
  t.throws(() => parseDuration('1w', 'ticketKeys.rotateEvery'), {
    message: `ticketKeys.rotateEvery must be milliseconds or a duration such as '30m', '12h' or '1d', got "1w"`,
  });
});

t.test('the rotating form gets frozen defaults: 12h, keep 2, namespace tickets', async (t) => {
  const store = sealedShape();
  const c = validateTicketKeysOption({}, { store });
  t.same(c, {
    kind: 'rotating',
    source: 'store',
    rotateEveryMs: 43_200_000,
    keep: 2,
    namespace: 'tickets',
    refreshEveryMs: 300_000,
    storeTimeoutMs: 2000,
    store,
  });
  t.ok(Object.isFrozen(c));
  const d = validateTicketKeysOption({ rotateEvery: '1h', keep: 3, refreshEvery: '1m', storeTimeout: 500 }, { store });
  t.match(d, { rotateEveryMs: 3_600_000, keep: 3, refreshEveryMs: 60_000, storeTimeoutMs: 500 });
});

t.test('out-of-range values are RangeErrors with ERR_TLS_RESUMPTION_OUT_OF_RANGE', async (t) => {
  const store = sealedShape();
  const range = { name: 'RangeError', code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' };
  t.throws(() => validateTicketKeysOption({ rotateEvery: 999 }, { store }), range);
  t.throws(() => validateTicketKeysOption({ rotateEvery: '8d' }, { store }), range);
  t.throws(() => validateTicketKeysOption({ keep: 0 }, { store }), { ...range, message: 'ticketKeys.keep must be between 1 and 16, got 0' });
  t.throws(() => validateTicketKeysOption({ keep: 17 }, { store }), range);
  t.throws(() => validateTicketKeysOption({ rotateEvery: '1h', refreshEvery: '2h' }, { store }), range);
  t.throws(() => validateTicketKeysOption({ keep: 1.5 }, { store }), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('unknown options and wrong types are TypeErrors naming the option', async (t) => {
  const store = sealedShape();
  t.throws(() => validateTicketKeysOption({ rotate: '1h' }, { store }), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_UNKNOWN_OPTION',
    message: /^ticketKeys\.rotate is not an option/,
  });
  t.throws(() => validateTicketKeysOption('12h', { store }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => validateTicketKeysOption(null, { store }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => validateTicketKeysOption({ namespace: '' }, { store }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => validateTicketKeysOption({ local: 'yes' }), { code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('rotating keys without a store, secret or local:true is ERR_TLS_RESUMPTION_TICKET_STORE', async (t) => {
  t.throws(() => validateTicketKeysOption({ rotateEvery: '12h', keep: 2 }), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_TICKET_STORE',
    message: /needs a store to share keys across workers and hosts/,
  });
});

t.test('a store must have add() and must seal values', async (t) => {
  t.throws(() => validateTicketKeysOption({}, { store: sealedShape({ add: undefined }) }), {
    code: 'ERR_TLS_RESUMPTION_TICKET_STORE',
    message: /has no add\(\)/,
  });
  t.throws(() => validateTicketKeysOption({}, { store: sealedShape({ sealed: false }) }), {
    code: 'ERR_TLS_RESUMPTION_TICKET_STORE',
    message: /does not seal values/,
  });
  t.throws(() => validateTicketKeysOption({ store: { get: 1 } as unknown as SessionStore }), {
    code: 'ERR_TLS_RESUMPTION_TICKET_STORE',
    message: 'ticketKeys.store must be a SessionStore (get, set, delete)',
  });
  t.throws(() => checkTicketKeyStore(undefined), { code: 'ERR_TLS_RESUMPTION_TICKET_STORE' });
});

t.test('an explicit store overrides the cache store; secret and local are sources of their own', async (t) => {
  const cacheStore = sealedShape();
  const own = sealedShape();
  t.equal((validateTicketKeysOption({ store: own }, { store: cacheStore }) as { store: unknown }).store, own);
  const secret = randomBytes(32);
  const s = validateTicketKeysOption({ secret }, { store: cacheStore });
  t.match(s, { kind: 'rotating', source: 'secret' });
  t.same((s as { secret: Buffer }).secret, secret);
  t.not((s as { secret: Buffer }).secret, secret, 'the secret is copied');
  t.match(validateTicketKeysOption({ local: true }), { source: 'local' });
  t.throws(() => validateTicketKeysOption({ secret, store: own }), {
    code: 'ERR_TLS_RESUMPTION_INVALID_OPTION',
    message: 'ticketKeys takes one key source, got store and secret',
  });
  t.throws(() => validateTicketKeysOption({ secret: randomBytes(31) }), {
    code: 'ERR_TLS_RESUMPTION_TICKET_KEY',
    message: 'ticketKeys.secret is 31 bytes; it needs at least 32 random bytes',
  });
});

t.test('static keys: 48- or 80-byte Buffers, newest first, unique names', async (t) => {
  const a = randomBytes(48);
  const b = randomBytes(80);
  const c = validateTicketKeysOption([a, b]);
  t.equal(c.kind, 'static');
  t.equal((c as unknown as { keys: unknown[] }).keys.length, 2);
  t.same((c as unknown as { keys: { name: Buffer }[] }).keys[0]!.name, a.subarray(0, 16));
  t.throws(() => validateTicketKeysOption([]), { code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
  t.throws(() => validateTicketKeysOption([a, randomBytes(40)]), {
    code: 'ERR_TLS_RESUMPTION_TICKET_KEY',
    message: /^ticketKeys\[1\] is 40 bytes/,
  });
  const clash = Buffer.concat([a.subarray(0, 16), randomBytes(32)]);
  t.throws(() => validateTicketKeysOption([a, b, clash]), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_TICKET_KEY',
    message: 'ticketKeys[2] has the same name as ticketKeys[0]; key names must be unique',
  });
  t.throws(() => validateTicketKeysOption(Array.from({ length: 17 }, () => randomBytes(48))), { code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
});
