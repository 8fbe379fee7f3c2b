/**
 * A base-2 exponential histogram: the scheme of OpenTelemetry's exponential histogram and of
 * Prometheus native histograms. At scale s the bucket of index i holds the values in
 * (2^(i/2^s), 2^((i+1)/2^s)] (upper bound inclusive); positive and negative values have bucket sets of
 * their own (a negative value goes by its magnitude), zero has a count of its own.
 *
 * A timer uses one when it overflows its reservoir in an interval (see the aggregator's addTimer): it
 * starts at {@link MAX_SCALE} (relative error at most (b − 1)/(b + 1) = 0.54 % with b = 2^(1/64))
 * and holds at most `maxBuckets` buckets per sign. A value outside the window that would need more
 * lowers the scale (neighbouring buckets merged, as OpenTelemetry does): the tail is never dropped.
 *
 * The hot path ({@link ExpHistogram.add}) is a table look-up on the float's bits and one increment;
 * everything that moves buckets (first value, growth, scale reduction, merges) is on a slow path.
 * The bucket index is in exphist-index.ts; reading ranks from the buckets at flush time is in
 * exphist-ranks.ts (RankReader). Both are re-exported here.
 */
import { DEFAULT_TIMER_HISTOGRAM_MAX_BUCKETS } from '../config/defaults.js';
import { indexAtMaxScale, MAX_SCALE } from './exphist-index.js';

export { bucketIndex, bucketLower, bucketMidpoint, indexAtMaxScale, MAX_SCALE } from './exphist-index.js';
/** Default bound on the buckets of one sign of one histogram. */
export const DEFAULT_MAX_BUCKETS = DEFAULT_TIMER_HISTOGRAM_MAX_BUCKETS;

// ---------------------------------------------------------------- the histogram

/** One sign's buckets: counts[k] is the count of bucket base + k. */
export class Buckets {
  base = 0;
  counts: Uint32Array = EMPTY_COUNTS;
  /** Lowest and highest used index, set by {@link ExpHistogram.trim} (hi < lo: none). */
  lo = 0;
  hi = -1;

  /** Scans for the used range; returns false when no bucket holds anything. */
  scan(): boolean {
    const c = this.counts;
    let a = 0;
    while (a < c.length && c[a] === 0) a++;
    if (a === c.length) {
      this.lo = 0;
      this.hi = -1;
      return false;
    }
    let b = c.length - 1;
    while (c[b] === 0) b--;
    this.lo = this.base + a;
    this.hi = this.base + b;
    return true;
  }

  clear(): void {
    this.counts.fill(0);
    this.lo = 0;
    this.hi = -1;
  }
}

const EMPTY_COUNTS = new Uint32Array(0);
/** Buckets given to a set on its first value (grown by doubling up to maxBuckets). */
const INITIAL_BUCKETS = 256;

/** Plain read-only bucket data: what a snapshot or a partial carries. */
export interface ExpBucketsData {
  readonly scale: number;
  readonly zero: number;
  /** Index of pos[0]. */
  readonly posBase: number;
  readonly pos: ArrayLike<number>;
  readonly negBase: number;
  readonly neg: ArrayLike<number>;
}

export class ExpHistogram {
  scale = MAX_SCALE;
  /** MAX_SCALE − scale: the shift from an index at MAX_SCALE to one at `scale`. */
  private shift = 0;
  zero = 0;
  readonly pos = new Buckets();
  readonly neg = new Buckets();
  /** Bucket arrays allocated since it was made (a test's measure of regrowth; slow path only). */
  arraysAllocated = 0;

  constructor(readonly maxBuckets: number = DEFAULT_MAX_BUCKETS) {}

  /** Back to empty at MAX_SCALE (keeps its arrays: histograms are pooled). */
  reset(): void {
    this.scale = MAX_SCALE;
    this.shift = 0;
    this.zero = 0;
    this.pos.clear();
    this.neg.clear();
  }

  /** Count one value (hot path). */
  add(v: number): void {
    if (v > 0) {
      const i = indexAtMaxScale(v) >> this.shift;
      const b = this.pos;
      const k = i - b.base;
      // (one unsigned compare for both ends of the window)
      if (k >>> 0 < b.counts.length) b.counts[k]!++;
      else this.addIndex(b, i, 1);
    } else if (v < 0) {
      const i = indexAtMaxScale(-v) >> this.shift;
      const b = this.neg;
      const k = i - b.base;
      if (k >= 0 && k < b.counts.length) b.counts[k]!++;
      else this.addIndex(b, i, 1);
    } else {
      this.zero++;
    }
  }

