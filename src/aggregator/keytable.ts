/**
 * The raw-bytes key table: `(type, raw key bytes, DogStatsD tag bytes)` → (slot, generation).
 *
 * This is what makes a seen key cheap: one FNV-1a hash over the bytes, one probe (linear probing
 * in a power-of-two bucket array), one byte compare on a hash hit; no string is decoded and nothing
 * is allocated. Only the first sight of some raw bytes goes to the slow path (decode, canonicalise,
 * look up the canonical id), which then inserts the raw bytes here.
 *
 * Entries are stored densely (entry arrays + a byte arena); buckets hold entry index + 1 (0 = empty)
 * and the entry's hash, so a probe rarely touches entry memory for non-matching buckets (the hash is
 * kept in the bucket only: a rehash reads it there, which saves 4 bytes per entry). An entry
 * remembers the generation of its slot: when the owner deletes the slot and reuses it, the entry no
 * longer matches (the caller treats it as a miss and overwrites it with {@link KeyTable.update}).
 * {@link KeyTable.rebuild} drops entries the caller says are stale and compacts the arena, so memory
 * returns after a burst of one-off keys.
 */

const MIN_BUCKETS = 1024;
const MIN_ARENA = 16 * 1024;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class KeyTable {
  /** Bucket → entry index + 1 (0: empty). */
  private buckets: Int32Array;
  /** Bucket → hash of its entry (compared before touching the entry). */
  private bucketHash: Int32Array;
  private mask: number;

  // Entries, indexed densely 0..count-1.
  private eType: Uint8Array;
  private eOff: Int32Array;
  private eKeyLen: Int32Array;
  private eTagLen: Int32Array;
  /** The slot an entry resolves to (read by the owner after {@link find}). */
  eSlot: Int32Array;
  /** The slot's generation when the entry was written. */
  eGen: Uint32Array;
  private arena: Uint8Array;
  private arenaUsed: number;
  /** Number of entries. */
  count: number;

  /** Set by {@link find}: the hash of the bytes looked up and, on a miss, the empty bucket to insert at. */
  private lastHash: number;
  private lastBucket: number;

  constructor(initialBuckets = MIN_BUCKETS) {
    let cap = MIN_BUCKETS;
    while (cap < initialBuckets) cap *= 2;
    this.buckets = new Int32Array(cap);
    this.bucketHash = new Int32Array(cap);
    this.mask = cap - 1;
    const entries = cap >>> 1;
    this.eType = new Uint8Array(entries);
    this.eOff = new Int32Array(entries);
    this.eKeyLen = new Int32Array(entries);
    this.eTagLen = new Int32Array(entries);
    this.eSlot = new Int32Array(entries);
    this.eGen = new Uint32Array(entries);
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
    return (
      this.buckets.byteLength * 2 +
      this.eType.length * (1 + 4 + 4 + 4 + 4 + 4) +
      this.arena.byteLength
    );
  }

  /**
   * Look the bytes up. Returns the entry index, or -1 (then {@link insert} may follow with the same
   * arguments before any other call).
   */
  find(type: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number): number {
    // FNV-1a over type, key bytes, the key length and the tag bytes, then a murmur3 finaliser so
    // the low bits used for the bucket index are well mixed. (Measured: mixing 4 bytes at a time,
    // murmur3-style, was no faster on 20-40 byte keys: the byte loads dominate.)
    let h = Math.imul(FNV_OFFSET ^ type, FNV_PRIME);
    for (let i = ks; i < ke; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
    h = Math.imul(h ^ (ke - ks), FNV_PRIME);
    for (let i = ts; i < te; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;

    const buckets = this.buckets;
    const bucketHash = this.bucketHash;
    const mask = this.mask;
    const keyLen = ke - ks;
    const tagLen = te - ts;
    let b = h & mask;
    for (;;) {
      const e1 = buckets[b]!;
      if (e1 === 0) break;
      if (bucketHash[b] === h) {
        const e = e1 - 1;
        if (this.eType[e] === type && this.eKeyLen[e] === keyLen && this.eTagLen[e] === tagLen && this.same(e, buf, ks, ke, ts, te)) {
          return e;
        }
      }
      b = (b + 1) & mask;
    }
    this.lastHash = h;
    this.lastBucket = b;
    return -1;
  }

  private same(e: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number): boolean {
    const arena = this.arena;
    let o = this.eOff[e]!;
    for (let i = ks; i < ke; i++, o++) if (arena[o] !== buf[i]) return false;
    for (let i = ts; i < te; i++, o++) if (arena[o] !== buf[i]) return false;
    return true;
  }

  /** Insert the bytes of the {@link find} that just returned -1. Returns the new entry index. */
  insert(type: number, buf: Uint8Array, ks: number, ke: number, ts: number, te: number, slot: number, gen: number): number {
    const e = this.count;
    if (e >= this.eType.length) this.growEntries();
    const keyLen = ke - ks;
    const tagLen = te - ts;
    const need = this.arenaUsed + keyLen + tagLen;
    if (need > this.arena.length) {
      let cap = this.arena.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
    }
    const off = this.arenaUsed;
    this.arena.set(buf.subarray(ks, ke), off);
    this.arena.set(buf.subarray(ts, te), off + keyLen);
    this.arenaUsed = need;
    this.eType[e] = type;
    this.eOff[e] = off;
    this.eKeyLen[e] = keyLen;
    this.eTagLen[e] = tagLen;
    this.eSlot[e] = slot;
    this.eGen[e] = gen;
    this.buckets[this.lastBucket] = e + 1;
    this.bucketHash[this.lastBucket] = this.lastHash;
    this.count = e + 1;
    // load factor 0.5: entries array is half the bucket count, so it fills exactly at the threshold
    if (this.count * 2 >= this.buckets.length) this.rehash(this.buckets.length * 2);
    return e;
  }

  /** Point an existing (stale) entry at a new slot/generation. */
  update(e: number, slot: number, gen: number): void {
    this.eSlot[e] = slot;
    this.eGen[e] = gen;
  }

  /** Drop every entry. */
  clear(): void {
    this.buckets = new Int32Array(MIN_BUCKETS);
    this.bucketHash = new Int32Array(MIN_BUCKETS);
    this.mask = MIN_BUCKETS - 1;
    this.resizeEntries(MIN_BUCKETS >>> 1);
    this.arena = new Uint8Array(MIN_ARENA);
    this.arenaUsed = 0;
    this.count = 0;
  }

  /**
   * Keep only the entries for which `live(type, slot, gen)` is true; shrink buckets and arena to fit
   * them (not on the hot path: called after deletions when stale entries outnumber live ones).
   */
  rebuild(live: (type: number, slot: number, gen: number) => boolean): void {
    let kept = 0;
    let bytes = 0;
    // entry → hash, from the buckets (the entries do not keep it)
    const oldHash = new Int32Array(this.count);
    for (let b = 0; b < this.buckets.length; b++) {
      const e1 = this.buckets[b]!;
      if (e1 !== 0) oldHash[e1 - 1] = this.bucketHash[b]!;
    }
    for (let e = 0; e < this.count; e++) {
      if (live(this.eType[e]!, this.eSlot[e]!, this.eGen[e]!)) {
        kept++;
        bytes += this.eKeyLen[e]! + this.eTagLen[e]!;
      }
    }
    let cap = MIN_BUCKETS;
    while (kept * 2 >= cap) cap *= 2;
    let arenaCap = MIN_ARENA;
    while (arenaCap < bytes * 2) arenaCap *= 2;
    const old = {
      type: this.eType,
      off: this.eOff,
      keyLen: this.eKeyLen,
      tagLen: this.eTagLen,
      slot: this.eSlot,
      gen: this.eGen,
      arena: this.arena,
      count: this.count,
    };
    const newHash = new Int32Array(cap >>> 1);
    this.eType = new Uint8Array(cap >>> 1);
    this.eOff = new Int32Array(cap >>> 1);
    this.eKeyLen = new Int32Array(cap >>> 1);
    this.eTagLen = new Int32Array(cap >>> 1);
    this.eSlot = new Int32Array(cap >>> 1);
    this.eGen = new Uint32Array(cap >>> 1);
    this.arena = new Uint8Array(arenaCap);
    let n = 0;
    let used = 0;
    for (let e = 0; e < old.count; e++) {
      if (!live(old.type[e]!, old.slot[e]!, old.gen[e]!)) continue;
      const len = old.keyLen[e]! + old.tagLen[e]!;
      const off = old.off[e]!;
      this.arena.set(old.arena.subarray(off, off + len), used);
      newHash[n] = oldHash[e]!;
      this.eType[n] = old.type[e]!;
      this.eOff[n] = used;
      this.eKeyLen[n] = old.keyLen[e]!;
      this.eTagLen[n] = old.tagLen[e]!;
      this.eSlot[n] = old.slot[e]!;
      this.eGen[n] = old.gen[e]!;
      used += len;
      n++;
    }
    this.count = n;
    this.arenaUsed = used;
    this.rehash(cap, newHash);
  }

  private growEntries(): void {
    this.resizeEntries(this.eType.length * 2);
  }

  private resizeEntries(cap: number): void {
    const keep = Math.min(this.count, cap);
    const copy = <T extends Int32Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(a.subarray(0, keep));
      return next;
    };
    this.eType = copy(this.eType, (n) => new Uint8Array(n));
    this.eOff = copy(this.eOff, (n) => new Int32Array(n));
    this.eKeyLen = copy(this.eKeyLen, (n) => new Int32Array(n));
    this.eTagLen = copy(this.eTagLen, (n) => new Int32Array(n));
    this.eSlot = copy(this.eSlot, (n) => new Int32Array(n));
    this.eGen = copy(this.eGen, (n) => new Uint32Array(n));
  }

  /**
   * Rebuild the bucket array at `cap` buckets: from the current buckets, or from the dense entries
   * with `hashes` (entry → hash) after {@link rebuild} renumbered them.
   */
  private rehash(cap: number, hashes?: Int32Array): void {
    const buckets = new Int32Array(cap);
    const bucketHash = new Int32Array(cap);
    const mask = cap - 1;
    if (hashes !== undefined) {
      for (let e = 0; e < this.count; e++) {
        const h = hashes[e]!;
        let b = h & mask;
        while (buckets[b] !== 0) b = (b + 1) & mask;
        buckets[b] = e + 1;
        bucketHash[b] = h;
      }
    } else {
      const oldBuckets = this.buckets;
      const oldHash = this.bucketHash;
      for (let ob = 0; ob < oldBuckets.length; ob++) {
        const e1 = oldBuckets[ob]!;
        if (e1 === 0) continue;
        const h = oldHash[ob]!;
        let b = h & mask;
        while (buckets[b] !== 0) b = (b + 1) & mask;
        buckets[b] = e1;
        bucketHash[b] = h;
      }
    }
    this.buckets = buckets;
    this.bucketHash = bucketHash;
    this.mask = mask;
    if (this.eType.length < cap >>> 1) this.resizeEntries(cap >>> 1);
  }
}
