/**
 * A timer's per-slot data: the running aggregates, the reservoir, the `histogram` bins and the le
 * buckets a backend asked for. The exponential histograms of the timers past their reservoir are
 * held beside them, only for those timers ({@link TimerSlots.expLive}): a timer that fits its
 * reservoir costs the per-slot arrays it cost before the histogram (stats, res, histRule, histCounts;
 * pinned by test/unit/aggregator/timer-layout.test.ts). The timer store (./timers.ts) builds its
 * ingest, capture and merge on these arrays.
 */
import type { MetricKey } from '../../parser/types.js';
import type { ExpHistogram } from '../exphist.js';
import { saturate } from '../finite.js';
import { EMPTY_RESERVOIR } from '../reservoir.js';
import { growF64, growI32, INITIAL_SLOTS, SlotIndex } from './slots.js';

/**
 * Offsets of a timer's running aggregates in {@link TimerStore.stats}: one record of T_STRIDE doubles
 * (64 bytes, a cache line) per slot, so a timer value updates one line of one array (measured faster
 * than six arrays in an A/B of two builds: `node dist/bench/ab-sample.bench.js --before <other dist>`).
 */
export const T_N = 0; // values received this interval
export const T_COUNT = 1; // sample-rate weighted count (the original's timer_counters)
export const T_SUM = 2;
export const T_SQ = 3; // sum of squares
export const T_MIN = 4;
export const T_MAX = 5;
/**
 * Past the reservoir this interval: 1 + the index of the timer's histogram in {@link TimerSlots.expLive}
 * (0: none). It and T_EXTRAS live in the record's padding (the line is 8 doubles for 6 aggregates): no
 * per-slot array of their own, and the hot path reads them from the line it already writes.
 */
export const T_EXP = 6;
/** EXTRA_BINS when the slot counts `histogram` bins, EXTRA_LE when it counts le buckets (0: neither; one check per value). */
export const T_EXTRAS = 7;
export const T_STRIDE = 8;

/** Bits of a slot's T_EXTRAS. */
export const EXTRA_BINS = 1;
export const EXTRA_LE = 2;

export class TimerSlots {
  readonly idx = new SlotIndex();
  /** Per-slot aggregates at `slot * T_STRIDE + T_*`. */
  stats: Float64Array = new Float64Array(INITIAL_SLOTS * T_STRIDE);
  /** Per-slot reservoir, grown lazily up to the reservoir size. */
  res: Float64Array[] = [];
  /** Histogram rule index per slot (-1: none), resolved when the key is created. */
  histRule: Int32Array = new Int32Array(INITIAL_SLOTS).fill(-1);
  /** Per-slot bin counts (EMPTY_RESERVOIR when the slot has no rule). */
  histCounts: Float64Array[] = [];
  /**
   * The histograms of the timers past their reservoir this interval, dense (a slot's T_EXP is its
   * index + 1), and the slot each belongs to: sized by the overflowing timers, not by the keys.
   */
  readonly expLive: ExpHistogram[] = [];
  readonly expSlots: number[] = [];
  /**
   * Per slot: upper bounds (v <= bound) a backend wants counted exactly at ingest, and their counts
   * (EMPTY_RESERVOIR or absent: none; the arrays grow only as far as the last slot given bounds, so a
   * timer without costs nothing here).
   */
  leBounds: Float64Array[] = [];
  leCounts: Float64Array[] = [];

  /** A new live slot for `key` with `histogram` rule `rule` (-1: none) of `bins` bins. */
  allocTimer(key: MetricKey, rule: number, bins: number): number {
    const slot = this.idx.alloc(key);
    const cap = this.idx.capacity;
    if (this.histRule.length < cap) {
      this.stats = growF64(this.stats, cap * T_STRIDE);
      this.histRule = growI32(this.histRule, cap, -1);
    }
    while (this.res.length <= slot) {
      this.res.push(EMPTY_RESERVOIR);
      this.histCounts.push(EMPTY_RESERVOIR);
    }
    const o = slot * T_STRIDE;
    this.stats[o + T_EXTRAS] = 0;
    this.stats[o + T_EXP] = 0;
    this.setLe(slot, null);
    this.reset(slot);
    this.res[slot] = EMPTY_RESERVOIR;
    this.setRule(slot, rule, bins);
    return slot;
  }

  setRule(slot: number, rule: number, bins: number): void {
    this.histRule[slot] = rule;
    this.histCounts[slot] = rule >= 0 ? new Float64Array(bins) : EMPTY_RESERVOIR;
    const o = slot * T_STRIDE + T_EXTRAS;
    this.stats[o] = (this.stats[o]! & ~EXTRA_BINS) | (rule >= 0 ? EXTRA_BINS : 0);
  }

