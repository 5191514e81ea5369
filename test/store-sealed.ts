import t from 'tap';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SealedStore } from '../lib/stores/sealed.js';
import { SessionSealer, SEAL_OVERHEAD } from '../lib/stores/seal.js';
import type { SessionStore } from '../lib/stores/store.js';
import { MapStore } from './fixtures/map-store.js';


const session = Buffer.concat([Buffer.from('3082', 'hex'), randomBytes(200)]);
const KEY = 'c0ffee12:0123456789abcdef';

t.test('round-trips a value and the inner store never sees the plaintext', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  t.equal(store.sealed, true);
  await store.set(KEY, session, 60_000);
  t.same(await store.get(KEY), session);
  const raw = inner.raw(KEY);
  t.equal(raw.length, session.length + SEAL_OVERHEAD);
  t.equal(raw.indexOf(session.subarray(2, 34)), -1, 'no run of the plaintext in the stored bytes');
  t.equal(await store.get('c0ffee12:absent'), undefined, 'absent key resolves undefined');
  t.equal(await store.delete(KEY), true);
  t.equal(await store.get(KEY), undefined);
});

t.test('two seals of the same value differ (random nonce)', async (t) => {
  const sealer = new SessionSealer([randomBytes(32)]);
  t.not(sealer.seal(KEY, session).toString('hex'), sealer.seal(KEY, session).toString('hex'));
});

t.test('every single flipped bit is rejected as UNSEAL', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  await store.set(KEY, session.subarray(0, 40), 60_000);
  const good = inner.raw(KEY);
  let rejected = 0;
  for (let i = 0; i < good.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Buffer.from(good);
      bad[i]! ^= bit;
      inner.put(KEY, bad);
      await store.get(KEY).then(
        () => t.fail(`flip at byte ${i} opened`),
        (err) => {
          if (err.code === 'ERR_TLS_RESUMPTION_UNSEAL') rejected++;
          else t.fail(`flip at byte ${i}: ${err.code}`);
        },
      );
    }
  }
  t.equal(rejected, good.length * 2);
});

t.test('every truncated prefix and every extension is rejected as UNSEAL', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  await store.set(KEY, session.subarray(0, 24), 60_000);
  const good = inner.raw(KEY);
  for (let n = 0; n < good.length; n++) {
    inner.put(KEY, good.subarray(0, n));
    await t.rejects(store.get(KEY), { code: 'ERR_TLS_RESUMPTION_UNSEAL' }, `prefix of ${n} bytes`);
  }
  inner.put(KEY, Buffer.concat([good, Buffer.from([0])]));
  await t.rejects(store.get(KEY), { code: 'ERR_TLS_RESUMPTION_UNSEAL' }, 'one byte appended');
});

t.test('an entry sealed with a key the store does not hold is rejected', async (t) => {
  const inner = new MapStore();
  const foreign = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  const ours = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  await foreign.set(KEY, session, 60_000);
  await t.rejects(ours.get(KEY), { code: 'ERR_TLS_RESUMPTION_UNSEAL', message: /key this server does not hold/ });
});

t.test('an entry moved to another key (another context tag) is rejected', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  await store.set('aaaaaaaa:0123', session, 60_000);
  inner.put('bbbbbbbb:0123', inner.raw('aaaaaaaa:0123'));
  await t.rejects(store.get('bbbbbbbb:0123'), { code: 'ERR_TLS_RESUMPTION_UNSEAL', message: /authentication/ });
  t.same(await store.get('aaaaaaaa:0123'), session, 'the original still opens');
});

t.test('key rotation: old keys still open, the newest seals', async (t) => {
  const inner = new MapStore();
  const [k1, k2, k3] = [randomBytes(32), randomBytes(48), randomBytes(32)];
  const v1 = new SealedStore(inner, { sealKeys: [k1] });
  await v1.set('k:old', session, 60_000);
  const v2 = new SealedStore(inner, { sealKeys: [k2, k1] });
  t.same(await v2.get('k:old'), session, 'entry of the old key opens after rotation');
  await v2.set('k:new', session, 60_000);
  await t.rejects(v1.get('k:new'), { code: 'ERR_TLS_RESUMPTION_UNSEAL' }, 'new entries are sealed with the new key');
  t.same(await new SealedStore(inner, { sealKeys: [k2] }).get('k:new'), session, 'the newest key alone opens them');
  const v3 = new SealedStore(inner, { sealKeys: [k3, k2] });
  await t.rejects(v3.get('k:old'), { code: 'ERR_TLS_RESUMPTION_UNSEAL' }, 'a dropped key no longer opens');
  t.same(await v3.get('k:new'), session);
});

t.test('unknown format version is rejected', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  await store.set(KEY, session, 60_000);
  const bad = Buffer.from(inner.raw(KEY));
  bad[0] = 2;
  inner.put(KEY, bad);
  await t.rejects(store.get(KEY), { code: 'ERR_TLS_RESUMPTION_UNSEAL', message: /format version 2/ });
});

t.test('random bytes never open and never throw anything but UNSEAL', async (t) => {
  const sealer = new SessionSealer([randomBytes(32)]);
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          try {
            sealer.open(KEY, Buffer.from(bytes));
            return false;
          } catch (err) {
            return (err as { code?: string }).code === 'ERR_TLS_RESUMPTION_UNSEAL';
          }
        }),
        { numRuns: 2000 },
      ),
    '2000 random inputs rejected with UNSEAL',
  );
});

t.test('add goes through the inner add, sealed', async (t) => {
  const inner = new MapStore();
  const store = new SealedStore(inner, { sealKeys: [randomBytes(32)] });
  t.equal(await store.add!(KEY, session, 60_000), true);
  t.equal(await store.add!(KEY, Buffer.from('other'), 60_000), false);
  t.same(await store.get(KEY), session);
  const noAdd: SessionStore = { get: async () => undefined, set: async () => {}, delete: async () => false };
  t.equal(new SealedStore(noAdd, { sealKeys: [randomBytes(32)] }).add, undefined, 'no add when the inner store has none');
});

t.test('seal keys are validated', async (t) => {
  const inner = new MapStore();
  t.throws(() => new SealedStore(inner, { sealKeys: [] }), { code: 'ERR_TLS_RESUMPTION_SEAL_KEY' });
  t.throws(() => new SealedStore(inner, { sealKeys: [randomBytes(31)] }), {
    code: 'ERR_TLS_RESUMPTION_SEAL_KEY',
    message: /options\.sealKeys\[0\] is 31 bytes/,
  });
  t.throws(() => new SealedStore(inner, { sealKeys: ['x'.repeat(40) as unknown as Buffer] }), { code: 'ERR_TLS_RESUMPTION_SEAL_KEY' });
  t.throws(() => new SealedStore(inner, undefined as never), { code: 'ERR_TLS_RESUMPTION_SEAL_KEY' });
});
