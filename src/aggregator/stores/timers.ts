/**
 * Timers (`ms`, and DogStatsD `h`/`d`): per key, the interval's running aggregates (n, weighted count,
 * sum, sum of squares, min, max), a reservoir of up to reservoirSize values (Algorithm R, or past it
 * the exponential histogram: exphist.ts), the `histogram` bins and a backend's le buckets, both
 * counted exactly at ingest. The per-slot arrays are ./timer-slots.ts; reused arrays ./timer-pools.ts.
 */
import { type MetricKey, MetricType, type Sample } from '../../parser/types.js';
import type { ExpBucketsData, ExpHistogram } from '../exphist.js';
import { addSaturated } from '../finite.js';
import { mergeReservoir, type PartialVisitor } from '../merge.js';
import { binIndex, type CompiledHistogram, compileHistograms, matchHistogram } from '../percentiles.js';
import { growReservoir, reservoirValues } from '../reservoir.js';
import type { Retention } from '../retention.js';
import type { AggregatorSettings } from '../settings.js';
import type { LeCounts } from '../snapshot.js';
import { TimerHistMerges } from './timer-merge.js';
import { TimerPools } from './timer-pools.js';
import { EXTRA_BINS, EXTRA_LE, T_COUNT, T_EXP, T_EXTRAS, T_MAX, T_MIN, T_N, T_SQ, T_STRIDE, T_SUM, TimerSlots } from './timer-slots.js';
import type { CaptureSink, MetricStore, StoreHost } from './types.js';

const EMPTY_SAMPLES = new Float64Array(0);

export class TimerStore extends TimerSlots implements MetricStore {
  readonly type = MetricType.Timer;
  readonly name = 'timers';
  readonly pools: TimerPools;
  /** Histogram parts of merged timers, held until every source is in (primary side). */
  private readonly merges = new TimerHistMerges();
  private histograms: readonly CompiledHistogram[] = [];
  /** The config list `histograms` was compiled from (recompiled only when a reload changes it). */
  private histogramsSource: AggregatorSettings['histogram'] | null = null;
  private reservoirSize = 1;
  private expOn = true;
  private deleteAll = false;
  private readonly random: () => number;
  /**
   * xorshift32 state for Algorithm R when no RNG was injected (never 0 then); 0 when one was (`random`
   * is called). Inline, it is measurably cheaper than a call to Math.random per timer value once a
   * reservoir is full (A/B of two builds, half the keys timers: `node dist/bench/ab-sample.bench.js --before <other dist>`).
   */
  private rngState: number;
  /** Asked by a backend for a timer key: bounds to count exactly at ingest (see setTimerBounds). */
  private timerBoundsFn: ((key: MetricKey) => Float64Array | null) | null = null;
  private timerBoundsPending = false;

  constructor(host: StoreHost, s: AggregatorSettings) {
    super();
    this.random = host.random;
    this.rngState = host.randomInjected ? 0 : (Math.random() * 0x100000000) | 0 || 1;
    this.pools = new TimerPools(s.expMaxBuckets, s.reservoirSize);
  }

  create(key: MetricKey): number {
    const rule = matchHistogram(this.histograms, key.id);
    const slot = this.allocTimer(key, rule, rule >= 0 ? this.histograms[rule]!.bounds.length : 0);
    if (this.timerBoundsFn !== null) this.setLe(slot, this.timerBoundsFn(key));
    // a reservoir handed back by a flush job: with deleteTimers, the timers of the last interval
    // come back without growing 16 → … → size again (~12 µs per timer: timer-pools.ts)
    this.res[slot] = this.pools.reservoir();
    return slot;
  }

  findUnindexed(): number {
    return -1;
  }

  /**
   * A backend's le buckets per timer key (e.g. the Prometheus histograms a mapping asks for, in ms):
   * counted exactly at ingest from the next interval on (every live timer is asked again then).
   */
  setTimerBounds(fn: ((key: MetricKey) => Float64Array | null) | null): void {
    this.timerBoundsFn = fn;
    this.timerBoundsPending = true;
  }

  // ---------------------------------------------------------------- ingest

