/**
 * The aggregator: receives parsed samples (hot path), and at each flush computes an immutable
 * {@link Snapshot} with the original statsd's semantics, then clears per the delete options.
 *
 * It is made of:
 * - the key index (keyindex.ts): raw key bytes and canonical ids → slots, and the key limit;
 * - the stores (stores.ts, stores/): one per metric type, each owning its data, ingest, capture,
 *   clear, and export/merge for the workers mode;
 * - the interval capture (capture.ts), from which a flush job (flushjob.ts) computes the snapshot;
 * - the retention policy (retention.ts): delete* options, gauge TTL, idle keys.
 * What stays here: the per-line dispatch, the daemon's own counters, settings changes, and the API
 * the daemon, the admin interface, the status page and the workers mode use.
 *
 * Hot path: the key index's look-up, then a switch on the type byte into the core store's own
 * (monomorphic) method; a type registered beyond the core four goes through MetricStore.ingest.
 */
import type { TallydConfig } from '../config/types.js';
import {
  BAD_LINE_REASONS, type BadLine, DOG_COUNT_NAMES, type DogCount, MetricType, type MetricKey, type Sample, type SampleSink,
} from '../parser/types.js';
import { DeleteJob, DumpJob, runSliced, runSync, type AdminMetricType, type AdminStore } from './adminwalk.js';
import { captureInterval, IntervalClock, type FinalInterval } from './capture.js';
import type { ExpBucketsData, ExpHistogram } from './exphist.js';
import { DEFAULT_FLUSH_SLICE_MS, FlushJob } from './flushjob.js';
import { growHits, newHits, takeKeyHits, takeStatusHits } from './hits.js';
import { KeyIndex } from './keyindex.js';
import type { KeyTable } from './keytable.js';
import type { PartialVisitor } from './merge.js';
import type { Threshold } from './percentiles.js';
import { Retention } from './retention.js';
import { settingsOf, type AggregatorSettings } from './settings.js';
import type { Snapshot } from './snapshot.js';
import { CounterStore, GaugeStore, METRIC_STORES, SetStore, TimerStore, type MetricStore, type StoreFactory } from './stores.js';

export interface AggregatorOptions {
  config: TallydConfig;
  /** Injectable RNG for the reservoirs (default Math.random). */
  random?: () => number;
  /** Called for every refused line; the caller rate-limits any log. */
  onBadLine?: (reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void;
  /** The metric stores by type byte (default {@link METRIC_STORES}; the first four must be the core ones). */
  stores?: readonly StoreFactory[];
}

export type { AdminMetricType } from './adminwalk.js';
export type { FinalInterval } from './capture.js';

/** How often the daemon stamps last_msg_seen (its resolution; the original reports whole seconds). */
export const MSG_CLOCK_MS = 250;

/** Set names remembered per interval for the setMaxMembers warning. */
const DROPPED_SET_NAMES = 5;
/** The daemon's own counters (CounterStore.ownKeys): bad_lines_seen, packets_received, metrics_received exist from the start. */
const OWN_BAD_LINES = 0;
const OWN_PACKETS = 1;
const OWN_METRICS = 2;
const ALWAYS_OWN = 3;
/** Created at their first count: keys_dropped, set_members_dropped, then the DogStatsD counts (DOG_COUNT_NAMES, in order). */
const OWN_KEYS_DROPPED = 3;
const OWN_SET_MEMBERS_DROPPED = 4;
const OWN_DOG = 5;

/** A MetricKey for the daemon's own names (taken as given, not sanitised, as the original). */
function plainKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}

export class Aggregator implements SampleSink {
  /** The stores by type byte; the core four also by name (monomorphic calls on the hot path). */
  private readonly stores: readonly MetricStore[];
  private readonly counters: CounterStore;
  private readonly timers: TimerStore;
  private readonly gauges: GaugeStore;
  private readonly sets: SetStore;
  private readonly keys: KeyIndex;
  private readonly retention: Retention;
  private readonly clock = new IntervalClock();
  private readonly onBadLine: ((reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number) => void) | undefined;

  /** The settings in force; a reconfigure's wait in `pending` for the next flush. */
  private settings: AggregatorSettings;
  private pending: AggregatorSettings | null = null;
  private flushIntervalMs = 0;
  private thresholds: readonly Threshold[] = [];

  /** keyFlush: lines per slot per type this keyFlush interval; null when keyFlush is off. */
  private keyHits: Float64Array[] | null;
  /** Status page (src/status): lines per slot per type while a page is open; null otherwise (one null check per line). */
  private statusHits: Float64Array[] | null = null;
  /** Slots bound on the slow path since start (new keys), for the status page's cardinality view. */
  private keysCreatedTotal = 0;

  private setMembersDropped = 0;
  private setMembersDroppedTotal = 0;
  private droppedSetNames = new Set<string>();
  /** Start of the line last given to badLine (for the packet guard, src/ingest.ts); -1 once reset. */
  lastBadLineStart = -1;

