/**
 * The binary partial: one worker's aggregates for one interval, sent to the primary at each flush.
 *
 * Little-endian, in order:
 *   u32 MAGIC, u32 sequence number
 *   dictionary: u32 entries, each u8 type, str name, u16 tag count, (str tag, str value)…
 *     — keys new since the previous partial; the n-th entry ever sent for a type gets wire id n
 *   own: f64 badLines, f64 packets, f64 lines, f64 lastMsg, u8 reasons, f64 × reasons (running totals)
 *   counters: u32 count, (u32 id, f64 value)…
 *   timers:   u32 count, (u32 id, f64 count, f64 n, f64 sum, f64 sumSquares, f64 min, f64 max,
 *                         u32 m, f64 × m samples, u32 bins, f64 × bins, u8 exp,
 *                         [exp = 1: f64 scale, f64 zero, f64 posBase, u32 p, f64 × p, f64 negBase, u32 q, f64 × q])…
 *                         u32 le, f64 × le)…
 *             (exp: the exponential histogram of a timer past its reservoir, whose m is then 0;
 *              le: exact counts of the le buckets a backend asked for, 0 when none)
 *   gauges:   u32 count, (u32 id, u8 isSet, f64 value)…
 *   sets:     u32 count, (u32 id, u32 members, str member…)…
 *   others:   [only when a worker has keys of a type beyond the core four (a store registered in
 *             src/aggregator/stores.ts):] u32 count, (u8 type, u32 id, u32 m, f64 × m)…
 *             (what that type's store exported, merged by that type's store on the primary)
 *   hits:     [only while the status page's sample window is open (Aggregator.exportStatusHits); the
 *             others section is then written, with count 0 when there are none:]
 *             u32 count, (u8 type, u32 id, f64 lines)…  (lines per key counted in the window)
 * where str is u32 byte length + UTF-8. Built and read once per flush per worker (not the hot path).
 */
import type { ExpBucketsData } from '../aggregator/exphist.js';
import { CANON } from '../aggregator/keyindex.js';
import type { PartialVisitor } from '../aggregator/merge.js';
import { makeKey } from '../aggregator/merge.js';
import type { MetricKey, Tag } from '../parser/types.js';
import { Reader, Writer } from './wire.js';

export const PARTIAL_MAGIC = 0x32504c54; // 'TLP2'

/** Types with a section of their own: MetricType Counter 0, Timer 1, Gauge 2, Set 3. */
const TYPES = 4;
/** Type bytes a key of the dictionary may have (the key index's: src/aggregator/keyindex.ts). */
const MAX_TYPES = CANON;

/**
 * Worker side: a PartialVisitor that writes one partial. Keeps the key dictionary across partials
 * (canonical id → wire id per type), so each key's name crosses once per worker lifetime.
 */
export class PartialEncoder implements PartialVisitor {
  private readonly ids: Map<string, number>[] = [];
  private seq = 0;
  // per partial
  private dict = new Writer();
  private dictCount = 0;
  private ownW = new Writer();
  private sections: Writer[] = [];
  private counts: Int32Array = new Int32Array(TYPES);
  /** Keys of the types beyond the core four (their section is written only when there are some). */
  private othersW = new Writer();
  private othersCount = 0;
  /** Lines per key for the status page (written only when there are some). */
  private hitsW = new Writer();
  private hitsCount = 0;

  constructor() {
    this.begin();
  }

  /** Keys in the dictionary, per type (grows for the worker's lifetime). */
  get dictionarySize(): number {
    return this.ids.reduce((n, m) => n + m.size, 0);
  }

  private begin(): void {
    this.dict = new Writer();
    this.dictCount = 0;
    this.ownW = new Writer();
    this.sections = [new Writer(), new Writer(), new Writer(), new Writer()];
    this.counts = new Int32Array(TYPES);
    this.othersW = new Writer();
    this.othersCount = 0;
    this.hitsW = new Writer();
    this.hitsCount = 0;
  }

  private idOf(type: number, key: MetricKey): number {
    while (this.ids.length <= type) this.ids.push(new Map());
    const m = this.ids[type]!;
    let id = m.get(key.id);
    if (id === undefined) {
      id = m.size;
      m.set(key.id, id);
      const d = this.dict;
      d.u8(type);
      d.str(key.name);
      d.u16(key.tags.length);
      for (const [k, v] of key.tags) {
        d.str(k);
        d.str(v);
      }
      this.dictCount++;
    }
    return id;
  }

