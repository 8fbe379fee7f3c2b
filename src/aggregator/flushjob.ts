/**
 * The compute half of a flush. At the flush tick the aggregator *captures* the interval (a cheap,
 * synchronous gather of values, reservoirs swapped out, keys copied: see Aggregator.captureFlush) and
 * clears its live store; a {@link FlushJob} then turns the captured data into the {@link Snapshot},
 * either at once ({@link FlushJob.runSync}) or in slices that yield to the event loop
 * ({@link FlushJob.run}), so that a flush of a million keys never holds ingest for more than a few ms.
 *
 * The live store cannot touch a captured interval: samples arriving during a sliced compute land in
 * the live store, i.e. in the next interval.
 */
import type { MetricKey } from '../parser/types.js';
import { nextTurn, type YieldToIngest } from '../pipeline/scheduler.js';
import type { ExpBucketsData, ExpHistogram, RankReader } from './exphist.js';
import {
  type CompiledHistogram,
  type Cumulative,
  histogramStat,
  type RunningAggregates,
  summarize,
  summarizeHistogram,
  type Threshold,
  type TimerSummary,
} from './percentiles.js';
import { CounterColumns, type GaugeStat, type LeCounts, type SetStat, type Snapshot, type TimerStat } from './snapshot.js';
import { ComputedTimer, TimerColumns } from './timer-columns.js';

const EMPTY_SAMPLES = new Float64Array(0);
const NO_PERCENTILES: readonly never[] = Object.freeze([]);

/** Default length of one compute slice, ms (the kernel buffer covers ~30 ms of a heavy UDP load). */
export const DEFAULT_FLUSH_SLICE_MS = 5;
/** Work units between two clock reads (a counter is one unit, a timer 1 + samples/16). */
const CHECK_UNITS = 256;

/** Mutable running aggregates handed to summarize() (one reused instance). */
export interface RunningScratch {
  n: number;
  sum: number;
  sumSquares: number;
  min: number;
  max: number;
}

/** What the aggregator captured at the tick: dense arrays in the snapshot's order. */
export interface CapturedInterval {
  readonly timestamp: number;
  readonly intervalMs: number;
  readonly thresholds: readonly Threshold[];
  readonly histograms: readonly CompiledHistogram[];
  readonly reservoirSize: number;
  /** Counters in insertion order, as the snapshot's columns (gathered at the capture). */
  readonly counterKeys: MetricKey[];
  readonly counterCounts: Float64Array;
  readonly timerKeys: MetricKey[];
  readonly timerN: Float64Array;
  readonly timerCount: Float64Array;
  readonly timerSum: Float64Array;
  readonly timerSumSquares: Float64Array;
  readonly timerMin: Float64Array;
  readonly timerMax: Float64Array;
  /** The interval's reservoirs (owned by the job: the live slots were given other arrays). */
  readonly timerRes: Float64Array[];
  readonly timerRule: Int32Array;
  /** Bin counts of the interval (copies), null where the timer has no rule or no value. */
  readonly timerHist: (Float64Array | null)[];
  /** Exponential histograms of the timers past their reservoir (owned by the job), null elsewhere. */
  readonly timerExp: (ExpHistogram | null)[];
  /** Exact le-bucket counts a backend asked for (copies), null elsewhere. */
  readonly timerLe: (LeCounts | null)[];
  readonly gaugeKeys: MetricKey[];
  readonly gaugeValues: Float64Array;
  /** 1 where a line set or changed the gauge this interval. */
  readonly gaugeUpdated: Uint8Array;
  readonly setKeys: MetricKey[];
  readonly setCounts: Float64Array;
  /** The interval's members per set (optional: merged snapshots may have none). */
  readonly setMembers?: readonly ReadonlySet<string>[];
  readonly liveCounters: number;
  readonly liveTimers: number;
  readonly liveGauges: number;
  readonly liveSets: number;
  /** ms the capture spent gathering (counted in processingTimeMs). */
  readonly captureMs: number;
  /** Stats of the metric types beyond the core four, by store name (see Snapshot.others); absent when none are registered. */
  readonly others?: ReadonlyMap<string, readonly unknown[]>;
}

/** Scratch shared with the aggregator (each timer is summarised in one synchronous step). */
export interface FlushScratch {
  readonly cum: Cumulative;
  readonly summary: TimerSummary;
  readonly running: RunningScratch;
  readonly reader: RankReader;
  /** Gets each captured reservoir back once its values are copied (the aggregator pools them). */
  readonly release: (res: Float64Array) => void;
  /** Gets each captured histogram back once its buckets are copied (the aggregator pools them). */
  readonly releaseExp: (h: ExpHistogram) => void;
}

// The flush job's phases: plain number constants (what the former `const enum` compiled to; biome's
// noConstEnum: a const enum does not survive isolated-module builds).
const PHASE_TIMERS = 1;
const PHASE_GAUGES = 2;
const PHASE_SETS = 3;
const PHASE_DONE = 4;
type Phase = typeof PHASE_TIMERS | typeof PHASE_GAUGES | typeof PHASE_SETS | typeof PHASE_DONE;

