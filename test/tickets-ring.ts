import t from 'tap';
import { randomBytes } from 'node:crypto';
import { TicketKeyRing, keyNamePrefix } from '../lib/tickets/ring.js';
import { derivedKeySource, randomKeySource } from '../lib/tickets/sources.js';
import { generateTicketKey, parseTicketKey, encodeTicketKey } from '../lib/tickets/key.js';
import { manualClock } from './fixtures/tickets/tls.js';

const HOUR = 3_600_000;
const T0 = 1000 * HOUR; // the start of period 1000 for one-hour periods

t.test('a key is next one period ahead, current for its period, previous for keep-1 periods, then gone and zeroed', async (t) => {
  const clock = manualClock(T0);
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: randomKeySource() });
  const k1000 = ring.encryptionKey()!;
  t.same(k1000.name.subarray(0, 8), keyNamePrefix(1000), 'the name starts with the period');
  t.same(
    ring.keys().map((k) => [k.period, k.role]),
    [
      [1001, 'next'],
      [1000, 'current'],
    ],
  );
  const next = ring.keys()[0]!.name;
  t.match(ring.decryptionKey(next), { role: 'next', renew: false }, 'the next key already decrypts');

  clock.set(T0 + HOUR - 1);
  t.equal(ring.encryptionKey(), k1000, 'still current one ms before the boundary');
  clock.set(T0 + HOUR);
  const k1001 = ring.encryptionKey()!;
  t.not(k1001, k1000, 'a new key encrypts from the boundary on');
  t.same(k1001.name, next, 'it is the key published as next');
  t.match(ring.decryptionKey(k1000.name), { role: 'previous', renew: true }, 'the old key decrypts and asks for renewal');

  clock.set(T0 + 2 * HOUR);
  t.equal(ring.decryptionKey(k1000.name), undefined, 'after keep periods the old key is gone');
  t.ok(k1000.aesKey.every((b) => b === 0) && k1000.hmacKey.every((b) => b === 0), 'and its secrets are zeroed');
  t.match(ring.stats(), {
    encrypted: 3,
    decryptedNext: 1,
    decryptedPrevious: 1,
    renewed: 1,
    unknownKey: 1,
    rotations: 2,
  });
});

t.test('keep 3 keeps two previous keys; keep 1 keeps none', async (t) => {
  const clock = manualClock(T0);
  const ring3 = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 3, now: clock.now, source: randomKeySource() });
  const ring1 = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 1, now: clock.now, source: randomKeySource() });
  const a3 = ring3.encryptionKey()!;
  const a1 = ring1.encryptionKey()!;
  clock.advance(2 * HOUR);
  t.match(ring3.decryptionKey(a3.name), { role: 'previous' }, 'two periods later, keep 3 still decrypts');
  clock.advance(HOUR);
  t.equal(ring3.decryptionKey(a3.name), undefined, 'three periods later it is gone');
  clock.set(T0 + HOUR);
  const ring1b = ring1; // same ring, one period later
  t.equal(ring1b.decryptionKey(a1.name), undefined, 'keep 1: the previous key is gone at the boundary');
});

t.test('the encrypting key changes exactly at each boundary and listeners hear of it once', async (t) => {
  const clock = manualClock(T0 + 10);
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: randomKeySource() });
  const seen: (string | undefined)[] = [];
  ring.onChange((k) => seen.push(k?.name.toString('hex')));
  const first = ring.currentKey()!;
  for (let i = 0; i < 5; i++) {
    clock.advance(HOUR / 4);
    ring.tick();
  }
  t.equal(seen.length, 2, 'one change for the first key, one at the boundary');
  t.equal(seen[0], first.name.toString('hex'));
  t.not(seen[1], seen[0]);
  t.equal(ring.msUntilNextPeriod(), HOUR - ((clock.now() - T0) % HOUR));
});

t.test('unknown or malformed names are "not found", counted, never a throw', async (t) => {
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => T0, source: randomKeySource() });
  t.equal(ring.decryptionKey(randomBytes(16)), undefined);
  t.equal(ring.decryptionKey(Buffer.alloc(0)), undefined);
  t.equal(ring.decryptionKey(randomBytes(17)), undefined);
  t.equal(ring.decryptionKey('x'.repeat(16) as unknown as Buffer), undefined);
  t.equal(ring.stats().unknownKey, 4);
});

t.test('a random source never invents keys for past periods; a derived one recomputes them', async (t) => {
  const secret = randomBytes(32);
  const clock = manualClock(T0);
  const a = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: derivedKeySource(secret, HOUR) });
  const ticketKey = a.encryptionKey()!;
  clock.advance(HOUR);
  // A host (re)started one period later derives the previous key too.
  const b = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: derivedKeySource(secret, HOUR) });
  t.match(b.decryptionKey(ticketKey.name), { role: 'previous', renew: true });
  t.same(encodeTicketKey(b.decryptionKey(ticketKey.name)!.key), encodeTicketKey(ticketKey), 'same material');
  t.same(encodeTicketKey(b.currentKey()!), encodeTicketKey(a.currentKey()!), 'both derive the same current key');
  const other = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: derivedKeySource(randomBytes(32), HOUR) });
  t.notSame(encodeTicketKey(other.currentKey()!), encodeTicketKey(a.currentKey()!), 'another secret, other keys');
  const fresh = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now, source: randomKeySource() });
  t.same(
    fresh.keys().map((k) => k.role),
    ['next', 'current'],
    'a random ring restarted mid-way has no previous key',
  );
});