  add(slot: number, v: number, rate: number): void {
    const st = this.stats;
    const o = slot * T_STRIDE;
    const i = st[o + T_N]!;
    st[o + T_N] = i + 1;
    st[o + T_COUNT]! += 1 / rate;
    const sum = st[o + T_SUM]! + v;
    const sq = st[o + T_SQ]! + v * v;
    st[o + T_SUM] = sum;
    st[o + T_SQ] = sq;
    // saturated at ±MAX_VALUE (finite.ts). Checking the squares is enough: timers are >= 0, and the sum
    // can only overflow through values above 1e154, whose square overflows first
    if (sq - sq !== 0) this.saturateTimer(o);
    if (v < st[o + T_MIN]!) st[o + T_MIN] = v;
    if (v > st[o + T_MAX]!) st[o + T_MAX] = v;
    // Algorithm R (the only copy; reservoir.ts holds its arrays): keep every value while there is room, grow up to the
    // size; past it, pastReservoir(): the histogram, or Algorithm R with it off
    const res = this.res[slot]!;
    if (i < res.length)
      res[i] = v; // (a reservoir's length never exceeds the size)
    else {
      const size = this.reservoirSize;
      if (i < size) {
        const grown = growReservoir(res, i, size);
        grown[i] = v;
        this.res[slot] = grown;
      } else {
        this.pastReservoir(o, slot, res, i, v);
      }
    }
    const extras = st[o + T_EXTRAS]!;
    if (extras !== 0) this.timerExtras(slot, v, extras);
  }

  ingest(slot: number, s: Sample): void {
    this.add(slot, s.value, s.sampleRate);
  }

