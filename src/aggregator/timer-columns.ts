/**
 * A flush's computed timers: their figures as columns ({@link TimerColumns}), and the TimerStat each
 * snapshot timer is ({@link ComputedTimer}), reading its figures from the columns.
 */
import type { MetricKey } from '../parser/types.js';
import type { ExpBucketsData } from './exphist.js';
import { PCT_FIELDS, percentileStats, type Threshold, type TimerSummary } from './percentiles.js';
import type { HistogramStat, LeCounts, PercentileStat, TimerStat } from './snapshot.js';

/**
 * The computed figures of a flush's timers as columns (typed arrays indexed by the timer's position),
 * so that a flush of 100k timers keeps 100k small objects alive, not 100k objects of 17 fields plus
 * their percentile arrays and objects (measured with bench (b) of `node dist/bench/aggregator.bench.js`,
 * 100k timer keys: that was most of the compute's GC time).
 */
export class TimerColumns {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly sum: Float64Array;
  readonly sumSquares: Float64Array;
  readonly mean: Float64Array;
  readonly median: Float64Array;
  readonly std: Float64Array;
  /**
   * Percentiles emitted per timer, and their threshold indexes and figures (`nth` slots per timer). A
   * Uint16Array: it holds config's MAX_PERCENT_THRESHOLDS (a Uint8Array wrapped past 255 thresholds).
   */
  readonly np: Uint16Array;
  readonly pctT: Int32Array;
  readonly pctV: Float64Array;
  /** Each timer's sorted sample: arena[off, off + m). */
  readonly off: Int32Array;
  readonly m: Int32Array;

  /** Percentile slots per timer: the number of thresholds. */
  readonly nth: number;

  constructor(
    nt: number,
    readonly thresholds: readonly Threshold[],
    readonly arena: Float64Array,
  ) {
    const nth = thresholds.length;
    this.nth = nth;
    this.lower = new Float64Array(nt);
    this.upper = new Float64Array(nt);
    this.sum = new Float64Array(nt);
    this.sumSquares = new Float64Array(nt);
    this.mean = new Float64Array(nt);
    this.median = new Float64Array(nt);
    this.std = new Float64Array(nt);
    this.np = new Uint16Array(nt);
    this.pctT = new Int32Array(nt * nth);
    this.pctV = new Float64Array(nt * nth * PCT_FIELDS);
    this.off = new Int32Array(nt);
    this.m = new Int32Array(nt);
  }

  put(i: number, out: TimerSummary, off: number, m: number): void {
    this.lower[i] = out.lower;
    this.upper[i] = out.upper;
    this.sum[i] = out.sum;
    this.sumSquares[i] = out.sumSquares;
    this.mean[i] = out.mean;
    this.median[i] = out.median;
    this.std[i] = out.std;
    this.off[i] = off;
    this.m[i] = m;
    const np = out.np;
    this.np[i] = np;
    const base = i * this.nth;
    for (let j = 0; j < np; j++) this.pctT[base + j] = out.pctT[j]!;
    const v = this.pctV;
    const src = out.pctV;
    const vb = base * PCT_FIELDS;
    for (let k = 0; k < np * PCT_FIELDS; k++) v[vb + k] = src[k]!;
  }
}

/** A timer of a computed snapshot: its figures are read from the flush's {@link TimerColumns}. */
export class ComputedTimer implements TimerStat {
  // (ES private fields: not properties, so a deep compare of two snapshots does not walk the columns)
  readonly #c: TimerColumns;
  readonly #i: number;
  #view: Float64Array | null;

  constructor(
    readonly key: MetricKey,
    readonly n: number,
    readonly count: number,
    readonly countPs: number,
    readonly histogram: HistogramStat | null,
    cols: TimerColumns,
    i: number,
    readonly buckets: ExpBucketsData | null,
    readonly le: LeCounts | null,
  ) {
    this.#c = cols;
    this.#i = i;
    this.#view = null;
  }

  get lower(): number {
    return this.#c.lower[this.#i]!;
  }
  get upper(): number {
    return this.#c.upper[this.#i]!;
  }
  get sum(): number {
    return this.#c.sum[this.#i]!;
  }
  get sumSquares(): number {
    return this.#c.sumSquares[this.#i]!;
  }
  get mean(): number {
    return this.#c.mean[this.#i]!;
  }
  get median(): number {
    return this.#c.median[this.#i]!;
  }
  get std(): number {
    return this.#c.std[this.#i]!;
  }
  get exact(): boolean {
    return this.#c.m[this.#i] === this.n;
  }

  /** Built on each read (short-lived objects: the Graphite formatter reads them once). */
  get percentiles(): readonly PercentileStat[] {
    const c = this.#c;
    return percentileStats(c.thresholds, c.pctT, c.pctV, this.#i * c.nth, c.np[this.#i]!);
  }

  /** The sorted sample, a view of the flush's arena made on first read (Graphite never reads it). */
  get samples(): Float64Array {
    if (this.#view === null) {
      const c = this.#c;
      const off = c.off[this.#i]!;
      this.#view = c.arena.subarray(off, off + c.m[this.#i]!);
    }
    return this.#view;
  }
}