  /** Bounds to count exactly at ingest for this slot (null: none); its counts start at 0. */
  setLe(slot: number, bounds: Float64Array | null): void {
    const on = bounds !== null && bounds.length > 0;
    const o = slot * T_STRIDE + T_EXTRAS;
    this.stats[o] = (this.stats[o]! & ~EXTRA_LE) | (on ? EXTRA_LE : 0);
    if (!on) {
      if (slot < this.leBounds.length) {
        this.leBounds[slot] = EMPTY_RESERVOIR;
        this.leCounts[slot] = EMPTY_RESERVOIR;
      }
      return;
    }
    while (this.leBounds.length <= slot) {
      this.leBounds.push(EMPTY_RESERVOIR);
      this.leCounts.push(EMPTY_RESERVOIR);
    }
    this.leBounds[slot] = bounds;
    this.leCounts[slot] = new Float64Array(bounds.length);
  }

  /** Start a new interval for this timer (keeps its reservoir's memory). */
  reset(slot: number): void {
    const o = slot * T_STRIDE;
    const st = this.stats;
    st[o + T_N] = 0;
    st[o + T_COUNT] = 0;
    st[o + T_SUM] = 0;
    st[o + T_SQ] = 0;
    st[o + T_MIN] = Infinity;
    st[o + T_MAX] = -Infinity;
    const h = this.histCounts[slot];
    if (h !== undefined && h.length > 0) h.fill(0);
    const le = this.leCounts[slot];
    if (le !== undefined && le.length > 0) le.fill(0);
  }

  /** A timer's sum or sum of squares overflowed (values near 1e154 and up): saturate both. */
  protected saturateTimer(o: number): void {
    const st = this.stats;
    st[o + T_SUM] = saturate(st[o + T_SUM]!);
    st[o + T_SQ] = saturate(st[o + T_SQ]!);
  }

  /** Primary side: a source's `histogram` bins and le bucket counts of the timer at `slot` (see TimerStore.mergeTimer). */
  mergeExtras(slot: number, hist: Float64Array | null, le: Float64Array | null): void {
    const mine = this.histCounts[slot]!;
    if (hist !== null && this.histRule[slot]! >= 0 && mine.length === hist.length) {
      for (let i = 0; i < hist.length; i++) mine[i]! += hist[i]!;
    }
    if ((this.stats[slot * T_STRIDE + T_EXTRAS]! & EXTRA_LE) !== 0) {
      const into = this.leCounts[slot]!;
      // a source without the same buckets: this interval's counts are not exact (NaN: left out at the capture)
      if (le !== null && le.length === into.length) for (let i = 0; i < le.length; i++) into[i]! += le[i]!;
      else into.fill(Number.NaN);
    }
  }

  /** The histogram of a timer past its reservoir this interval, or null. */
  expOf(slot: number): ExpHistogram | null {
    const e = this.stats[slot * T_STRIDE + T_EXP]!;
    return e === 0 ? null : this.expLive[e - 1]!;
  }

  /** `h` becomes the histogram of `slot` (which has none) for the rest of the interval. */
  attachExp(slot: number, h: ExpHistogram): void {
    this.expLive.push(h);
    this.expSlots.push(slot);
    this.stats[slot * T_STRIDE + T_EXP] = this.expLive.length;
  }

  /** Takes the histogram of `slot` away (null: it had none); the last one moves into its place. */
  detachExp(slot: number): ExpHistogram | null {
    const st = this.stats;
    const o = slot * T_STRIDE + T_EXP;
    const e = st[o]!;
    if (e === 0) return null;
    st[o] = 0;
    const live = this.expLive;
    const h = live[e - 1]!;
    const last = live.length - 1;
    if (e - 1 < last) {
      const moved = this.expSlots[last]!;
      live[e - 1] = live[last]!;
      this.expSlots[e - 1] = moved;
      st[moved * T_STRIDE + T_EXP] = e;
    }
    live.length = last;
    this.expSlots.length = last;
    return h;
  }

  remove(slot: number): number {
    this.reset(slot);
    this.res[slot] = EMPTY_RESERVOIR;
    this.detachExp(slot);
    this.setLe(slot, null);
    this.stats[slot * T_STRIDE + T_EXTRAS] = 0;
    this.histRule[slot] = -1;
    this.histCounts[slot] = EMPTY_RESERVOIR;
    return this.idx.release(slot);
  }
}
