/**
 * The byte writer and reader the binary partial (./protocol.ts) is made of: little-endian u8, u16,
 * u32, f64, f64 arrays and length-prefixed UTF-8 strings.
 */

/** A growable little-endian byte writer. */
export class Writer {
  buf: Buffer = Buffer.allocUnsafe(4096);
  off = 0;

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.off + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.off = this.buf.writeUInt16LE(v, this.off);
  }
  u32(v: number): void {
    this.ensure(4);
    this.off = this.buf.writeUInt32LE(v, this.off);
  }
  f64(v: number): void {
    this.ensure(8);
    this.off = this.buf.writeDoubleLE(v, this.off);
  }
  f64s(a: Float64Array): void {
    this.ensure(a.byteLength);
    this.buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), this.off);
    this.off += a.byteLength;
  }
  str(s: string): void {
    const len = Buffer.byteLength(s);
    this.u32(len);
    this.ensure(len);
    this.off += this.buf.write(s, this.off, 'utf8');
  }
  /** Reserve a u32 to fill in later; returns its offset. */
  placeholder(): number {
    this.ensure(4);
    const at = this.off;
    this.off += 4;
    return at;
  }
  patch(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
}

/** A little-endian reader over one buffer. */
export class Reader {
  off = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.buf[this.off++]!;
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }
  /** A fresh, aligned copy of m doubles. */
  f64s(m: number): Float64Array {
    const a = new Float64Array(m);
    const bytes = m * 8;
    if (this.off + bytes > this.buf.length) throw new RangeError('partial truncated');
    new Uint8Array(a.buffer).set(this.buf.subarray(this.off, this.off + bytes));
    this.off += bytes;
    return a;
  }
  str(): string {
    const len = this.u32();
    if (this.off + len > this.buf.length) throw new RangeError('partial truncated');
    const s = this.buf.toString('utf8', this.off, this.off + len);
    this.off += len;
    return s;
  }
}
