/**
 * The key index: raw key bytes → a live slot of a metric store, and canonical id → slot, both through
 * one byte {@link KeyTable} (no Map entry per key); and the key limit (maxKeys, keyTableBytes,
 * maxKeyLength) with what it refused.
 *
 * Hot path: raw key bytes → slot through the table (hash + compare, no allocation; the look-up itself
 * is AggregatorCore.slotOf, which reads this table in place). Keys are decoded and canonicalised only
 * the first time their raw bytes are seen (or when their slot was deleted since).
 *
 * Canonical id → slot: a raw entry whose bytes are the canonical id itself (an untagged, clean key: the
 * common case) serves as the id's entry; any other key gets an entry of type `CANON + type` holding its
 * id's bytes (see registerId). Raw entries that are not how their key is found are cached spellings,
 * bounded by keyTableBytes and maxKeys and reclaimed at flushes ({@link KeyIndex.maybeReclaim}).
 */
import { canonicalKey, isNamelessKey } from '../parser/canonical.js';
import { hashKeyBytes } from '../parser/scanner.js';
import { BadLine, type MetricKey, type Sample } from '../parser/types.js';
import { KeyLimit } from './keylimit.js';
import { ENTRY_BYTES, ENTRY_TYPES, KeyTable } from './keytable.js';
import type { AggregatorSettings } from './settings.js';
import { keyCost, type SlotIndex } from './stores/slots.js';
import type { MetricStore } from './stores/types.js';

/** Key-table type offset of the canonical-id entries; also the most metric types (type bytes 0 to CANON - 1). */
export const CANON = ENTRY_TYPES / 2;
/** Slots (a power of two) and longest key of the cache of raw keys that sanitise to nothing. */
const NAMELESS_CACHE = 64;
const NAMELESS_MAX_BYTES = 256;
/**
 * Cached spellings are reclaimed at a flush once the key bytes pass this share of keyTableBytes (or a
 * spelling could not be cached), down to {@link RECLAIM_TO} of it where the spellings allow.
 */
const RECLAIM_AT = 0.75;
const RECLAIM_TO = 0.5;

/** What the index tells the aggregator around it (slow paths only). */
export interface KeyIndexHost {
  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void;
  /** A line for a new key refused past maxKeys or keyTableBytes (keys_dropped). */
  keyDropped(): void;
  /** Raw key bytes (re)bound to a live slot on the slow path, or a key created by a merge. */
  slotBound(type: number, slot: number): void;
}

export class KeyIndex {
  /**
   * The raw-bytes table; AggregatorCore holds it too, for the per-line look-up (replaced whole only by
   * tests of its fail-safe, through the Aggregator's `table` setter, which updates both).
   */
  table: KeyTable;
  /** Slot indexes by type byte (one class: monomorphic access on the hot path). */
  private readonly indexes: readonly SlotIndex[];
  /** Raw key-table entries whose slot was deleted since they were written. */
  private staleEntries = 0;
  /** Raw key-table entries that are cached spellings (not pinned: reclaimable). */
  private aliasEntries = 0;
  /** Set by {@link decodeKey}: whether the raw bytes just decoded are exactly the key's canonical id. */
  private rawIsId = false;

  private sanitize = true;
  /** maxKeys, keyTableBytes, maxKeyLength, and what they refused. */
  readonly limit = new KeyLimit();
  /** Lines whose spelling could not be cached (keyTableBytes reached) this interval. */
  spellingsUncached = 0;
  /** Cached spellings reclaimed at flushes since the last memory report. */
  spellingsReclaimed = 0;

  /**
   * Raw key bytes seen to sanitise to nothing, by hash (direct-mapped, NAMELESS_CACHE slots of keys up
   * to NAMELESS_MAX_BYTES): such keys get no table entry, and a flood of one of them would otherwise be
   * decoded and sanitised per line (measured 0.4-15 µs a line for 8-512-byte keys: row 6 of
   * `node dist/bench/claims.bench.js`; a valid line costs well under 1 µs: the `parse → Aggregator` rows
   * of `node bench/ab/parser-ab.mjs`).
   * The name depends on the key bytes only (tags never make one), so the tags are not part of it.
   */
  private readonly nameless: (Buffer | null)[] = new Array<Buffer | null>(NAMELESS_CACHE).fill(null);

  constructor(
    private readonly stores: readonly MetricStore[],
    private readonly host: KeyIndexHost,
  ) {
    if (stores.length > CANON) throw new Error(`at most ${CANON} metric types (the key table's type bits), got ${stores.length}`);
    this.table = new KeyTable();
    this.indexes = stores.map((s) => s.idx);
    for (let type = 0; type < this.indexes.length; type++) this.indexes[type]!.byId.lookup = (id) => this.slotById(type, id);
  }

