/**
 * The Prometheus backend's state: metric families and their series, updated from each flush's
 * snapshot, kept cumulative where Prometheus wants it (counters, summary/histogram `_sum`, `_count`
 * and buckets), expired after their TTL. Totals saturate at ±Number.MAX_VALUE (finite input never
 * shows as ±Inf). A reload re-maps keys ({@link SeriesStore.reconfigure}) without resetting series.
 *
 * A statsd key is resolved once (mapping, naming, labels, conflicts) into a {@link Binding}, cached
 * per type by the key's canonical id; later flushes cost one Map lookup per key.
 *
 * The families and series themselves are ./family.ts; how a flush's timers become summary quantiles
 * and histogram buckets is ./observe.ts; names and labels are ./naming.ts.
 */
import type { GaugeStat, SetStat, Snapshot, TimerStat } from '../../aggregator/snapshot.js';
import { type MetricKey, MetricType } from '../../parser/types.js';
import { nextTurn, type YieldToIngest } from '../../pipeline/scheduler.js';
import { Binding, type StoreStats, statsdTypeName } from './binding.js';
import { addSat, clampFinite, DEFAULT_SLICE_MS, DEFAULT_TTL_MS, Family, type PromKind, Series, sameNumbers } from './family.js';
import { buildLabels, labelBody } from './naming.js';
import { observe, QuantileScratch } from './observe.js';
import { type OtherKind, PROMETHEUS_TYPES } from './other-types.js';
import { type ConflictReason, defineKey, type StoreOptions, timerBucketsFor } from './resolve.js';

export type { StoreStats } from './binding.js';
// the model and its defaults, for the backend and the tests that import them from here
export {
  addSat,
  clampFinite,
  DEFAULT_BUCKETS,
  DEFAULT_HELP,
  DEFAULT_QUANTILES,
  DEFAULT_SLICE_MS,
  DEFAULT_TTL_MS,
  Family,
  type PromKind,
  Series,
} from './family.js';
export { buildLabels } from './naming.js';
export type { ConflictInfo, ConflictReason, StoreOptions } from './resolve.js';

export class SeriesStore {
  readonly families = new Map<string, Family>();
  /** Every sample name in use → its family (null: reserved for tallyd's own metrics). */
  private readonly claimed = new Map<string, Family | null>();
  private readonly bindings: Map<string, Binding>[] = [new Map(), new Map(), new Map(), new Map()];
  /** Flush generation. */
  gen = 0;
  /** Configuration epoch: bumped by {@link reconfigure}; families are re-checked on first use after it. */
  private epoch = 0;
  /** Bumped when a family is removed: conflict bindings are retried. */
  private familyGen = 0;
  private readonly touched: Series[] = [];
  private readonly kindCounts = { counter: 0, gauge: 0, summary: 0, histogram: 0 };
  expired = 0;
  conflicts = 0;
  /** Families replaced after a reload changed their definition (type, or a histogram's buckets). */
  redefined = 0;
  negativeCounters = 0;
  /** Bumped on every change that affects the exposition (for render caching). */
  version = 0;
  private readonly scratch = new QuantileScratch();

  constructor(private opts: StoreOptions) {
    for (const n of opts.reservedNames ?? []) this.claimed.set(n, null);
  }

  /**
   * New settings (a reload): every key is resolved again on its next flush, with the new mapping.
   * Nothing is reset here: a family keeps its series and their cumulative values when a key resolves
   * to it again with the same type (and, for histograms, the same buckets); a family whose definition
   * changed is replaced when a key first claims its name with the new one. Families no key resolves
   * to any more keep their last values until their TTL, as series that are no longer sent.
   * Call between flushes (not during {@link applyAsync}).
   */
  reconfigure(opts: StoreOptions): void {
    this.opts = opts;
    this.epoch++;
    for (const m of this.bindings) m?.clear(); // (an other type's map sits at its type byte: maybe after holes)
    this.version++;
  }

  /** Reserve more names (e.g. a self-metric registered later). */
  reserve(name: string): void {
    if (!this.claimed.has(name)) this.claimed.set(name, null);
  }