  /** `histogram` bins and backends' le buckets of a timer value (counted at ingest for every value: exact). */
  private timerExtras(slot: number, v: number, extras: number): void {
    if ((extras & EXTRA_BINS) !== 0) {
      const b = binIndex(this.histograms[this.histRule[slot]!]!.bounds, v);
      if (b >= 0) this.histCounts[slot]![b]!++;
    }
    if ((extras & EXTRA_LE) !== 0) {
      const bounds = this.leBounds[slot]!;
      // the first bound >= v (le: v <= bound)
      let lo = 0;
      let hi = bounds.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= bounds[mid]!) hi = mid;
        else lo = mid + 1;
      }
      if (lo < bounds.length) this.leCounts[slot]![lo]!++;
    }
  }

  /** A value past the reservoir (value number i + 1 > size): into the histogram, or Algorithm R with it off. */
  private pastReservoir(o: number, slot: number, res: Float64Array, i: number, v: number): void {
    const e = this.stats[o + T_EXP]!;
    if (e !== 0) {
      // every value into the exponential histogram (no sampling)
      this.expLive[e - 1]!.add(v);
    } else if (this.expOn) {
      this.handOff(slot, res, v);
    } else {
      // Algorithm R: replace a random value with probability size / (i + 1)
      let j: number;
      let x = this.rngState;
      if (x !== 0) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        this.rngState = x;
        j = Math.floor(((x >>> 0) / 4294967296) * (i + 1));
      } else {
        j = Math.floor(this.random() * (i + 1));
      }
      if (j < this.reservoirSize) res[j] = v;
    }
  }

  /**
   * The first value past the reservoir (value number size + 1 of the interval): the timer's
   * histogram from the pool, the values held first, then `v`. From here on every value goes there.
   */
  private handOff(slot: number, res: Float64Array, v: number): void {
    const h = this.pools.acquireExp();
    const o = slot * T_STRIDE;
    h.reserve(this.stats[o + T_MIN]!, this.stats[o + T_MAX]!);
    const m = Math.min(res.length, this.reservoirSize, this.stats[o + T_N]! - 1);
    for (let j = 0; j < m; j++) h.add(res[j]!);
    h.add(v);
    this.attachExp(slot, h);
  }

  isActive(slot: number): boolean {
    return this.stats[slot * T_STRIDE + T_N]! > 0;
  }

  liveValue(slot: number): number {
    return this.stats[slot * T_STRIDE + T_N]!;
  }

  /** The interval's values so far (the admin `timers` dump). */
  values(slot: number): number[] {
    return Array.from(reservoirValues(this.res[slot]!, this.stats[slot * T_STRIDE + T_N]!, this.reservoirSize));
  }

  // ---------------------------------------------------------------- settings

  configure(s: AggregatorSettings): void {
    this.deleteAll = s.deleteTimers;
  }

  configureAfterClear(s: AggregatorSettings): void {
    const size = s.reservoirSize;
    if (size < this.reservoirSize) {
      for (let x = this.idx.head; x >= 0; x = this.idx.next[x]!) {
        const res = this.res[x]!;
        if (res.length > size) this.res[x] = res.slice(0, size);
      }
    }
    this.reservoirSize = size;
    this.pools.reservoirSize = size;
    this.expOn = s.expOn;
    this.pools.setExpMaxBuckets(s.expMaxBuckets);
    if (s.histogram !== this.histogramsSource) {
      this.histograms = compileHistograms(s.histogram);
      this.histogramsSource = s.histogram;
      for (let x = this.idx.head; x >= 0; x = this.idx.next[x]!) {
        const rule = matchHistogram(this.histograms, this.idx.keys[x]!.id);
        this.setRule(x, rule, rule >= 0 ? this.histograms[rule]!.bounds.length : 0);
      }
    }
  }

  /** After every clear: the bounds a backend asked for since, for every live timer. */
  afterClear(): void {
    if (!this.timerBoundsPending) return;
    this.timerBoundsPending = false;
    const fn = this.timerBoundsFn;
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) this.setLe(s, fn === null ? null : fn(this.idx.keys[s]!));
  }

  // ---------------------------------------------------------------- flush

  /** Values copied, each active timer's reservoir swapped for a pooled one, keys copied, in insertion order. */
  capture(into: CaptureSink): void {
    this.finishMerge();
    const ti = this.idx;
    const nt = ti.size;
    const pools = this.pools;
    pools.boundReservoirs(nt);
    const keys = new Array<MetricKey>(nt);
    const timerN = new Float64Array(nt);
    const count = new Float64Array(nt);
    const sum = new Float64Array(nt);
    const sumSquares = new Float64Array(nt);
    const min = new Float64Array(nt);
    const max = new Float64Array(nt);
    const res = new Array<Float64Array>(nt);
    const ruleOf = new Int32Array(nt);
    const hist = new Array<Float64Array | null>(nt);
    const exp = new Array<ExpHistogram | null>(nt);
    const le = new Array<LeCounts | null>(nt);
    let overflowed = 0;
    // a timer deleted at this clear needs no fresh reservoir (remove() gives it the empty one)
    const refill = !this.deleteAll;
    let k = 0;
    const ts = this.stats;
    for (let s = ti.head; s >= 0; s = ti.next[s]!) {
      const o = s * T_STRIDE;
      const n = ts[o + T_N]!;
      keys[k] = ti.keys[s]!;
      timerN[k] = n;
      count[k] = ts[o + T_COUNT]!;
      sum[k] = ts[o + T_SUM]!;
      sumSquares[k] = ts[o + T_SQ]!;
      min[k] = ts[o + T_MIN]!;
      max[k] = ts[o + T_MAX]!;
      const rule = this.histRule[s]!;
      ruleOf[k] = rule;
      const h = this.detachExp(s);
      exp[k] = h;
      if (h !== null) overflowed++;
      if (n > 0) {
        res[k] = this.res[s]!;
        if (refill) this.res[s] = pools.reservoir();
        hist[k] = rule >= 0 ? this.histCounts[s]!.slice() : null;
        const lc = (ts[o + T_EXTRAS]! & EXTRA_LE) !== 0 ? this.leCounts[s]! : null;
        le[k] = lc !== null && !Number.isNaN(lc[0]) ? { bounds: this.leBounds[s]!, counts: lc.slice() } : null;
      } else {
        res[k] = EMPTY_SAMPLES;
        hist[k] = null;
        le[k] = null;
      }
      k++;
    }
    // (the pool holds at most as many histograms as timers overflowed in the last interval)
    pools.boundHistograms(overflowed);
    into.histograms = this.histograms;
    into.reservoirSize = this.reservoirSize;
    into.timerKeys = keys;
    into.timerN = timerN;
    into.timerCount = count;
    into.timerSum = sum;
    into.timerSumSquares = sumSquares;
    into.timerMin = min;
    into.timerMax = max;
    into.timerRes = res;
    into.timerRule = ruleOf;
    into.timerHist = hist;
    into.timerExp = exp;
    into.timerLe = le;
    into.liveTimers = nt;
  }

  clear(r: Retention): number {
    let stale = 0;
    const del = r.deletesAll(this.type);
    const ttl = r.idleKeyTtl;
    const st = this.stats;
    for (let s = this.idx.head; s >= 0; ) {
      const next = this.idx.next[s]!;
      if (del) stale += this.remove(s);
      else if (ttl > 0 && r.expired(this.type, s, st[s * T_STRIDE + T_N]! > 0 || st[s * T_STRIDE + T_COUNT] !== 0)) stale += this.remove(s);
      else this.reset(s);
      s = next;
    }
    return stale;
  }

  // ---------------------------------------------------------------- partials (workers)

  exportTo(out: PartialVisitor): void {
    this.finishMerge();
    const st = this.stats;
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      const o = s * T_STRIDE;
      const n = st[o + T_N]!;
      if (n === 0 && st[o + T_COUNT] === 0) continue;
      const hist = this.histRule[s]! >= 0 ? this.histCounts[s]! : null;
      // past the reservoir: the histogram instead of the values (a reservoir still exact goes as values)
      const h = this.detachExp(s);
      let exp: ExpBucketsData | null = null;
      if (h !== null) {
        h.trim();
        exp = h.data();
        this.pools.releaseExp(h);
      }
      out.timer(
        this.idx.keys[s]!,
        st[o + T_COUNT]!,
        n,
        st[o + T_SUM]!,
        st[o + T_SQ]!,
        st[o + T_MIN]!,
        st[o + T_MAX]!,
        exp !== null ? EMPTY_SAMPLES : reservoirValues(this.res[s]!, n, this.reservoirSize),
        hist,
        exp,
        (st[o + T_EXTRAS]! & EXTRA_LE) !== 0 ? this.leCounts[s]! : null,
      );
    }
  }

  /** Primary side: one source's interval of the timer at `slot` (see PartialVisitor.timer). */
  mergeTimer(
    slot: number,
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
    const st = this.stats;
    const o = slot * T_STRIDE;
    const n0 = st[o + T_N]!;
    st[o + T_N] = n0 + n;
    st[o + T_COUNT]! += count;
    st[o + T_SUM] = addSaturated(st[o + T_SUM]!, sum);
    st[o + T_SQ] = addSaturated(st[o + T_SQ]!, sumSquares);
    if (min < st[o + T_MIN]!) st[o + T_MIN] = min;
    if (max > st[o + T_MAX]!) st[o + T_MAX] = max;
    let h = this.expOf(slot);
    if (h === null && (exp !== null || (this.expOn && n0 + n > this.reservoirSize))) {
      // the merged interval outgrows the reservoir (or a source's did): into a histogram, this side's values first
      h = this.pools.acquireExp();
      this.attachExp(slot, h);
      this.merges.values(slot, h, reservoirValues(this.res[slot]!, n0, this.reservoirSize));
    }
    if (h !== null) {
      // (added once every source is in: finishMerge)
      this.merges.values(slot, h, samples);
      if (exp !== null) this.merges.exp(slot, h, exp);
    } else {
      this.res[slot] = mergeReservoir(this.res[slot]!, n0, samples, n, this.reservoirSize, this.random);
    }
    this.mergeExtras(slot, hist, le);
  }

  /** Primary side, once every source's partial is merged: the histograms' parts added (timer-merge.ts). */
  finishMerge(): void {
    this.merges.finish((slot) => this.expOf(slot));
  }

  /** (timers cross the wire field by field: see mergeTimer) */
  merge(): void {}
}
