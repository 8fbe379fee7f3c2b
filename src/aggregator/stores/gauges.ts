/**
 * Gauges: one double per key, kept across intervals (the original's), with the original's gaugesTTL
 * when deleteGauges is on: a gauge is deleted after gaugesMaxTTL flushes without an update.
 */
import { type MetricKey, MetricType, type Sample } from '../../parser/types.js';
import { addSaturated } from '../finite.js';
import type { Retention } from '../retention.js';
import type { AggregatorSettings } from '../settings.js';
import { growF64, growI32, INITIAL_SLOTS, SlotIndex } from './slots.js';
import type { CaptureSink, MetricStore } from './types.js';

export class GaugeStore implements MetricStore {
  readonly type = MetricType.Gauge;
  readonly name = 'gauges';
  readonly idx = new SlotIndex();
  values: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** Flushes left before deletion when deleteGauges is on; 0: not tracked (the original's gaugesTTL). */
  ttl: Int32Array = new Int32Array(INITIAL_SLOTS);
  /** 1 when a line set or changed the gauge this interval (cleared at each capture). */
  updated: Uint8Array = new Uint8Array(INITIAL_SLOTS);
  private deleteGauges = false;
  private maxTtl = 1;

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    const cap = this.idx.capacity;
    if (this.values.length < cap) {
      this.values = growF64(this.values, cap);
      this.ttl = growI32(this.ttl, cap);
      const u = new Uint8Array(cap);
      u.set(this.updated);
      this.updated = u;
    }
    this.values[slot] = 0;
    this.ttl[slot] = 0;
    this.updated[slot] = 0;
    return slot;
  }

  remove(slot: number): number {
    this.values[slot] = 0;
    this.ttl[slot] = 0;
    this.updated[slot] = 0;
    return this.idx.release(slot);
  }

  findUnindexed(): number {
    return -1;
  }

  /** One gauge line. The original: a signed value is a delta only when the gauge exists and is not 0. */
  add(slot: number, s: Sample): void {
    const v = this.values;
    if (s.gaugeDelta && v[slot] !== 0) v[slot] = addSaturated(v[slot]!, s.value);
    else v[slot] = s.value;
    this.updated[slot] = 1;
    if (this.deleteGauges) this.ttl[slot] = this.maxTtl;
  }

  ingest(slot: number, s: Sample): void {
    this.add(slot, s);
  }

  /** Set the gauge at `slot` (the lag gauge, a merge). */
  setValue(slot: number, value: number): void {
    this.values[slot] = value;
  }

  isActive(slot: number): boolean {
    return this.updated[slot] === 1;
  }

  liveValue(slot: number): number {
    return this.values[slot]!;
  }

  configure(s: AggregatorSettings): void {
    if (this.deleteGauges && !s.deleteGauges) this.ttl.fill(0); // the original drops gaugesTTL
    this.deleteGauges = s.deleteGauges;
    this.maxTtl = s.gaugesMaxTTL;
  }

  configureAfterClear(): void {}

  capture(into: CaptureSink): void {
    const gi = this.idx;
    const gv = this.values;
    const gu = this.updated;
    const keys = new Array<MetricKey>(gi.size);
    const values = new Float64Array(gi.size);
    const updated = new Uint8Array(gi.size);
    let k = 0;
    for (let s = gi.head; s >= 0; s = gi.next[s]!) {
      keys[k] = gi.keys[s]!;
      updated[k] = gu[s]!;
      gu[s] = 0;
      values[k++] = gv[s]!;
    }
    into.gaugeKeys = keys;
    into.gaugeValues = values;
    into.gaugeUpdated = updated;
    into.liveGauges = gi.size;
  }

  /** Gauges are kept; with deleteGauges, each counts down the flushes left since its last update. */
  clear(r: Retention): number {
    if (!r.deletesAll(this.type)) return 0;
    let stale = 0;
    for (let s = this.idx.head; s >= 0; ) {
      const next = this.idx.next[s]!;
      if (this.ttl[s]! > 0 && --this.ttl[s]! < 1) stale += this.remove(s);
      s = next;
    }
    return stale;
  }

  /** Nothing: a worker keeps its gauges itself and sends them in order (src/cluster/worker.ts). */
  exportTo(): void {}

  /** Primary side. isSet: the gauge takes `value`; else `value` is a delta (added: a delta on 0 gives what a set would). */
  mergeValue(slot: number, value: number, isSet: boolean): void {
    this.values[slot] = isSet ? value : addSaturated(this.values[slot]!, value);
    this.updated[slot] = 1;
    if (this.deleteGauges) this.ttl[slot] = this.maxTtl;
  }

  merge(slot: number, data: Float64Array): void {
    this.mergeValue(slot, data[0]!, data[1] === 1);
  }
}