  own(badLines: number, packets: number, lines: number, lastMsg: number, byReason: Float64Array): void {
    const w = (this.ownW = new Writer());
    w.f64(badLines);
    w.f64(packets);
    w.f64(lines);
    w.f64(lastMsg);
    w.u8(byReason.length);
    for (let i = 0; i < byReason.length; i++) w.f64(byReason[i]!);
  }

  counter(key: MetricKey, value: number): void {
    const w = this.sections[0]!;
    w.u32(this.idOf(0, key));
    w.f64(value);
    this.counts[0]!++;
  }

  timer(
    key: MetricKey,
    count: number,
    n: number,
    sum: number,
    sumSquares: number,
    min: number,
    max: number,
    samples: Float64Array,
    hist: Float64Array | null,
    exp: ExpBucketsData | null,
    le: Float64Array | null,
  ): void {
    const w = this.sections[1]!;
    w.u32(this.idOf(1, key));
    w.f64(count);
    w.f64(n);
    w.f64(sum);
    w.f64(sumSquares);
    w.f64(min);
    w.f64(max);
    w.u32(samples.length);
    w.f64s(samples);
    if (hist === null) w.u32(0);
    else {
      w.u32(hist.length);
      w.f64s(hist);
    }
    if (exp === null) w.u8(0);
    else {
      w.u8(1);
      w.f64(exp.scale);
      w.f64(exp.zero);
      w.f64(exp.posBase);
      w.u32(exp.pos.length);
      w.f64s(Float64Array.from(exp.pos));
      w.f64(exp.negBase);
      w.u32(exp.neg.length);
      w.f64s(Float64Array.from(exp.neg));
    }
    if (le === null) w.u32(0);
    else {
      w.u32(le.length);
      w.f64s(le);
    }
    this.counts[1]!++;
  }

  gauge(key: MetricKey, value: number, isSet: boolean): void {
    const w = this.sections[2]!;
    w.u32(this.idOf(2, key));
    w.u8(isSet ? 1 : 0);
    w.f64(value);
    this.counts[2]!++;
  }

  set(key: MetricKey, members: Iterable<string>): void {
    const w = this.sections[3]!;
    w.u32(this.idOf(3, key));
    const at = w.placeholder();
    let n = 0;
    for (const m of members) {
      w.str(m);
      n++;
    }
    w.patch(at, n);
    this.counts[3]!++;
  }

  other(type: number, key: MetricKey, data: Float64Array): void {
    if (type < TYPES || type >= MAX_TYPES) throw new RangeError(`metric type ${type} has no place in a partial`);
    const w = this.othersW;
    w.u8(type);
    w.u32(this.idOf(type, key));
    w.u32(data.length);
    w.f64s(data);
    this.othersCount++;
  }

  hits(type: number, key: MetricKey, lines: number): void {
    if (type >= MAX_TYPES) throw new RangeError(`metric type ${type} has no place in a partial`);
    const w = this.hitsW;
    w.u8(type);
    w.u32(this.idOf(type, key));
    w.f64(lines);
    this.hitsCount++;
  }

  /** The partial written since the last finish() (own() must have been called), and start the next. */
  finish(): Buffer {
    if (this.ownW.off === 0) this.own(0, 0, 0, 0, new Float64Array(0));
    let size = 12 + this.dict.off + this.ownW.off;
    for (const s of this.sections) size += 4 + s.off;
    const withOthers = this.othersCount > 0 || this.hitsCount > 0;
    if (withOthers) size += 4 + this.othersW.off;
    if (this.hitsCount > 0) size += 4 + this.hitsW.off;
    const out = Buffer.allocUnsafe(size);
    let off = out.writeUInt32LE(PARTIAL_MAGIC, 0);
    off = out.writeUInt32LE(this.seq++ >>> 0, off);
    off = out.writeUInt32LE(this.dictCount, off);
    off += this.dict.buf.copy(out, off, 0, this.dict.off);
    off += this.ownW.buf.copy(out, off, 0, this.ownW.off);
    for (let t = 0; t < TYPES; t++) {
      off = out.writeUInt32LE(this.counts[t]!, off);
      off += this.sections[t]!.buf.copy(out, off, 0, this.sections[t]!.off);
    }
    if (withOthers) {
      off = out.writeUInt32LE(this.othersCount, off);
      off += this.othersW.buf.copy(out, off, 0, this.othersW.off);
    }
    if (this.hitsCount > 0) {
      off = out.writeUInt32LE(this.hitsCount, off);
      off += this.hitsW.buf.copy(out, off, 0, this.hitsW.off);
    }
    this.begin();
    return out;
  }
}

