/**
 * A fifth metric type, whole, as a type's module would be in src/: a small "max" type (the largest
 * value of the interval per key, lines `key:value|mx`). It is its store (below) and its registrations,
 * made by {@link registerMaxType}: three for the store, the parser and Graphite, and one for Prometheus:
 *
 *   registerMetricStore(MAX_TYPE, () => new MaxStore());                           // src/aggregator/stores.ts
 *   registerTypeSuffix('mx', MAX_TYPE);                                             // src/parser/typetable.ts
 *   registerGraphiteType<MaxStat>('max', (m, out) => out.line(m.key, '', m.max));   // src/backends/graphite/other-types.ts
 *   registerPrometheusType<MaxStat>('max', MAX_TYPE, 'gauge', (m) => m.key, (m) => m.max); // src/backends/prometheus/other-types.ts
 *
 * Nothing else in src/ knows of it: the key index, the retention, the capture, the workers' partials
 * and the backends handle it through those registrations. Its Graphite lines are `stats.max.KEY value ts`
 * (legacy namespace; `[globalPrefix.]max.KEY` in the new one); in Prometheus it is a gauge named as a
 * statsd gauge of the same key would be.
 * Tests: test/unit/aggregator/fake-type.test.ts (store and parser), test/unit/backends/graphite-other-types.test.ts
 * (formatter), test/unit/backends/prometheus/other-types.test.ts (series store), and
 * test/integration/fake-type.test.ts (a spawned daemon loading ./preload.ts with --import).
 */
import type { PartialVisitor } from '../../src/aggregator/merge.js';
import type { Retention } from '../../src/aggregator/retention.js';
import { type CaptureSink, type MetricStore, registerMetricStore, SlotIndex } from '../../src/aggregator/stores.js';
import { registerGraphiteType } from '../../src/backends/graphite/other-types.js';
import { registerPrometheusType } from '../../src/backends/prometheus/other-types.js';
import type { MetricKey, Sample } from '../../src/parser/types.js';
import { registerTypeSuffix } from '../../src/parser/typetable.js';

/** Its type byte: the next after the core four. */
export const MAX_TYPE = 4;

/** One key's figure for the interval, as captured into the snapshot's `others` under 'max'. */
export interface MaxStat {
  readonly key: MetricKey;
  readonly max: number;
}

/** The largest value per key this interval (-Infinity: none yet). */
export class MaxStore implements MetricStore {
  readonly type = MAX_TYPE;
  readonly name = 'max';
  readonly idx = new SlotIndex();
  values: number[] = [];

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    this.values[slot] = -Infinity;
    return slot;
  }
  remove(slot: number): number {
    this.values[slot] = -Infinity;
    return this.idx.release(slot);
  }
  findUnindexed(): number {
    return -1;
  }
  ingest(slot: number, s: Sample): void {
    if (s.value > this.values[slot]!) this.values[slot] = s.value;
  }
  isActive(slot: number): boolean {
    return this.values[slot] !== -Infinity;
  }
  liveValue(slot: number): number {
    return this.values[slot]!;
  }
  configure(): void {}
  configureAfterClear(): void {}
  capture(into: CaptureSink): void {
    const stats: MaxStat[] = [];
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      if (this.values[s] !== -Infinity) stats.push({ key: this.idx.keys[s]!, max: this.values[s]! });
    }
    (into.others ??= new Map()).set(this.name, stats);
  }
  clear(r: Retention): number {
    let stale = 0;
    for (let s = this.idx.head; s >= 0; ) {
      const next = this.idx.next[s]!;
      if (r.idleKeyTtl > 0 && r.expired(this.type, s, this.isActive(s))) stale += this.remove(s);
      else this.values[s] = -Infinity;
      s = next;
    }
    return stale;
  }
  exportTo(out: PartialVisitor): void {
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      if (this.values[s] !== -Infinity) out.other?.(this.type, this.idx.keys[s]!, Float64Array.of(this.values[s]!));
    }
  }
  merge(slot: number, data: Float64Array): void {
    if (data[0]! > this.values[slot]!) this.values[slot] = data[0]!;
  }
}

/** The type's registrations; returns a function that undoes them (tests). */
export function registerMaxType(): () => void {
  const undo = [
    registerMetricStore(MAX_TYPE, () => new MaxStore()),
    registerTypeSuffix('mx', MAX_TYPE),
    registerGraphiteType<MaxStat>('max', (m, out) => out.line(m.key, '', m.max)),
    registerPrometheusType<MaxStat>(
      'max',
      MAX_TYPE,
      'gauge',
      (m) => m.key,
      (m) => m.max,
    ),
  ];
  return () => {
    for (const u of undo.reverse()) u();
  };
}
