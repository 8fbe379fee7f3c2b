/**
 * The aggregator's core: the parts wired together, the per-line dispatch, the daemon's own counters,
 * the flush (capture, then clear) and settings changes. The API the admin interface, the status page
 * and the workers mode use is the {@link Aggregator} subclass (aggregator.ts).
 *
 * The parts:
 * - the key index (keyindex.ts): raw key bytes and canonical ids → slots, and the key limit;
 * - the stores (stores.ts, stores/): one per metric type, each owning its data, ingest, capture,
 *   clear, and export/merge for the workers mode;
 * - the interval capture (capture.ts), from which a flush job (flushjob.ts) computes the snapshot;
 * - the retention policy (retention.ts): delete* options, gauge TTL, idle keys.
 *
 * Hot path: the key index's look-up, then an if-chain on the type byte into the core store's own
 * (monomorphic) method; a type registered beyond the core four goes through MetricStore.ingest.
 */
import type { TallydConfig } from '../config/types.js';
import { hashRawKey } from '../parser/scanner.js';
import {
  BAD_LINE_REASONS,
  type BadLine,
  type DogCount,
  type MetricKey,
  MetricType,
  type Sample,
  type SampleSink,
} from '../parser/types.js';
import { captureInterval, type FinalInterval, IntervalClock } from './capture.js';
import { DEFAULT_FLUSH_SLICE_MS, FlushJob } from './flushjob.js';
import { growHits } from './hits.js';
import { KeyIndex } from './keyindex.js';
import type { KeyTable } from './keytable.js';
import type { PartialVisitor } from './merge.js';
import type { Threshold } from './percentiles.js';
import { Retention } from './retention.js';
import { type AggregatorSettings, settingsOf } from './settings.js';
import type { Snapshot } from './snapshot.js';
import type { SlotIndex } from './stores/slots.js';
import { CounterStore, GaugeStore, METRIC_STORES, type MetricStore, SetStore, type StoreFactory, TimerStore } from './stores.js';

