/**
 * The aggregator: receives parsed samples (hot path), and at each flush computes an immutable
 * {@link Snapshot} with the original statsd's semantics, then clears per the delete options.
 *
 * Hot path: raw key bytes → slot through the {@link KeyTable} (hash + compare, no allocation), then
 * one typed-array update. Keys are decoded and canonicalised only the first time their raw bytes
 * are seen (or when their slot was deleted since).
 *
 * Canonical id → slot also goes through the key table (no Map entry per key): a raw entry whose bytes
 * are the canonical id itself (an untagged, clean key: the common case) serves as the id's entry;
 * any other key gets an entry of type `type + CANON` holding its id's bytes (see registerId).
 */
import type { TallydConfig } from '../config/types.js';
import { canonicalKey, isNamelessKey } from '../parser/canonical.js';
import { hashKeyBytes } from '../parser/scanner.js';
import { BAD_LINE_REASONS, BadLine, DOG_COUNT_NAMES, type DogCount, MetricType, type MetricKey, type Sample, type SampleSink } from '../parser/types.js';
import { DeleteJob, DumpJob, runSliced, runSync, type AdminMetricType, type AdminStore } from './adminwalk.js';
import { addSaturated, saturate } from './finite.js';
import { ENTRY_BYTES, KeyTable } from './keytable.js';
import {
  Cumulative,
  TimerSummary,
  binIndex,
  compileHistograms,
  compileThresholds,
  matchHistogram,
  type CompiledHistogram,
  type Threshold,
} from './percentiles.js';
import { growReservoir, reservoirValues } from './reservoir.js';
import { ExpHistogram, RankReader, type ExpBucketsData } from './exphist.js';
import { mergeReservoir as mergeReservoirInto } from './merge.js';
import type { LeCounts, Snapshot } from './snapshot.js';
import { DEFAULT_FLUSH_SLICE_MS, FlushJob, type FlushScratch } from './flushjob.js';
import {
  CounterStore, EXTRA_BINS, EXTRA_LE, GaugeStore, SetStore, type SlotIndex, T_COUNT, T_MAX, T_MIN, T_N, T_SQ, T_STRIDE, T_SUM, TimerStore,
  keyCost,
} from './stores.js';

export interface AggregatorOptions {
  config: TallydConfig;
  /** Injectable RNG for the reservoirs (default Math.random). */
  random?: () => number;
  /** Called for every refused line; the caller rate-limits any log. */
  onBadLine?: (reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void;
}

export type { AdminMetricType } from './adminwalk.js';

/** How often the daemon stamps last_msg_seen (its resolution; the original reports whole seconds). */
export const MSG_CLOCK_MS = 250;

const EMPTY_SAMPLES = new Float64Array(0);
/** Key-table type offset of the canonical-id entries (raw entries use the MetricType itself, 0-3). */
const CANON = 4;
/** Slots (a power of two) and longest key of the cache of raw keys that sanitise to nothing. */
const NAMELESS_CACHE = 64;
const NAMELESS_MAX_BYTES = 256;
/** Distinct key prefixes remembered per interval for the maxKeys warning (bounds its memory). */
const DROPPED_PREFIX_LIMIT = 10_000;
/** A remembered prefix's longest length (a 10 KB key without dots is not kept whole, 10,000 times). */
const DROPPED_PREFIX_CHARS = 100;
/** Set names remembered per interval for the setMaxMembers warning. */
const DROPPED_SET_NAMES = 5;
/**
 * Cached spellings are reclaimed at a flush once the key bytes pass this share of keyTableBytes (or a
 * spelling could not be cached), down to {@link RECLAIM_TO} of it where the spellings allow.
 */
const RECLAIM_AT = 0.75;
const RECLAIM_TO = 0.5;
/** ownKeys / ownSlots indexes. */
const OWN_KEYS_DROPPED = 3;
const OWN_SET_MEMBERS_DROPPED = 4;
/** ownKeys index of the first DogStatsD count (DOG_COUNT_NAMES, in order); each created at its first count. */
const OWN_DOG = 5;
const OWN_COUNT = OWN_DOG + DOG_COUNT_NAMES.length;

/** Flushes in a row `slot` has gone without an update, counting this one (0 when it was updated). */
function idleFor(idle: number[], slot: number, active: boolean): number {
  const n = active ? 0 : (idle[slot] ?? 0) + 1;
  idle[slot] = n;
  return n;
}

/** A MetricKey for the daemon's own names (taken as given, not sanitised, as the original). */
function plainKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}

/** A final, partial interval (at a stop): see {@link Aggregator.captureFlush}. */
export interface FinalInterval {
  /** ms clock at which the process started aggregating (the interval's start when no flush came before). */
  readonly startedMs: number;
}

export class Aggregator implements SampleSink {
  private readonly table: KeyTable;
  private readonly counters: CounterStore;
  private readonly timers: TimerStore;
  private readonly gauges: GaugeStore;
  private readonly sets: SetStore;
  /** Slot indexes by MetricType (one class: monomorphic access on the hot path). */
  private readonly indexes: readonly SlotIndex[];
  /** Raw key-table entries whose slot was deleted since they were written. */
  private staleEntries: number;

