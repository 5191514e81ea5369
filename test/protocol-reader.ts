import t from 'tap';
import fc from 'fast-check';
import { Reader } from '../lib/protocol/reader.js';

t.test('reads big-endian integers and advances', async (t) => {
  const r = new Reader(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0xff, 0xff, 0xff]));
  t.equal(r.u8(), 1);
  t.equal(r.u16(), 0x0203);
  t.equal(r.u24(), 0x040506);
  t.equal(r.offset, 6);
  t.equal(r.u24(), 0x070809);
  t.equal(r.u32(), 0xffffffff, 'u32 stays unsigned');
  t.ok(r.empty);
  t.equal(r.remaining, 0);
});

t.test('a read that is too short returns -1 or undefined and does not move', async (t) => {
  const r = new Reader(Buffer.from([0, 3, 0xaa]));
  r.u8();
  t.equal(r.u32(), -1);
  t.equal(r.u24(), -1);
  t.equal(r.bytes(3), undefined);
  t.equal(r.copy(3), undefined);
  t.equal(r.latin1(3), undefined);
  t.equal(r.skip(3), false);
  t.equal(r.sub(3), undefined);
  t.equal(r.vector8(), undefined, 'length 3 but 1 byte follows');
  t.equal(r.offset, 1, 'nothing moved');
  t.equal(r.u16(), 0x03aa);
  t.equal(r.u8(), -1);
  t.equal(r.peek(), -1);
});

t.test('vectors are sub-readers bounded by their length', async (t) => {
  const r = new Reader(Buffer.from([0, 2, 0xaa, 0xbb, 1, 0xcc, 0, 0, 1, 0xdd]));
  const v = r.vector16()!;
  t.equal(v.remaining, 2);
  t.equal(v.u16(), 0xaabb);
  t.equal(v.u8(), -1, 'cannot read past its end');
  const w = r.vector8()!;
  t.same(w.bytes(1), Buffer.from([0xcc]));
  const x = r.vector24()!;
  t.same(x.copy(1), Buffer.from([0xdd]));
  t.ok(r.empty);
});

t.test('bytes() is a view, copy() and latin1() are not', async (t) => {
  const buf = Buffer.from('abcdef');
  const view = new Reader(buf).bytes(3)!;
  const copy = new Reader(buf).copy(3)!;
  const text = new Reader(buf).latin1(3)!;
  buf[0] = 0x7a;
  t.equal(view.toString(), 'zbc');
  t.equal(copy.toString(), 'abc');
  t.equal(text, 'abc');
});

t.test('construction clamps bad bounds instead of throwing', async (t) => {
  const buf = Buffer.from([1, 2, 3]);
  t.equal(new Reader(buf, 0, 10).remaining, 3);
  t.equal(new Reader(buf, 5).remaining, 0);
  t.equal(new Reader(buf, -1).remaining, 0);
  t.equal(new Reader(buf, 1, -4).remaining, 0);
  t.equal(new Reader(buf, Number.NaN).remaining, 0);
  t.equal(new Reader(buf).bytes(-1), undefined);
  t.equal(new Reader(buf).skip(Number.NaN), false);
});

t.test('any sequence of reads on any bytes never throws or escapes its window', async (t) => {
  const op = fc.constantFrom('u8', 'u16', 'u24', 'u32', 'peek', 'bytes', 'copy', 'latin1', 'skip', 'sub', 'vector8', 'vector16', 'vector24', 'rest');
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), fc.nat(70), fc.array(fc.tuple(op, fc.integer({ min: -2, max: 70 })), { maxLength: 30 }), (bytes, a, b, ops) => {
        const buf = Buffer.from(bytes);
        const r = new Reader(buf, a, b);
        for (const [name, n] of ops) {
          const before = r.offset;
          const out = (r as unknown as Record<string, (n: number) => unknown>)[name]!.call(r, n);
          if (r.offset < before || r.offset > buf.length || r.remaining < 0) return false;
          if (out instanceof Reader && out.offset + out.remaining > buf.length) return false;
        }
        return true;
      }),
      { numRuns: 3000 },
    ),
  );
});