  private readonly lagKey: MetricKey;
  private badLines = 0;
  private packets = 0;
  private lines = 0;
  private readonly byReason = new Float64Array(BAD_LINE_REASONS.length);
  private lastMsg = Math.round(Date.now() / 1000);
  /** A packet was counted since the last noteTime(). */
  private msgPending = false;

  constructor(opts: AggregatorOptions) {
    const c = opts.config;
    const s = settingsOf(c);
    this.settings = s;
    this.onBadLine = opts.onBadLine;
    const p = c.prefixStats;
    // order as the original's startup: bad_lines_seen, packets_received, metrics_received; then tallyd's
    // keys_dropped and set_members_dropped, each created at its first drop only (output stays the original's until then)
    const ownKeys = [
      plainKey(p + '.bad_lines_seen'), plainKey(p + '.packets_received'), plainKey(p + '.metrics_received'), plainKey(p + '.keys_dropped'),
      plainKey(p + '.set_members_dropped'), ...DOG_COUNT_NAMES.map((n) => plainKey(`${p}.${n}`)),
    ];
    this.lagKey = plainKey(p + '.timestamp_lag');
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
    this.keyHits = c.keyFlush.interval > 0 ? st.map(() => new Float64Array(1024)) : null;
    this.keys.initSanitize(s.sanitize);
    this.applyFlushSettings(s);
    this.applyAfterClear(s);
  }

  /** The key index's byte table (tests of its bounds read and replace it). */
  private get table(): KeyTable {
    return this.keys.table;
  }

  private set table(t: KeyTable) {
    this.keys.table = t;
  }