/** Primary side: one worker's key dictionary (wire id → key, per type), kept across its partials. */
export class PartialDictionary {
  readonly keys: MetricKey[][] = Array.from({ length: MAX_TYPES }, (): MetricKey[] => []);
  /** Sequence number expected next (a gap means a lost partial: the dictionary is then unusable). */
  nextSeq = 0;
}

export class PartialFormatError extends Error {}

/**
 * Replay one partial into `out`, updating `dict` with its new keys. Throws PartialFormatError on a
 * malformed partial or a sequence gap (the caller then replaces the worker).
 */
export function decodePartial(buf: Buffer, dict: PartialDictionary, out: PartialVisitor): void {
  const r = new Reader(buf);
  try {
    if (r.u32() !== PARTIAL_MAGIC) throw new PartialFormatError('not a tallyd partial');
    const seq = r.u32();
    if (seq !== dict.nextSeq) throw new PartialFormatError(`partial ${seq} arrived, expected ${dict.nextSeq}`);
    dict.nextSeq = (seq + 1) >>> 0;
    const entries = r.u32();
    for (let i = 0; i < entries; i++) {
      const type = r.u8();
      if (type >= MAX_TYPES) throw new PartialFormatError(`bad metric type ${type}`);
      const name = r.str();
      const nt = r.u16();
      const tags: Tag[] = [];
      for (let j = 0; j < nt; j++) tags.push([r.str(), r.str()]);
      dict.keys[type]!.push(makeKey(name, tags));
    }
    const key = (type: number): MetricKey => {
      const id = r.u32();
      const k = dict.keys[type]![id];
      if (k === undefined) throw new PartialFormatError(`unknown key id ${id} (type ${type})`);
      return k;
    };
    const bad = r.f64();
    const packets = r.f64();
    const lines = r.f64();
    const lastMsg = r.f64();
    const reasons = r.u8();
    out.own(bad, packets, lines, lastMsg, r.f64s(reasons));
    for (let i = 0, n = r.u32(); i < n; i++) {
      const k = key(0);
      out.counter(k, r.f64());
    }
    for (let i = 0, n = r.u32(); i < n; i++) {
      const k = key(1);
      const count = r.f64();
      const nv = r.f64();
      const sum = r.f64();
      const sumSquares = r.f64();
      const min = r.f64();
      const max = r.f64();
      const samples = r.f64s(r.u32());
      const bins = r.u32();
      const hist = bins > 0 ? r.f64s(bins) : null;
      let exp: ExpBucketsData | null = null;
      if (r.u8() === 1) {
        const scale = r.f64();
        const zero = r.f64();
        const posBase = r.f64();
        const pos = r.f64s(r.u32());
        const negBase = r.f64();
        const neg = r.f64s(r.u32());
        if (!Number.isInteger(scale) || scale > 6 || scale < -10 || !Number.isInteger(posBase) || !Number.isInteger(negBase)) {
          throw new PartialFormatError('bad timer histogram');
        }
        exp = { scale, zero, posBase, pos, negBase, neg };
      }
      const leLen = r.u32();
      out.timer(k, count, nv, sum, sumSquares, min, max, samples, hist, exp, leLen > 0 ? r.f64s(leLen) : null);
    }
    for (let i = 0, n = r.u32(); i < n; i++) {
      const k = key(2);
      const isSet = r.u8() === 1;
      out.gauge(k, r.f64(), isSet);
    }
    for (let i = 0, n = r.u32(); i < n; i++) {
      const k = key(3);
      const m = r.u32();
      const members: string[] = [];
      for (let j = 0; j < m; j++) members.push(r.str());
      out.set(k, members);
    }
    if (r.off < buf.length) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const type = r.u8();
        if (type < TYPES || type >= MAX_TYPES) throw new PartialFormatError(`bad metric type ${type}`);
        const k = key(type);
        const data = r.f64s(r.u32());
        if (out.other !== undefined) out.other(type, k, data);
      }
    }
    if (r.off < buf.length) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const type = r.u8();
        if (type >= MAX_TYPES) throw new PartialFormatError(`bad metric type ${type}`);
        const k = key(type);
        const lines = r.f64();
        if (out.hits !== undefined) out.hits(type, k, lines);
      }
    }
  } catch (err) {
    if (err instanceof PartialFormatError) throw err;
    throw new PartialFormatError(`malformed partial: ${(err as Error).message}`);
  }
}