  /** Settings of the key limit (a change of keyNameSanitize: see {@link resanitize}). */
  configure(s: AggregatorSettings): void {
    this.limit.configure(s);
  }

  /**
   * The slot for a sample whose raw bytes the per-line look-up did not find live (AggregatorCore.slotOf
   * reads this index's table in place): `entry` is the stale entry, or -1 for bytes never seen.
   */
  resolveSample(s: Sample, type: number, entry: number): number {
    return this.resolve(entry, type, s.buf, s.keyStart, s.keyEnd, s.tagStart, s.tagEnd);
  }

  // ---------------------------------------------------------------- slow path: first sight of raw bytes

  private decodeKey(buf: Buffer, ks: number, ke: number, ts: number, te: number): MetricKey {
    const raw = buf.toString('utf8', ks, ke);
    const key = canonicalKey(raw, te > ts ? buf.toString('utf8', ts, te) : '', this.sanitize);
    // all ASCII (string length = byte length) and equal: the id's bytes are the raw bytes
    this.rawIsId = te === ts && key.id === raw && raw.length === ke - ks;
    return key;
  }

  /**
   * Slow path: the live slot for raw key bytes seen for the first time (`entry` < 0) or whose table
   * entry went stale (`entry` is that entry); -1 when a new key is refused past maxKeys.
   */
  private resolve(entry: number, type: number, buf: Buffer, ks: number, ke: number, ts: number, te: number): number {
    // (checked here, off the hot path: a key this long is never in the table, so each of its lines comes here)
    if (ke - ks + (te - ts) > this.limit.maxKeyLength) {
      this.host.badLine(BadLine.KeyTooLong, buf, ks, te > ts ? te : ke);
      return -1;
    }
    // a name that sanitises to nothing (`!!!`, `日本`, `#k=v`, `...`) would be a nameless series: a bad
    // line (its raw bytes get no table entry; a small cache spares the decode of a repeated one)
    if (this.knownNameless(buf, ks, ke)) {
      this.host.badLine(BadLine.EmptyKey, buf, ks, ke);
      return -1;
    }
    const key = this.decodeKey(buf, ks, ke, ts, te);
    if (isNamelessKey(key.name)) return this.namelessKey(buf, ks, ke);
    const rawIsId = this.rawIsId;
    const idx = this.indexes[type]!;
    // (raw bytes that are the id are looked up as they are: no copy of a key that may be dropped)
    let slot = rawIsId ? this.slotByIdBytes(type, key.id, buf, ks, ke) : this.slotById(type, key.id);
    const created = slot < 0;
    if (created) {
      if (this.liveTotal() >= this.limit.maxKeys) return this.dropKey(key, false);
      // the new key's bytes: its decoded identity and the entry it is found by (these raw bytes, or its id's)
      const need = keyCost(key) + ENTRY_BYTES + (rawIsId ? ke - ks : Buffer.byteLength(key.id));
      if (this.keyBytesUsed() + need > this.limit.keyTableBytes) return this.dropKey(key, true);
      slot = this.stores[type]!.create(key);
    }
    this.host.slotBound(type, slot);
    const t = this.table;
    // pinned: the entry the new key is found by; any other is a cached spelling (reclaimable)
    const pinned = created && rawIsId;
    if (entry >= 0) {
      t.update(entry, slot, idx.gen[slot]!, pinned);
      idx.refs[slot]!++;
      this.staleEntries--;
      if (!pinned) this.aliasEntries++;
    } else if (
      !pinned &&
      (this.aliasEntries >= this.limit.maxKeys || this.keyBytesUsed() + ENTRY_BYTES + (ke - ks) + (te - ts) > this.limit.keyTableBytes)
    ) {
      // keyTableBytes reached, or as many cached spellings as maxKeys: the line counts, its spelling is
      // not cached (the next flush reclaims room)
      this.spellingsUncached++;
    } else if (t.find(type, buf, ks, ke, ts, te) < 0) {
      // (slotById's look-ups moved the table's insert position: find again)
      if (t.insert(type, buf, ks, ke, ts, te, slot, idx.gen[slot]!, pinned) >= 0) {
        idx.refs[slot]!++;
        if (!pinned) this.aliasEntries++;
      } else if (pinned) {
        // the arena's limit (fail-safe: the budget keeps far below it): a key that cannot be found is not kept
        this.remove(type, slot);
        return this.dropKey(key, true);
      } else {
        this.spellingsUncached++;
      }
    }
    if (created && !rawIsId && !this.registerId(type, key, slot)) {
      this.remove(type, slot);
      return this.dropKey(key, true);
    }
    return slot;
  }

  /** Remove a live slot of any type (its raw entries become stale). */
  remove(type: number, slot: number): void {
    this.staleEntries += this.stores[type]!.remove(slot);
  }