  private readonly random: () => number;
  /**
   * xorshift32 state for the reservoirs' Algorithm R when no RNG was injected (never 0 then); 0 when
   * one was (`random` is called). Inline, it is measurably cheaper than a call to Math.random per
   * timer value once a reservoir is full (A/B of two builds, half the keys timers:
   * `node dist/bench/ab-sample.bench.js --before <other dist>`).
   */
  private rngState: number;
  private readonly onBadLine: ((reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void) | undefined;

  // Settings (from the config; reconfigure() applies a new one at the next flush).
  private flushIntervalMs: number;
  private thresholds: readonly Threshold[];
  private histograms: readonly CompiledHistogram[];
  /** The config list `histograms` was compiled from (recompiled only when a reload changes it). */
  private histogramsSource: TallydConfig['histogram'];
  private reservoirSize: number;
  /** Timers past their reservoir go to an exponential histogram (timerHistogram), of at most expMaxBuckets buckets per sign. */
  private expOn: boolean;
  private expMaxBuckets: number;
  private sanitize: boolean;
  private deleteCounters: boolean;
  private deleteTimers: boolean;
  private deleteGauges: boolean;
  private deleteSets: boolean;
  private gaugesMaxTTL: number;
  private pending: TallydConfig | null;

  // Key-explosion guard (maxKeys), idle-key reclaim (idleKeyTtl) and the original's keyFlush hit counts.
  private maxKeys: number;
  private idleKeyTtl: number;
  /** Flushes without an update per slot, per MetricType (counters, timers, sets; only when idleKeyTtl > 0). */
  private readonly idleFlushes: number[][];
  private droppedKeys: number;
  private droppedTotal: number;
  /** Of droppedKeys: refused because keyTableBytes was reached (the rest: maxKeys). */
  private droppedForBytes: number;

  // Byte bounds (maxKeyLength, keyTableBytes, setMaxMembers) and what they refused this interval.
  private maxKeyLength: number;
  private keyTableBytes: number;
  private setMaxMembers: number;
  /** Raw key-table entries that are cached spellings (not pinned: reclaimable). */
  private aliasEntries: number;
  /** Lines whose spelling could not be cached (keyTableBytes reached) this interval. */
  private spellingsUncached: number;
  /** Cached spellings reclaimed at flushes since the last takeMemoryReport. */
  private spellingsReclaimed: number;
  private setMembersDropped: number;
  private setMembersDroppedTotal: number;
  private droppedSetNames: Set<string>;
  /** Start of the line last given to badLine (for the packet guard, src/ingest.ts); -1 once reset. */
  lastBadLineStart: number;
  /** Top-two-component prefix → dropped lines this interval (bounded: DROPPED_PREFIX_LIMIT entries). */
  private droppedPrefixes: Map<string, number>;
  /** keyFlush: lines per slot per MetricType this keyFlush interval; null when keyFlush is off. */
  private keyHits: Float64Array[] | null;
  /** Status page (src/status): lines per slot per MetricType while a page is open; null otherwise (one null check per line). */
  private statusHits: Float64Array[] | null = null;
  /** Slots created since start (new keys), for the status page's cardinality view. */
  private keysCreatedTotal = 0;

  // The daemon's own counters (never deleted by deleteCounters) and the timestamp_lag gauge.
  private readonly ownKeys: readonly MetricKey[];
  private readonly ownSlots: Int32Array;
  private readonly lagKey: MetricKey;
  private prevTimestamp: number;
  /** ms clock of the previous capture (NaN before the first): the final partial interval's length. */
  private prevCaptureMs: number;
  private flushes: number;

  private badLines: number;
  private packets: number;
  private lines: number;
  private readonly byReason: Float64Array;
  private lastMsg: number;
  /** A packet was counted since the last noteTime(). */
  private msgPending = false;


  constructor(opts: AggregatorOptions) {
    const c = opts.config;
    this.table = new KeyTable();
    this.counters = new CounterStore();
    this.timers = new TimerStore();
    this.gauges = new GaugeStore();
    this.sets = new SetStore();
    const idx: SlotIndex[] = [];
    idx[MetricType.Counter] = this.counters.idx;
    idx[MetricType.Timer] = this.timers.idx;
    idx[MetricType.Gauge] = this.gauges.idx;
    idx[MetricType.Set] = this.sets.idx;
    this.indexes = idx;
    for (let type = 0; type < idx.length; type++) idx[type]!.byId.lookup = (id) => this.slotById(type, id);
    this.staleEntries = 0;
    this.random = opts.random ?? Math.random;
    this.rngState = opts.random === undefined ? (Math.random() * 0x100000000) | 0 || 1 : 0;
    this.onBadLine = opts.onBadLine;

    this.flushIntervalMs = c.flushInterval;
    this.thresholds = compileThresholds(c.percentThreshold);
    this.histograms = compileHistograms(c.histogram);
    this.histogramsSource = c.histogram;
    this.reservoirSize = Math.max(1, Math.floor(c.reservoirSize));
    this.expOn = c.timerHistogram;
    this.expMaxBuckets = c.timerHistogramMaxBuckets;
    this.sanitize = c.keyNameSanitize;
    this.deleteCounters = c.deleteCounters;
    this.deleteTimers = c.deleteTimers;
    this.deleteGauges = c.deleteGauges;
    this.deleteSets = c.deleteSets;
    this.gaugesMaxTTL = Math.max(1, Math.floor(c.gaugesMaxTTL));
    this.pending = null;

    this.maxKeys = c.maxKeys;
    this.idleKeyTtl = c.idleKeyTtl;
    this.idleFlushes = [[], [], [], []];
    this.droppedKeys = 0;
    this.droppedTotal = 0;
    this.droppedForBytes = 0;
    this.droppedPrefixes = new Map();
    this.maxKeyLength = c.maxKeyLength;
    this.keyTableBytes = c.keyTableBytes;
    this.setMaxMembers = c.setMaxMembers;
    this.aliasEntries = 0;
    this.spellingsUncached = 0;
    this.spellingsReclaimed = 0;
    this.setMembersDropped = 0;
    this.setMembersDroppedTotal = 0;
    this.droppedSetNames = new Set();
    this.lastBadLineStart = -1;
    this.keyHits = c.keyFlush.interval > 0 ? [new Float64Array(1024), new Float64Array(1024), new Float64Array(1024), new Float64Array(1024)] : null;

    const p = c.prefixStats;
    // order as the original's startup: bad_lines_seen, packets_received, metrics_received;
    // then tallyd's keys_dropped and set_members_dropped, each created at its first drop only (output
    // stays the original's until then)
    this.ownKeys = [
      plainKey(p + '.bad_lines_seen'), plainKey(p + '.packets_received'), plainKey(p + '.metrics_received'), plainKey(p + '.keys_dropped'),
      plainKey(p + '.set_members_dropped'), ...DOG_COUNT_NAMES.map((n) => plainKey(`${p}.${n}`)),
    ];
    this.ownSlots = new Int32Array(OWN_COUNT).fill(-1);
    for (let i = 0; i < 3; i++) this.ownSlots[i] = this.createSlotOnly(MetricType.Counter, this.ownKeys[i]!);
    this.lagKey = plainKey(p + '.timestamp_lag');
    this.prevTimestamp = 0;
    this.prevCaptureMs = Number.NaN;
    this.flushes = 0;

    this.badLines = 0;
    this.packets = 0;
    this.lines = 0;
    this.byReason = new Float64Array(BAD_LINE_REASONS.length);
    this.lastMsg = Math.round(Date.now() / 1000);

  }

  /** Total refused lines since start (admin `stats`: messages.bad_lines_seen). */
  get badLinesSeen(): number {
    return this.badLines;
  }

  /** Packets received since start (countPacket calls). */
  get packetsReceived(): number {
    return this.packets;
  }

  /** Lines received since start (the sum of countPacket's `lines`). */
  get linesReceived(): number {
    return this.lines;
  }

  /** Refused lines since start, indexed by BadLine. */
  get badLinesByReason(): Float64Array {
    return this.byReason;
  }

  /** Unix seconds of the last packet (startup time until the first). */
  get lastMsgSeen(): number {
    this.noteTime(Date.now());
    return this.lastMsg;
  }

  // ---------------------------------------------------------------- hot path

  sample(s: Sample): void {
    const type = s.type;
    const slot = this.slotFor(s, type);
    if (slot < 0) return; // a new key past maxKeys: dropped and counted
    if (this.keyHits !== null) this.keyHits[type]![slot]!++;
    if (this.statusHits !== null) this.statusHits[type]![slot]!++;
    if (type === MetricType.Counter) {
      // the original's `value * (1 / sampleRate)`: kept for bit-identical sums (v / r can differ in the last bit);
      // saturated at ±MAX_VALUE rather than ±Infinity (finite.ts)
      const cv = this.counters.values;
      const v = cv[slot]! + s.value * (1 / s.sampleRate);
      cv[slot] = v - v === 0 ? v : saturate(v);
    } else if (type === MetricType.Timer) {
      this.addTimer(slot, s.value, s.sampleRate);
    } else if (type === MetricType.Gauge) {
      this.addGauge(slot, s);
    } else {
      this.addSetMember(slot, s);
    }
  }

  // (gauges and sets in methods of their own: a small sample() lets V8 inline the key-table look-up
  // into the scanner's loop; checked with --trace-turbo-inlining)
  private addGauge(slot: number, s: Sample): void {
    const g = this.gauges;
    // the original: a signed value is a delta only when the gauge exists and is not 0
    if (s.gaugeDelta && g.values[slot] !== 0) g.values[slot] = addSaturated(g.values[slot]!, s.value);
    else g.values[slot] = s.value;
    g.updated[slot] = 1;
    if (this.deleteGauges) g.ttl[slot] = this.gaugesMaxTTL;
  }

  private addSetMember(slot: number, s: Sample): void {
    const len = s.memberEnd - s.memberStart;
    if (len > this.maxKeyLength) {
      this.badLine(BadLine.KeyTooLong, s.buf, s.keyStart, s.memberEnd);
      return;
    }
    // set members are decoded per line: sets are rare, and a member must be kept as a string anyway
    const member = len > 0 ? s.buf.toString('utf8', s.memberStart, s.memberEnd) : '0';
    const m = this.sets.members[slot]!;
    // exact up to setMaxMembers per interval; past it a new member is dropped and counted
    if (m.size < this.setMaxMembers) m.add(member);
    else if (!m.has(member)) this.dropSetMember(slot, 1);
  }

  /** `n` new members of the set at `slot` refused past setMaxMembers: counted (set_members_dropped). */
  private dropSetMember(slot: number, n: number): void {
    this.setMembersDropped += n;
    this.setMembersDroppedTotal += n;
    let own = this.ownSlots[OWN_SET_MEMBERS_DROPPED]!;
    if (own < 0) own = this.ownSlots[OWN_SET_MEMBERS_DROPPED] = this.createSlotOnly(MetricType.Counter, this.ownKeys[OWN_SET_MEMBERS_DROPPED]!);
    this.counters.values[own]! += n;
    if (this.droppedSetNames.size < DROPPED_SET_NAMES) this.droppedSetNames.add(this.sets.idx.keys[slot]!.id);
  }

  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    this.lastBadLineStart = lineStart;
    this.counters.values[this.ownSlots[0]!]! += 1;
    this.badLines++;
    this.byReason[reason]!++;
    if (this.onBadLine !== undefined) this.onBadLine(reason, buf, lineStart, lineEnd);
  }

  /** A DogStatsD field, event or service check: `<prefixStats>.dogstatsd_*`, created at its first count. */
  dogCount(what: DogCount): void {
    const i = OWN_DOG + what;
    let own = this.ownSlots[i]!;
    if (own < 0) own = this.ownSlots[i] = this.createSlotOnly(MetricType.Counter, this.ownKeys[i]!);
    this.counters.values[own]! += 1;
  }

