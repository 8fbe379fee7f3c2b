/**
 * The retention policy: which keys the clear at each flush deletes, and which it keeps.
 *
 * - delete* options (deleteCounters, deleteTimers, deleteGauges, deleteSets; deleteIdleStats sets
 *   them all): a key of that type is deleted at every clear (gauges: after gaugesMaxTTL flushes
 *   without an update, the original's gaugesTTL; kept by the gauge store, which counts down per key);
 * - idleKeyTtl: a key not updated for that many flushes in a row is deleted (counters, timers, sets;
 *   a `:0|c` line looks idle);
 * - the daemon's own counters are never deleted (the counter store keeps them).
 *
 * The policy is the settings and the idle counts; each store applies it in its own clear
 * (MetricStore.clear), which knows what "updated this interval" means for its type.
 */
import type { AggregatorSettings } from './settings.js';
import type { MetricStore } from './stores/types.js';

export class Retention {
  /** idleKeyTtl (0: off). */
  idleKeyTtl = 0;
  /** Per type: the delete* option of that type. */
  private readonly deletes: boolean[] = [];
  /** Per type, per slot: flushes in a row without an update (only while idleKeyTtl > 0). */
  private readonly idle: number[][] = [];

  constructor(private readonly stores: readonly MetricStore[]) {
    for (let t = 0; t < stores.length; t++) {
      this.deletes.push(false);
      this.idle.push([]);
    }
  }

  configure(s: AggregatorSettings): void {
    const byName: Record<string, boolean> = {
      counters: s.deleteCounters,
      timers: s.deleteTimers,
      gauges: s.deleteGauges,
      sets: s.deleteSets,
    };
    for (let t = 0; t < this.stores.length; t++) this.deletes[t] = byName[this.stores[t]!.name] ?? false;
    // (turned on: no count left over from an earlier time it was on)
    if (s.idleKeyTtl > 0 && this.idleKeyTtl === 0) for (const a of this.idle) a.length = 0;
    this.idleKeyTtl = s.idleKeyTtl;
  }

  /** True when keys of `type` are deleted at every clear (its delete* option). */
  deletesAll(type: number): boolean {
    return this.deletes[type]!;
  }

  /** A key (re)bound, or merged from a worker: not idle. */
  touch(type: number, slot: number): void {
    if (this.idleKeyTtl > 0) this.idle[type]![slot] = 0;
  }

  /**
   * At a clear, for a live key: true when it has gone idleKeyTtl flushes without an update, this one
   * counted (`active`: updated this interval). Call once per key per clear, only while idleKeyTtl > 0.
   */
  expired(type: number, slot: number, active: boolean): boolean {
    const idle = this.idle[type]!;
    const n = active ? 0 : (idle[slot] ?? 0) + 1;
    idle[slot] = n;
    return n >= this.idleKeyTtl;
  }

  /** The clear of every store; returns the raw key-table entries made stale. */
  clearAll(): number {
    let stale = 0;
    for (const store of this.stores) stale += store.clear(this);
    return stale;
  }
}