  /** `n` raw entries became stale (their slots were deleted by a store's clear). */
  addStale(n: number): void {
    this.staleEntries += n;
  }

  /** Bytes of key names held, compared with keyTableBytes: the key table's entries + every live key's identity. */
  keyBytesUsed(): number {
    let n = this.table.usedBytes;
    for (const idx of this.indexes) n += idx.keyBytes;
    return n;
  }

  /** Live keys of every type (the daemon's own included), compared with maxKeys. */
  liveTotal(): number {
    let n = 0;
    for (const idx of this.indexes) n += idx.size;
    return n;
  }

  /**
   * The live slot of canonical id `id` of `type`, -1 when none (slow path: encodes the id). Looks at
   * the raw entry with the id's bytes first (it is the id's entry when its slot has that id), then at
   * the canonical entry. A store's keys without an entry (the daemon's own counters) are the store's.
   */
  slotById(type: number, id: string): number {
    const bytes = Buffer.from(id, 'utf8');
    return this.slotByIdBytes(type, id, bytes, 0, bytes.length);
  }

  /** {@link slotById} with the id's UTF-8 bytes given: `bytes[bs, be)`. */
  private slotByIdBytes(type: number, id: string, bytes: Buffer, bs: number, be: number): number {
    const own = this.stores[type]!.findUnindexed(id);
    if (own >= 0) return own;
    const t = this.table;
    const idx = this.indexes[type]!;
    let e = t.find(type, bytes, bs, be, be, be);
    if (e >= 0) {
      const s = t.eSlot[e]!;
      if (idx.isLive(s, t.eGen[e]!) && idx.keys[s]!.id === id) return s;
    }
    e = t.find(type + CANON, bytes, bs, be, be, be);
    if (e >= 0) {
      const s = t.eSlot[e]!;
      if (idx.isLive(s, t.eGen[e]!) && idx.keys[s]!.id === id) return s;
    }
    return -1;
  }

  /**
   * Make the live `slot` of `key` findable by {@link slotById} (a canonical entry unless a raw one
   * serves); false when the table refused the entry (its arena's limit: the caller drops the key).
   */
  registerId(type: number, key: MetricKey, slot: number): boolean {
    const bytes = Buffer.from(key.id, 'utf8');
    const t = this.table;
    const idx = this.indexes[type]!;
    const n = bytes.length;
    const gen = idx.gen[slot]!;
    let e = t.find(type, bytes, 0, n, 0, 0);
    if (e >= 0 && t.eSlot[e] === slot && t.eGen[e] === gen) return true;
    e = t.find(type + CANON, bytes, 0, n, 0, 0);
    if (e >= 0) {
      if (t.eSlot[e] === slot && t.eGen[e] === gen) return true;
      // a stale canonical entry (its slot was deleted since; an id has one canonical entry at most)
      if (!idx.isLive(t.eSlot[e]!, t.eGen[e]!)) this.staleEntries--;
      else idx.refs[t.eSlot[e]!]!--;
      t.update(e, slot, gen, true);
    } else if (t.insert(type + CANON, bytes, 0, n, 0, 0, slot, gen, true) < 0) {
      return false;
    }
    idx.refs[slot]!++;
    return true;
  }

  private knownNameless(buf: Buffer, ks: number, ke: number): boolean {
    const known = this.nameless[hashKeyBytes(buf, ks, ke) & (NAMELESS_CACHE - 1)]!;
    if (known === null || known.length !== ke - ks) return false;
    for (let i = 0; i < known.length; i++) if (known[i] !== buf[ks + i]) return false;
    return true;
  }

  /** A line whose name sanitises to nothing (`!!!`, `日本`, `#k=v`, `...`): a bad line (`empty_key`), never a nameless series. */
  private namelessKey(buf: Buffer, ks: number, ke: number): number {
    if (ke - ks <= NAMELESS_MAX_BYTES) this.nameless[hashKeyBytes(buf, ks, ke) & (NAMELESS_CACHE - 1)] = Buffer.from(buf.subarray(ks, ke));
    this.host.badLine(BadLine.EmptyKey, buf, ks, ke);
    return -1;
  }

  /** A line for a new key refused past maxKeys (or, `forBytes`, keyTableBytes): counted (keys_dropped); returns -1. */
  private dropKey(key: MetricKey, forBytes: boolean): number {
    this.limit.drop(key, forBytes);
    this.host.keyDropped();
    return -1;
  }

  // ---------------------------------------------------------------- keys by canonical identity (merges, the daemon's own)

  /** The live slot of a canonical key, created when absent; -1 when the key table refused its entry. */
  slotForKey(type: number, key: MetricKey): number {
    const found = this.slotById(type, key.id);
    if (found >= 0) return found;
    const slot = this.stores[type]!.create(key);
    if (this.registerId(type, key, slot)) return slot;
    this.remove(type, slot);
    return -1;
  }

