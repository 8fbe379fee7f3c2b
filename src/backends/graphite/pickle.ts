/**
 * Graphite's pickle protocol (`graphiteProtocol: 'pickle'`): what carbon's pickle receiver reads
 * (carbon/protocols.py, MetricPickleReceiver, a Twisted Int32StringReceiver). Each message is a
 * 4-byte big-endian length followed by a pickle (protocol 2) of a list of `(path, (timestamp, value))`
 * tuples:
 *
 *   PROTO 2, EMPTY_LIST, MARK, { BINUNICODE path, BININT ts | BINFLOAT ts, BINFLOAT value, TUPLE2, TUPLE2 }*, APPENDS, STOP
 *
 * The formatter (format.ts) writes the same lines as for plaintext (`path value ts\n`, names already
 * cleaned: no space, newline or control byte can reach a path) and {@link PickleChunkOut} re-encodes
 * them, so both protocols carry the same names and values. Messages hold at most
 * {@link PICKLE_MAX_DATAPOINTS} points and {@link PICKLE_MAX_MESSAGE_BYTES} bytes (carbon refuses a message over
 * its PICKLE_RECEIVER_MAX_LENGTH, 1 MiB by default). Chunks handed to the {@link OutgoingFlush} end at a
 * message boundary; {@link PICKLE_FRAMING} tells the delivery queue where messages end and how many
 * points they hold (dropped_lines counts points, as for plaintext).
 */
import { parseNumber } from '../../parser/numbers.js';
import type { ChunkPool, Framing, OutgoingFlush } from './outgoing.js';

/** Points per message (carbon-relay's own MAX_DATAPOINTS_PER_MESSAGE default is 500). */
export const PICKLE_MAX_DATAPOINTS = 500;
/** Bytes per message, header excluded (half of carbon's default PICKLE_RECEIVER_MAX_LENGTH, 2^20). */
export const PICKLE_MAX_MESSAGE_BYTES = 512 * 1024;

const PROTO = 0x80;
const EMPTY_LIST = 0x5d; // ]
const MARK = 0x28; // (
const BINUNICODE = 0x58; // X: 4-byte little-endian length, UTF-8 bytes
const BININT = 0x4a; // J: 4-byte little-endian signed int
const BINFLOAT = 0x47; // G: 8-byte big-endian double
const TUPLE2 = 0x86;
const APPENDS = 0x65; // e
const STOP = 0x2e; // .
const LF = 0x0a;
const SPACE = 0x20;
/** Header (length) + PROTO 2 + EMPTY_LIST + MARK. */
const OPEN_BYTES = 4 + 4;
/** APPENDS + STOP. */
const CLOSE_BYTES = 2;
/** A point's bytes besides its path: X + len, ts (at most G + 8), G + value, two TUPLE2. */
const POINT_FIXED_BYTES = 5 + 9 + 9 + 2;

/** Writes one message's opening at `off`; returns the offset after it. */
function open(buf: Buffer, off: number): number {
  buf[off + 4] = PROTO;
  buf[off + 5] = 2;
  buf[off + 6] = EMPTY_LIST;
  buf[off + 7] = MARK;
  return off + OPEN_BYTES;
}

/**
 * The plaintext formatter's output sink, encoding pickle instead: takes strings of whole
 * `path value ts\n` lines, writes messages into pooled chunks, and appends each filled chunk
 * (message-aligned) to the outgoing flush.
 */
export class PickleChunkOut {
  private buf: Buffer;
  /** End of the chunk's closed messages. */
  private done = 0;
  /** Start of the open message (its header), or -1 when none is open. */
  private msgStart = -1;
  /** Write position in the open message. */
  private off = 0;
  private points = 0;

  constructor(
    private readonly pool: ChunkPool,
    private readonly out: OutgoingFlush,
  ) {
    this.buf = pool.take();
  }

  /** The formatter's text as bytes (reused; grown as needed). */
  private text: Buffer = Buffer.allocUnsafe(64 * 1024);

  /**
   * Whole lines `path value ts\n` (the plaintext formatter's output), re-read as bytes: no string and
   * no Number() per field. Pickle formatting takes about 1.5-1.8x plaintext's time (row 2 of
   * `node dist/bench/flush-format.bench.js`, 711k lines).
   */
  write(str: string): void {
    if (str.length * 3 > this.text.length) this.text = Buffer.allocUnsafe(Math.max(str.length * 3, this.text.length * 2));
    const t = this.text;
    const n = t.write(str, 0, 'utf8');
    let ls = 0;
    while (ls < n) {
      let nl = t.indexOf(LF, ls);
      if (nl < 0 || nl > n) nl = n;
      let sp2 = nl - 1;
      while (sp2 > ls && t[sp2] !== SPACE) sp2--;
      let sp1 = sp2 - 1;
      while (sp1 > ls && t[sp1] !== SPACE) sp1--;
      if (sp1 > ls) this.point(t, ls, sp1, parseNumber(t, sp1 + 1, sp2), parseNumber(t, sp2 + 1, nl));
      ls = nl + 1;
    }
  }

