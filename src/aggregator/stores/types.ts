/**
 * The contract of a metric store: one per metric type (counters, timers, gauges, sets, and any type
 * added later), each owning its per-slot data, its ingest, its part of the interval's capture, its
 * clear, and its export and merge for the workers mode.
 *
 * The aggregator holds its stores in an array indexed by the type byte (MetricType for the core
 * four, see ../stores.ts for the registration). The per-line path does not dispatch through this
 * interface for the core four: Aggregator.sample switches on the type byte into each core store's
 * own monomorphic method; a type registered beyond them is ingested through {@link MetricStore.ingest}.
 */
import type { BadLine, MetricKey, Sample } from '../../parser/types.js';
import type { CapturedInterval } from '../flushjob.js';
import type { PartialVisitor } from '../merge.js';
import type { Retention } from '../retention.js';
import type { AggregatorSettings } from '../settings.js';
import type { SlotIndex } from './slots.js';

/** What a store may ask of the aggregator around it (slow paths only). */
export interface StoreHost {
  /** A refused line (counted in bad_lines_seen, logged rate-limited by the caller). */
  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void;
  /** `n` set members refused past setMaxMembers in the set `id` (set_members_dropped). */
  membersDropped(id: string, n: number): void;
  /** The injectable RNG (the reservoirs' Algorithm R and their merge). */
  readonly random: () => number;
  /** True when the RNG was injected (else a store may use a faster one of its own). */
  readonly randomInjected: boolean;
}

/**
 * What a capture fills: the core stores their columns of {@link CapturedInterval}, a store of
 * another type its computed stats under its name in `others` (the snapshot's `others`).
 */
export type CaptureSink = { -readonly [K in Exclude<keyof CapturedInterval, 'others'>]: CapturedInterval[K] } & {
  others: Map<string, readonly unknown[]> | undefined;
};

export interface MetricStore {
  /** The type byte this store holds (MetricType for the core four). */
  readonly type: number;
  /** Plural name: `counters`, `timers`, ... (admin, liveKeys, the snapshot's `others`). */
  readonly name: string;
  readonly idx: SlotIndex;

  /** A new live slot for `key` (the key index makes it findable by id). */
  create(key: MetricKey): number;
  /** Free a live slot; returns how many raw key-table entries pointed at it (now stale). */
  remove(slot: number): number;
  /** The live slot of a key the key index does not hold (the daemon's own counters), else -1. */
  findUnindexed(id: string): number;

  /** One line for the key at `slot` (the generic path: see the file comment). */
  ingest(slot: number, s: Sample): void;
  /** True when the key at `slot` was updated this interval (read before the capture clears it). */
  isActive(slot: number): boolean;
  /** This interval's value so far, as one number (the status page). */
  liveValue(slot: number): number;

  /** Settings that govern a flush's compute and clearing: applied before the capture. */
  configure(s: AggregatorSettings): void;
  /** Settings that change already-counted data: applied once the interval is cleared. */
  configureAfterClear(s: AggregatorSettings): void;

  /** Gather this interval's data in insertion order into `into` (synchronous, at the flush tick). */
  capture(into: CaptureSink): void;
  /** The original's clear_metrics for this type, under the retention policy; returns the stale raw entries of deleted keys. */
  clear(r: Retention): number;

  /** Worker side: this interval's data to `out` (before the clear). */
  exportTo(out: PartialVisitor): void;
  /** Primary side: one source's data for a key of this type, as {@link exportTo} gave it through `out.other`. */
  merge(slot: number, data: Float64Array): void;
}
