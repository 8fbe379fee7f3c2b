/**
 * What the series store (./series.ts) keeps per statsd key: the {@link Binding} a key resolved to, and
 * the store's figures ({@link StoreStats}).
 */
import type { Series } from './family.js';
import { prometheusTypeOf } from './other-types.js';

const STATSD_TYPE_NAMES = ['counter', 'timer', 'gauge', 'set'] as const;

/** A statsd type's name in conflict reports: the core four's, a registered type's store name. */
export function statsdTypeName(type: number): string {
  return STATSD_TYPE_NAMES[type] ?? prometheusTypeOf(type)?.store ?? String(type);
}

/** What a statsd key resolved to. */
export class Binding {
  constructor(
    /** null: dropped (mapping `action: drop`, internal key, or a conflict). */
    readonly series: Series | null,
    /** For conflicts: the store's family generation when resolved (retry once a family goes away). */
    readonly conflictGen: number,
    /** Factor from the statsd value to the exposed one (timers: 1/1000 × mapping scale). */
    readonly scale: number,
    public lastSeenMs: number,
  ) {}
}

export interface StoreStats {
  readonly series: { readonly counter: number; readonly gauge: number; readonly summary: number; readonly histogram: number };
  readonly families: number;
  readonly expired: number;
  readonly conflicts: number;
  readonly redefined: number;
  readonly negativeCounters: number;
}
