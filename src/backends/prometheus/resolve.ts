/**
 * What a statsd key is exposed as under the store's options (./series.ts): the mapping rule that
 * matches it, else the mapping file's defaults, else the backend's settings, decide its name, type
 * (a timer's summary or histogram), quantiles or buckets, TTL, scale and labels. Run once per key and
 * per reload (the store caches the answer in a binding), never per flush.
 */
import { type MetricKey, MetricType } from '../../parser/types.js';
import { DEFAULT_HELP, type PromKind } from './family.js';
import type { Mapper, ObserverType, StatsdKind } from './mapping.js';
import { sanitizeMetricName } from './naming.js';
import { prometheusTypeOf } from './other-types.js';

export type ConflictReason = 'type' | 'name_collision' | 'reserved';

export interface ConflictInfo {
  /** The Prometheus name the later metric wanted. */
  readonly name: string;
  /** The statsd key that was dropped. */
  readonly key: string;
  readonly statsdType: string;
  readonly reason: ConflictReason;
  /** What already holds the name: e.g. `summary request_seconds`. */
  readonly holder: string;
}

export interface StoreOptions {
  readonly quantiles: readonly number[];
  readonly buckets: readonly number[];
  readonly observerType: ObserverType;
  /** ms; 0: never expire. */
  readonly ttlMs: number;
  readonly mapper: Mapper | null;
  /** Names already exposed on the endpoint (prom-client's process_* and tallyd_*). */
  readonly reservedNames?: Iterable<string>;
  /** No user metric may start with this (tallyd's own metrics). */
  readonly reservedPrefix?: string;
  /** Canonical ids of statsd keys not exposed (the daemon's own statsd.* counters). */
  readonly skipKeys?: ReadonlySet<string>;
  readonly onConflict?: (c: ConflictInfo) => void;
}

const KIND_OF: readonly StatsdKind[] = ['counter', 'observer', 'gauge', 'gauge'];

/** A statsd key's exposition, before its family is found or created. */
export interface KeyDefinition {
  readonly name: string;
  readonly promKind: PromKind;
  readonly help: string;
  readonly quantiles: readonly number[];
  readonly buckets: readonly number[];
  readonly ttlMs: number;
  /** Factor from the statsd value to the exposed one (timers: 1/1000 × mapping scale). */
  readonly scale: number;
  /** The mapping's labels, and whether the key's own tags win over them. */
  readonly labels: readonly (readonly [string, string])[];
  readonly honorLabels: boolean;
}

/** The key's definition; null when it is not exposed (an internal key, or a mapping's `action: drop`). */
export function defineKey(o: StoreOptions, type: MetricType, key: MetricKey): KeyDefinition | null {
  if (o.skipKeys?.has(key.id)) return null;
  // a type beyond the core four (./other-types.ts) is mapped and exposed as the kind it registered
  const kind = KIND_OF[type] ?? prometheusTypeOf(type)?.kind ?? 'gauge';
  const mapped = o.mapper ? o.mapper.map(key.name, kind) : null;
  if (mapped !== null && mapped.rule.action === 'drop') return null;
  const rule = mapped?.rule;
  const defaults = o.mapper?.config.defaults;
  const name = mapped?.name ?? sanitizeMetricName(key.name);
  let promKind: PromKind;
  if (kind === 'counter') promKind = 'counter';
  else if (type === MetricType.Timer) promKind = rule?.observerType ?? defaults?.observerType ?? o.observerType;
  else promKind = 'gauge';
  const quantiles = promKind === 'summary' ? (rule?.quantiles ?? defaults?.quantiles ?? o.quantiles) : [];
  const buckets = promKind === 'histogram' ? (rule?.buckets ?? defaults?.buckets ?? o.buckets) : [];
  const ttlMs = rule?.ttlMs ?? defaults?.ttlMs ?? o.ttlMs;
  const scale = type === MetricType.Timer ? (rule?.scale ?? 1) / 1000 : 1;
  return {
    name,
    promKind,
    help: rule?.help ?? DEFAULT_HELP,
    quantiles,
    buckets,
    ttlMs,
    scale,
    labels: mapped?.labels ?? [],
    honorLabels: rule?.honorLabels ?? false,
  };
}

/** A timer key not bound yet: the le bounds, in the timer's ms, of the histogram it would feed; null when none. */
export function timerBucketsFor(o: StoreOptions, key: MetricKey): Float64Array | null {
  const mapped = o.mapper ? o.mapper.map(key.name, 'observer') : null;
  if (mapped !== null && mapped.rule.action === 'drop') return null;
  const rule = mapped?.rule;
  const defaults = o.mapper?.config.defaults;
  if ((rule?.observerType ?? defaults?.observerType ?? o.observerType) !== 'histogram') return null;
  const buckets = rule?.buckets ?? defaults?.buckets ?? o.buckets;
  const scale = (rule?.scale ?? 1) / 1000;
  return Float64Array.from(buckets, (b) => b / scale);
}