export interface AggregatorOptions {
  config: TallydConfig;
  /** Injectable RNG for the reservoirs (default Math.random). */
  random?: () => number;
  /** Called for every refused line; the caller rate-limits any log. */
  onBadLine?: (reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void;
  /** The metric stores by type byte (default {@link METRIC_STORES}; the first four must be the core ones). */
  stores?: readonly StoreFactory[];
}

/** Set names remembered per interval for the setMaxMembers warning. */
const DROPPED_SET_NAMES = 5;
/**
 * Indexes of the daemon's own counters in the keys the Aggregator gives (CounterStore.ownKeys): the
 * first ALWAYS_OWN exist from the start, the others are created at their first count.
 */
export const OWN_BAD_LINES = 0;
export const OWN_PACKETS = 1;
export const OWN_METRICS = 2;
export const ALWAYS_OWN = 3;
export const OWN_KEYS_DROPPED = 3;
export const OWN_SET_MEMBERS_DROPPED = 4;
/** The DogStatsD counts (DOG_COUNT_NAMES, in order). */
export const OWN_DOG = 5;

export class AggregatorCore implements SampleSink {
  /** The stores by type byte; the core four also by name (monomorphic calls on the hot path). */
  protected readonly stores: readonly MetricStore[];
  protected readonly counters: CounterStore;
  protected readonly timers: TimerStore;
  protected readonly gauges: GaugeStore;
  protected readonly sets: SetStore;
  protected readonly keys: KeyIndex;
  protected readonly retention: Retention;
  private readonly clock = new IntervalClock();
  /** The key index's table and slot indexes, for the per-line look-up (see slotOf). */
  protected keyTable: KeyTable;
  private readonly slotIndexes: readonly SlotIndex[];
  private readonly onBadLine: ((reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void) | undefined;

  /** The settings in force; a reconfigure's wait in `pending` for the next flush. */
  protected settings: AggregatorSettings;
  protected pending: AggregatorSettings | null = null;
  private flushIntervalMs = 0;
  private thresholds: readonly Threshold[] = [];

  /** keyFlush: lines per slot per type this keyFlush interval; null when keyFlush is off. */
  protected keyHits: Float64Array[] | null;
  /** Status page (src/status): lines per slot per type while a page is open; null otherwise (one null check per line). */
  protected statusHits: Float64Array[] | null = null;
  /** Slots bound on the slow path since start (new keys), for the status page's cardinality view. */
  protected keysCreatedTotal = 0;
  /** Status page (src/status): told of each slot bound on the slow path (after keysCreated counts it) while a key search waits; null otherwise. */
  onKeyBound: ((type: number, slot: number) => void) | null = null;

  protected setMembersDropped = 0;
  protected setMembersDroppedTotal = 0;
  protected droppedSetNames = new Set<string>();
  /** Start of the line last given to badLine (for the packet guard, src/pipeline/guard.ts); -1 once reset. */
  lastBadLineStart = -1;

  private readonly lagKey: MetricKey;
  protected badLines = 0;
  protected packets = 0;
  protected lines = 0;
  protected readonly byReason = new Float64Array(BAD_LINE_REASONS.length);
  protected lastMsg = Math.round(Date.now() / 1000);
  /** A packet was counted since the last noteTime(). */
  private msgPending = false;

  /** `ownKeys`: the daemon's own counters, indexed by OWN_*; `lagKey`: the timestamp_lag gauge. */
  constructor(opts: AggregatorOptions, ownKeys: readonly MetricKey[], lagKey: MetricKey) {
    const c = opts.config;
    const s = settingsOf(c);
    this.settings = s;
    this.onBadLine = opts.onBadLine;
    this.lagKey = lagKey;
    const random = opts.random ?? Math.random;
    const host = {
      badLine: (reason: BadLine, buf: Buffer, ls: number, le: number) => this.badLine(reason, buf, ls, le),
      membersDropped: (id: string, n: number) => this.membersDropped(id, n),
      random,
      randomInjected: opts.random !== undefined,
    };
    this.stores = (opts.stores ?? METRIC_STORES).map((f) => f({ host, settings: s, ownKeys, alwaysOwn: ALWAYS_OWN }));
    const st = this.stores;
    if (!(st[0] instanceof CounterStore && st[1] instanceof TimerStore && st[2] instanceof GaugeStore && st[3] instanceof SetStore)) {
      throw new Error('the first four metric stores must be counters, timers, gauges, sets');
    }
    this.counters = st[0];
    this.timers = st[1];
    this.gauges = st[2];
    this.sets = st[3];
    this.keys = new KeyIndex(st, {
      badLine: host.badLine,
      keyDropped: () => this.counters.countOwn(OWN_KEYS_DROPPED, 1),
      slotBound: (type, slot) => this.slotBound(type, slot),
    });
    this.retention = new Retention(st);
    this.keyTable = this.keys.table;
    this.slotIndexes = st.map((x) => x.idx);
    this.keyHits = c.keyFlush.interval > 0 ? st.map(() => new Float64Array(1024)) : null;
    this.keys.initSanitize(s.sanitize);
    this.applyFlushSettings(s);
    this.applyAfterClear(s);
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
    const slot = this.slotOf(s, type);
    if (slot < 0) return; // a new key past maxKeys: dropped and counted
    if (this.keyHits !== null) this.keyHits[type]![slot]!++;
    if (this.statusHits !== null) this.statusHits[type]![slot]!++;
    // (the core stores' own methods, each small enough that V8 inlines it: no dispatch through the interface;
    // an if-chain keeps sample() small enough to be inlined into the scanner's loop with the key look-up)
    if (type === MetricType.Counter) this.counters.add(slot, s);
    else if (type === MetricType.Timer) this.timers.add(slot, s.value, s.sampleRate);
    else if (type === MetricType.Gauge) this.gauges.add(slot, s);
    else if (type === MetricType.Set) this.sets.add(slot, s);
    else this.ingestOther(type, slot, s);
  }

  /**
   * The live slot of a sample's key (-1: refused, counted): the key index's look-up, done here on its
   * table and slot generations (held by both) rather than through a KeyIndex method: one load less per
   * line; Aggregator.sample took 0.88-0.99x the time of the variant through the index (three runs of
   * `node dist/bench/ab-sample.bench.js --before <other dist>`). Slow path (first sight of the bytes, or
   * a stale entry): KeyIndex.resolveSample.
   */
  protected slotOf(s: Sample, type: number): number {
    const t = this.keyTable;
    const buf = s.buf;
    // (the scanner hashed the key and tag bytes already: Sample.keyHash)
    const h = s.keyHashed ? s.keyHash : hashRawKey(buf, s.keyStart, s.keyEnd, s.tagStart, s.tagEnd);
    const e = t.findHashed(h, type, buf, s.keyStart, s.keyEnd, s.tagStart, s.tagEnd);
    if (e >= 0) {
      const slot = t.eSlot[e]!;
      if (this.slotIndexes[type]!.gen[slot] === t.eGen[e]) return slot;
    }
    return this.keys.resolveSample(s, type, e);
  }

  /** A type registered beyond the core four (through the store interface). */
  private ingestOther(type: number, slot: number, s: Sample): void {
    this.stores[type]!.ingest(slot, s);
  }

  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    this.lastBadLineStart = lineStart;
    this.counters.values[this.counters.ownSlots[OWN_BAD_LINES]!]! += 1;
    this.badLines++;
    this.byReason[reason]!++;
    if (this.onBadLine !== undefined) this.onBadLine(reason, buf, lineStart, lineEnd);
  }

