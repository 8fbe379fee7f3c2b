/**
 * Merging per-worker partial aggregates into one aggregator (multi-core ingest, src/cluster).
 *
 * A worker hands over one interval of raw aggregates (see {@link PartialVisitor}); the primary
 * merges every worker's partial into its own {@link Aggregator} and flushes as usual:
 * - counters, timer count/n/sum/sumSquares, histogram bins and the own counters are summed;
 *   timer min/max are the min/max; set members are united;
 * - timer reservoirs are united as values while the interval's values fit the reservoir; beyond,
 *   (or when a worker sends its exponential histogram) every value goes into one histogram: the
 *   values first, then each worker's histogram, merged bucket by bucket at the lower scale (exact),
 *   once every source is in (the histogram is then sized once for the whole range: stores/timer-merge.ts);
 *   with the histogram off (timerHistogram: false), by weighted sampling ({@link mergeReservoir});
 * - gauges: a worker that saw a set sends the value after its set and the deltas that followed;
 *   one that saw only deltas sends their sum. {@link mergePartials} applies every worker's sets
 *   first and the delta sums after them, so a client's `set` then `deltas` (one client: one
 *   worker) give what one process gives. Not ordered: a set and a delta for one gauge arriving
 *   on different workers (the delta is applied after the set whatever the arrival order).
 */

import { graphiteTagSuffix } from '../parser/canonical.js';
import type { MetricKey, Tag } from '../parser/types.js';
import type { Aggregator } from './aggregator.js';
import type { ExpBucketsData } from './exphist.js';

/** What a worker's aggregator emits for one interval (implemented by the wire encoder). */
export interface PartialVisitor {
  /** Running totals since the worker started (the merger turns them into per-interval deltas). */
  own(badLines: number, packets: number, lines: number, lastMsg: number, byReason: Float64Array): void;
  counter(key: MetricKey, value: number): void;
  /**
   * `samples`: the worker's reservoir (min(n, reservoirSize) values; empty when `exp` is set);
   * `hist`: bin counts or null; `exp`: the exponential histogram of every value when the worker's
   * reservoir overflowed, else null; `le`: exact counts of the le buckets a backend asked for
   * (Aggregator.setTimerBounds), or null.
   */
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
  ): void;
  /** isSet: the value after this interval's last set (and the deltas that followed it); else a delta sum. */
  gauge(key: MetricKey, value: number, isSet: boolean): void;
  set(key: MetricKey, members: Iterable<string>): void;
  /** A key of a metric type beyond the core four: what its store's exportTo gives (its store's merge reads it). */
  other?(type: number, key: MetricKey, data: Float64Array): void;
  /**
   * Lines a key received while the status page's sample window was open (Aggregator.exportStatusHits):
   * only while a page is open, after the key's data in the same partial.
   */
  hits?(type: number, key: MetricKey, lines: number): void;
}

/**
 * Unite two uniform reservoirs: `a` holds min(nA, size) values standing for nA values, `b` holds
 * b.length = min(nB, size) values standing for nB. Returns a reservoir of min(nA + nB, size) values:
 * all of them when they fit, else a sample that stands uniformly for the nA + nB values: each
 * side's share follows the hypergeometric law of the populations (each kept element of a side
 * stands for n/m values of it), the elements of a side are drawn uniformly from its sample.
 * `a` and `b` may be overwritten; the result may be `a` (grown copies are returned otherwise).
 */
export function mergeReservoir(a: Float64Array, nA: number, b: Float64Array, nB: number, size: number, random: () => number): Float64Array {
  const mB = b.length;
  if (mB === 0 || nB === 0) return a;
  const mA = Math.min(nA, size);
  if (nA + nB <= size) {
    const total = mA + mB;
    if (a.length >= total) {
      a.set(b, mA);
      return a;
    }
    let cap = 16;
    while (cap < total) cap *= 2;
    if (cap > size) cap = size;
    const grown = new Float64Array(cap);
    grown.set(a.subarray(0, mA));
    grown.set(b, mA);
    return grown;
  }
  const out = new Float64Array(size);
  if (mA === 0) {
    // nothing on one side: a uniform subsample of b
    let rem = mB;
    for (let i = 0; i < size; i++) {
      const j = Math.floor(random() * rem);
      out[i] = b[j]!;
      b[j] = b[--rem]!;
    }
    return out;
  }
  // How many of the `size` draws come from A is hypergeometric (a uniform sample of the nA + nB
  // values): draw it value by value from the populations left, then take that many uniformly from
  // each side's sample (always enough: mA = min(nA, size) and A gives at most min(nA, size)).
  let popA = nA;
  let popB = nB;
  let remA = mA;
  let remB = mB;
  for (let i = 0; i < size; i++) {
    if (remB === 0 || (remA > 0 && random() * (popA + popB) < popA)) {
      const j = Math.floor(random() * remA);
      out[i] = a[j]!;
      a[j] = a[--remA]!;
      popA--;
    } else {
      const j = Math.floor(random() * remB);
      out[i] = b[j]!;
      b[j] = b[--remB]!;
      popB--;
    }
  }
  return out;
}

