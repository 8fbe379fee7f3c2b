/**
 * Prometheus series for metric types beyond the core four. A type's module (its store registered with
 * src/aggregator/stores.ts registerMetricStore) says here how each of its captured stats, the
 * snapshot's `others` under the store's name, feeds a series:
 *
 *   registerPrometheusType<MaxStat>('max', MAX_TYPE, 'gauge', (m) => m.key, (m) => m.max);
 *
 * `gauge`: the series shows the stat's value of the last interval that had one (as a statsd gauge);
 * `counter`: the value is added to the series' total (negative values are refused and counted, as a
 * counter's). The key is named, labelled and mapped as a core type's key (a mapping rule's
 * `match_metric_type` sees the kind given here), its series expire after their TTL, and a name already
 * held by a family of another type is a conflict, reported as the core types' are. The series store
 * (./series.ts) folds these stats after the core types', in the same slices; with no type registered
 * that is one empty check per flush.
 */
import type { MetricKey } from '../../parser/types.js';

export type OtherKind = 'gauge' | 'counter';

export interface PrometheusType {
  /** The store's name: the key of its stats in the snapshot's `others`, and its name in conflict reports. */
  readonly store: string;
  /** Its type byte (bindings and families are kept per type). */
  readonly type: number;
  readonly kind: OtherKind;
  readonly key: (stat: unknown) => MetricKey;
  readonly value: (stat: unknown) => number;
}

const registered: PrometheusType[] = [];
/** The registered types, in registration order. */
export const PROMETHEUS_TYPES: readonly PrometheusType[] = registered;

/**
 * Registers how the stats of the store named `store` (type byte `type`, 4 or more) feed Prometheus
 * series. Returns a function that removes the registration again (tests). Throws for a store or type
 * already registered.
 */
export function registerPrometheusType<T>(
  store: string,
  type: number,
  kind: OtherKind,
  key: (stat: T) => MetricKey,
  value: (stat: T) => number,
): () => void {
  if (!Number.isInteger(type) || type < 4 || type > 127)
    throw new RangeError(`prometheus type '${store}': type byte ${type}, expected 4..127`);
  if (registered.some((t) => t.store === store || t.type === type))
    throw new RangeError(`prometheus type '${store}' (${type}) is already registered`);
  const t: PrometheusType = { store, type, kind, key: key as (s: unknown) => MetricKey, value: value as (s: unknown) => number };
  registered.push(t);
  return () => {
    const i = registered.indexOf(t);
    if (i >= 0) registered.splice(i, 1);
  };
}

/** The registered type of type byte `type`, if any (off the per-flush path: key resolution, conflicts). */
export function prometheusTypeOf(type: number): PrometheusType | undefined {
  return registered.find((t) => t.type === type);
}