t.test('hosts whose clocks differ by less than a period read each other\'s tickets', async (t) => {
  const secret = randomBytes(32);
  const ahead = manualClock(T0 + HOUR - 1000 + 30_000); // 30 s ahead: already in the next period
  const behind = manualClock(T0 + HOUR - 1000);
  const A = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: ahead.now, source: derivedKeySource(secret, HOUR) });
  const B = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: behind.now, source: derivedKeySource(secret, HOUR) });
  const fromA = A.encryptionKey()!;
  const fromB = B.encryptionKey()!;
  t.not(fromA.name.toString('hex'), fromB.name.toString('hex'), 'they encrypt with different keys');
  t.match(B.decryptionKey(fromA.name), { role: 'next', renew: false }, 'B reads A\'s ticket with its next key');
  t.match(A.decryptionKey(fromB.name), { role: 'previous', renew: true }, 'A reads B\'s ticket and renews it');
});

t.test('a store-fed ring: empty means no ticket; keys are accepted only inside the window', async (t) => {
  const clock = manualClock(T0);
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now });
  t.equal(ring.encryptionKey(), undefined);
  t.equal(ring.stats().notIssued, 1);
  t.same(ring.wantedPeriods(), [999, 1000, 1001]);
  t.equal(ring.setKey(997, generateTicketKey(keyNamePrefix(997))), 'outside-window');
  t.equal(ring.setKey(1002, generateTicketKey(keyNamePrefix(1002))), 'outside-window');
  const k = generateTicketKey(keyNamePrefix(1000));
  t.equal(ring.setKey(1000, k), 'added');
  t.equal(ring.encryptionKey(), k);
  t.equal(ring.setKey(1000, parseTicketKey(encodeTicketKey(k))), 'same', 'the same key read again changes nothing');
  t.equal(ring.keys().length, 1);
});

t.test('a different key for the same period replaces the encrypting key; the old one still decrypts and renews', async (t) => {
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => T0 });
  const mine = generateTicketKey(keyNamePrefix(1000));
  const theirs = generateTicketKey(keyNamePrefix(1000));
  ring.setKey(1000, mine);
  t.equal(ring.setKey(1000, theirs), 'replaced');
  t.equal(ring.encryptionKey(), theirs, 'the store\'s key encrypts');
  t.match(ring.decryptionKey(mine.name), { key: mine, role: 'previous', renew: true });
  t.match(ring.decryptionKey(theirs.name), { role: 'current', renew: false });
  t.equal(ring.stats().replaced, 1);
});

t.test('a name clash is resolved: the newer key replaces the older one, counted', async (t) => {
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => T0 });
  const old = generateTicketKey(keyNamePrefix(999));
  ring.setKey(999, old);
  const clashing = parseTicketKey(Buffer.concat([old.name, randomBytes(32)]));
  t.equal(ring.setKey(1000, clashing), 'name-clash');
  t.equal(ring.stats().nameClashes, 1);
  const found = ring.decryptionKey(old.name)!;
  t.equal(found.key, clashing, 'the name finds exactly one key: the newer');
  t.equal(ring.keys().length, 1);
  t.ok(old.aesKey.every((b) => b === 0), 'the replaced key is zeroed');
});

t.test('without the current period\'s key the ring encrypts with the newest older key, then stops issuing', async (t) => {
  const clock = manualClock(T0);
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: clock.now });
  const k = generateTicketKey(keyNamePrefix(1000));
  ring.setKey(1000, k);
  clock.advance(HOUR); // period 1001 begins and nobody delivered its key
  t.equal(ring.encryptionKey(), k, 'stale but still within its lifetime');
  t.equal(ring.stats().encryptedStale, 1);
  clock.advance(HOUR); // period 1002: key 1000 has expired
  t.equal(ring.encryptionKey(), undefined, 'no key: no ticket');
  t.equal(ring.stats().notIssued, 1);
});

t.test('a static ring: the first key encrypts, the others decrypt and renew; replaceKeys zeroes dropped keys', async (t) => {
  const [a, b, c] = [parseTicketKey(randomBytes(48)), parseTicketKey(randomBytes(80)), parseTicketKey(randomBytes(48))];
  const ring = TicketKeyRing.fixed([a, b]);
  t.equal(ring.encryptionKey(), a);
  t.match(ring.decryptionKey(a.name), { role: 'current', renew: false });
  t.match(ring.decryptionKey(b.name), { role: 'previous', renew: true });
  t.equal(ring.msUntilNextPeriod(), Number.POSITIVE_INFINITY);
  ring.replaceKeys([c, a]);
  t.equal(ring.encryptionKey(), c);
  t.match(ring.decryptionKey(a.name), { role: 'previous' });
  t.equal(ring.decryptionKey(b.name), undefined);
  t.ok(b.aesKey.every((x) => x === 0), 'the dropped key is zeroed');
  t.equal(ring.stats().rotations, 1);
});

t.test('destroy zeroes everything and the ring answers "no key" afterwards', async (t) => {
  const ring = TicketKeyRing.rotating({ rotateEveryMs: HOUR, keep: 2, now: () => T0, source: randomKeySource() });
  const k = ring.encryptionKey()!;
  ring.destroy();
  t.ok(k.aesKey.every((b) => b === 0));
  t.equal(ring.encryptionKey(), undefined);
  t.equal(ring.decryptionKey(k.name), undefined);
  t.equal(ring.setKey(1000, generateTicketKey(keyNamePrefix(1000))), 'outside-window');
});
