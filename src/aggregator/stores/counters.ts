/**
 * Counters: one double per key, the sum of `value / sampleRate` over the interval; and the daemon's
 * own counters (bad_lines_seen, packets_received, ...), which live here without a key-table entry and
 * are never deleted.
 */
import { type MetricKey, MetricType, type Sample } from '../../parser/types.js';
import { addSaturated, saturate } from '../finite.js';
import type { PartialVisitor } from '../merge.js';
import type { Retention } from '../retention.js';
import { growF64, INITIAL_SLOTS, SlotIndex } from './slots.js';
import type { CaptureSink, MetricStore } from './types.js';

export class CounterStore implements MetricStore {
  readonly type = MetricType.Counter;
  readonly name = 'counters';
  readonly idx = new SlotIndex();
  values: Float64Array = new Float64Array(INITIAL_SLOTS);
  /**
   * The daemon's own counters' keys, and their slots (-1 until created: past the first
   * `alwaysOwn`, each is created at its first count, so the output stays the original's until then).
   */
  readonly ownKeys: readonly MetricKey[];
  readonly ownSlots: Int32Array;
  /** Own counters that a worker never exports (the primary counts them from `own` totals). */
  private readonly alwaysOwn: number;

  constructor(ownKeys: readonly MetricKey[], alwaysOwn: number) {
    this.ownKeys = ownKeys;
    this.alwaysOwn = alwaysOwn;
    this.ownSlots = new Int32Array(ownKeys.length).fill(-1);
    for (let i = 0; i < alwaysOwn; i++) this.ownSlots[i] = this.create(ownKeys[i]!);
  }

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    if (this.values.length < this.idx.capacity) this.values = growF64(this.values, this.idx.capacity);
    this.values[slot] = 0;
    return slot;
  }

  remove(slot: number): number {
    this.values[slot] = 0;
    return this.idx.release(slot);
  }

  bytes(): number {
    return this.values.byteLength + this.idx.capacity * 17;
  }

  /** The slot of own counter `i`, created at its first use. */
  ownSlot(i: number): number {
    let own = this.ownSlots[i]!;
    if (own < 0) own = this.ownSlots[i] = this.create(this.ownKeys[i]!);
    return own;
  }

  /** Add `n` to own counter `i`. */
  countOwn(i: number, n: number): void {
    this.values[this.ownSlot(i)]! += n;
  }

  /** The index of own counter `id`, -1 when it is none. */
  ownIndexOf(id: string): number {
    const own = this.ownKeys;
    for (let i = 0; i < own.length; i++) if (own[i]!.id === id) return i;
    return -1;
  }

  isOwn(slot: number): boolean {
    const o = this.ownSlots;
    for (let i = 0; i < o.length; i++) if (slot === o[i]) return true;
    return false;
  }

  /** An admin delete: an own counter exists at all times (re-created at once, at 0). */
  removeByAdmin(slot: number): number {
    const own = this.ownSlots.indexOf(slot);
    const stale = this.remove(slot);
    if (own >= 0) this.ownSlots[own] = this.create(this.ownKeys[own]!);
    return stale;
  }

  findUnindexed(id: string): number {
    const own = this.ownKeys;
    for (let i = 0; i < own.length; i++) if (this.ownSlots[i]! >= 0 && own[i]!.id === id) return this.ownSlots[i]!;
    return -1;
  }

  // ---------------------------------------------------------------- ingest

  /**
   * One counter line: the original's `value * (1 / sampleRate)`, kept for bit-identical sums (v / r
   * can differ in the last bit); saturated at ±MAX_VALUE rather than ±Infinity (finite.ts).
   */
  add(slot: number, s: Sample): void {
    const cv = this.values;
    const v = cv[slot]! + s.value * (1 / s.sampleRate);
    cv[slot] = v - v === 0 ? v : saturate(v);
  }

  ingest(slot: number, s: Sample): void {
    this.add(slot, s);
  }

  isActive(slot: number): boolean {
    return this.values[slot] !== 0;
  }

  liveValue(slot: number): number {
    return this.values[slot]!;
  }

  configure(): void {}

  configureAfterClear(): void {}

  // ---------------------------------------------------------------- flush

  /**
   * Gathered along the insertion list straight into the snapshot's columns. Measured at 1M keys
   * (bench (b) of `node dist/bench/aggregator.bench.js`): ~70 ms, where copying the slot arrays
   * (~80 ms: keys.slice() of 1M references is most of it) and gathering from the copies in the
   * compute (~50 ms) took ~130 ms.
   */
  capture(into: CaptureSink): void {
    const ci = this.idx;
    const cv = this.values;
    const ck = ci.keys;
    const cn = ci.next;
    const keys = new Array<MetricKey>(ci.size);
    const counts = new Float64Array(ci.size);
    let k = 0;
    for (let s = ci.head; s >= 0; s = cn[s]!) {
      keys[k] = ck[s]!;
      counts[k++] = cv[s]!;
    }
    into.counterKeys = keys;
    into.counterCounts = counts;
    into.liveCounters = ci.size;
  }

  clear(r: Retention): number {
    let stale = 0;
    const del = r.deletesAll(this.type);
    const ttl = r.idleKeyTtl;
    // every live counter back to 0 (free slots are 0 already): one fill instead of a walk of the list
    if (!del && ttl === 0) this.values.fill(0);
    else
      for (let s = this.idx.head; s >= 0; ) {
        const next = this.idx.next[s]!;
        if (del && !this.isOwn(s)) stale += this.remove(s);
        else if (ttl > 0 && !this.isOwn(s) && r.expired(this.type, s, this.values[s] !== 0)) stale += this.remove(s);
        else this.values[s] = 0;
        s = next;
      }
    return stale;
  }

  // ---------------------------------------------------------------- partials (workers)

  exportTo(out: PartialVisitor): void {
    const o = this.ownSlots;
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      const own = o.indexOf(s);
      if (own >= 0 && (own < this.alwaysOwn || this.values[s] === 0)) continue;
      out.counter(this.idx.keys[s]!, this.values[s]!);
    }
  }

  /** Primary side: a source's sum for the key at `slot`. */
  mergeValue(slot: number, value: number): void {
    this.values[slot] = addSaturated(this.values[slot]!, value);
  }

  merge(slot: number, data: Float64Array): void {
    this.mergeValue(slot, data[0]!);
  }
}