export class FlushJob {
  private phase: Phase;
  private i: number;
  private readonly timers: TimerStat[];
  private readonly gauges: GaugeStat[];
  private readonly sets: SetStat[];
  private readonly intervalS: number;
  /** The computed timers' figures, and every timer's sample back to back (one arena, not one array per timer). */
  private readonly cols: TimerColumns;
  private samplesUsed: number;
  /** CPU ms spent computing so far (sum of slices). */
  private computeMs: number;
  private result: Snapshot | null;
  /** Slices run so far, and the longest (ms): for benches and tests. */
  slices: number;
  longestSliceMs: number;

  constructor(
    private readonly c: CapturedInterval,
    private readonly scratch: FlushScratch,
  ) {
    // counters come as columns from the capture: nothing to compute
    this.phase = PHASE_TIMERS;
    this.i = 0;
    this.timers = [];
    this.gauges = [];
    this.sets = [];
    this.intervalS = c.intervalMs / 1000;
    let total = 0;
    const size = c.reservoirSize;
    for (let i = 0; i < c.timerN.length; i++) {
      const h = c.timerExp[i];
      if (h !== null && h !== undefined) {
        // its buckets instead of a sample: room for its whole window (trimmed to the used range in the
        // compute, not here: the capture runs at the tick, in one piece)
        total += h.pos.counts.length + h.neg.counts.length;
        continue;
      }
      const n = c.timerN[i]!;
      // a compare, not Math.min, in the per-timer flush loops (as before the lint clean-up)
      if (n > size) total += size;
      else total += n;
    }
    this.cols = new TimerColumns(c.timerN.length, c.thresholds, new Float64Array(total));
    this.samplesUsed = 0;
    this.computeMs = 0;
    this.result = null;
    this.slices = 0;
    this.longestSliceMs = 0;
  }

  /** CPU ms spent computing so far (the sum of the slices; capture not included). */
  get cpuMs(): number {
    return this.computeMs;
  }

  /** Unix seconds of the captured interval's flush. */
  get timestamp(): number {
    return this.c.timestamp;
  }

  /** The whole compute in one synchronous call. */
  runSync(): Snapshot {
    while (!this.step(Infinity));
    return this.result!;
  }

  /**
   * The compute in slices of about `sliceMs`, calling `yieldFn` between them (the pipeline passes its
   * Scheduler's yieldToIngest, src/pipeline/scheduler.ts; tests and benches one plain turn).
   */
  async run(yieldFn: YieldToIngest = nextTurn, sliceMs: number = DEFAULT_FLUSH_SLICE_MS): Promise<Snapshot> {
    while (!this.step(sliceMs)) await yieldFn();
    return this.result!;
  }

  /** One slice of at most about `budgetMs`; true when the snapshot is complete. */
  step(budgetMs: number): boolean {
    if (this.result !== null) return true;
    const t0 = performance.now();
    const deadline = t0 + budgetMs;
    let units = 0;
    const c = this.c;
    for (;;) {
      if (units >= CHECK_UNITS) {
        units = 0;
        if (performance.now() >= deadline) break;
      }
      const i = this.i;
      if (this.phase === PHASE_TIMERS) {
        if (i >= c.timerKeys.length) {
          this.phase = PHASE_GAUGES;
          this.i = 0;
          continue;
        }
        const t = this.timerStat(i);
        this.timers.push(t);
        this.i = i + 1;
        units += 1 + (t.samples.length >> 4) + (t.buckets != null ? (t.buckets.pos.length + t.buckets.neg.length) >> 4 : 0);
      } else if (this.phase === PHASE_GAUGES) {
        if (i >= c.gaugeKeys.length) {
          this.phase = PHASE_SETS;
          this.i = 0;
          continue;
        }
        this.gauges.push({ key: c.gaugeKeys[i]!, value: c.gaugeValues[i]!, updated: c.gaugeUpdated[i] === 1 });
        this.i = i + 1;
        units++;
      } else if (this.phase === PHASE_SETS) {
        if (i >= c.setKeys.length) {
          this.phase = PHASE_DONE;
          continue;
        }
        this.sets.push(
          c.setMembers === undefined
            ? { key: c.setKeys[i]!, count: c.setCounts[i]! }
            : { key: c.setKeys[i]!, count: c.setCounts[i]!, members: c.setMembers[i]! },
        );
        this.i = i + 1;
        units++;
      } else {
        break;
      }
    }
    const ms = performance.now() - t0;
    this.computeMs += ms;
    this.slices++;
    if (ms > this.longestSliceMs) this.longestSliceMs = ms;
    if (this.phase !== PHASE_DONE) return false;
    const snap: Snapshot = {
      timestamp: c.timestamp,
      intervalMs: c.intervalMs,
      counters: new CounterColumns(c.counterKeys, c.counterCounts, c.intervalMs),
      timers: this.timers,
      gauges: this.gauges,
      sets: this.sets,
      internal: {
        processingTimeMs: c.captureMs + this.computeMs,
        liveCounters: c.liveCounters,
        liveTimers: c.liveTimers,
        liveGauges: c.liveGauges,
        liveSets: c.liveSets,
      },
    };
    // metric types beyond the core four (their stores computed their stats at the capture)
    this.result = c.others === undefined ? snap : { ...snap, others: c.others };
    return true;
  }

