/**
 * Primary side of the workers mode: the histogram parts of the timers merged from several sources
 * (this side's reservoir, workers' samples, workers' exponential histograms), held until every source's
 * partial is in, then added to each timer's histogram at once. Its windows are reserved once for the
 * parts' whole range at their final scale (ExpHistogram.reserveMerge), instead of growing
 * 256 → 512 → … and lowering the scale step by step as the buckets come in.
 *
 * The buckets are the same as merging part by part: each merge is exact, and the final scale (the
 * lowest of the parts' scales and of what the whole range needs) does not depend on the order.
 */
import { type ExpBucketsData, type ExpHistogram, indexAtMaxScale, MAX_SCALE } from '../exphist.js';

/** One timer's parts, and the MAX_SCALE indexes and lowest scale they use. */
class PendingMerge {
  readonly parts: Array<Float64Array | ExpBucketsData> = [];
  scale = MAX_SCALE;
  posLo = Number.POSITIVE_INFINITY;
  posHi = Number.NEGATIVE_INFINITY;
  negLo = Number.POSITIVE_INFINITY;
  negHi = Number.NEGATIVE_INFINITY;

  constructor(readonly h: ExpHistogram) {}

  values(v: Float64Array): void {
    // (the extremes of each sign: only they are indexed)
    let pMin = Number.POSITIVE_INFINITY;
    let pMax = 0;
    let nMin = Number.POSITIVE_INFINITY;
    let nMax = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x > 0) {
        if (x < pMin) pMin = x;
        if (x > pMax) pMax = x;
      } else if (x < 0) {
        if (-x < nMin) nMin = -x;
        if (-x > nMax) nMax = -x;
      }
    }
    if (pMax > 0) this.pos(indexAtMaxScale(pMin), indexAtMaxScale(pMax));
    if (nMax > 0) this.neg(indexAtMaxScale(nMin), indexAtMaxScale(nMax));
    this.parts.push(v);
  }

  exp(e: ExpBucketsData): void {
    if (e.scale < this.scale) this.scale = e.scale;
    // bucket j at scale s holds the MAX_SCALE indexes from j << (MAX_SCALE - s): at any scale <= s, j >> (s - scale)
    const up = MAX_SCALE - e.scale;
    const p = used(e.pos);
    if (p >= 0) this.pos((e.posBase + p) << up, (e.posBase + lastUsed(e.pos)) << up);
    const n = used(e.neg);
    if (n >= 0) this.neg((e.negBase + n) << up, (e.negBase + lastUsed(e.neg)) << up);
    this.parts.push(e);
  }

  private pos(lo: number, hi: number): void {
    if (lo < this.posLo) this.posLo = lo;
    if (hi > this.posHi) this.posHi = hi;
  }

  private neg(lo: number, hi: number): void {
    if (lo < this.negLo) this.negLo = lo;
    if (hi > this.negHi) this.negHi = hi;
  }

  /** Reserve once, then add every part. */
  apply(): void {
    const h = this.h;
    if (this.posHi >= this.posLo || this.negHi >= this.negLo || this.scale < h.scale) {
      h.reserveMerge(this.scale, this.posLo, this.posHi, this.negLo, this.negHi);
    }
    for (const part of this.parts) {
      if (part instanceof Float64Array) for (let j = 0; j < part.length; j++) h.add(part[j]!);
      else h.merge(part);
    }
  }
}

/** First non-zero count (-1: none). */
function used(c: ArrayLike<number>): number {
  for (let k = 0; k < c.length; k++) if (c[k] !== 0) return k;
  return -1;
}

/** Last non-zero count (call after used() found one). */
function lastUsed(c: ArrayLike<number>): number {
  let k = c.length - 1;
  while (c[k] === 0) k--;
  return k;
}

export class TimerHistMerges {
  /** By slot, in the order the timers were first merged. */
  private readonly pending = new Map<number, PendingMerge>();

  /** Values for the histogram `h` of the timer at `slot` (held: the array must not change until {@link finish}). */
  values(slot: number, h: ExpHistogram, v: Float64Array): void {
    if (v.length > 0) this.of(slot, h).values(v);
  }

  /** A source's histogram for `h`, the timer at `slot`'s. */
  exp(slot: number, h: ExpHistogram, e: ExpBucketsData): void {
    this.of(slot, h).exp(e);
  }

  /** Add what is held; `live(slot)` is the slot's histogram now (a part whose timer lost it meanwhile is dropped). */
  finish(live: (slot: number) => ExpHistogram | null): void {
    if (this.pending.size === 0) return;
    for (const [slot, m] of this.pending) if (live(slot) === m.h) m.apply();
    this.pending.clear();
  }

  private of(slot: number, h: ExpHistogram): PendingMerge {
    let m = this.pending.get(slot);
    // (a slot whose histogram changed meanwhile: the old one is gone, and what was held for it)
    if (m === undefined || m.h !== h) {
      m = new PendingMerge(h);
      this.pending.set(slot, m);
    }
    return m;
  }
}
