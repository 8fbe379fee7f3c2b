/** Hand-built snapshots and contexts for the Prometheus backend tests. */
import { pino } from 'pino';
import {
  CounterColumns,
  type CounterStat,
  type GaugeStat,
  type SetStat,
  type Snapshot,
  type TimerStat,
} from '../../../../src/aggregator/snapshot.js';
import { writeExposition } from '../../../../src/backends/prometheus/exposition.js';
import { prometheusSection } from '../../../../src/backends/prometheus/index.js';
import {
  type ConflictInfo,
  DEFAULT_BUCKETS,
  DEFAULT_QUANTILES,
  SeriesStore,
  type StoreOptions,
} from '../../../../src/backends/prometheus/series.js';
import type { BackendContext, SelfStats } from '../../../../src/backends/types.js';
import type { TallydConfig } from '../../../../src/config/types.js';
import type { MetricKey, Tag } from '../../../../src/parser/types.js';
import { nextTurn } from '../../../../src/pipeline/scheduler.js';

export function key(name: string, tags: [string, string][] = []): MetricKey {
  const sorted: Tag[] = [...tags].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const graphiteTags = sorted.map(([k, v]) => `;${k}=${v}`).join('');
  return { name, tags: sorted, graphiteTags, id: name + graphiteTags };
}

export function counter(name: string, count: number, tags: [string, string][] = []): CounterStat {
  return { key: key(name, tags), count, rate: count };
}

export function gauge(name: string, value: number, tags: [string, string][] = [], updated = true): GaugeStat {
  return { key: key(name, tags), value, updated };
}

export function set(name: string, count: number, tags: [string, string][] = []): SetStat {
  return { key: key(name, tags), count };
}

/** A timer with these values (ms) this interval; `count` defaults to n (no sample rate). */
export function timer(
  name: string,
  values: number[],
  opts: { tags?: [string, string][]; count?: number; samples?: number[] } = {},
): TimerStat {
  const sorted = [...values].sort((a, b) => a - b);
  const n = values.length;
  const sum = values.reduce((a, b) => a + b, 0);
  const samples = opts.samples ? [...opts.samples].sort((a, b) => a - b) : sorted;
  return {
    key: key(name, opts.tags ?? []),
    n,
    count: opts.count ?? n,
    countPs: opts.count ?? n,
    lower: sorted[0] ?? 0,
    upper: sorted[n - 1] ?? 0,
    sum,
    sumSquares: values.reduce((a, b) => a + b * b, 0),
    mean: n ? sum / n : 0,
    median: 0,
    std: 0,
    percentiles: [],
    histogram: null,
    samples: Float64Array.from(samples),
    exact: samples.length === n,
  };
}

export function snapshot(
  parts: Partial<Pick<Snapshot, 'timers' | 'gauges' | 'sets'>> & { counters?: readonly CounterStat[] },
  timestamp = 1_700_000_000,
): Snapshot {
  return {
    timestamp,
    intervalMs: 1000,
    counters: CounterColumns.from(parts.counters ?? [], 1000),
    timers: parts.timers ?? [],
    gauges: parts.gauges ?? [],
    sets: parts.sets ?? [],
    internal: { processingTimeMs: 0, liveCounters: 0, liveTimers: 0, liveGauges: 0, liveSets: 0 },
  };
}

export const fakeSelfStats: SelfStats = {
  packetsReceived: 42,
  linesReceived: 50,
  badLinesByReason: { no_type: 3, bad_value: 1 },
  lastFlushDurationMs: 2.5,
  flushes: 7,
  liveKeys: { counters: 1, timers: 2, gauges: 3, sets: 4 },
  udpReceiveErrors: 5,
  keysDropped: 6,
  setMembersDropped: 8,
  keyTableBytes: 4096,
};

export function context(prometheus: unknown, opts: { health?: () => 'up' | 'down'; prefixStats?: string } = {}): BackendContext {
  const config = {
    prefixStats: opts.prefixStats ?? 'statsd',
    prometheus: prometheusSection(prometheus),
    raw: prometheus === undefined ? {} : { prometheus },
  } as unknown as TallydConfig;
  return {
    config,
    log: pino({ level: 'silent' }),
    startupTime: 1_700_000_000,
    yieldToIngest: nextTurn,
    health: opts.health ?? (() => 'up'),
    selfStats: () => fakeSelfStats,
  };
}

/** Sample lines of an exposition as name{labels} → value. */
export function samples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

/** A series store with the defaults, its conflicts and its exposition text. */
export function store(extra: Partial<StoreOptions> = {}): { st: SeriesStore; conflicts: ConflictInfo[]; text: () => string } {
  const conflicts: ConflictInfo[] = [];
  const st = new SeriesStore({
    quantiles: DEFAULT_QUANTILES,
    buckets: DEFAULT_BUCKETS,
    observerType: 'summary',
    ttlMs: 60_000,
    mapper: null,
    reservedPrefix: 'tallyd_',
    onConflict: (c) => conflicts.push(c),
    ...extra,
  });
  return { st, conflicts, text: () => writeExposition(st.families.values(), st.gen) };
}
