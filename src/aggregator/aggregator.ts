/**
 * The aggregator: receives parsed samples (hot path), and at each flush computes an immutable
 * {@link Snapshot} with the original statsd's semantics, then clears per the delete options.
 *
 * The parts and the per-line path are {@link AggregatorCore} (core.ts); this class gives it the daemon's
 * own metric names (./ownkeys.ts) and adds the API the rest of the daemon uses besides ingest and flush: the reports of
 * what the bounds refused, the admin interface's dumps and deletes, the status page's views, and the
 * workers mode's export (worker side) and merge (primary side).
 */
import { type MetricKey, MetricType, type Sample } from '../parser/types.js';
import type { YieldToIngest } from '../pipeline/scheduler.js';
import { type AdminMetricType, type AdminStore, DeleteJob, DumpJob, runSliced, runSync } from './adminwalk.js';
import {
  AggregatorCore,
  type AggregatorOptions,
  ALWAYS_OWN,
  OWN_BAD_LINES,
  OWN_KEYS_DROPPED,
  OWN_METRICS,
  OWN_PACKETS,
  OWN_SET_MEMBERS_DROPPED,
} from './core.js';
import type { ExpBucketsData, ExpHistogram } from './exphist.js';
import { addHits, exportHits, newHits, takeKeyHits, takeStatusHits, type WorkerHits } from './hits.js';
import type { DroppedKeys } from './keylimit.js';
import type { KeyTable } from './keytable.js';
import { ownKeys, plainKey } from './ownkeys.js';
import type { TimerMergeRanges } from './stores/timer-merge.js';
import type { MetricStore } from './stores.js';

export type { AdminMetricType } from './adminwalk.js';
export type { FinalInterval } from './capture.js';
export type { AggregatorOptions } from './core.js';
export { replayStatusHits, type WorkerHits } from './hits.js';

/** A worker's live key matching the status page's search (src/cluster/worker.ts InspectedKey). */
export interface WorkerInspected {
  type: number;
  name: string;
  tags: Array<[string, string]>;
  value: number;
  isSet: boolean;
}

/** How often the daemon stamps last_msg_seen (its resolution; the original reports whole seconds). */
export const MSG_CLOCK_MS = 250;

export class Aggregator extends AggregatorCore {
  constructor(opts: AggregatorOptions) {
    super(opts, ownKeys(opts.config.prefixStats), plainKey(opts.config.prefixStats + '.timestamp_lag'));
  }

  /** The key index's byte table (tests of its bounds read and replace it). */
  private get table(): KeyTable {
    return this.keys.table;
  }

  private set table(t: KeyTable) {
    this.keys.table = t;
    this.keyTable = t;
  }

  /** The timer store's pool of histograms (tests). */
  private get expPool(): ExpHistogram[] {
    return this.timers.pools.expPool;
  }

  // ---------------------------------------------------------------- reports

  /**
   * Lines for new keys dropped past maxKeys since the last call, with the top 5 key prefixes (first two
   * dot-separated components) among them; null when none were. Resets the interval's figures.
   */
  takeDroppedKeys(): DroppedKeys | null {
    return this.keys.limit.take();
  }

