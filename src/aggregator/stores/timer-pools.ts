/**
 * Arrays a timer's interval hands back once its flush job has copied them, reused for the next
 * interval's timers: reservoirs (no regrowth 16 → … → reservoirSize per interval; measured ~1.7 µs per
 * Float64Array allocation, ~12 µs per timer grown to 1024: row 3 of `node dist/bench/claims.bench.js`)
 * and exponential histograms. Both pools are bounded by the last capture.
 */
import { ExpHistogram, RankReader } from '../exphist.js';
import type { FlushScratch } from '../flushjob.js';
import { Cumulative, TimerSummary } from '../percentiles.js';

const EMPTY_SAMPLES = new Float64Array(0);

export class TimerPools {
  /** Histograms handed back by flush jobs (reused across intervals and keys), bounded by the last capture's. */
  readonly expPool: ExpHistogram[] = [];
  private expPoolCap = 16;
  /** Reservoirs handed back by flush jobs, given to live timers at the next capture. */
  private readonly resPool: Float64Array[] = [];
  /** Timers at the last capture: the bound of {@link resPool}. */
  private resPoolCap = 0;
  readonly flushScratch: FlushScratch;

  constructor(
    /** Buckets per sign of a new histogram (a change empties the pool). */
    public expMaxBuckets: number,
    /** The reservoir size (larger reservoirs, from before a cut, are not handed out). */
    public reservoirSize: number,
  ) {
    this.flushScratch = {
      cum: new Cumulative(),
      summary: new TimerSummary(),
      running: { n: 0, sum: 0, sumSquares: 0, min: 0, max: 0 },
      reader: new RankReader(),
      release: (res) => {
        // bounded by the timers of the last capture (trimmed at each capture): a burst does not stay pinned
        if (res.length > 0 && this.resPool.length < this.resPoolCap) this.resPool.push(res);
      },
      releaseExp: (h) => this.releaseExp(h),
    };
  }

  acquireExp(): ExpHistogram {
    const h = this.expPool.pop();
    if (h !== undefined) return h;
    return new ExpHistogram(this.expMaxBuckets);
  }

  releaseExp(h: ExpHistogram): void {
    if (this.expPool.length < this.expPoolCap && h.maxBuckets === this.expMaxBuckets) {
      h.reset();
      this.expPool.push(h);
    }
  }

  setExpMaxBuckets(n: number): void {
    if (n === this.expMaxBuckets) return;
    this.expMaxBuckets = n;
    this.expPool.length = 0;
  }

  /** A reservoir from the pool, or the empty one (grown at the timer's first values). */
  reservoir(): Float64Array {
    const pool = this.resPool;
    while (pool.length > 0) {
      const res = pool.pop()!;
      if (res.length <= this.reservoirSize) return res; // (larger ones date from before a reservoirSize cut)
    }
    return EMPTY_SAMPLES;
  }

  /** At a capture of `timers` timers: the reservoir pool's bound. */
  boundReservoirs(timers: number): void {
    this.resPoolCap = timers;
    if (this.resPool.length > timers) this.resPool.length = timers;
  }

  /** At a capture where `overflowed` timers were past their reservoir: the histogram pool's bound. */
  boundHistograms(overflowed: number): void {
    this.expPoolCap = Math.max(16, overflowed);
    if (this.expPool.length > this.expPoolCap) this.expPool.length = this.expPoolCap;
  }
}
