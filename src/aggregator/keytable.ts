/**
 * The raw-bytes key table: `(type, raw key bytes, DogStatsD tag bytes)` → (slot, generation).
 *
 * This is what makes a seen key cheap: one hash (the scanner's hash of the key and tag bytes, see
 * hashRawKey, continued over the type and key length), one probe (linear probing in a
 * power-of-two bucket array), one byte compare on a hash hit; no string is decoded and nothing is
 * allocated. Only the first sight of some raw bytes goes to the slow path (decode, canonicalise,
 * look up the canonical id), which then inserts the raw bytes here.
 *
 * Entries are stored densely (entry arrays + a byte arena); a bucket is two int32s side by side, the
 * entry index + 1 (0 = empty) and the entry's hash, so a probe reads one cache line and rarely touches
 * entry memory for non-matching buckets (the hash is kept in the bucket only: a rehash reads it there,
 * which saves 4 bytes per entry). An entry's type and key length share one int32 (`keyLen * 16 + type`). An entry
 * remembers the generation of its slot: when the owner deletes the slot and reuses it, the entry no
 * longer matches (the caller treats it as a miss and overwrites it with {@link KeyTable.update}).
 * {@link KeyTable.rebuild} drops entries the caller says are stale and compacts the arena, so memory
 * returns after a burst of one-off keys.
 *
 * An entry is *pinned* when it is how its key is found by canonical id (the owner cannot drop it while
 * the key lives); any other entry is a cached spelling the owner may reclaim (see {@link KeyTable.rebuild}).
 * The arena never grows past {@link MAX_ARENA_BYTES}: its int32 offsets stay valid, and an insert that
 * would pass it is refused (returns -1) instead.
 */
import { FNV_PRIME, hashRawKey } from '../parser/scanner.js';

const MIN_BUCKETS = 1024;
const MIN_ARENA = 16 * 1024;
/**
 * Entry types are 0-15: 4 bits of eMeta. The key index (keyindex.ts) uses 0-7 for raw entries (the
 * type byte of a metric store) and 8-15 for canonical-id entries ({@link ENTRY_TYPES} / 2 + type).
 */
const TYPE_BITS = 4;
/** Entry types the table tells apart. */
export const ENTRY_TYPES = 1 << TYPE_BITS;
const TYPE_MASK = (1 << TYPE_BITS) - 1;
/** The arena's largest size: offsets (and `keyLen * 16 + type`) are int32. */
export const MAX_ARENA_BYTES = 2 ** 31 - 1;
/** Longest key + tag bytes of one entry (`keyLen * 16 + type` must stay an int32). */
const MAX_ENTRY_BYTES = 2 ** 26;
/**
 * What an entry costs besides its bytes in the arena, for {@link KeyTable.usedBytes}: 21 bytes of
 * entry arrays and 16 of buckets (two int32s, at a load factor of 0.5), times the slack of the doubling.
 */
export const ENTRY_BYTES = 56;

export class KeyTable {
  /** Bucket b: [2b] = entry index + 1 (0: empty), [2b + 1] = hash of its entry (compared before the entry). */
  private buckets: Int32Array;
  private mask: number;

  // Entries, indexed densely 0..count-1.
  /** `keyLen * 16 + type`: one compare for both. */
  private eMeta: Int32Array;
  private eOff: Int32Array;
  private eTagLen: Int32Array;
  /** The slot an entry resolves to (read by the owner after {@link find}). */
  eSlot: Int32Array;
  /** The slot's generation when the entry was written. */
  eGen: Uint32Array;
  /** 1: the entry is how its key is found by id (see the class comment). */
  private ePin: Uint8Array;
  private arena: Uint8Array;
  private arenaUsed: number;
  /** Number of entries. */
  count: number;

  /** Set by {@link find}: the hash of the bytes looked up and, on a miss, the empty bucket to insert at. */
  private lastHash: number;
  private lastBucket: number;

