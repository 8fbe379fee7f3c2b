/**
 * Primary side of the workers mode: the range each merged timer's histogram will span, gathered from
 * every source's partial before any is merged (../../cluster/partial-skim.ts reads them off the
 * partials without decoding them). When the merge gives a timer its histogram, it reserves the
 * window once for that whole range at its final scale (ExpHistogram.reserveMerge), instead of growing
 * 256 → 512 → … and moving as the buckets of one source after another come in.
 *
 * The buckets are the same as without: the merge is exact, and a range only ever holds indexes that
 * the parts do use (a part whose extremes are not known, such as a sampled reservoir, adds nothing),
 * so the scale reserved is never coarser than the one the merge reaches; what is not covered grows
 * the window as before.
 */
import { indexAtMaxScale, MAX_SCALE } from '../exphist.js';

/** The MAX_SCALE indexes a timer's parts use, by sign (hi < lo: none), and the lowest of their scales. */
export class TimerRange {
  scale = MAX_SCALE;
  posLo = Number.POSITIVE_INFINITY;
  posHi = Number.NEGATIVE_INFINITY;
  negLo = Number.POSITIVE_INFINITY;
  negHi = Number.NEGATIVE_INFINITY;

  pos(lo: number, hi: number): void {
    if (lo < this.posLo) this.posLo = lo;
    if (hi > this.posHi) this.posHi = hi;
  }

  neg(lo: number, hi: number): void {
    if (lo < this.negLo) this.negLo = lo;
    if (hi > this.negHi) this.negHi = hi;
  }
}

/** The ranges of one merge's timers, by canonical key id. */
export class TimerMergeRanges {
  readonly byId = new Map<string, TimerRange>();

  private of(id: string): TimerRange {
    let r = this.byId.get(id);
    if (r === undefined) {
      r = new TimerRange();
      this.byId.set(id, r);
    }
    return r;
  }

  /**
   * A source's histogram of the timer `id` at `scale`: its used positive buckets are posFirst … posLast
   * (hi < lo: none), its negative ones negFirst … negLast.
   */
  histogram(id: string, scale: number, posFirst: number, posLast: number, negFirst: number, negLast: number): void {
    const r = this.of(id);
    if (scale < r.scale) r.scale = scale;
    // bucket j at scale s holds the MAX_SCALE indexes from j << (MAX_SCALE - s): at any scale <= s, j >> (s - scale)
    const up = MAX_SCALE - scale;
    if (posLast >= posFirst) r.pos(posFirst << up, posLast << up);
    if (negLast >= negFirst) r.neg(negFirst << up, negLast << up);
  }

  /** A source's values of the timer `id`, every one of them, from `min` to `max` (both among them). */
  values(id: string, min: number, max: number): void {
    if (!(min <= max)) return;
    const r = this.of(id);
    // (with both signs, or zero, the smallest magnitudes are not known: only the largest are used)
    if (max > 0) r.pos(indexAtMaxScale(min > 0 ? min : max), indexAtMaxScale(max));
    if (min < 0) r.neg(indexAtMaxScale(max < 0 ? -max : -min), indexAtMaxScale(-min));
  }
}
