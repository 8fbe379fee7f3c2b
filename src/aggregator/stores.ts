/**
 * Per-type metric storage: typed arrays indexed by slot, grown by doubling.
 *
 * A {@link SlotIndex} hands out slots (reusing deleted ones from a free list), keeps a generation
 * per slot (bumped on delete, so raw key-table entries pointing at a reused slot are detected as stale) and an insertion-ordered linked list of live slots (flush and
 * the admin dumps walk keys in the order they were first seen, as the original's objects do).
 * The canonical id → slot lookup is the aggregator's (through its byte key table: no Map entry per key).
 */
import type { MetricKey } from '../parser/types.js';
import type { ExpHistogram } from './exphist.js';
import { EMPTY_RESERVOIR } from './reservoir.js';

const INITIAL_SLOTS = 64;

/**
 * What a live key's decoded identity costs, for the key-table byte budget (keyTableBytes): its strings
 * (one byte per character: names are ASCII once sanitised) plus an estimate of the objects around them
 * (the frozen MetricKey, string headers, a tag pair each). Measured against RSS in bench/memory.bench.ts.
 */
export const KEY_OVERHEAD_BYTES = 128;
const TAG_OVERHEAD_BYTES = 64;
export function keyCost(key: MetricKey): number {
  if (key.id === key.name) return KEY_OVERHEAD_BYTES + key.name.length;
  return KEY_OVERHEAD_BYTES + key.name.length + key.graphiteTags.length + key.id.length + key.tags.length * TAG_OVERHEAD_BYTES;
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const next = new Float64Array(cap);
  next.set(a);
  return next;
}
function growI32(a: Int32Array, cap: number, fill = 0): Int32Array {
  const next = new Int32Array(cap);
  next.set(a);
  if (fill !== 0) next.fill(fill, a.length);
  return next;
}

/**
 * Canonical id → live slot, as a read-only view (tests, debugging): the lookup itself is the owner's
 * (the aggregator resolves ids through its byte key table, with no Map entry per key).
 */
export class IdLookup {
  /** Set by the owner: the live slot of `id`, -1 when none. */
  lookup: (id: string) => number = () => -1;

  get(id: string): number | undefined {
    const s = this.lookup(id);
    return s >= 0 ? s : undefined;
  }

  has(id: string): boolean {
    return this.lookup(id) >= 0;
  }
}

export class SlotIndex {
  /** Slot → its key (null for a free slot). */
  keys: (MetricKey | null)[];
  /** Slot → generation (bumped each time the slot is freed). */
  gen: Uint32Array;
  /** Slot → number of raw key-table entries resolving to it. */
  refs: Int32Array;
  /** Insertion-ordered list of live slots. */
  next: Int32Array;
  prev: Int32Array;
  head: number;
  tail: number;
  /** canonical id → slot (a view; see {@link IdLookup}) */
  readonly byId: IdLookup;
  /** Live slots. */
  size: number;
  /** {@link keyCost} of the live slots' keys. */
  keyBytes: number;
  /** Slots handed out so far (high-water mark). */
  private high: number;
  private free: Int32Array;
  private freeCount: number;

  constructor() {
    this.keys = [];
    this.gen = new Uint32Array(INITIAL_SLOTS);
    this.refs = new Int32Array(INITIAL_SLOTS);
    this.next = new Int32Array(INITIAL_SLOTS).fill(-1);
    this.prev = new Int32Array(INITIAL_SLOTS).fill(-1);
    this.head = -1;
    this.tail = -1;
    this.byId = new IdLookup();
    this.size = 0;
    this.keyBytes = 0;
    this.high = 0;
    this.free = new Int32Array(16);
    this.freeCount = 0;
  }

  get capacity(): number {
    return this.gen.length;
  }