  /** One received packet holding `lines` non-empty lines. */
  countPacket(lines: number): void {
    const v = this.counters.values;
    v[this.ownSlots[1]!]! += 1;
    v[this.ownSlots[2]!]! += lines;
    this.packets++;
    this.lines += lines;
    // the time is read by noteTime(), not here: a clock read per packet measured ~7 % of the cost of a counter line
    // (an A/B of ingest: `node dist/bench/ab-sample.bench.js --before <other dist>`)
    this.msgPending = true;
  }

  /**
   * Stamps last_msg_seen for the packets counted since the previous call. The daemon calls it from a
   * coarse timer (MSG_CLOCK_MS), and every reader of lastMsgSeen calls it first.
   */
  noteTime(nowMs: number): void {
    if (!this.msgPending) return;
    this.msgPending = false;
    this.lastMsg = Math.round(nowMs / 1000);
  }

  private slotFor(s: Sample, type: number): number {
    const t = this.table;
    const buf = s.buf;
    // (the scanner hashed the key bytes already: Sample.keyHash)
    const h = s.keyHashed ? s.keyHash : hashKeyBytes(buf, s.keyStart, s.keyEnd);
    const e = t.findHashed(h, type, buf, s.keyStart, s.keyEnd, s.tagStart, s.tagEnd);
    if (e >= 0) {
      const slot = t.eSlot[e]!;
      if (this.indexes[type]!.gen[slot] === t.eGen[e]) return slot;
    }
    return this.resolveSample(s, type, e);
  }

  /** Slow path of {@link slotFor} (one small call site keeps slotFor small enough to inline). */
  private resolveSample(s: Sample, type: number, entry: number): number {
    return this.resolve(entry, type, s.buf, s.keyStart, s.keyEnd, s.tagStart, s.tagEnd);
  }