  /**
   * Make room at once for positive values in [min, max] (a timer's hand-off knows the range of the
   * values it holds): one window instead of a 256 → 512 → … regrowth whose freed arrays stay in the
   * process's RSS. The scale it sets is the one adding values at both ends would reach (it depends only
   * on the range), so counts and figures are the same.
   */
  reserve(min: number, max: number): void {
    if (!(min > 0) || !(max >= min) || max === Infinity) return;
    const b = this.pos;
    const lo = indexAtMaxScale(min) >> this.shift;
    const hi = indexAtMaxScale(max) >> this.shift;
    if (lo - b.base >= 0 && hi - b.base < b.counts.length) return;
    this.fit(b, lo, hi);
  }

  /** `count` values in bucket `i` (at the current scale) of `b` (slow path: grows, moves, lowers the scale). */
  addIndex(b: Buckets, i: number, count: number): void {
    let k = i - b.base;
    if (k < 0 || k >= b.counts.length) {
      i >>= this.fit(b, i, i);
      k = i - b.base;
    }
    b.counts[k]! += count;
  }

  /**
   * Make room for indexes `from` … `to` in `b`: grow the window (doubling, up to maxBuckets) and centre
   * the used range in it, lowering the scale first when the range would need more than maxBuckets.
   * Returns by how much the scale was lowered (the caller's index is to be shifted right by as much).
   */
  private fit(b: Buckets, from: number, to: number): number {
    const used = b.scan();
    let lo = used ? Math.min(b.lo, from) : from;
    let hi = used ? Math.max(b.hi, to) : to;
    let drop = 0;
    while (hi - lo + 1 > this.maxBuckets) {
      lo >>= 1;
      hi >>= 1;
      drop++;
    }
    this.downscale(drop);
    this.window(b, lo, hi);
    return drop;
  }

  /** Give `b` a window holding [lo, hi] (at the current scale, at most maxBuckets wide): grown by doubling, range centred. */
  private window(b: Buckets, lo: number, hi: number): void {
    const span = hi - lo + 1;
    let cap = b.counts.length;
    if (cap < span) {
      cap = cap === 0 ? Math.min(INITIAL_BUCKETS, this.maxBuckets) : cap;
      while (cap < span) cap *= 2;
      if (cap > this.maxBuckets) cap = this.maxBuckets;
    }
    this.place(b, lo, hi, cap);
  }

  /**
   * Make room at once for a merge of parts (the primary's merge of its workers' timers): `scale` is the
   * lowest of the parts' scales, [posLo, posHi] and [negLo, negHi] the indexes at MAX_SCALE their
   * values and buckets use (hi < lo: none on that side). The scale it sets is the one merging the parts
   * one by one reaches: the lowest of the parts' scales and of what each side's whole range (this
   * histogram's own buckets included) needs, both fixed by the parts alone. So the buckets and figures
   * are the same, and each window is sized (and allocated, if it must grow) once instead of growing
   * 256 → 512 → … and moving as the buckets come in. (bench/timers.bench.ts (e))
   */
  reserveMerge(scale: number, posLo: number, posHi: number, negLo: number, negHi: number): void {
    if (scale < this.scale) this.downscale(this.scale - scale);
    const s = this.shift;
    const p = this.pos;
    const n = this.neg;
    const onPos = posHi >= posLo;
    const onNeg = negHi >= negLo;
    let pl = posLo >> s;
    let ph = posHi >> s;
    let nl = negLo >> s;
    let nh = negHi >> s;
    if (onPos && p.scan()) {
      pl = Math.min(pl, p.lo);
      ph = Math.max(ph, p.hi);
    }
    if (onNeg && n.scan()) {
      nl = Math.min(nl, n.lo);
      nh = Math.max(nh, n.hi);
    }
    const max = this.maxBuckets;
    let drop = 0;
    while ((onPos && (ph >> drop) - (pl >> drop) + 1 > max) || (onNeg && (nh >> drop) - (nl >> drop) + 1 > max)) drop++;
    this.downscale(drop);
    if (onPos) this.cover(p, pl >> drop, ph >> drop);
    if (onNeg) this.cover(n, nl >> drop, nh >> drop);
  }

