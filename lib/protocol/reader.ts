/**
 * The one bounds-checked reader that all protocol parsing goes through.
 *
 * A `Reader` is a window `[pos, end)` over a Buffer. Every read either succeeds
 * and advances, or fails without advancing and without throwing: numeric reads
 * return -1, byte and vector reads return `undefined`. Callers turn a failure
 * into a typed error ("too short") and check `empty` at the end of a structure
 * ("trailing data"), in the style of Go's `cryptobyte.String` and rustls's
 * `codec::Reader`.
 *
 * `bytes(n)` returns a `subarray` view and `vectorN()` a new `Reader` over the
 * same Buffer; `copy(n)` and `latin1(n)` make the one allocation a field needs.
 * A parse allocates per field, never per byte. Views keep the input Buffer
 * alive; results that outlive a parse should be copies.
 */
export class Reader {
  /** Next byte to read. */
  private pos: number;

  /**
   * A reader over `buf[start, end)`; out-of-range bounds are clamped, so
   * construction never throws.
   */
  constructor(
    readonly buf: Buffer,
    start = 0,
    private readonly end: number = buf.length,
  ) {
    if (!(end <= buf.length)) this.end = buf.length;
    if (!(this.end >= 0)) this.end = 0;
    this.pos = start >= 0 && start <= this.end ? start : this.end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** True when every byte has been read. */
  get empty(): boolean {
    return this.pos === this.end;
  }

  /** Offset of the next byte within `buf`. */
  get offset(): number {
    return this.pos;
  }

  /** The next byte without reading it, or -1 if none is left. */
  peek(): number {
    return this.pos < this.end ? this.buf[this.pos]! : -1;
  }

  /** uint8, or -1 if too short. */
  u8(): number {
    if (this.end - this.pos < 1) return -1;
    return this.buf[this.pos++]!;
  }

  /** uint16, big-endian, or -1 if too short. */
  u16(): number {
    if (this.end - this.pos < 2) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  /** uint24, big-endian, or -1 if too short. */
  u24(): number {
    if (this.end - this.pos < 3) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  /** uint32, big-endian, or -1 if too short. */
  u32(): number {
    if (this.end - this.pos < 4) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    // Multiply instead of shifting so the result stays unsigned.
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** The next `n` bytes as a view (no copy), or `undefined` if too short. */
  bytes(n: number): Buffer | undefined {
    if (!(n >= 0) || this.end - this.pos < n) return undefined;
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** The next `n` bytes as a new Buffer (a copy), or `undefined` if too short. */
  copy(n: number): Buffer | undefined {
    if (!(n >= 0) || this.end - this.pos < n) return undefined;
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next `n` bytes decoded one byte per character, or `undefined` if too short. */
  latin1(n: number): string | undefined {
    if (!(n >= 0) || this.end - this.pos < n) return undefined;
    const p = this.pos;
    this.pos = p + n;
    return this.buf.toString('latin1', p, p + n);
  }

  /** Skips `n` bytes; false (and no move) if too short. */
  skip(n: number): boolean {
    if (!(n >= 0) || this.end - this.pos < n) return false;
    this.pos += n;
    return true;
  }

  /** A reader over the next `n` bytes, or `undefined` if too short. */
  sub(n: number): Reader | undefined {
    if (!(n >= 0) || this.end - this.pos < n) return undefined;
    const p = this.pos;
    this.pos = p + n;
    return new Reader(this.buf, p, p + n);
  }

  /** `opaque x<0..2^8-1>`: a reader over a vector with a 1-byte length. */
  vector8(): Reader | undefined {
    return this.vector(1);
  }

  /** `opaque x<0..2^16-1>`: a reader over a vector with a 2-byte length. */
  vector16(): Reader | undefined {
    return this.vector(2);
  }

  /** `opaque x<0..2^24-1>`: a reader over a vector with a 3-byte length. */
  vector24(): Reader | undefined {
    return this.vector(3);
  }

  /** The rest of the window as a view, without moving. */
  view(): Buffer {
    return this.buf.subarray(this.pos, this.end);
  }

  /** The rest of the window as a view, leaving the reader empty. */
  rest(): Buffer {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }

  private vector(lengthBytes: 1 | 2 | 3): Reader | undefined {
    const start = this.pos;
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    if (n < 0) return undefined;
    const r = this.sub(n);
    if (r === undefined) this.pos = start; // a failed read does not move
    return r;
  }
}

/** Reason for a structure that ends before its length says. */
export const TOO_SHORT = 'too short';
/** Reason for bytes left over after a structure that should have used them all. */
export const TRAILING_DATA = 'trailing data';