  private timerStat(i: number): TimerStat {
    const c = this.c;
    const key = c.timerKeys[i]!;
    const n = c.timerN[i]!;
    const count = c.timerCount[i]!;
    const countPs = count / this.intervalS;
    if (n === 0) {
      return {
        key,
        n: 0,
        count,
        countPs,
        lower: 0,
        upper: 0,
        sum: 0,
        sumSquares: 0,
        mean: 0,
        median: 0,
        std: 0,
        percentiles: NO_PERCENTILES,
        histogram: null,
        samples: EMPTY_SAMPLES,
        exact: true,
      };
    }
    const res = c.timerRes[i]!;
    const exp = c.timerExp[i];
    if (exp !== null && exp !== undefined) return this.histogramTimerStat(i, exp, res);
    let m = n;
    if (m > c.reservoirSize) m = c.reservoirSize;
    const cols = this.cols;
    const arena = cols.arena;
    const off = this.samplesUsed;
    for (let j = 0; j < m; j++) arena[off + j] = res[j]!;
    this.samplesUsed = off + m;
    c.timerRes[i] = EMPTY_SAMPLES;
    this.scratch.release(res);
    // sorted in place in the arena (this view is only for the sort and summarize(): the snapshot's
    // timer makes its own on first read, see ComputedTimer.samples)
    const samples = arena.subarray(off, off + m);
    if (m > 1) samples.sort();
    const r = this.scratch.running;
    r.n = n;
    r.sum = c.timerSum[i]!;
    r.sumSquares = c.timerSumSquares[i]!;
    r.min = c.timerMin[i]!;
    r.max = c.timerMax[i]!;
    const out = this.scratch.summary;
    summarize(samples, r as RunningAggregates, c.thresholds, this.scratch.cum, out);
    cols.put(i, out, off, m);
    const rule = c.timerRule[i]!;
    const hist = c.timerHist[i];
    return new ComputedTimer(
      key,
      n,
      count,
      countPs,
      rule >= 0 && hist !== null && hist !== undefined ? histogramStat(c.histograms[rule]!, hist) : null,
      cols,
      i,
      null,
      c.timerLe[i] ?? null,
    );
  }

  /** A timer past its reservoir: figures from its histogram, whose used buckets are copied to the arena. */
  private histogramTimerStat(i: number, h: ExpHistogram, res: Float64Array): TimerStat {
    const c = this.c;
    c.timerRes[i] = EMPTY_SAMPLES;
    this.scratch.release(res);
    c.timerExp[i] = null;
    const n = c.timerN[i]!;
    const count = c.timerCount[i]!;
    const cols = this.cols;
    const arena = cols.arena;
    let off = this.samplesUsed;
    h.trim();
    const p = h.pos;
    const q = h.neg;
    const posLen = p.hi - p.lo + 1;
    const negLen = q.hi - q.lo + 1;
    for (let k = 0; k < posLen; k++) arena[off + k] = p.counts[p.lo - p.base + k]!;
    const pos = arena.subarray(off, off + posLen);
    off += posLen;
    for (let k = 0; k < negLen; k++) arena[off + k] = q.counts[q.lo - q.base + k]!;
    const neg = arena.subarray(off, off + negLen);
    off += negLen;
    this.samplesUsed = off;
    const buckets: ExpBucketsData = { scale: h.scale, zero: h.zero, posBase: p.lo, pos, negBase: q.lo, neg };
    this.scratch.releaseExp(h);
    const r = this.scratch.running;
    r.n = n;
    r.sum = c.timerSum[i]!;
    r.sumSquares = c.timerSumSquares[i]!;
    r.min = c.timerMin[i]!;
    r.max = c.timerMax[i]!;
    const reader = this.scratch.reader;
    reader.load(buckets, r.min, r.max);
    const out = this.scratch.summary;
    summarizeHistogram(reader, r as RunningAggregates, c.thresholds, out);
    cols.put(i, out, 0, 0);
    const rule = c.timerRule[i]!;
    const hist = c.timerHist[i];
    return new ComputedTimer(
      c.timerKeys[i]!,
      n,
      count,
      count / this.intervalS,
      rule >= 0 && hist !== null && hist !== undefined ? histogramStat(c.histograms[rule]!, hist) : null,
      cols,
      i,
      buckets,
      c.timerLe[i] ?? null,
    );
  }
}