  /** A slot for a new key, appended to the insertion order. The caller grows its data arrays to {@link capacity}. */
  alloc(key: MetricKey): number {
    let slot: number;
    if (this.freeCount > 0) {
      slot = this.free[--this.freeCount]!;
      this.keys[slot] = key;
    } else {
      slot = this.high++;
      if (slot >= this.gen.length) this.grow(this.gen.length * 2);
      this.keys.push(key);
    }
    this.prev[slot] = this.tail;
    this.next[slot] = -1;
    if (this.tail >= 0) this.next[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
    this.size++;
    this.keyBytes += keyCost(key);
    return slot;
  }

  /** Free a live slot; returns how many raw entries pointed at it (now stale). */
  release(slot: number): number {
    const key = this.keys[slot];
    if (key !== null && key !== undefined) this.keyBytes -= keyCost(key);
    this.keys[slot] = null;
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.prev[slot] = -1;
    this.next[slot] = -1;
    this.gen[slot] = (this.gen[slot]! + 1) >>> 0;
    const stale = this.refs[slot]!;
    this.refs[slot] = 0;
    if (this.freeCount >= this.free.length) this.free = growI32(this.free, this.free.length * 2);
    this.free[this.freeCount++] = slot;
    this.size--;
    return stale;
  }

  isLive(slot: number, gen: number): boolean {
    return slot < this.gen.length && this.gen[slot] === gen && this.keys[slot] !== null;
  }

  /** Live slots in insertion order (a fresh array; not for the hot path). */
  liveSlots(): number[] {
    const out: number[] = [];
    for (let s = this.head; s >= 0; s = this.next[s]!) out.push(s);
    return out;
  }

  private grow(cap: number): void {
    const gen = new Uint32Array(cap);
    gen.set(this.gen);
    this.gen = gen;
    this.refs = growI32(this.refs, cap);
    this.next = growI32(this.next, cap, -1);
    this.prev = growI32(this.prev, cap, -1);
  }
}

export class CounterStore {
  readonly idx = new SlotIndex();
  values: Float64Array = new Float64Array(INITIAL_SLOTS);

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
}

export class GaugeStore {
  readonly idx = new SlotIndex();
  values: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** Flushes left before deletion when deleteGauges is on; 0: not tracked (the original's gaugesTTL). */
  ttl: Int32Array = new Int32Array(INITIAL_SLOTS);
  /** 1 when a line set or changed the gauge this interval (cleared at each capture). */
  updated: Uint8Array = new Uint8Array(INITIAL_SLOTS);

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
}

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
export const T_STRIDE = 8;

/** TimerStore.extras bits. */
export const EXTRA_BINS = 1;
export const EXTRA_LE = 2;

export class TimerStore {
  readonly idx = new SlotIndex();
  /** Per-slot aggregates at `slot * T_STRIDE + T_*`. */
  stats: Float64Array = new Float64Array(INITIAL_SLOTS * T_STRIDE);
  /** Per-slot reservoir, grown lazily up to the reservoir size. */
  res: Float64Array[] = [];
  /** Histogram rule index per slot (-1: none), resolved when the key is created. */
  histRule: Int32Array = new Int32Array(INITIAL_SLOTS).fill(-1);
  /** Per-slot bin counts (EMPTY_RESERVOIR when the slot has no rule). */
  histCounts: Float64Array[] = [];
  /** Per-slot exponential histogram, set while the timer is past its reservoir this interval (else null). */
  exp: (ExpHistogram | null)[] = [];
  /** Per slot: EXTRA_BINS when it counts `histogram` bins, EXTRA_LE when it counts le buckets (one check per value). */
  extras: Uint8Array = new Uint8Array(INITIAL_SLOTS);
  /**
   * Per slot: upper bounds (v <= bound) a backend wants counted exactly at ingest, and their counts
   * (EMPTY_RESERVOIR or absent: none; the arrays grow only as far as the last slot given bounds, so a
   * timer without costs nothing here).
   */
  leBounds: Float64Array[] = [];
  leCounts: Float64Array[] = [];

  create(key: MetricKey, rule: number, bins: number): number {
    const slot = this.idx.alloc(key);
    const cap = this.idx.capacity;
    if (this.histRule.length < cap) {
      this.stats = growF64(this.stats, cap * T_STRIDE);
      this.histRule = growI32(this.histRule, cap, -1);
      const x = new Uint8Array(cap);
      x.set(this.extras);
      this.extras = x;
    }
    while (this.res.length <= slot) {
      this.res.push(EMPTY_RESERVOIR);
      this.histCounts.push(EMPTY_RESERVOIR);
      this.exp.push(null);
    }
    this.extras[slot] = 0;
    this.setLe(slot, null);
    this.exp[slot] = null;
    this.reset(slot);
    this.res[slot] = EMPTY_RESERVOIR;
    this.setRule(slot, rule, bins);
    return slot;
  }

  setRule(slot: number, rule: number, bins: number): void {
    this.histRule[slot] = rule;
    this.histCounts[slot] = rule >= 0 ? new Float64Array(bins) : EMPTY_RESERVOIR;
    this.extras[slot] = (this.extras[slot]! & ~EXTRA_BINS) | (rule >= 0 ? EXTRA_BINS : 0);
  }

  /** Bounds to count exactly at ingest for this slot (null: none); its counts start at 0. */
  setLe(slot: number, bounds: Float64Array | null): void {
    const on = bounds !== null && bounds.length > 0;
    this.extras[slot] = (this.extras[slot]! & ~EXTRA_LE) | (on ? EXTRA_LE : 0);
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

  remove(slot: number): number {
    this.reset(slot);
    this.res[slot] = EMPTY_RESERVOIR;
    this.exp[slot] = null;
    this.setLe(slot, null);
    this.extras[slot] = 0;
    this.histRule[slot] = -1;
    this.histCounts[slot] = EMPTY_RESERVOIR;
    return this.idx.release(slot);
  }
}

export class SetStore {
  readonly idx = new SlotIndex();
  members: Set<string>[] = [];

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    if (slot < this.members.length) this.members[slot] = new Set();
    else this.members.push(new Set());
    return slot;
  }

  remove(slot: number): number {
    this.members[slot] = EMPTY_SET;
    return this.idx.release(slot);
  }
}

const EMPTY_SET: Set<string> = new Set();