  stats(): StoreStats {
    return {
      series: { ...this.kindCounts },
      families: this.families.size,
      expired: this.expired,
      conflicts: this.conflicts,
      redefined: this.redefined,
      negativeCounters: this.negativeCounters,
    };
  }

  /** Fold one flush into the state, then expire series idle for their TTL. Never mutates the snapshot. */
  apply(snapshot: Snapshot, nowMs: number): void {
    this.gen++;
    this.version++;
    const counters = snapshot.counters;
    for (let i = 0; i < counters.length; i++) this.applyCounter(counters.keys[i]!, counters.counts[i]!, nowMs);
    const gauges = snapshot.gauges;
    for (let i = 0; i < gauges.length; i++) this.applyGauge(gauges[i]!, nowMs);
    const sets = snapshot.sets;
    for (let i = 0; i < sets.length; i++) this.applySet(sets[i]!, nowMs);
    const timers = snapshot.timers;
    for (let i = 0; i < timers.length; i++) this.applyTimer(timers[i]!, nowMs);
    if (PROMETHEUS_TYPES.length > 0) for (const _ of this.applyOthers(snapshot, nowMs));
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) observe(touched[i]!, this.gen, this.scratch);
    touched.length = 0;
    this.expire(nowMs);
  }

  /**
   * As {@link apply}, in slices of about `sliceMs` that yield to the event loop in between (a flush of
   * a million keys never holds ingest for long). One at a time: the caller awaits one before the next.
   * The exposition version is bumped again at the end, so a render made mid-way is not kept.
   */
  async applyAsync(
    snapshot: Snapshot,
    nowMs: number,
    yieldFn: YieldToIngest = nextTurn,
    sliceMs: number = DEFAULT_SLICE_MS,
  ): Promise<void> {
    this.gen++;
    this.version++;
    let deadline = performance.now() + sliceMs;
    const due = (): boolean => performance.now() >= deadline;
    const pause = async (): Promise<void> => {
      await yieldFn();
      deadline = performance.now() + sliceMs;
    };
    const counters = snapshot.counters;
    for (let i = 0; i < counters.length; i++) {
      this.applyCounter(counters.keys[i]!, counters.counts[i]!, nowMs);
      if ((i & 255) === 255 && due()) await pause();
    }
    const gauges = snapshot.gauges;
    for (let i = 0; i < gauges.length; i++) {
      this.applyGauge(gauges[i]!, nowMs);
      if ((i & 255) === 255 && due()) await pause();
    }
    const sets = snapshot.sets;
    for (let i = 0; i < sets.length; i++) {
      this.applySet(sets[i]!, nowMs);
      if ((i & 255) === 255 && due()) await pause();
    }
    const timers = snapshot.timers;
    for (let i = 0; i < timers.length; i++) {
      this.applyTimer(timers[i]!, nowMs);
      if ((i & 255) === 255 && due()) await pause();
    }
    if (PROMETHEUS_TYPES.length > 0) for (const _ of this.applyOthers(snapshot, nowMs)) if (due()) await pause();
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      observe(touched[i]!, this.gen, this.scratch);
      // a series folds up to a reservoir of values: check the clock more often
      if ((i & 15) === 15 && due()) await pause();
    }
    touched.length = 0;
    for (const _ of this.expireSteps(nowMs)) if (due()) await pause();
    this.version++;
  }

  private applyCounter(key: MetricKey, count: number, nowMs: number): void {
    const b = this.bind(MetricType.Counter, key, nowMs);
    const s = b.series;
    if (s === null || count === 0) return;
    if (count < 0) {
      // Prometheus counters only go up (statsd_exporter drops these too).
      this.negativeCounters++;
      return;
    }
    s.value = addSat(s.value, count);
    s.lastUpdateMs = nowMs;
  }

  private applyGauge(g: GaugeStat, nowMs: number): void {
    const b = this.bind(MetricType.Gauge, g.key, nowMs);
    const s = b.series;
    if (s === null) return;
    // The snapshot repeats idle gauges; `updated` says whether a line set it this interval (a gauge
    // re-sent with the same value is live; one only repeated by the aggregator ages).
    if (g.updated) s.lastUpdateMs = nowMs;
    s.value = clampFinite(g.value);
  }

  private applySet(st: SetStat, nowMs: number): void {
    const b = this.bind(MetricType.Set, st.key, nowMs);
    const s = b.series;
    if (s === null) return;
    // Several keys can map to one series: their counts add up within a flush.
    s.value = s.gen === this.gen ? s.value + st.count : st.count;
    s.gen = this.gen;
    if (st.count > 0) s.lastUpdateMs = nowMs;
  }

  private applyTimer(t: TimerStat, nowMs: number): void {
    if (t.n === 0) return; // idle this interval
    const b = this.bind(MetricType.Timer, t.key, nowMs);
    const s = b.series;
    if (s === null) return;
    if (s.pending.length === 0) this.touched.push(s);
    s.pending.push(t);
    s.pendingScale.push(b.scale);
    s.lastUpdateMs = nowMs;
  }

  /** The stats of the registered other types (./other-types.ts), pausing (yield) every 256. */
  private *applyOthers(snapshot: Snapshot, nowMs: number): Generator<void, void, void> {
    const others = snapshot.others;
    if (others === undefined) return;
    for (const t of PROMETHEUS_TYPES) {
      const stats = others.get(t.store);
      if (stats === undefined) continue;
      this.bindings[t.type] ??= new Map();
      for (let i = 0; i < stats.length; i++) {
        this.applyOther(t.type, t.kind, t.key(stats[i]), t.value(stats[i]), nowMs);
        if ((i & 255) === 255) yield;
      }
    }
  }

  private applyOther(type: number, kind: OtherKind, key: MetricKey, v: number, nowMs: number): void {
    const s = this.bind(type as MetricType, key, nowMs).series;
    if (s === null) return;
    if (kind === 'gauge') {
      s.value = clampFinite(v);
      s.lastUpdateMs = nowMs;
    } else if (v < 0) {
      this.negativeCounters++;
    } else if (v > 0) {
      s.value = addSat(s.value, v);
      s.lastUpdateMs = nowMs;
    }
  }

  /**
   * For the aggregator (Aggregator.setTimerBounds): the le bounds, in the timer's ms, of the histogram
   * series a timer key feeds, to be counted exactly at ingest; null when it feeds no histogram.
   */
  timerBounds(key: MetricKey): Float64Array | null {
    const o = this.opts;
    if (o.skipKeys?.has(key.id)) return null;
    // a key seen before (e.g. re-created every interval under deleteTimers): its binding, no mapping run
    const bound = this.bindings[MetricType.Timer]!.get(key.id);
    if (bound !== undefined && bound.series !== null && !bound.series.removed) {
      const f = bound.series.family;
      return f.kind === 'histogram' ? Float64Array.from(f.buckets, (b) => b / bound.scale) : null;
    }
    return timerBucketsFor(o, key);
  }

  /** Resolve (or fetch) what a statsd key feeds. */
  private bind(type: MetricType, key: MetricKey, nowMs: number): Binding {
    const map = this.bindings[type]!;
    const b = map.get(key.id);
    if (b !== undefined) {
      const s = b.series;
      if (s === null ? b.conflictGen < 0 || b.conflictGen === this.familyGen : !s.removed) {
        b.lastSeenMs = nowMs;
        return b;
      }
    }
    const nb = this.resolve(type, key, nowMs);
    map.set(key.id, nb);
    return nb;
  }

  private resolve(type: MetricType, key: MetricKey, nowMs: number): Binding {
    const d = defineKey(this.opts, type, key);
    if (d === null) return new Binding(null, -1, 1, nowMs);
    const { promKind, ttlMs, scale } = d;
    const family = this.family(d.name, promKind, type, d.help, d.quantiles, d.buckets, key);
    if (family === null) return new Binding(null, this.familyGen, scale, nowMs);

    const body = labelBody(buildLabels(key, d.labels, d.honorLabels, promKind));
    let s = family.series.get(body);
    if (s === undefined) {
      s = new Series(family, body, ttlMs, nowMs);
      family.series.set(body, s);
      this.kindCounts[promKind]++;
    } else {
      s.ttlMs = ttlMs; // a reload may have changed the mapping's ttl
    }
    return new Binding(s, -1, scale, nowMs);
  }

  /** The family for a name, created if free; null (counted, reported) when the name conflicts. */
  private family(
    name: string,
    kind: PromKind,
    statsdType: MetricType,
    help: string,
    quantiles: readonly number[],
    buckets: readonly number[],
    key: MetricKey,
  ): Family | null {
    const existing = this.families.get(name);
    if (existing !== undefined) {
      const same = existing.kind === kind && existing.statsdType === statsdType;
      if (existing.epoch === this.epoch) {
        if (same) return existing;
        return this.conflict(name, key, statsdType, 'type', `${existing.kind} ${existing.name}`);
      }
      // First use since a reload: kept (cumulative values and all) unless its definition changed.
      if (same && (kind !== 'histogram' || sameNumbers(existing.buckets, buckets))) {
        existing.epoch = this.epoch;
        existing.redefine(help, quantiles);
        this.version++;
        return existing;
      }
      this.removeFamily(existing);
      this.redefined++;
    }
    const prefix = this.opts.reservedPrefix;
    if (prefix !== undefined && prefix !== '' && name.startsWith(prefix))
      return this.conflict(name, key, statsdType, 'reserved', `prefix ${prefix}`);
    const names = Family.namesFor(name, kind);
    for (const n of names) {
      if (!this.claimed.has(n)) continue;
      const holder = this.claimed.get(n);
      return holder === null || holder === undefined
        ? this.conflict(name, key, statsdType, 'reserved', n)
        : this.conflict(name, key, statsdType, 'name_collision', `${holder.kind} ${holder.name}`);
    }
    const f = new Family(name, kind, statsdType, help, quantiles, buckets, this.epoch);
    this.families.set(name, f);
    for (const n of names) this.claimed.set(n, f);
    return f;
  }

  private conflict(name: string, key: MetricKey, statsdType: MetricType, reason: ConflictReason, holder: string): null {
    this.conflicts++;
    this.opts.onConflict?.({ name, key: key.id, statsdType: statsdTypeName(statsdType), reason, holder });
    return null;
  }

  /** Remove a family whose definition a reload changed (its series go with it). */
  private removeFamily(f: Family): void {
    for (const s of f.series.values()) {
      s.removed = true;
      this.kindCounts[f.kind]--;
    }
    f.series.clear();
    this.families.delete(f.name);
    for (const n of Family.namesFor(f.name, f.kind)) if (this.claimed.get(n) === f) this.claimed.delete(n);
    this.familyGen++;
    this.version++;
  }

  /** Remove series idle for their TTL, families left empty, and bindings nobody uses. */
  expire(nowMs: number): void {
    const steps = this.expireSteps(nowMs);
    while (!steps.next().done);
  }

  /** expire(), pausing (yield) every 256 series or bindings visited (Map iteration survives deletes). */
  private *expireSteps(nowMs: number): Generator<void, void, void> {
    let removedFamily = false;
    let visited = 0;
    for (const f of this.families.values()) {
      for (const s of f.series.values()) {
        if ((++visited & 255) === 0) yield;
        if (s.ttlMs > 0 && nowMs - s.lastUpdateMs >= s.ttlMs) {
          s.removed = true;
          f.series.delete(s.labels);
          this.kindCounts[f.kind]--;
          this.expired++;
          this.version++;
        }
      }
      if (f.series.size === 0) {
        this.families.delete(f.name);
        for (const n of Family.namesFor(f.name, f.kind)) if (this.claimed.get(n) === f) this.claimed.delete(n);
        removedFamily = true;
      }
    }
    if (removedFamily) this.familyGen++;
    // Bindings: drop those whose series went away, and dropped/conflicting keys not seen for a while.
    const idle = this.opts.ttlMs > 0 ? this.opts.ttlMs : DEFAULT_TTL_MS;
    if (this.gen % 16 !== 0 && !removedFamily) return; // a full sweep every 16 flushes is plenty
    for (const map of this.bindings) {
      if (map === undefined) continue;
      for (const [id, b] of map) {
        if ((++visited & 255) === 0) yield;
        if (b.series !== null ? b.series.removed : nowMs - b.lastSeenMs >= idle) map.delete(id);
      }
    }
  }
}