  /** A DogStatsD field, event or service check: `<prefixStats>.dogstatsd_*`, created at its first count. */
  dogCount(what: DogCount): void {
    this.counters.countOwn(OWN_DOG + what, 1);
  }

  /** One received packet holding `lines` non-empty lines. */
  countPacket(lines: number): void {
    const v = this.counters.values;
    const own = this.counters.ownSlots;
    v[own[OWN_PACKETS]!]! += 1;
    v[own[OWN_METRICS]!]! += lines;
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

  /** `n` new members of the set `id` refused past setMaxMembers: counted (set_members_dropped). */
  protected membersDropped(id: string, n: number): void {
    this.setMembersDropped += n;
    this.setMembersDroppedTotal += n;
    this.counters.countOwn(OWN_SET_MEMBERS_DROPPED, n);
    if (this.droppedSetNames.size < DROPPED_SET_NAMES) this.droppedSetNames.add(id);
  }

  /** Bookkeeping for a slot (re)bound on the slow path: idle count reset, hit arrays sized. */
  private slotBound(type: number, slot: number): void {
    this.retention.touch(type, slot);
    this.keysCreatedTotal++;
    if (this.statusHits !== null) growHits(this.statusHits, type, slot);
    if (this.keyHits !== null) growHits(this.keyHits, type, slot);
    if (this.onKeyBound !== null) this.onKeyBound(type, slot);
  }

  /** A backend's le buckets per timer key, counted exactly at ingest from the next interval on (TimerStore.setTimerBounds). */
  setTimerBounds(fn: ((key: MetricKey) => Float64Array | null) | null): void {
    this.timers.setTimerBounds(fn);
  }

  /** Bytes of key names held, compared with keyTableBytes: the key table's entries + every live key's identity. */
  keyBytesUsed(): number {
    return this.keys.keyBytesUsed();
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
    return this.captureFlush(nowMs).run(undefined, sliceMs);
  }

  /**
   * The synchronous half of a flush: captures the interval ending at `nowMs` (capture.ts), then clears
   * the live stores as the original's clear_metrics. The returned job computes the snapshot from the
   * capture only. `final` marks the partial interval of a stop (see IntervalClock.stamp).
   */
  captureFlush(nowMs: number, final?: FinalInterval): FlushJob {
    const pending = this.pending;
    if (pending !== null) this.applyFlushSettings(pending);
    const started = performance.now();
    this.keys.maybeReclaim();
    const clock = this.clock;
    clock.stamp(nowMs, this.flushIntervalMs, final);
    if (!Number.isNaN(clock.lag)) {
      const lag = this.keys.slotForKey(MetricType.Gauge, this.lagKey);
      if (lag >= 0) this.gauges.setValue(lag, clock.lag);
    }
    const job = new FlushJob(captureInterval(this.stores, clock, this.thresholds, started), this.timers.pools.flushScratch);
    this.clearInterval(pending);
    return job;
  }

  /** The original's clear_metrics (retention.ts), then what waited for it. */
  private clearInterval(pending: AggregatorSettings | null): void {
    this.keys.addStale(this.retention.clearAll());
    if (pending !== null) {
      this.applyAfterClear(pending);
      this.pending = null;
    }
    this.timers.afterClear();
    this.keys.maybeRebuild();
  }

  /**
   * Worker side: hand this interval's data to `out` (every store's exportTo; gauges are kept by the
   * worker itself), then clear as a flush does. Run with deleteCounters/Timers/Sets on, so a live
   * key is a key updated this interval.
   */
  exportInterval(out: PartialVisitor): void {
    const pending = this.pending;
    if (pending !== null) this.applyFlushSettings(pending);
    this.keys.maybeReclaim();
    out.own(this.badLines, this.packets, this.lines, this.lastMsgSeen, this.byReason);
    for (const store of this.stores) store.exportTo(out);
    this.clearInterval(pending);
  }

  // ---------------------------------------------------------------- configuration

  /** New settings apply from the next flush; data is kept. */
  reconfigure(config: TallydConfig): void {
    this.pending = settingsOf(config);
  }

  /** Settings that govern this flush's computation and clearing. */
  private applyFlushSettings(s: AggregatorSettings): void {
    this.settings = s;
    this.flushIntervalMs = s.flushIntervalMs;
    this.thresholds = s.thresholds;
    this.keys.configure(s);
    this.retention.configure(s);
    for (const store of this.stores) store.configure(s);
  }

  /** Settings that would change this interval's already-counted data: applied once it is cleared. */
  private applyAfterClear(s: AggregatorSettings): void {
    for (const store of this.stores) store.configureAfterClear(s);
    this.keys.resanitize(s.sanitize, (type, slot) => type === MetricType.Counter && this.counters.isOwn(slot));
  }
}