  /** A window for [lo, hi] in `b` unless it has one. */
  private cover(b: Buckets, lo: number, hi: number): void {
    if (lo - b.base < 0 || hi - b.base >= b.counts.length) this.window(b, lo, hi);
  }

  /** Move `b`'s counts into a window of `cap` buckets with [lo, hi] centred in it. */
  private place(b: Buckets, lo: number, hi: number, cap: number): void {
    const span = hi - lo + 1;
    const base = lo - ((cap - span) >> 1);
    const next = cap === b.counts.length ? SCRATCH.get(cap) : new Uint32Array(cap);
    next.fill(0);
    const c = b.counts;
    for (let k = 0; k < c.length; k++) {
      const n = c[k]!;
      if (n !== 0) next[b.base + k - base] = n;
    }
    if (cap === b.counts.length) {
      c.set(next);
    } else {
      b.counts = next;
      this.arraysAllocated++;
    }
    b.base = base;
  }

  /** Lower the scale by `drop`: bucket i becomes i >> drop, in both signs. */
  downscale(drop: number): void {
    if (drop <= 0) return;
    this.scale -= drop;
    this.shift += drop;
    shrink(this.pos, drop);
    shrink(this.neg, drop);
  }

  /** Values counted. */
  count(): number {
    let n = this.zero;
    for (const c of this.pos.counts) n += c;
    for (const c of this.neg.counts) n += c;
    return n;
  }

  /** Set both signs' used ranges (lo/hi); returns the buckets they span together. */
  trim(): number {
    const p = this.pos.scan() ? this.pos.hi - this.pos.lo + 1 : 0;
    const n = this.neg.scan() ? this.neg.hi - this.neg.lo + 1 : 0;
    return p + n;
  }

  /** Add another histogram's buckets (exact: both are first brought to the lower of the two scales). */
  merge(o: ExpBucketsData): void {
    if (o.scale < this.scale) this.downscale(this.scale - o.scale);
    this.zero += o.zero;
    this.mergeSide(this.pos, o.posBase, o.pos, o.scale);
    this.mergeSide(this.neg, o.negBase, o.neg, o.scale);
  }

  private mergeSide(b: Buckets, base: number, counts: ArrayLike<number>, scale: number): void {
    for (let k = 0; k < counts.length; k++) {
      const n = counts[k]!;
      if (n === 0) continue;
      // (this.scale can drop during the loop: shift from the source's scale each time)
      this.addIndex(b, (base + k) >> (scale - this.scale), n);
    }
  }

  /** The used buckets as plain data (copies; call trim() first). */
  data(): ExpBucketsData {
    const p = this.pos;
    const n = this.neg;
    return {
      scale: this.scale,
      zero: this.zero,
      posBase: p.lo,
      pos: p.hi >= p.lo ? p.counts.slice(p.lo - p.base, p.hi - p.base + 1) : EMPTY_COUNTS,
      negBase: n.lo,
      neg: n.hi >= n.lo ? n.counts.slice(n.lo - n.base, n.hi - n.base + 1) : EMPTY_COUNTS,
    };
  }

  /** Bytes held by the bucket arrays. */
  bytes(): number {
    return this.pos.counts.byteLength + this.neg.counts.byteLength;
  }
}

/** In-place scale reduction of one sign (counts merged pairwise, window recentred). */
function shrink(b: Buckets, drop: number): void {
  const c = b.counts;
  if (c.length === 0) return;
  const tmp = SCRATCH.get(c.length);
  tmp.fill(0);
  // new indexes (base + k) >> drop, placed from the new base
  const nb = b.base >> drop;
  for (let k = 0; k < c.length; k++) {
    const n = c[k]!;
    if (n === 0) continue;
    const j = ((b.base + k) >> drop) - nb;
    tmp[j] = tmp[j]! + n;
  }
  c.set(tmp);
  b.base = nb;
}

/** One scratch array per capacity for the slow paths (single-threaded: never held across calls). */
const SCRATCH = {
  arrays: new Map<number, Uint32Array>(),
  get(cap: number): Uint32Array {
    let a = this.arrays.get(cap);
    if (a === undefined) {
      a = new Uint32Array(cap);
      this.arrays.set(cap, a);
    }
    return a;
  },
};

export { RankReader } from './exphist-ranks.js';
