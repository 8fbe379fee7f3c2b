/**
 * The interval capture: the synchronous half of a flush. It stamps the interval (its timestamp and
 * length, and the timestamp_lag), then has every store gather its data in insertion order into one
 * {@link CapturedInterval}; the flush job (flushjob.ts) computes the snapshot from that alone, so the
 * live stores can be cleared at once and take the next interval's lines while the compute runs.
 */
import type { MetricKey } from '../parser/types.js';
import type { CapturedInterval } from './flushjob.js';
import type { Threshold } from './percentiles.js';
import type { CaptureSink, MetricStore } from './stores/types.js';

const EMPTY_SAMPLES = new Float64Array(0);
const NO_KEYS: MetricKey[] = [];

/** A final, partial interval (at a stop): see {@link IntervalClock.stamp}. */
export interface FinalInterval {
  /** ms clock at which the process started aggregating (the interval's start when no flush came before). */
  readonly startedMs: number;
}

/** The flushes' timestamps: what the capture of each interval is stamped with. */
export class IntervalClock {
  /** Unix seconds of the previous flush. */
  private prevTimestamp = 0;
  /** ms clock of the previous capture (NaN before the first): the final partial interval's length. */
  private prevCaptureMs = Number.NaN;
  private flushes = 0;
  /** Set by {@link stamp}. */
  timestamp = 0;
  intervalMs = 0;
  /** The timestamp_lag of this flush: seconds between the two flushes beyond the interval; NaN at the first. */
  lag = Number.NaN;

  /**
   * The interval ending at `nowMs`. `final` marks the partial interval of a stop: stamped with the
   * time its interval would have ended, so that it never lands in the previous flush's second (or
   * retention step), which Graphite would overwrite; its rates are per the time it actually covered
   * (7 counts in 0.3 s are 23.3/s, not 7/interval).
   */
  stamp(nowMs: number, flushIntervalMs: number, final?: FinalInterval): void {
    const intervalS = flushIntervalMs / 1000;
    let timestamp = Math.round(nowMs / 1000);
    let intervalMs = flushIntervalMs;
    if (final !== undefined) {
      if (this.flushes > 0) timestamp = Math.max(this.prevTimestamp + 1, Math.round(this.prevTimestamp + intervalS));
      const since = this.flushes > 0 ? this.prevCaptureMs : final.startedMs;
      const covered = nowMs - since;
      if (Number.isFinite(covered)) intervalMs = Math.max(1, covered);
    }
    this.prevCaptureMs = nowMs;
    this.lag = this.flushes > 0 ? timestamp - this.prevTimestamp - intervalS : Number.NaN;
    this.prevTimestamp = timestamp;
    this.flushes++;
    this.timestamp = timestamp;
    this.intervalMs = intervalMs;
  }
}

/** Every store's data for the interval stamped by `clock`; `started`: performance.now() at the flush's start. */
export function captureInterval(
  stores: readonly MetricStore[],
  clock: IntervalClock,
  thresholds: readonly Threshold[],
  started: number,
): CapturedInterval {
  const into: CaptureSink = {
    timestamp: clock.timestamp,
    intervalMs: clock.intervalMs,
    thresholds,
    histograms: [],
    reservoirSize: 1,
    counterKeys: NO_KEYS,
    counterCounts: EMPTY_SAMPLES,
    timerKeys: NO_KEYS,
    timerN: EMPTY_SAMPLES,
    timerCount: EMPTY_SAMPLES,
    timerSum: EMPTY_SAMPLES,
    timerSumSquares: EMPTY_SAMPLES,
    timerMin: EMPTY_SAMPLES,
    timerMax: EMPTY_SAMPLES,
    timerRes: [],
    timerRule: new Int32Array(0),
    timerHist: [],
    timerExp: [],
    timerLe: [],
    gaugeKeys: NO_KEYS,
    gaugeValues: EMPTY_SAMPLES,
    gaugeUpdated: new Uint8Array(0),
    setKeys: NO_KEYS,
    setCounts: EMPTY_SAMPLES,
    setMembers: undefined,
    liveCounters: 0,
    liveTimers: 0,
    liveGauges: 0,
    liveSets: 0,
    captureMs: 0,
    others: undefined,
  };
  for (const store of stores) store.capture(into);
  into.captureMs = performance.now() - started;
  return into;
}
