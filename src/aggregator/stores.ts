/**
 * The metric stores, one module per type (./stores/), and their registration: {@link METRIC_STORES}
 * is indexed by the type byte (MetricType for the core four). A new type is its store module, one
 * line here, its character in the parser's type table (src/parser/scanner.ts), and the backends that
 * output it (they read the snapshot's `others` under the store's name).
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

/** The stores, by type byte. */
export const METRIC_STORES: readonly StoreFactory[] = [
  (c) => new CounterStore(c.ownKeys, c.alwaysOwn), // MetricType.Counter
  (c) => new TimerStore(c.host, c.settings), // MetricType.Timer
  () => new GaugeStore(), // MetricType.Gauge
  (c) => new SetStore(c.host), // MetricType.Set
];