  /**
   * The byte bounds' figures since the last call (set members dropped past setMaxMembers with up to 5
   * of their sets, spellings not cached or reclaimed past keyTableBytes); null when nothing happened.
   */
  takeMemoryReport(): {
    setMembersDropped: number;
    setMaxMembers: number;
    sets: string[];
    spellingsUncached: number;
    spellingsReclaimed: number;
    keyBytes: number;
    keyTableBytes: number;
  } | null {
    const k = this.keys;
    if (this.setMembersDropped === 0 && k.spellingsUncached === 0 && k.spellingsReclaimed === 0) return null;
    const out = {
      setMembersDropped: this.setMembersDropped,
      setMaxMembers: this.settings.setMaxMembers,
      sets: [...this.droppedSetNames],
      spellingsUncached: k.spellingsUncached,
      spellingsReclaimed: k.spellingsReclaimed,
      keyBytes: k.keyBytesUsed(),
      keyTableBytes: k.limit.keyTableBytes,
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
    return this.keys.limit.droppedTotal;
  }

  /**
   * keyFlush (the original's): lines per key since the last call, most frequent first, then resets.
   * Keys of several types with one name are added up. Empty when keyFlush is off.
   */
  takeKeyHits(): Array<[string, number]> {
    return this.keyHits === null
      ? []
      : takeKeyHits(
          this.keyHits,
          this.stores.map((s) => s.idx),
        );
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
  dumpSliced(type: AdminMetricType, yieldFn?: YieldToIngest): Promise<Array<[string, number | number[]]>> {
    return runSliced(new DumpJob(this.adminStore(), type), yieldFn);
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
  deleteKeysSliced(type: AdminMetricType, patterns: readonly string[], yieldFn?: YieldToIngest): Promise<string[]> {
    return runSliced(new DeleteJob(this.adminStore(), type, patterns), yieldFn);
  }

  // ---------------------------------------------------------------- status page support (src/status)

  /** Count lines per key (for the status page's top keys) while `on`; off costs one null check per line. */
  setStatusHits(on: boolean): void {
    if (on === (this.statusHits !== null)) return;
    this.statusHits = on
      ? newHits(
          this.stores.map((s) => s.idx),
          1024,
        )
      : null;
    this.onStatusHits?.(on);
  }

  /**
   * Workers mode: the workers' live keys of this interval matching a search (one list per worker;
   * set by the workers' source, src/pipeline/ingest-workers.ts); null in one process.
   */
  workerInspect: ((q: string, limit: number) => Promise<WorkerInspected[][]>) | null = null;

  /** Told when status hits go on or off (workers mode: the primary then tells its workers to count). */
  onStatusHits: ((on: boolean) => void) | null = null;

  /**
   * Workers mode: when the workers were last asked for their partials, the end of the interval they
   * hand over (and of the lines per key they counted for the status hits); null in one process,
   * where the capture is the interval's end.
   */
  workersCutMs: number | null = null;

  /**
   * Worker side: the lines counted per key since status hits went on, then counting stops (the
   * primary turns it on again for the next sample window); null while off. Taken before the
   * interval is exported (its keys are still live), replayed into the partial after it
   * ({@link replayStatusHits}), so that the rest of the partial is the same bytes as without.
   */
  takeWorkerHits(): WorkerHits | null {
    if (this.statusHits === null) return null;
    const out: WorkerHits = { types: [], keys: [], lines: [] };
    exportHits(
      this.statusHits,
      this.stores.map((s) => s.idx),
      (type, key, lines) => {
        out.types.push(type);
        out.keys.push(key);
        out.lines.push(lines);
      },
    );
    this.statusHits = null;
    return out;
  }

  /** Primary side: a worker's lines for a merged key, added while status hits are on (ignored else, or when the key is not live). */
  mergeStatusHits(type: number, key: MetricKey, lines: number): void {
    if (this.statusHits === null) return;
    const slot = this.keys.slotById(type, key.id);
    if (slot >= 0) addHits(this.statusHits, type, slot, lines);
  }

  /**
   * Lines per key since the last call (the `limit` busiest, busiest first) and per type, then resets;
   * null while status hits are off. Walks every live key: run once per flush, not per request.
   */
  takeStatusHits(limit: number): { top: Array<{ type: MetricType; id: string; lines: number }>; byType: number[] } | null {
    return this.statusHits === null
      ? null
      : takeStatusHits<MetricType>(
          this.statusHits,
          this.stores.map((s) => s.idx),
          limit,
        );
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

  /** The name of the store of `type` (a registered type's, e.g. 'max'); undefined for no such type. */
  storeName(type: number): string | undefined {
    return this.stores[type]?.name;
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
    const slot = this.slotOf(s, s.type);
    if (slot >= 0) {
      this.retention.touch(s.type, slot);
      if (this.statusHits !== null) this.statusHits[s.type]![slot]!++;
    }
    return slot;
  }

  /** The key of a live slot of `type`. */
  keyOfSlot(type: MetricType, slot: number): MetricKey {
    return this.stores[type]!.idx.keys[slot]!;
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
      if (own === OWN_KEYS_DROPPED) this.keys.limit.droppedTotal += value;
      else if (own === OWN_SET_MEMBERS_DROPPED) this.setMembersDroppedTotal += value;
      return;
    }
    const slot = this.mergeSlot(MetricType.Counter, key);
    if (slot >= 0) this.counters.mergeValue(slot, value);
  }

  mergeTimer(
    key: MetricKey,
    count: number,
    n: number,
    sum: number,
    sumSquares: number,
    min: number,
    max: number,
    samples: Float64Array,
    hist: Float64Array | null,
    exp: ExpBucketsData | null = null,
    le: Float64Array | null = null,
  ): void {
    const slot = this.mergeSlot(MetricType.Timer, key);
    if (slot >= 0) this.timers.mergeTimer(slot, count, n, sum, sumSquares, min, max, samples, hist, exp, le);
  }

  /** Primary side, around a merge (mergePartials): the range each timer's histogram will span (null: after it). */
  setTimerMergeRanges(r: TimerMergeRanges | null): void {
    this.timers.mergeRanges = r;
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