  /**
   * `maxArenaBytes`: the arena's limit ({@link MAX_ARENA_BYTES}, the int32 offsets' own; lower only in
   * tests of the fail-safe).
   */
  constructor(
    initialBuckets = MIN_BUCKETS,
    private readonly maxArenaBytes = MAX_ARENA_BYTES,
  ) {
    let cap = MIN_BUCKETS;
    while (cap < initialBuckets) cap *= 2;
    this.buckets = new Int32Array(cap * 2);
    this.mask = cap - 1;
    const entries = cap >>> 1;
    this.eMeta = new Int32Array(entries);
    this.eOff = new Int32Array(entries);
    this.eTagLen = new Int32Array(entries);
    this.eSlot = new Int32Array(entries);
    this.eGen = new Uint32Array(entries);
    this.ePin = new Uint8Array(entries);
    this.arena = new Uint8Array(MIN_ARENA);
    this.arenaUsed = 0;
    this.count = 0;
    this.lastHash = 0;
    this.lastBucket = 0;
  }

  /** Number of buckets (for tests and memory reports). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.buckets.byteLength + this.eMeta.length * (4 + 4 + 4 + 4 + 4 + 1) + this.arena.byteLength;
  }

  /** The bytes the entries account for (the owner's budget): their bytes in the arena + {@link ENTRY_BYTES} each. */
  get usedBytes(): number {
    return this.arenaUsed + this.count * ENTRY_BYTES;
  }

  /**
   * Look the bytes up. Returns the entry index, or -1 (then {@link insert} may follow with the same
   * arguments before any other call).
   */
  find(type: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number): number {
    return this.findHashed(hashRawKey(buf, ks, ke, ts, te), type, buf, ks, ke, ts, te);
  }

  /**
   * {@link find} with the bytes' hash already known (`keyHash` = hashRawKey(buf, ks, ke, ts, te): the
   * scanner computes it while it looks for the key's and the tags' ends, so a seen key is read once more,
   * to compare).
   */
  findHashed(keyHash: number, type: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number): number {
    // the raw key's hash continued over (key length, type) (FNV-1a), then a murmur3 finaliser so the low
    // bits used for the bucket index are well mixed
    const meta = (ke - ks) * (TYPE_MASK + 1) + type;
    const tagLen = te - ts;
    let h = Math.imul(keyHash ^ meta, FNV_PRIME);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;

    const buckets = this.buckets;
    const mask = this.mask;
    let b = h & mask;
    for (;;) {
      const e1 = buckets[b * 2]!;
      if (e1 === 0) break;
      if (buckets[b * 2 + 1] === h) {
        const e = e1 - 1;
        if (this.eMeta[e] === meta && this.eTagLen[e] === tagLen) {
          // compare the bytes (inline: measured faster than a call per probe; an A/B of ingest:
          // `node dist/bench/ab-sample.bench.js --before <other dist>`)
          const arena = this.arena;
          let o = this.eOff[e]!;
          let i = ks;
          while (i < ke && arena[o] === buf[i]) {
            i++;
            o++;
          }
          if (i === ke) {
            i = ts;
            while (i < te && arena[o] === buf[i]) {
              i++;
              o++;
            }
            if (i === te) return e;
          }
        }
      }
      b = (b + 1) & mask;
    }
    this.lastHash = h;
    this.lastBucket = b;
    return -1;
  }

