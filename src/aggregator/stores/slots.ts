/**
 * Slots: what every metric store is built on. A {@link SlotIndex} hands out slots (reusing deleted
 * ones from a free list), keeps a generation per slot (bumped on delete, so raw key-table entries
 * pointing at a reused slot are detected as stale) and an insertion-ordered linked list of live slots
 * (flush and the admin dumps walk keys in the order they were first seen, as the original's objects do).
 * The canonical id → slot lookup is the key index's (../keyindex.ts: no Map entry per key).
 */
import type { MetricKey } from '../../parser/types.js';

export const INITIAL_SLOTS = 64;

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

export function growF64(a: Float64Array, cap: number): Float64Array {
  const next = new Float64Array(cap);
  next.set(a);
  return next;
}
export function growI32(a: Int32Array, cap: number, fill = 0): Int32Array {
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