/** A MetricKey rebuilt from its name and sorted tags (the same shape canonicalKey returns). */
export function makeKey(name: string, tags: readonly Tag[]): MetricKey {
  const graphiteTags = graphiteTagSuffix(tags);
  return Object.freeze({
    name,
    tags: Object.freeze(tags.map((t) => Object.freeze([t[0], t[1]] as const))),
    graphiteTags,
    id: name + graphiteTags,
  });
}

/** One gauge delta held back until every source's sets are applied. */
interface PendingDelta {
  key: MetricKey;
  value: number;
}

/**
 * Per-source state on the merging side: the running totals last seen (to turn the worker's totals
 * into per-interval figures). One per worker; replaced when a worker is replaced.
 */
export class SourceTotals {
  badLines = 0;
  packets = 0;
  lines = 0;
  byReason: Float64Array = new Float64Array(0);
}

/**
 * A PartialVisitor that merges straight into an aggregator, except gauge deltas, which it keeps
 * for {@link GaugeDeltaQueue.apply} once every source's sets are in.
 */
export class AggregatorMerger implements PartialVisitor {
  private totals: SourceTotals = new SourceTotals();
  private readonly deltas: PendingDelta[] = [];

  constructor(private readonly agg: Aggregator) {}

  /** The source whose partial is merged next. */
  forSource(totals: SourceTotals): this {
    this.totals = totals;
    return this;
  }

  own(badLines: number, packets: number, lines: number, lastMsg: number, byReason: Float64Array): void {
    const t = this.totals;
    const reasons = new Float64Array(byReason.length);
    for (let i = 0; i < byReason.length; i++) reasons[i] = byReason[i]! - (t.byReason[i] ?? 0);
    this.agg.mergeOwn(badLines - t.badLines, packets - t.packets, lines - t.lines, lastMsg, reasons);
    t.badLines = badLines;
    t.packets = packets;
    t.lines = lines;
    t.byReason = byReason.slice();
  }

  counter(key: MetricKey, value: number): void {
    this.agg.mergeCounter(key, value);
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
    this.agg.mergeTimer(key, count, n, sum, sumSquares, min, max, samples, hist, exp, le);
  }

  gauge(key: MetricKey, value: number, isSet: boolean): void {
    if (isSet) this.agg.mergeGauge(key, value, true);
    else this.deltas.push({ key, value });
  }

  set(key: MetricKey, members: Iterable<string>): void {
    this.agg.mergeSet(key, members);
  }

  other(type: number, key: MetricKey, data: Float64Array): void {
    this.agg.mergeOther(type, key, data);
  }

  hits(type: number, key: MetricKey, lines: number): void {
    this.agg.mergeStatusHits(type, key, lines);
  }

  /**
   * Apply the gauge deltas held back (after every source's sets), in arrival order, and the timers'
   * histogram parts (each histogram sized once for its whole range: stores/timer-merge.ts).
   */
  finish(): void {
    for (const d of this.deltas) this.agg.mergeGauge(d.key, d.value, false);
    this.deltas.length = 0;
    this.agg.finishMerge();
  }
}

/**
 * Merge several sources' partials into `agg`: `feed(visitor)` replays one source's partial into
 * the visitor it is given (a decoder, or a worker aggregator's export in tests). Sets of gauges
 * from every source go first, then the gauge deltas.
 */
export function mergePartials(agg: Aggregator, sources: ReadonlyArray<{ totals: SourceTotals; feed: (v: PartialVisitor) => void }>): void {
  const merger = new AggregatorMerger(agg);
  for (const s of sources) s.feed(merger.forSource(s.totals));
  merger.finish();
}