  /**
   * Insert the bytes of the {@link find} that just returned -1. Returns the new entry index, or -1 when
   * the arena would pass {@link MAX_ARENA_BYTES} (nothing is inserted; the owner's byte budget keeps
   * far below it, this is the fail-safe).
   */
  insert(type: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number, slot: number, gen: number, pinned = false): number {
    const keyLen = ke - ks;
    const tagLen = te - ts;
    const need = this.arenaUsed + keyLen + tagLen;
    if (need > this.maxArenaBytes || keyLen + tagLen > MAX_ENTRY_BYTES) return -1;
    const e = this.count;
    if (e >= this.eMeta.length) this.growEntries();
    if (need > this.arena.length) {
      // (doubling: the pages past arenaUsed are never touched, so the slack costs no RSS)
      let cap = this.arena.length * 2;
      while (cap < need) cap *= 2;
      if (cap > this.maxArenaBytes) cap = this.maxArenaBytes;
      const next = new Uint8Array(cap);
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
    }
    const off = this.arenaUsed;
    this.arena.set(buf.subarray(ks, ke), off);
    this.arena.set(buf.subarray(ts, te), off + keyLen);
    this.arenaUsed = need;
    this.eMeta[e] = keyLen * (TYPE_MASK + 1) + type;
    this.eOff[e] = off;
    this.eTagLen[e] = tagLen;
    this.eSlot[e] = slot;
    this.eGen[e] = gen;
    this.ePin[e] = pinned ? 1 : 0;
    this.buckets[this.lastBucket * 2] = e + 1;
    this.buckets[this.lastBucket * 2 + 1] = this.lastHash;
    this.count = e + 1;
    // load factor 0.5: entries array is half the bucket count, so it fills exactly at the threshold
    if (this.count * 2 >= this.capacity) this.rehash(this.capacity * 2);
    return e;
  }

  /** Point an existing (stale) entry at a new slot/generation. */
  update(e: number, slot: number, gen: number, pinned = false): void {
    this.eSlot[e] = slot;
    this.eGen[e] = gen;
    this.ePin[e] = pinned ? 1 : 0;
  }

  /**
   * Calls `fn(type, slot, gen, pinned, bytes)` for every entry, oldest first (`bytes`: what the entry
   * counts in {@link usedBytes}).
   */
  scan(fn: (type: number, slot: number, gen: number, pinned: boolean, bytes: number) => void): void {
    for (let e = 0; e < this.count; e++) {
      const meta = this.eMeta[e]!;
      fn(meta & TYPE_MASK, this.eSlot[e]!, this.eGen[e]!, this.ePin[e] === 1, (meta >>> TYPE_BITS) + this.eTagLen[e]! + ENTRY_BYTES);
    }
  }

  /** Drop every entry. */
  clear(): void {
    this.buckets = new Int32Array(MIN_BUCKETS * 2);
    this.mask = MIN_BUCKETS - 1;
    this.resizeEntries(MIN_BUCKETS >>> 1);
    this.arena = new Uint8Array(MIN_ARENA);
    this.arenaUsed = 0;
    this.count = 0;
  }