  /** `histogram` bins and backends' le buckets of a timer value (counted at ingest for every value: exact). */
  private timerExtras(slot: number, v: number, extras: number): void {
    const t = this.timers;
    if ((extras & EXTRA_BINS) !== 0) {
      const b = binIndex(this.histograms[t.histRule[slot]!]!.bounds, v);
      if (b >= 0) t.histCounts[slot]![b]!++;
    }
    if ((extras & EXTRA_LE) !== 0) {
      const bounds = t.leBounds[slot]!;
      // the first bound >= v (le: v <= bound)
      let lo = 0;
      let hi = bounds.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= bounds[mid]!) hi = mid;
        else lo = mid + 1;
      }
      if (lo < bounds.length) t.leCounts[slot]![lo]!++;
    }
  }

  /** Asked by a backend for a timer key: bounds to count exactly at ingest (see setTimerBounds). */
  private timerBoundsFn: ((key: MetricKey) => Float64Array | null) | null = null;
  private timerBoundsPending = false;

  /**
   * A backend's le buckets per timer key (e.g. the Prometheus histograms a mapping asks for, in ms):
   * counted exactly at ingest from the next interval on (every live timer is asked again then).
   */
  setTimerBounds(fn: ((key: MetricKey) => Float64Array | null) | null): void {
    this.timerBoundsFn = fn;
    this.timerBoundsPending = true;
  }

  private addTimer(slot: number, v: number, rate: number): void {
    const t = this.timers;
    const st = t.stats;
    const o = slot * T_STRIDE;
    const i = st[o + T_N]!;
    st[o + T_N] = i + 1;
    st[o + T_COUNT]! += 1 / rate;
    const sum = st[o + T_SUM]! + v;
    const sq = st[o + T_SQ]! + v * v;
    st[o + T_SUM] = sum;
    st[o + T_SQ] = sq;
    // saturated at ±MAX_VALUE (finite.ts). Checking the squares is enough: timers are >= 0, and the sum
    // can only overflow through values above 1e154, whose square overflows first
    if (sq - sq !== 0) this.saturateTimer(o);
    if (v < st[o + T_MIN]!) st[o + T_MIN] = v;
    if (v > st[o + T_MAX]!) st[o + T_MAX] = v;
    // Algorithm R (the only copy; reservoir.ts holds its arrays): keep every value while there is room, grow up to the
    // size; past it, pastReservoir(): the histogram, or Algorithm R with it off
    const res = t.res[slot]!;
    if (i < res.length) res[i] = v; // (a reservoir's length never exceeds the size)
    else {
      const size = this.reservoirSize;
      if (i < size) {
        const grown = growReservoir(res, i, size);
        grown[i] = v;
        t.res[slot] = grown;
      } else {
        this.pastReservoir(slot, res, i, v);
      }
    }
    const extras = t.extras[slot]!;
    if (extras !== 0) this.timerExtras(slot, v, extras);
  }

  /** A value past the reservoir (value number i + 1 > size): into the histogram, or Algorithm R with it off. */
  private pastReservoir(slot: number, res: Float64Array, i: number, v: number): void {
    const t = this.timers;
    const h = t.exp[slot]!;
    if (h !== null) {
      // every value into the exponential histogram (no sampling)
      h.add(v);
    } else if (this.expOn) {
      this.handOff(slot, res, v);
    } else {
      // Algorithm R: replace a random value with probability size / (i + 1)
      let j: number;
      let x = this.rngState;
      if (x !== 0) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        this.rngState = x;
        j = Math.floor(((x >>> 0) / 4294967296) * (i + 1));
      } else {
        j = Math.floor(this.random() * (i + 1));
      }
      if (j < this.reservoirSize) res[j] = v;
    }
  }

  /** A timer's sum or sum of squares overflowed (values near 1e154 and up): saturate both. */
  private saturateTimer(o: number): void {
    const st = this.timers.stats;
    st[o + T_SUM] = saturate(st[o + T_SUM]!);
    st[o + T_SQ] = saturate(st[o + T_SQ]!);
  }

  /**
   * The first value past the reservoir (value number size + 1 of the interval): the timer's
   * histogram from the pool, the values held first, then `v`. From here on every value goes there.
   */
  private handOff(slot: number, res: Float64Array, v: number): void {
    const h = this.acquireExp();
    const m = Math.min(res.length, this.reservoirSize, this.timers.stats[slot * T_STRIDE + T_N]! - 1);
    for (let j = 0; j < m; j++) h.add(res[j]!);
    h.add(v);
    this.timers.exp[slot] = h;
  }

  /** Histograms handed back by flush jobs (reused across intervals and keys), bounded by the last capture's. */
  private readonly expPool: ExpHistogram[] = [];
  private expPoolCap = 16;

  private acquireExp(): ExpHistogram {
    const h = this.expPool.pop();
    if (h !== undefined) return h;
    return new ExpHistogram(this.expMaxBuckets);
  }

  private releaseExp(h: ExpHistogram): void {
    if (this.expPool.length < this.expPoolCap && h.maxBuckets === this.expMaxBuckets) {
      h.reset();
      this.expPool.push(h);
    }
  }

  // ---------------------------------------------------------------- slow path: first sight of raw bytes

  /** Set by {@link decodeKey}: whether the raw bytes just decoded are exactly the key's canonical id. */
  private rawIsId = false;

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
    if (ke - ks + (te - ts) > this.maxKeyLength) {
      this.badLine(BadLine.KeyTooLong, buf, ks, te > ts ? te : ke);
      return -1;
    }
    // a name that sanitises to nothing (`!!!`, `日本`, `#k=v`, `...`) would be a nameless series: a bad
    // line (its raw bytes get no table entry; a small cache spares the decode of a repeated one)
    if (this.knownNameless(buf, ks, ke)) {
      this.badLine(BadLine.EmptyKey, buf, ks, ke);
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
      if (this.liveTotal() >= this.maxKeys) return this.dropKey(key, false);
      // the new key's bytes: its decoded identity and the entry it is found by (these raw bytes, or its id's)
      const need = keyCost(key) + ENTRY_BYTES + (rawIsId ? ke - ks : Buffer.byteLength(key.id));
      if (this.keyBytesUsed() + need > this.keyTableBytes) return this.dropKey(key, true);
      slot = this.createSlotOnly(type, key);
    }
    this.trackNewSlot(type, slot);
    const t = this.table;
    // pinned: the entry the new key is found by; any other is a cached spelling (reclaimable)
    const pinned = created && rawIsId;
    if (entry >= 0) {
      t.update(entry, slot, idx.gen[slot]!, pinned);
      idx.refs[slot]!++;
      this.staleEntries--;
      if (!pinned) this.aliasEntries++;
    } else if (!pinned && (this.aliasEntries >= this.maxKeys || this.keyBytesUsed() + ENTRY_BYTES + (ke - ks) + (te - ts) > this.keyTableBytes)) {
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
        this.removeAnySlot(type, slot);
        return this.dropKey(key, true);
      } else {
        this.spellingsUncached++;
      }
    }
    if (created && !rawIsId && !this.registerId(type, key, slot)) {
      this.removeAnySlot(type, slot);
      return this.dropKey(key, true);
    }
    return slot;
  }

  /** Remove a live slot of any type (its raw entries become stale). */
  private removeAnySlot(type: number, slot: number): void {
    if (type === MetricType.Counter) this.staleEntries += this.counters.remove(slot);
    else if (type === MetricType.Timer) this.staleEntries += this.timers.remove(slot);
    else if (type === MetricType.Gauge) this.staleEntries += this.gauges.remove(slot);
    else this.staleEntries += this.sets.remove(slot);
  }

  /** Bytes of key names held, compared with keyTableBytes: the key table's entries + every live key's identity. */
  keyBytesUsed(): number {
    const idx = this.indexes;
    return this.table.usedBytes + idx[0]!.keyBytes + idx[1]!.keyBytes + idx[2]!.keyBytes + idx[3]!.keyBytes;
  }

  /**
   * The live slot of canonical id `id` of `type`, -1 when none (slow path: encodes the id). Looks at
   * the raw entry with the id's bytes first (it is the id's entry when its slot has that id), then at
   * the canonical entry. The daemon's own counters have no entry (found by {@link ownSlots}).
   */
  private slotById(type: number, id: string): number {
    const bytes = Buffer.from(id, 'utf8');
    return this.slotByIdBytes(type, id, bytes, 0, bytes.length);
  }

  /** {@link slotById} with the id's UTF-8 bytes given: `bytes[bs, be)`. */
  private slotByIdBytes(type: number, id: string, bytes: Buffer, bs: number, be: number): number {
    if (type === MetricType.Counter) {
      const own = this.ownKeys;
      for (let i = 0; i < own.length; i++) if (this.ownSlots[i]! >= 0 && own[i]!.id === id) return this.ownSlots[i]!;
    }
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
  private registerId(type: number, key: MetricKey, slot: number): boolean {
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

  /**
   * Raw key bytes seen to sanitise to nothing, by hash (direct-mapped, NAMELESS_CACHE slots of keys up
   * to NAMELESS_MAX_BYTES): such keys get no table entry, and a flood of one of them would otherwise be
   * decoded and sanitised per line (measured 1.6-8.8 µs a line, against ~0.2 for a valid one).
   * The name depends on the key bytes only (tags never make one), so the tags are not part of it.
   */
  private readonly nameless: (Buffer | null)[] = new Array<Buffer | null>(NAMELESS_CACHE).fill(null);

  private knownNameless(buf: Buffer, ks: number, ke: number): boolean {
    const known = this.nameless[hashKeyBytes(buf, ks, ke) & (NAMELESS_CACHE - 1)]!;
    if (known === null || known.length !== ke - ks) return false;
    for (let i = 0; i < known.length; i++) if (known[i] !== buf[ks + i]) return false;
    return true;
  }

  /** A line whose name sanitises to nothing (`!!!`, `日本`, `#k=v`, `...`): a bad line (`empty_key`), never a nameless series. */
  private namelessKey(buf: Buffer, ks: number, ke: number): number {
    if (ke - ks <= NAMELESS_MAX_BYTES) this.nameless[hashKeyBytes(buf, ks, ke) & (NAMELESS_CACHE - 1)] = Buffer.from(buf.subarray(ks, ke));
    this.badLine(BadLine.EmptyKey, buf, ks, ke);
    return -1;
  }

  /** Live keys of every type (the daemon's own included), compared with maxKeys. */
  private liveTotal(): number {
    return this.counters.idx.size + this.timers.idx.size + this.gauges.idx.size + this.sets.idx.size;
  }

  /**
   * A line for a new key past maxKeys (or, `forBytes`, past keyTableBytes): counted (keys_dropped), its
   * prefix noted for the warning; returns -1.
   */
  private dropKey(key: MetricKey, forBytes: boolean): number {
    this.droppedKeys++;
    this.droppedTotal++;
    if (forBytes) this.droppedForBytes++;
    let own = this.ownSlots[OWN_KEYS_DROPPED]!;
    if (own < 0) own = this.ownSlots[OWN_KEYS_DROPPED] = this.createSlotOnly(MetricType.Counter, this.ownKeys[OWN_KEYS_DROPPED]!);
    this.counters.values[own]! += 1;
    const name = key.name;
    const d1 = name.indexOf('.');
    const d2 = d1 < 0 ? -1 : name.indexOf('.', d1 + 1);
    const end = d2 < 0 ? name.length : d2;
    const prefix = name.slice(0, Math.min(end, DROPPED_PREFIX_CHARS));
    const m = this.droppedPrefixes;
    const n = m.get(prefix);
    if (n !== undefined) m.set(prefix, n + 1);
    // (a copy: a slice would keep the whole dropped name alive)
    else if (m.size < DROPPED_PREFIX_LIMIT) m.set(Buffer.from(prefix, 'utf8').toString('utf8'), 1);
    return -1;
  }

  /** Bookkeeping for a slot (re)bound on the slow path: idle count reset, keyFlush hit array sized. */
  private trackNewSlot(type: number, slot: number): void {
    if (this.idleKeyTtl > 0) this.idleFlushes[type]![slot] = 0;
    this.keysCreatedTotal++;
    const sh = this.statusHits;
    if (sh !== null && slot >= sh[type]!.length) {
      const grown = new Float64Array(Math.max(slot + 1, sh[type]!.length * 2));
      grown.set(sh[type]!);
      sh[type] = grown;
    }
    const hits = this.keyHits;
    if (hits !== null && slot >= hits[type]!.length) {
      const grown = new Float64Array(Math.max(slot + 1, hits[type]!.length * 2));
      grown.set(hits[type]!);
      hits[type] = grown;
    }
  }

  /**
   * Lines for new keys dropped past maxKeys since the last call, with the top 5 key prefixes (first two
   * dot-separated components) among them; null when none were. Resets the interval's figures.
   */
  takeDroppedKeys(): {
    dropped: number; forBytes: number; total: number; maxKeys: number; keyTableBytes: number; topPrefixes: Array<[string, number]>;
  } | null {
    if (this.droppedKeys === 0) return null;
    const top = [...this.droppedPrefixes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const out = {
      dropped: this.droppedKeys, forBytes: this.droppedForBytes, total: this.droppedTotal, maxKeys: this.maxKeys,
      keyTableBytes: this.keyTableBytes, topPrefixes: top,
    };
    this.droppedKeys = 0;
    this.droppedForBytes = 0;
    this.droppedPrefixes = new Map();
    return out;
  }

  /**
   * The byte bounds' figures since the last call (set members dropped past setMaxMembers with up to 5
   * of their sets, spellings not cached or reclaimed past keyTableBytes); null when nothing happened.
   */
  takeMemoryReport(): {
    setMembersDropped: number; setMaxMembers: number; sets: string[]; spellingsUncached: number; spellingsReclaimed: number;
    keyBytes: number; keyTableBytes: number;
  } | null {
    if (this.setMembersDropped === 0 && this.spellingsUncached === 0 && this.spellingsReclaimed === 0) return null;
    const out = {
      setMembersDropped: this.setMembersDropped, setMaxMembers: this.setMaxMembers, sets: [...this.droppedSetNames],
      spellingsUncached: this.spellingsUncached, spellingsReclaimed: this.spellingsReclaimed,
      keyBytes: this.keyBytesUsed(), keyTableBytes: this.keyTableBytes,
    };
    this.setMembersDropped = 0;
    this.droppedSetNames = new Set();
    this.spellingsUncached = 0;
    this.spellingsReclaimed = 0;
    return out;
  }

  /** Set members dropped past setMaxMembers since start. */
  get setMembersDroppedSinceStart(): number {
    return this.setMembersDroppedTotal;
  }

  /** Lines for new keys dropped past maxKeys since start. */
  get keysDroppedTotal(): number {
    return this.droppedTotal;
  }

  /**
   * keyFlush (the original's): lines per key since the last call, most frequent first, then resets.
   * Keys of several types with one name are added up. Empty when keyFlush is off.
   */
  takeKeyHits(): Array<[string, number]> {
    const hits = this.keyHits;
    if (hits === null) return [];
    const byName = new Map<string, number>();
    for (let type = 0; type < hits.length; type++) {
      const h = hits[type]!;
      const idx = this.indexes[type]!;
      for (let s = idx.head; s >= 0; s = idx.next[s]!) {
        const n = h[s]!;
        if (n > 0) {
          const id = idx.keys[s]!.id;
          byName.set(id, (byName.get(id) ?? 0) + n);
        }
      }
      h.fill(0);
    }
    return [...byName.entries()].sort((a, b) => b[1] - a[1]);
  }

  /** The live slot of a canonical key, created when absent. */
  private slotForKey(type: number, key: MetricKey): number {
    const found = this.slotById(type, key.id);
    if (found >= 0) return found;
    return this.createSlot(type, key);
  }

  /** A new slot for `key` (not yet live), findable by id; -1 when the key table refused its entry. */
  private createSlot(type: number, key: MetricKey): number {
    const slot = this.createSlotOnly(type, key);
    if (this.registerId(type, key, slot)) return slot;
    this.removeAnySlot(type, slot);
    return -1;
  }

  /** A new slot for `key` in its store (the caller makes it findable by id). */
  private createSlotOnly(type: number, key: MetricKey): number {
    switch (type) {
      case MetricType.Counter:
        return this.counters.create(key);
      case MetricType.Timer: {
        const rule = matchHistogram(this.histograms, key.id);
        const slot = this.timers.create(key, rule, rule >= 0 ? this.histograms[rule]!.bounds.length : 0);
        if (this.timerBoundsFn !== null) this.timers.setLe(slot, this.timerBoundsFn(key));
        // a reservoir handed back by a flush job: with deleteTimers, the timers of the last interval
        // come back without growing 16 → … → size again (measured ~3-6 µs per Float64Array allocation)
        this.timers.res[slot] = this.pooledReservoir();
        return slot;
      }
      case MetricType.Gauge:
        return this.gauges.create(key);
      default:
        return this.sets.create(key);
    }
  }

  // ---------------------------------------------------------------- flush

  /** Compute the snapshot of the interval ending at `nowMs`, then clear as the original's clear_metrics. */
  flush(nowMs: number, final?: FinalInterval): Snapshot {
    return this.captureFlush(nowMs, final).runSync();
  }

  /**
   * As {@link flush}, but the compute runs in slices of about `sliceMs` that yield to the event loop.
   * The interval is captured (and the live store cleared) synchronously, before this returns.
   */
  flushAsync(nowMs: number, sliceMs: number = DEFAULT_FLUSH_SLICE_MS): Promise<Snapshot> {
    return this.captureFlush(nowMs).run(sliceMs);
  }

  /**
   * The synchronous half of a flush: gathers the interval ending at `nowMs` (values copied, each active
   * timer's reservoir swapped for a pooled one, keys copied, in insertion order), then clears the live
   * store as the original's clear_metrics. The returned job computes the snapshot from the capture only.
   * `final` marks the partial interval of a stop (its timestamp and rate divisor, see below).
   */
  captureFlush(nowMs: number, final?: FinalInterval): FlushJob {
    const pending = this.pending;
    if (pending !== null) this.applyFlushSettings(pending);
    const started = performance.now();
    const intervalS = this.flushIntervalMs / 1000;
    this.maybeReclaim();
    let timestamp = Math.round(nowMs / 1000);
    let intervalMs = this.flushIntervalMs;
    if (final !== undefined) {
      // The partial interval at a stop: stamped with the time its interval would have ended, so that it
      // never lands in the previous flush's second (or retention step), which Graphite would overwrite;
      // its rates are per the time it actually covered (7 counts in 0.3 s are 23.3/s, not 7/interval).
      if (this.flushes > 0) timestamp = Math.max(this.prevTimestamp + 1, Math.round(this.prevTimestamp + intervalS));
      const since = this.flushes > 0 ? this.prevCaptureMs : final.startedMs;
      const covered = nowMs - since;
      if (Number.isFinite(covered)) intervalMs = Math.max(1, covered);
    }
    this.prevCaptureMs = nowMs;
    if (this.flushes > 0) {
      const lag = this.slotForKey(MetricType.Gauge, this.lagKey);
      if (lag >= 0) this.gauges.values[lag] = timestamp - this.prevTimestamp - intervalS;
    }
    this.prevTimestamp = timestamp;
    this.flushes++;

    // counters (often most keys): gathered along the insertion list straight into the snapshot's
    // columns. Measured at 1M keys (bench (b) of `node dist/bench/aggregator.bench.js`): ~70 ms, where
    // copying the slot arrays (~80 ms: keys.slice() of 1M references is most of it) and gathering from
    // the copies in the compute (~50 ms) took ~130 ms.
    const ci = this.counters.idx;
    const cv = this.counters.values;
    const ck = ci.keys;
    const cn = ci.next;
    const counterKeys = new Array<MetricKey>(ci.size);
    const counterCounts = new Float64Array(ci.size);
    let k = 0;
    for (let s = ci.head; s >= 0; s = cn[s]!) {
      counterKeys[k] = ck[s]!;
      counterCounts[k++] = cv[s]!;
    }

    const t = this.timers;
    const ti = t.idx;
    const nt = ti.size;
    this.resPoolCap = nt;
    if (this.resPool.length > nt) this.resPool.length = nt;
    const timerKeys = new Array<MetricKey>(nt);
    const timerN = new Float64Array(nt);
    const timerCount = new Float64Array(nt);
    const timerSum = new Float64Array(nt);
    const timerSumSquares = new Float64Array(nt);
    const timerMin = new Float64Array(nt);
    const timerMax = new Float64Array(nt);
    const timerRes = new Array<Float64Array>(nt);
    const timerRule = new Int32Array(nt);
    const timerHist = new Array<Float64Array | null>(nt);
    const timerExp = new Array<ExpHistogram | null>(nt);
    const timerLe = new Array<LeCounts | null>(nt);
    let overflowed = 0;
    // a timer deleted at this clear needs no fresh reservoir (remove() gives it the empty one)
    const refill = !this.deleteTimers;
    k = 0;
    const ts = t.stats;
    for (let s = ti.head; s >= 0; s = ti.next[s]!) {
      const o = s * T_STRIDE;
      const n = ts[o + T_N]!;
      timerKeys[k] = ti.keys[s]!;
      timerN[k] = n;
      timerCount[k] = ts[o + T_COUNT]!;
      timerSum[k] = ts[o + T_SUM]!;
      timerSumSquares[k] = ts[o + T_SQ]!;
      timerMin[k] = ts[o + T_MIN]!;
      timerMax[k] = ts[o + T_MAX]!;
      const rule = t.histRule[s]!;
      timerRule[k] = rule;
      const h = t.exp[s]!;
      timerExp[k] = h;
      if (h !== null) {
        t.exp[s] = null;
        overflowed++;
      }
      if (n > 0) {
        timerRes[k] = t.res[s]!;
        if (refill) t.res[s] = this.pooledReservoir();
        timerHist[k] = rule >= 0 ? t.histCounts[s]!.slice() : null;
        const le = (t.extras[s]! & EXTRA_LE) !== 0 ? t.leCounts[s]! : null;
        timerLe[k] = le !== null && !Number.isNaN(le[0]) ? { bounds: t.leBounds[s]!, counts: le.slice() } : null;
      } else {
        timerRes[k] = EMPTY_SAMPLES;
        timerHist[k] = null;
        timerLe[k] = null;
      }
      k++;
    }

    // (the pool holds at most as many histograms as timers overflowed in the last interval)
    this.expPoolCap = Math.max(16, overflowed);
    if (this.expPool.length > this.expPoolCap) this.expPool.length = this.expPoolCap;

    const gi = this.gauges.idx;
    const gv = this.gauges.values;
    const gaugeKeys = new Array<MetricKey>(gi.size);
    const gaugeValues = new Float64Array(gi.size);
    const gaugeUpdated = new Uint8Array(gi.size);
    const gu = this.gauges.updated;
    k = 0;
    for (let s = gi.head; s >= 0; s = gi.next[s]!) {
      gaugeKeys[k] = gi.keys[s]!;
      gaugeUpdated[k] = gu[s]!;
      gu[s] = 0;
      gaugeValues[k++] = gv[s]!;
    }

    const si = this.sets.idx;
    const setKeys = new Array<MetricKey>(si.size);
    const setCounts = new Float64Array(si.size);
    // the interval's member sets themselves (each key gets a new one below): npm backends read members
    const setMembers = new Array<ReadonlySet<string>>(si.size);
    k = 0;
    for (let s = si.head; s >= 0; s = si.next[s]!) {
      setKeys[k] = si.keys[s]!;
      setMembers[k] = this.sets.members[s]!;
      setCounts[k++] = this.sets.members[s]!.size;
    }

    const job = new FlushJob(
      {
        timestamp,
        intervalMs,
        thresholds: this.thresholds,
        histograms: this.histograms,
        reservoirSize: this.reservoirSize,
        counterKeys, counterCounts,
        timerKeys, timerN, timerCount, timerSum, timerSumSquares, timerMin, timerMax, timerRes, timerRule, timerHist, timerExp, timerLe,
        gaugeKeys, gaugeValues, gaugeUpdated,
        setKeys, setCounts, setMembers,
        liveCounters: ci.size,
        liveTimers: nt,
        liveGauges: gi.size,
        liveSets: si.size,
        captureMs: performance.now() - started,
      },
      this.flushScratch,
    );
    this.clear();
    if (pending !== null) {
      this.applyAfterClear(pending);
      this.pending = null;
    }
    if (this.timerBoundsPending) {
      this.timerBoundsPending = false;
      const fn = this.timerBoundsFn;
      for (let s = ti.head; s >= 0; s = ti.next[s]!) t.setLe(s, fn === null ? null : fn(ti.keys[s]!));
    }
    this.maybeRebuild();
    return job;
  }

  /** Reservoirs handed back by flush jobs, given to live timers at the next capture (no regrowth per interval). */
  private readonly resPool: Float64Array[] = [];
  /** Timers at the last capture: the bound of {@link resPool}. */
  private resPoolCap = 0;
  private readonly flushScratch: FlushScratch = {
    cum: new Cumulative(),
    summary: new TimerSummary(),
    running: { n: 0, sum: 0, sumSquares: 0, min: 0, max: 0 },
    reader: new RankReader(),
    release: (res) => {
      // bounded by the timers of the last capture (trimmed at each capture): a burst does not stay pinned
      if (res.length > 0 && this.resPool.length < this.resPoolCap) this.resPool.push(res);
    },
    releaseExp: (h) => this.releaseExp(h),
  };

  private pooledReservoir(): Float64Array {
    const pool = this.resPool;
    while (pool.length > 0) {
      const res = pool.pop()!;
      if (res.length <= this.reservoirSize) return res; // (larger ones date from before a reservoirSize cut)
    }
    return EMPTY_SAMPLES;
  }

  /** The original's clear_metrics. */
  private clear(): void {
    let stale = 0;
    // idleKeyTtl: a key is idle for a flush when nothing was counted in it (a `:0|c` line looks idle)
    const ttl = this.idleKeyTtl;
    const c = this.counters;
    const ci = this.idleFlushes[MetricType.Counter]!;
    // every live counter back to 0 (free slots are 0 already): one fill instead of a walk of the list
    if (!this.deleteCounters && ttl === 0) c.values.fill(0);
    else for (let s = c.idx.head; s >= 0; ) {
      const next = c.idx.next[s]!;
      if (this.deleteCounters && !this.isOwn(s)) stale += c.remove(s);
      else if (ttl > 0 && !this.isOwn(s) && idleFor(ci, s, c.values[s] !== 0) >= ttl) stale += c.remove(s);
      else c.values[s] = 0;
      s = next;
    }
    const t = this.timers;
    const ti = this.idleFlushes[MetricType.Timer]!;
    for (let s = t.idx.head; s >= 0; ) {
      const next = t.idx.next[s]!;
      if (this.deleteTimers) stale += t.remove(s);
      else if (ttl > 0 && idleFor(ti, s, t.stats[s * T_STRIDE + T_N]! > 0 || t.stats[s * T_STRIDE + T_COUNT] !== 0) >= ttl) stale += t.remove(s);
      else t.reset(s);
      s = next;
    }
    const st = this.sets;
    const si = this.idleFlushes[MetricType.Set]!;
    for (let s = st.idx.head; s >= 0; ) {
      const next = st.idx.next[s]!;
      if (this.deleteSets) stale += st.remove(s);
      else if (ttl > 0 && idleFor(si, s, st.members[s]!.size > 0) >= ttl) stale += st.remove(s);
      else if (st.members[s]!.size > 0) st.members[s] = new Set(); // the snapshot keeps the old one
      s = next;
    }
    if (this.deleteGauges) {
      const g = this.gauges;
      for (let s = g.idx.head; s >= 0; ) {
        const next = g.idx.next[s]!;
        if (g.ttl[s]! > 0 && --g.ttl[s]! < 1) stale += g.remove(s);
        s = next;
      }
    }
    this.staleEntries += stale;
  }

  private isOwn(slot: number): boolean {
    const o = this.ownSlots;
    if (slot === o[0] || slot === o[1] || slot === o[2] || slot === o[3] || slot === o[4]) return true;
    for (let i = OWN_DOG; i < OWN_COUNT; i++) if (slot === o[i]) return true;
    return false;
  }

  /** Rebuild the raw key table when stale entries outnumber live ones (memory returns after a burst). */
  private maybeRebuild(): void {
    const total = this.table.count;
    if (this.staleEntries > 64 && this.staleEntries * 2 > total) {
      const idx = this.indexes;
      let aliases = 0;
      this.table.rebuild((type, slot, gen, pinned) => {
        const live = idx[type & 3]!.isLive(slot, gen);
        if (live && !pinned) aliases++;
        return live;
      });
      this.aliasEntries = aliases;
      this.staleEntries = 0;
    }
  }

  /** True when the key at `slot` of `type` was updated this interval (read before the capture clears it). */
  private isActive(type: number, slot: number): boolean {
    switch (type) {
      case MetricType.Counter:
        return this.counters.values[slot] !== 0;
      case MetricType.Timer:
        return this.timers.stats[slot * T_STRIDE + T_N]! > 0;
      case MetricType.Gauge:
        return this.gauges.updated[slot] === 1;
      default:
        return this.sets.members[slot]!.size > 0;
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
  private maybeReclaim(): void {
    const budget = this.keyTableBytes;
    const used = this.keyBytesUsed();
    if (used <= budget * RECLAIM_AT && this.aliasEntries <= this.maxKeys * RECLAIM_AT && this.spellingsUncached === 0) return;
    if (this.aliasEntries === 0 && this.staleEntries === 0) return;
    const idx = this.indexes;
    // first pass: what dead entries and idle spellings give back, and how many active spellings there are
    let idleBytes = 0;
    let activeAliases = 0;
    this.table.scan((type, slot, gen, pinned, bytes) => {
      const t = type & 3;
      if (!idx[t]!.isLive(slot, gen)) idleBytes += bytes;
      else if (!pinned && !this.isActive(t, slot)) idleBytes += bytes;
      else if (!pinned) activeAliases++;
    });
    let activeToFree = used - budget * RECLAIM_TO - idleBytes;
    let activeToDrop = activeAliases - Math.floor(this.maxKeys * RECLAIM_TO);
    let aliases = 0;
    let reclaimed = 0;
    this.table.rebuild((type, slot, gen, pinned, bytes) => {
      const t = type & 3;
      const x = idx[t]!;
      if (!x.isLive(slot, gen)) return false;
      if (pinned) return true;
      if (this.isActive(t, slot)) {
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

  // ---------------------------------------------------------------- configuration

  /** New settings apply from the next flush; data is kept. */
  reconfigure(config: TallydConfig): void {
    this.pending = config;
  }

  /** Settings that govern this flush's computation and clearing. */
  private applyFlushSettings(c: TallydConfig): void {
    this.flushIntervalMs = c.flushInterval;
    this.thresholds = compileThresholds(c.percentThreshold);
    this.deleteCounters = c.deleteCounters;
    this.deleteTimers = c.deleteTimers;
    this.deleteSets = c.deleteSets;
    this.gaugesMaxTTL = Math.max(1, Math.floor(c.gaugesMaxTTL));
    if (this.deleteGauges && !c.deleteGauges) this.gauges.ttl.fill(0); // the original drops gaugesTTL
    this.deleteGauges = c.deleteGauges;
    this.maxKeys = c.maxKeys;
    this.maxKeyLength = c.maxKeyLength;
    this.keyTableBytes = c.keyTableBytes;
    this.setMaxMembers = c.setMaxMembers;
    if (c.idleKeyTtl > 0 && this.idleKeyTtl === 0) for (const a of this.idleFlushes) a.length = 0;
    this.idleKeyTtl = c.idleKeyTtl;
  }

  /** Settings that would change this interval's already-counted data: applied once it is cleared. */
  private applyAfterClear(c: TallydConfig): void {
    const t = this.timers;
    const size = Math.max(1, Math.floor(c.reservoirSize));
    if (size < this.reservoirSize) {
      for (let s = t.idx.head; s >= 0; s = t.idx.next[s]!) {
        const res = t.res[s]!;
        if (res.length > size) t.res[s] = res.slice(0, size);
      }
    }
    this.reservoirSize = size;
    this.expOn = c.timerHistogram;
    const maxBuckets = c.timerHistogramMaxBuckets;
    if (maxBuckets !== this.expMaxBuckets) {
      this.expMaxBuckets = maxBuckets;
      this.expPool.length = 0;
    }
    if (c.histogram !== this.histogramsSource) {
      this.histograms = compileHistograms(c.histogram);
      this.histogramsSource = c.histogram;
      for (let s = t.idx.head; s >= 0; s = t.idx.next[s]!) {
        const rule = matchHistogram(this.histograms, t.idx.keys[s]!.id);
        t.setRule(s, rule, rule >= 0 ? this.histograms[rule]!.bounds.length : 0);
      }
    }
    if (c.keyNameSanitize !== this.sanitize) {
      // raw bytes now canonicalise differently: forget every raw → slot mapping
      this.sanitize = c.keyNameSanitize;
      this.nameless.fill(null);
      this.table.clear();
      for (const idx of this.indexes) idx.refs.fill(0);
      this.staleEntries = 0;
      this.aliasEntries = 0;
      // (the canonical-id entries went too: every live key gets one back)
      for (let type = 0; type < this.indexes.length; type++) {
        const idx = this.indexes[type]!;
        for (let s = idx.head; s >= 0; s = idx.next[s]!) {
          if (type !== MetricType.Counter || !this.isOwn(s)) this.registerId(type, idx.keys[s]!, s);
        }
      }
    }
  }

  // ---------------------------------------------------------------- admin support

  private storeOf(type: AdminMetricType): SlotIndex {
    return type === 'counters' ? this.counters.idx : type === 'timers' ? this.timers.idx : this.gauges.idx;
  }

  private static metricTypeOf(type: AdminMetricType): MetricType {
    return type === 'counters' ? MetricType.Counter : type === 'timers' ? MetricType.Timer : MetricType.Gauge;
  }

  /** The admin jobs' view of the stores (./adminwalk.ts). */
  private adminStore(): AdminStore {
    return {
      index: (type) => this.storeOf(type),
      slotOf: (type, id) => this.slotById(Aggregator.metricTypeOf(type), id),
      value: (type, s) =>
        type === 'counters' ? this.counters.values[s]!
        : type === 'gauges' ? this.gauges.values[s]!
        : Array.from(reservoirValues(this.timers.res[s]!, this.timers.stats[s * T_STRIDE + T_N]!, this.reservoirSize)),
      remove: (type, s) => this.removeSlot(type, s),
      afterDelete: () => this.maybeRebuild(),
    };
  }

  /** Key id → value in insertion order, what the original's `counters`/`timers`/`gauges` commands inspect. */
  dump(type: AdminMetricType): Record<string, number | number[]> {
    const out: Record<string, number | number[]> = {};
    for (const [id, value] of runSync(new DumpJob(this.adminStore(), type))) {
      Object.defineProperty(out, id, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** The dump as [id, value] pairs, built in slices that yield to ingest (the admin command). */
  dumpSliced(type: AdminMetricType): Promise<Array<[string, number | number[]]>> {
    return runSliced(new DumpJob(this.adminStore(), type));
  }

  /**
   * The original's delete_stats: per pattern, the exact key and (for `folder.*`) every key starting
   * with `folder.`; `deleted: <key>` per deletion, `metric <pattern> not found` when nothing matched.
   * One pass over the keys for all the patterns (see ./adminwalk.ts).
   */
  deleteKeys(type: AdminMetricType, patterns: readonly string[]): string[] {
    return runSync(new DeleteJob(this.adminStore(), type, patterns));
  }

  /** deleteKeys in slices that yield to ingest (the admin command). */
  deleteKeysSliced(type: AdminMetricType, patterns: readonly string[]): Promise<string[]> {
    return runSliced(new DeleteJob(this.adminStore(), type, patterns));
  }

  private removeSlot(type: AdminMetricType, slot: number): void {
    if (type === 'counters') {
      const own = this.ownSlots.indexOf(slot);
      this.staleEntries += this.counters.remove(slot);
      // the daemon's own counters exist at all times: re-created at once, at 0
      if (own >= 0) this.ownSlots[own] = this.createSlotOnly(MetricType.Counter, this.ownKeys[own]!);
    } else if (type === 'timers') {
      this.staleEntries += this.timers.remove(slot);
    } else {
      this.staleEntries += this.gauges.remove(slot);
    }
  }

  liveKeys(): { counters: number; timers: number; gauges: number; sets: number } {
    return {
      counters: this.counters.idx.size,
      timers: this.timers.idx.size,
      gauges: this.gauges.idx.size,
      sets: this.sets.idx.size,
    };
  }

  // ---------------------------------------------------------------- status page support (src/status)

  /** Count lines per key (for the status page's top keys) while `on`; off costs one null check per line. */
  setStatusHits(on: boolean): void {
    if (on === (this.statusHits !== null)) return;
    this.statusHits = on ? this.indexes.map((idx) => new Float64Array(Math.max(1024, idx.capacity))) : null;
  }

  /**
   * Lines per key since the last call (the `limit` busiest, busiest first) and per type, then resets;
   * null while status hits are off. Walks every live key: run once per flush, not per request.
   */
  takeStatusHits(limit: number): { top: Array<{ type: MetricType; id: string; lines: number }>; byType: number[] } | null {
    const hits = this.statusHits;
    if (hits === null) return null;
    const top: Array<{ type: MetricType; id: string; lines: number }> = [];
    const byType = [0, 0, 0, 0];
    let floor = 0;
    for (let type = 0; type < hits.length; type++) {
      const h = hits[type]!;
      const idx = this.indexes[type]!;
      for (let s = idx.head; s >= 0; s = idx.next[s]!) {
        const n = h[s]!;
        if (n === 0) continue;
        byType[type] = byType[type]! + n;
        if (top.length < limit || n > floor) {
          top.push({ type: type as MetricType, id: idx.keys[s]!.id, lines: n });
          if (top.length > limit * 4) {
            top.sort((a, b) => b.lines - a.lines);
            top.length = limit;
            floor = top[limit - 1]!.lines;
          }
        }
      }
      h.fill(0);
    }
    top.sort((a, b) => b.lines - a.lines);
    if (top.length > limit) top.length = limit;
    return { top, byType };
  }

  /** New keys (slots created) since start. */
  get keysCreated(): number {
    return this.keysCreatedTotal;
  }

  /**
   * Live keys whose canonical id contains `q` (at most `limit`), with this interval's value so far:
   * a counter's sum, a gauge's value, a timer's number of values, a set's number of members.
   */
  inspectKeys(q: string, limit: number): Array<{ type: MetricType; key: MetricKey; value: number }> {
    const out: Array<{ type: MetricType; key: MetricKey; value: number }> = [];
    for (let type = 0; type < this.indexes.length && out.length < limit; type++) {
      const idx = this.indexes[type]!;
      for (let s = idx.head; s >= 0 && out.length < limit; s = idx.next[s]!) {
        const key = idx.keys[s]!;
        if (key.id.includes(q)) out.push({ type: type as MetricType, key, value: this.liveValue(type as MetricType, s) });
      }
    }
    return out;
  }

  /** This interval's value so far of a live key given by its canonical id; undefined when not live. */
  liveValueOf(type: MetricType, id: string): number | undefined {
    const slot = this.slotById(type, id);
    return slot >= 0 ? this.liveValue(type, slot) : undefined;
  }

  private liveValue(type: MetricType, slot: number): number {
    if (type === MetricType.Counter) return this.counters.values[slot]!;
    if (type === MetricType.Gauge) return this.gauges.values[slot]!;
    if (type === MetricType.Timer) return this.timers.stats[slot * T_STRIDE + T_N]!;
    return this.sets.members[slot]?.size ?? 0;
  }

  // ---------------------------------------------------------------- partials (multi-core ingest: src/cluster, ./merge.ts)

  /**
   * Worker side: the live slot of a sample's key (created when absent; -1 past maxKeys), for
   * callers that keep per-slot state of their own (a worker's gauges, see src/cluster/worker.ts).
   */
  slotOfSample(s: Sample): number {
    const slot = this.slotFor(s, s.type);
    if (slot >= 0 && this.idleKeyTtl > 0) this.idleFlushes[s.type]![slot] = 0;
    return slot;
  }

  /** The key of a live slot of `type`. */
  keyOfSlot(type: MetricType, slot: number): MetricKey {
    return this.indexes[type]!.keys[slot]!;
  }

  /**
   * Worker side: hand this interval's raw counters, timers and sets to `out` (gauges are kept by
   * the worker itself), then clear as a flush does. Run with deleteCounters/Timers/Sets on, so a
   * live key is a key updated this interval.
   */
  exportInterval(out: import('./merge.js').PartialVisitor): void {
    const pending = this.pending;
    if (pending !== null) this.applyFlushSettings(pending);
    this.maybeReclaim();
    out.own(this.badLines, this.packets, this.lines, this.lastMsgSeen, this.byReason);
    const c = this.counters;
    const o = this.ownSlots;
    for (let s = c.idx.head; s >= 0; s = c.idx.next[s]!) {
      if (s === o[0] || s === o[1] || s === o[2]) continue;
      if (c.values[s] === 0 && o.indexOf(s, OWN_KEYS_DROPPED) >= 0) continue;
      out.counter(c.idx.keys[s]!, c.values[s]!);
    }
    const t = this.timers;
    for (let s = t.idx.head; s >= 0; s = t.idx.next[s]!) {
      const o = s * T_STRIDE;
      const st = t.stats;
      const n = st[o + T_N]!;
      if (n === 0 && st[o + T_COUNT] === 0) continue;
      const hist = t.histRule[s]! >= 0 ? t.histCounts[s]! : null;
      // past the reservoir: the histogram instead of the values (a reservoir still exact goes as values)
      const h = t.exp[s]!;
      let exp: ExpBucketsData | null = null;
      if (h !== null) {
        h.trim();
        exp = h.data();
        t.exp[s] = null;
        this.releaseExp(h);
      }
      out.timer(
        t.idx.keys[s]!, st[o + T_COUNT]!, n, st[o + T_SUM]!, st[o + T_SQ]!, st[o + T_MIN]!, st[o + T_MAX]!,
        exp !== null ? EMPTY_SAMPLES : reservoirValues(t.res[s]!, n, this.reservoirSize), hist, exp,
        (t.extras[s]! & EXTRA_LE) !== 0 ? t.leCounts[s]! : null,
      );
    }
    const st = this.sets;
    for (let s = st.idx.head; s >= 0; s = st.idx.next[s]!) {
      if (st.members[s]!.size > 0) out.set(st.idx.keys[s]!, st.members[s]!);
    }
    this.clear();
    if (pending !== null) {
      this.applyAfterClear(pending);
      this.pending = null;
    }
    this.maybeRebuild();
  }

  /** Primary side: the live slot for a merged key; -1 (counted as dropped) for a new key past maxKeys. */
  private mergeSlot(type: MetricType, key: MetricKey): number {
    const found = this.slotById(type, key.id);
    if (found >= 0) {
      if (this.idleKeyTtl > 0) this.idleFlushes[type]![found] = 0;
      return found;
    }
    if (this.liveTotal() >= this.maxKeys) return this.dropKey(key, false);
    const idBytes = Buffer.byteLength(key.id);
    if (this.keyBytesUsed() + keyCost(key) + ENTRY_BYTES + idBytes > this.keyTableBytes) return this.dropKey(key, true);
    const slot = this.slotForKey(type, key);
    if (slot < 0) return this.dropKey(key, true);
    this.trackNewSlot(type, slot);
    return slot;
  }

  /** Primary side: one source's own counters for the interval (deltas) and its last packet time. */
  mergeOwn(badLines: number, packets: number, lines: number, lastMsg: number, byReason: Float64Array): void {
    const v = this.counters.values;
    v[this.ownSlots[0]!]! += badLines;
    v[this.ownSlots[1]!]! += packets;
    v[this.ownSlots[2]!]! += lines;
    this.badLines += badLines;
    this.packets += packets;
    this.lines += lines;
    const n = Math.min(byReason.length, this.byReason.length);
    for (let i = 0; i < n; i++) this.byReason[i]! += byReason[i]!;
    if (packets > 0 && lastMsg > this.lastMsg) this.lastMsg = lastMsg;
  }

  mergeCounter(key: MetricKey, value: number): void {
    for (let i = OWN_KEYS_DROPPED; i < OWN_COUNT; i++) {
      if (key.id !== this.ownKeys[i]!.id) continue;
      // another process's keys_dropped, set_members_dropped or dogstatsd_*: the daemon's own counter here too
      let own = this.ownSlots[i]!;
      if (own < 0) own = this.ownSlots[i] = this.createSlotOnly(MetricType.Counter, this.ownKeys[i]!);
      this.counters.values[own]! += value;
      if (i === OWN_KEYS_DROPPED) this.droppedTotal += value;
      else if (i === OWN_SET_MEMBERS_DROPPED) this.setMembersDroppedTotal += value;
      return;
    }
    const slot = this.mergeSlot(MetricType.Counter, key);
    if (slot >= 0) this.counters.values[slot] = addSaturated(this.counters.values[slot]!, value);
  }

  mergeTimer(
    key: MetricKey, count: number, n: number, sum: number, sumSquares: number, min: number, max: number,
    samples: Float64Array, hist: Float64Array | null, exp: ExpBucketsData | null = null, le: Float64Array | null = null,
  ): void {
    const slot = this.mergeSlot(MetricType.Timer, key);
    if (slot < 0) return;
    const t = this.timers;
    const st = t.stats;
    const o = slot * T_STRIDE;
    const n0 = st[o + T_N]!;
    st[o + T_N] = n0 + n;
    st[o + T_COUNT]! += count;
    st[o + T_SUM] = addSaturated(st[o + T_SUM]!, sum);
    st[o + T_SQ] = addSaturated(st[o + T_SQ]!, sumSquares);
    if (min < st[o + T_MIN]!) st[o + T_MIN] = min;
    if (max > st[o + T_MAX]!) st[o + T_MAX] = max;
    let h = t.exp[slot]!;
    if (h === null && (exp !== null || (this.expOn && n0 + n > this.reservoirSize))) {
      // the merged interval outgrows the reservoir (or a source's did): into a histogram, this side's values first
      h = this.acquireExp();
      const mine = reservoirValues(t.res[slot]!, n0, this.reservoirSize);
      for (let j = 0; j < mine.length; j++) h.add(mine[j]!);
      t.exp[slot] = h;
    }
    if (h !== null) {
      for (let j = 0; j < samples.length; j++) h.add(samples[j]!);
      if (exp !== null) h.merge(exp);
    } else {
      t.res[slot] = mergeReservoirInto(t.res[slot]!, n0, samples, n, this.reservoirSize, this.random);
    }
    const mine = t.histCounts[slot]!;
    if (hist !== null && t.histRule[slot]! >= 0 && mine.length === hist.length) {
      for (let i = 0; i < hist.length; i++) mine[i]! += hist[i]!;
    }
    if ((t.extras[slot]! & EXTRA_LE) !== 0) {
      const into = t.leCounts[slot]!;
      // a source without the same buckets: this interval's counts are not exact (NaN: left out at the capture)
      if (le !== null && le.length === into.length) for (let i = 0; i < le.length; i++) into[i]! += le[i]!;
      else into.fill(Number.NaN);
    }
  }

  /** isSet: the gauge takes `value`; else `value` is a delta (added: a delta on 0 gives what a set would). */
  mergeGauge(key: MetricKey, value: number, isSet: boolean): void {
    const slot = this.mergeSlot(MetricType.Gauge, key);
    if (slot < 0) return;
    const g = this.gauges;
    if (isSet) g.values[slot] = value;
    else g.values[slot] = addSaturated(g.values[slot]!, value);
    g.updated[slot] = 1;
    if (this.deleteGauges) g.ttl[slot] = this.gaugesMaxTTL;
  }

  mergeSet(key: MetricKey, members: Iterable<string>): void {
    const slot = this.mergeSlot(MetricType.Set, key);
    if (slot < 0) return;
    const into = this.sets.members[slot]!;
    const max = this.setMaxMembers;
    let dropped = 0;
    for (const m of members) {
      if (into.size < max) into.add(m);
      else if (!into.has(m)) dropped++;
    }
    if (dropped > 0) this.dropSetMember(slot, dropped);
  }
}