  /** One point: the path is `src[ps, pe)` (UTF-8). */
  private point(src: Buffer, ps: number, pe: number, value: number, ts: number): void {
    const need = POINT_FIXED_BYTES + (pe - ps);
    if (this.msgStart >= 0 && (this.points >= PICKLE_MAX_DATAPOINTS || this.off + need - this.msgStart > PICKLE_MAX_MESSAGE_BYTES + 4)) {
      this.close();
    }
    if (this.msgStart < 0) {
      if (this.done + OPEN_BYTES + need + CLOSE_BYTES > this.buf.length) {
        this.emit();
        this.buf = this.pool.take(OPEN_BYTES + need + CLOSE_BYTES);
      }
      this.msgStart = this.done;
      this.off = open(this.buf, this.done);
    } else if (this.off + need + CLOSE_BYTES > this.buf.length) {
      // the chunk is full: close this message, continue in a new chunk
      this.close();
      this.emit();
      this.buf = this.pool.take(OPEN_BYTES + need + CLOSE_BYTES);
      this.msgStart = 0;
      this.off = open(this.buf, 0);
    }
    const b = this.buf;
    let o = this.off;
    b[o] = BINUNICODE;
    b.writeUInt32LE(pe - ps, o + 1);
    src.copy(b, o + 5, ps, pe);
    o += 5 + (pe - ps);
    if (Number.isInteger(ts) && ts >= -0x80000000 && ts <= 0x7fffffff) {
      b[o] = BININT;
      b.writeInt32LE(ts, o + 1);
      o += 5;
    } else {
      b[o] = BINFLOAT;
      b.writeDoubleBE(ts, o + 1);
      o += 9;
    }
    b[o] = BINFLOAT;
    b.writeDoubleBE(value, o + 1);
    b[o + 9] = TUPLE2;
    b[o + 10] = TUPLE2;
    this.off = o + 11;
    this.points++;
  }

  /** Ends the open message (APPENDS, STOP, its length in the header). */
  private close(): void {
    if (this.msgStart < 0) return;
    const b = this.buf;
    b[this.off] = APPENDS;
    b[this.off + 1] = STOP;
    this.off += CLOSE_BYTES;
    b.writeUInt32BE(this.off - this.msgStart - 4, this.msgStart);
    this.done = this.off;
    this.msgStart = -1;
    this.points = 0;
  }

  /** Appends the chunk's closed messages (or gives an unused chunk back). */
  private emit(): void {
    if (this.done > 0) this.out.append(this.buf.subarray(0, this.done));
    else this.pool.give(this.buf);
    this.done = 0;
  }

  /** The last message and chunk. `lines`: the points of the whole flush. */
  end(lines: number): void {
    this.close();
    this.emit();
    this.buf = EMPTY;
    this.out.end(lines);
  }
}

const EMPTY = Buffer.alloc(0);

/** Points in the message whose body is `buf[start, end)` (our own encoding; stops at anything else). */
function messagePoints(buf: Buffer, start: number, end: number): number {
  let p = start + 4; // PROTO 2, EMPTY_LIST, MARK
  let n = 0;
  while (p < end && buf[p] === BINUNICODE) {
    if (p + 5 > end) break;
    p += 5 + buf.readUInt32LE(p + 1);
    p += buf[p] === BININT ? 5 : 9; // ts
    p += 9 + 2; // value, two TUPLE2
    if (p > end) break;
    n++;
  }
  return n;
}

/** Records are pickle messages (4-byte big-endian length + body); count() counts their points. */
export const PICKLE_FRAMING: Framing = {
  cut(chunk: Buffer, max: number): number {
    let off = 0;
    while (off + 4 <= chunk.length) {
      const next = off + 4 + chunk.readUInt32BE(off);
      if (next > max) break;
      off = next;
    }
    if (off > 0) return off;
    return chunk.length < 4 ? chunk.length : Math.min(chunk.length, 4 + chunk.readUInt32BE(0));
  },
  count(chunk: Buffer): number {
    let n = 0;
    let off = 0;
    while (off + 4 <= chunk.length) {
      const end = Math.min(chunk.length, off + 4 + chunk.readUInt32BE(off));
      n += messagePoints(chunk, off + 4, end);
      off = end;
    }
    return n;
  },
  many(chunk: Buffer): boolean {
    return chunk.length >= 4 && 4 + chunk.readUInt32BE(0) < chunk.length;
  },
};