  /**
   * Keep only the entries for which `keep(type, slot, gen, pinned, bytes)` is true (called once per
   * entry, oldest first, as {@link scan}); shrink buckets and arena to fit them (not on the hot path:
   * after deletions when stale entries outnumber live ones, or to reclaim cached spellings).
   */
  rebuild(keep: (type: number, slot: number, gen: number, pinned: boolean, bytes: number) => boolean): void {
    let kept = 0;
    let bytes = 0;
    const keepMask = new Uint8Array(this.count);
    // entry → hash, from the buckets (the entries do not keep it)
    const oldHash = new Int32Array(this.count);
    const nb = this.capacity;
    for (let b = 0; b < nb; b++) {
      const e1 = this.buckets[b * 2]!;
      if (e1 !== 0) oldHash[e1 - 1] = this.buckets[b * 2 + 1]!;
    }
    for (let e = 0; e < this.count; e++) {
      const meta = this.eMeta[e]!;
      const len = (meta >>> TYPE_BITS) + this.eTagLen[e]!;
      if (keep(meta & TYPE_MASK, this.eSlot[e]!, this.eGen[e]!, this.ePin[e] === 1, len + ENTRY_BYTES)) {
        keepMask[e] = 1;
        kept++;
        bytes += len;
      }
    }
    let cap = MIN_BUCKETS;
    while (kept * 2 >= cap) cap *= 2;
    let arenaCap = MIN_ARENA;
    while (arenaCap < bytes * 2 && arenaCap < this.maxArenaBytes) arenaCap *= 2;
    if (arenaCap > this.maxArenaBytes) arenaCap = Math.max(this.maxArenaBytes, bytes);
    const old = {
      meta: this.eMeta,
      off: this.eOff,
      tagLen: this.eTagLen,
      slot: this.eSlot,
      gen: this.eGen,
      pin: this.ePin,
      arena: this.arena,
      count: this.count,
    };
    const newHash = new Int32Array(cap >>> 1);
    this.eMeta = new Int32Array(cap >>> 1);
    this.eOff = new Int32Array(cap >>> 1);
    this.eTagLen = new Int32Array(cap >>> 1);
    this.eSlot = new Int32Array(cap >>> 1);
    this.eGen = new Uint32Array(cap >>> 1);
    this.ePin = new Uint8Array(cap >>> 1);
    this.arena = new Uint8Array(arenaCap);
    let n = 0;
    let used = 0;
    for (let e = 0; e < old.count; e++) {
      if (keepMask[e] === 0) continue;
      const meta = old.meta[e]!;
      const len = (meta >>> TYPE_BITS) + old.tagLen[e]!;
      const off = old.off[e]!;
      this.arena.set(old.arena.subarray(off, off + len), used);
      newHash[n] = oldHash[e]!;
      this.eMeta[n] = meta;
      this.eOff[n] = used;
      this.eTagLen[n] = old.tagLen[e]!;
      this.eSlot[n] = old.slot[e]!;
      this.eGen[n] = old.gen[e]!;
      this.ePin[n] = old.pin[e]!;
      used += len;
      n++;
    }
    this.count = n;
    this.arenaUsed = used;
    this.rehash(cap, newHash);
  }

  private growEntries(): void {
    this.resizeEntries(this.eMeta.length * 2);
  }

  private resizeEntries(cap: number): void {
    const keep = Math.min(this.count, cap);
    const copy = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(a.subarray(0, keep));
      return next;
    };
    this.eMeta = copy(this.eMeta, (n) => new Int32Array(n));
    this.eOff = copy(this.eOff, (n) => new Int32Array(n));
    this.eTagLen = copy(this.eTagLen, (n) => new Int32Array(n));
    this.eSlot = copy(this.eSlot, (n) => new Int32Array(n));
    this.eGen = copy(this.eGen, (n) => new Uint32Array(n));
    const pin = new Uint8Array(cap);
    pin.set(this.ePin.subarray(0, keep));
    this.ePin = pin;
  }

  /**
   * Rebuild the bucket array at `cap` buckets: from the current buckets, or from the dense entries
   * with `hashes` (entry → hash) after {@link rebuild} renumbered them.
   */
  private rehash(cap: number, hashes?: Int32Array): void {
    const buckets = new Int32Array(cap * 2);
    const mask = cap - 1;
    if (hashes !== undefined) {
      for (let e = 0; e < this.count; e++) {
        const h = hashes[e]!;
        let b = h & mask;
        while (buckets[b * 2] !== 0) b = (b + 1) & mask;
        buckets[b * 2] = e + 1;
        buckets[b * 2 + 1] = h;
      }
    } else {
      const old = this.buckets;
      const nb = this.capacity;
      for (let ob = 0; ob < nb; ob++) {
        const e1 = old[ob * 2]!;
        if (e1 === 0) continue;
        const h = old[ob * 2 + 1]!;
        let b = h & mask;
        while (buckets[b * 2] !== 0) b = (b + 1) & mask;
        buckets[b * 2] = e1;
        buckets[b * 2 + 1] = h;
      }
    }
    this.buckets = buckets;
    this.mask = mask;
    if (this.eMeta.length < cap >>> 1) this.resizeEntries(cap >>> 1);
  }
}