  /** The timer store's pool of histograms (tests). */
  private get expPool(): ExpHistogram[] {
    return this.timers.pools.expPool;
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
    const slot = this.keys.slotFor(s, type);
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
  private membersDropped(id: string, n: number): void {
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
    return this.captureFlush(nowMs).run(sliceMs);
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

  // ---------------------------------------------------------------- reports

  /**
   * Lines for new keys dropped past maxKeys since the last call, with the top 5 key prefixes (first two
   * dot-separated components) among them; null when none were. Resets the interval's figures.
   */
  takeDroppedKeys(): ReturnType<KeyIndex['takeDroppedKeys']> {
    return this.keys.takeDroppedKeys();
  }

  /**
   * The byte bounds' figures since the last call (set members dropped past setMaxMembers with up to 5
   * of their sets, spellings not cached or reclaimed past keyTableBytes); null when nothing happened.
   */
  takeMemoryReport(): {
    setMembersDropped: number; setMaxMembers: number; sets: string[]; spellingsUncached: number; spellingsReclaimed: number;
    keyBytes: number; keyTableBytes: number;
  } | null {
    const k = this.keys;
    if (this.setMembersDropped === 0 && k.spellingsUncached === 0 && k.spellingsReclaimed === 0) return null;
    const out = {
      setMembersDropped: this.setMembersDropped, setMaxMembers: this.settings.setMaxMembers, sets: [...this.droppedSetNames],
      spellingsUncached: k.spellingsUncached, spellingsReclaimed: k.spellingsReclaimed,
      keyBytes: k.keyBytesUsed(), keyTableBytes: k.keyTableBytes,
    };
    this.setMembersDropped = 0;
    this.droppedSetNames = new Set();
    k.spellingsUncached = 0;
    k.spellingsReclaimed = 0;
    return out;
  }

  /** Set members dropped past setMaxMembers since start. */
  get setMembersDroppedSinceStart(): number {
    return this.setMembersDroppedTotal;
  }

  /** Lines for new keys dropped past maxKeys since start. */
  get keysDroppedTotal(): number {
    return this.keys.droppedTotal;
  }

  /**
   * keyFlush (the original's): lines per key since the last call, most frequent first, then resets.
   * Keys of several types with one name are added up. Empty when keyFlush is off.
   */
  takeKeyHits(): Array<[string, number]> {
    return this.keyHits === null ? [] : takeKeyHits(this.keyHits, this.stores.map((s) => s.idx));
  }

  liveKeys(): { counters: number; timers: number; gauges: number; sets: number } {
    return { counters: this.counters.idx.size, timers: this.timers.idx.size, gauges: this.gauges.idx.size, sets: this.sets.idx.size };
  }

  // ---------------------------------------------------------------- admin support

  private storeOf(type: AdminMetricType): MetricStore {
    return type === 'counters' ? this.counters : type === 'timers' ? this.timers : this.gauges;
  }

  /** The admin jobs' view of the stores (./adminwalk.ts). */
  private adminStore(): AdminStore {
    return {
      index: (type) => this.storeOf(type).idx,
      slotOf: (type, id) => this.keys.slotById(this.storeOf(type).type, id),
      value: (type, s) => (type === 'timers' ? this.timers.values(s) : this.storeOf(type).liveValue(s)),
      remove: (type, s) => {
        if (type === 'counters') this.keys.addStale(this.counters.removeByAdmin(s));
        else this.keys.remove(this.storeOf(type).type, s);
      },
      afterDelete: () => this.keys.maybeRebuild(),
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

  // ---------------------------------------------------------------- status page support (src/status)

  /** Count lines per key (for the status page's top keys) while `on`; off costs one null check per line. */
  setStatusHits(on: boolean): void {
    if (on === (this.statusHits !== null)) return;
    this.statusHits = on ? newHits(this.stores.map((s) => s.idx), 1024) : null;
  }

  /**
   * Lines per key since the last call (the `limit` busiest, busiest first) and per type, then resets;
   * null while status hits are off. Walks every live key: run once per flush, not per request.
   */
  takeStatusHits(limit: number): { top: Array<{ type: MetricType; id: string; lines: number }>; byType: number[] } | null {
    return this.statusHits === null ? null : takeStatusHits<MetricType>(this.statusHits, this.stores.map((s) => s.idx), limit);
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
    for (let type = 0; type < this.stores.length && out.length < limit; type++) {
      const store = this.stores[type]!;
      const idx = store.idx;
      for (let s = idx.head; s >= 0 && out.length < limit; s = idx.next[s]!) {
        const key = idx.keys[s]!;
        if (key.id.includes(q)) out.push({ type: type as MetricType, key, value: store.liveValue(s) });
      }
    }
    return out;
  }

  /** This interval's value so far of a live key given by its canonical id; undefined when not live. */
  liveValueOf(type: MetricType, id: string): number | undefined {
    const slot = this.keys.slotById(type, id);
    return slot >= 0 ? this.stores[type]!.liveValue(slot) : undefined;
  }

  // ---------------------------------------------------------------- partials (multi-core ingest: src/cluster, ./merge.ts)

  /**
   * Worker side: the live slot of a sample's key (created when absent; -1 past maxKeys), for
   * callers that keep per-slot state of their own (a worker's gauges, see src/cluster/worker.ts).
   */
  slotOfSample(s: Sample): number {
    const slot = this.keys.slotFor(s, s.type);
    if (slot >= 0) this.retention.touch(s.type, slot);
    return slot;
  }

  /** The key of a live slot of `type`. */
  keyOfSlot(type: MetricType, slot: number): MetricKey {
    return this.stores[type]!.idx.keys[slot]!;
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

  /** Primary side: the live slot for a merged key (not idle); -1 (counted as dropped) for a new key past maxKeys. */
  private mergeSlot(type: number, key: MetricKey): number {
    const slot = this.keys.mergeSlot(type, key);
    if (slot >= 0) this.retention.touch(type, slot);
    return slot;
  }

  /** Primary side: one source's own counters for the interval (deltas) and its last packet time. */
  mergeOwn(badLines: number, packets: number, lines: number, lastMsg: number, byReason: Float64Array): void {
    const v = this.counters.values;
    const own = this.counters.ownSlots;
    v[own[OWN_BAD_LINES]!]! += badLines;
    v[own[OWN_PACKETS]!]! += packets;
    v[own[OWN_METRICS]!]! += lines;
    this.badLines += badLines;
    this.packets += packets;
    this.lines += lines;
    const n = Math.min(byReason.length, this.byReason.length);
    for (let i = 0; i < n; i++) this.byReason[i]! += byReason[i]!;
    if (packets > 0 && lastMsg > this.lastMsg) this.lastMsg = lastMsg;
  }

  mergeCounter(key: MetricKey, value: number): void {
    const own = this.counters.ownIndexOf(key.id);
    if (own >= ALWAYS_OWN) {
      // another process's keys_dropped, set_members_dropped or dogstatsd_*: the daemon's own counter here too
      this.counters.countOwn(own, value);
      if (own === OWN_KEYS_DROPPED) this.keys.droppedTotal += value;
      else if (own === OWN_SET_MEMBERS_DROPPED) this.setMembersDroppedTotal += value;
      return;
    }
    const slot = this.mergeSlot(MetricType.Counter, key);
    if (slot >= 0) this.counters.mergeValue(slot, value);
  }

  mergeTimer(
    key: MetricKey, count: number, n: number, sum: number, sumSquares: number, min: number, max: number,
    samples: Float64Array, hist: Float64Array | null, exp: ExpBucketsData | null = null, le: Float64Array | null = null,
  ): void {
    const slot = this.mergeSlot(MetricType.Timer, key);
    if (slot >= 0) this.timers.mergeTimer(slot, count, n, sum, sumSquares, min, max, samples, hist, exp, le);
  }

  /** isSet: the gauge takes `value`; else `value` is a delta (added: a delta on 0 gives what a set would). */
  mergeGauge(key: MetricKey, value: number, isSet: boolean): void {
    const slot = this.mergeSlot(MetricType.Gauge, key);
    if (slot >= 0) this.gauges.mergeValue(slot, value, isSet);
  }

  mergeSet(key: MetricKey, members: Iterable<string>): void {
    const slot = this.mergeSlot(MetricType.Set, key);
    if (slot >= 0) this.sets.mergeMembers(slot, members);
  }

  /** A key of a type beyond the core four, as its store's exportTo gave it (PartialVisitor.other). */
  mergeOther(type: number, key: MetricKey, data: Float64Array): void {
    const store = this.stores[type];
    if (store === undefined) return;
    const slot = this.mergeSlot(type, key);
    if (slot >= 0) store.merge(slot, data);
  }
}