  /** A merged key's live slot (created when absent, -1 past the key limit: counted), and whether it was created. */
  mergeSlot(type: number, key: MetricKey): number {
    const found = this.slotById(type, key.id);
    if (found >= 0) return found;
    if (this.liveTotal() >= this.limit.maxKeys) return this.dropKey(key, false);
    const idBytes = Buffer.byteLength(key.id);
    if (this.keyBytesUsed() + keyCost(key) + ENTRY_BYTES + idBytes > this.limit.keyTableBytes) return this.dropKey(key, true);
    const slot = this.slotForKey(type, key);
    if (slot < 0) return this.dropKey(key, true);
    this.host.slotBound(type, slot);
    return slot;
  }

  // ---------------------------------------------------------------- upkeep at flushes

  /** Rebuild the raw key table when stale entries outnumber live ones (memory returns after a burst). */
  maybeRebuild(): void {
    const total = this.table.count;
    if (this.staleEntries > 64 && this.staleEntries * 2 > total) {
      const idx = this.indexes;
      let aliases = 0;
      this.table.rebuild((type, slot, gen, pinned) => {
        const live = idx[type % CANON]!.isLive(slot, gen);
        if (live && !pinned) aliases++;
        return live;
      });
      this.aliasEntries = aliases;
      this.staleEntries = 0;
    }
  }

  /**
   * Cached spellings are bounded by keyTableBytes (their bytes) and by maxKeys (their number). Past
   * RECLAIM_AT of either (or when a spelling could not be cached), drop cached spellings from the key
   * table, down to RECLAIM_TO of both where they allow: first every spelling of a key idle this
   * interval, then the oldest spellings of active keys (entries are in order of first sight). The
   * entries keys are found by stay; a reclaimed spelling still in use is looked up on the slow path at
   * its next line and cached again. Runs at a flush, before the capture.
   */
  maybeReclaim(): void {
    const budget = this.limit.keyTableBytes;
    const used = this.keyBytesUsed();
    if (used <= budget * RECLAIM_AT && this.aliasEntries <= this.limit.maxKeys * RECLAIM_AT && this.spellingsUncached === 0) return;
    if (this.aliasEntries === 0 && this.staleEntries === 0) return;
    const idx = this.indexes;
    const stores = this.stores;
    // first pass: what dead entries and idle spellings give back, and how many active spellings there are
    let idleBytes = 0;
    let activeAliases = 0;
    this.table.scan((type, slot, gen, pinned, bytes) => {
      const t = type % CANON;
      if (!idx[t]!.isLive(slot, gen)) idleBytes += bytes;
      else if (!pinned && !stores[t]!.isActive(slot)) idleBytes += bytes;
      else if (!pinned) activeAliases++;
    });
    let activeToFree = used - budget * RECLAIM_TO - idleBytes;
    let activeToDrop = activeAliases - Math.floor(this.limit.maxKeys * RECLAIM_TO);
    let aliases = 0;
    let reclaimed = 0;
    this.table.rebuild((type, slot, gen, pinned, bytes) => {
      const t = type % CANON;
      const x = idx[t]!;
      if (!x.isLive(slot, gen)) return false;
      if (pinned) return true;
      if (stores[t]!.isActive(slot)) {
        if (activeToFree <= 0 && activeToDrop <= 0) {
          aliases++;
          return true;
        }
        activeToFree -= bytes;
        activeToDrop--;
      }
      x.refs[slot]!--;
      reclaimed++;
      return false;
    });
    this.aliasEntries = aliases;
    this.staleEntries = 0;
    this.spellingsReclaimed += reclaimed;
  }

  /**
   * keyNameSanitize changed (applied after a clear): raw bytes now canonicalise differently, so every
   * raw → slot mapping is forgotten, and every live key gets its canonical entry back (`skip`: keys the
   * table never holds, the daemon's own counters).
   */
  resanitize(sanitize: boolean, skip: (type: number, slot: number) => boolean): void {
    if (sanitize === this.sanitize) return;
    this.sanitize = sanitize;
    this.nameless.fill(null);
    this.table.clear();
    for (const idx of this.indexes) idx.refs.fill(0);
    this.staleEntries = 0;
    this.aliasEntries = 0;
    for (let type = 0; type < this.indexes.length; type++) {
      const idx = this.indexes[type]!;
      for (let s = idx.head; s >= 0; s = idx.next[s]!) if (!skip(type, s)) this.registerId(type, idx.keys[s]!, s);
    }
  }

  /** The sanitising in force at construction (no table to clear yet). */
  initSanitize(sanitize: boolean): void {
    this.sanitize = sanitize;
  }
}
