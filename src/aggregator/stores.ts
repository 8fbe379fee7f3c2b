/**
 * The metric stores, one module per type (./stores/), and their registration: {@link METRIC_STORES}
 * is indexed by the type byte (MetricType for the core four). A new type is its store module and three
 * registrations, which its module makes when it loads: {@link registerMetricStore} here, its suffix in
 * the parser's type table (src/parser/typetable.ts registerTypeSuffix), and how each backend that
 * outputs it reads the snapshot's `others` under the store's name (Graphite:
 * src/backends/graphite/other-types.ts registerGraphiteType). See docs/architecture.md.
 */
import type { MetricKey } from '../parser/types.js';
import type { AggregatorSettings } from './settings.js';
import { CounterStore } from './stores/counters.js';
import { GaugeStore } from './stores/gauges.js';
import { SetStore } from './stores/sets.js';
import { TimerStore } from './stores/timers.js';
import type { MetricStore, StoreHost } from './stores/types.js';

export { IdLookup, KEY_OVERHEAD_BYTES, keyCost, SlotIndex } from './stores/slots.js';
export { EXTRA_BINS, EXTRA_LE, T_COUNT, T_MAX, T_MIN, T_N, T_SQ, T_STRIDE, T_SUM } from './stores/timer-slots.js';
export type { CaptureSink, MetricStore, StoreHost } from './stores/types.js';
export { CounterStore, GaugeStore, SetStore, TimerStore };

/** What a store is built from. */
export interface StoreContext {
  readonly host: StoreHost;
  /** The settings at construction (each store then gets every change through configure). */
  readonly settings: AggregatorSettings;
  /** The daemon's own counters (the counter store's), and how many of them exist from the start. */
  readonly ownKeys: readonly MetricKey[];
  readonly alwaysOwn: number;
}

export type StoreFactory = (ctx: StoreContext) => MetricStore;

/** The stores, by type byte: the core four, then any type registered by {@link registerMetricStore}. */
const stores: StoreFactory[] = [
  (c) => new CounterStore(c.ownKeys, c.alwaysOwn), // MetricType.Counter
  (c) => new TimerStore(c.host, c.settings), // MetricType.Timer
  () => new GaugeStore(), // MetricType.Gauge
  (c) => new SetStore(c.host), // MetricType.Set
];
export const METRIC_STORES: readonly StoreFactory[] = stores;

/**
 * Registers the store of a type beyond the core four, as type byte `type`, which must be the next free
 * one (4 for the first). Aggregators built afterwards hold it (the daemon's, and each worker's); call it
 * when the type's module loads. Returns a function that removes it again (tests; the last one only).
 */
export function registerMetricStore(type: number, factory: StoreFactory): () => void {
  if (type !== stores.length) throw new RangeError(`metric store type ${type}: the next free type byte is ${stores.length}`);
  stores.push(factory);
  return () => {
    if (stores.length !== type + 1 || stores[type] !== factory) throw new Error(`metric store type ${type}: not the last registered`);
    stores.pop();
  };
}
