/** Hand-built snapshots, configs and contexts for the backend tests. */
import { type Logger, pino } from 'pino';
import {
  CounterColumns,
  type CounterStat,
  type HistogramStat,
  type PercentileStat,
  type Snapshot,
  type TimerStat,
} from '../../../src/aggregator/snapshot.js';
import type { BackendContext } from '../../../src/backends/types.js';
import type { GraphiteConfig, TallydConfig } from '../../../src/config/types.js';
import type { MetricKey, Tag } from '../../../src/parser/types.js';
import { nextTurn } from '../../../src/pipeline/scheduler.js';
import { testConfig } from '../aggregator/helpers.js';

export function key(name: string, tags: Tag[] = []): MetricKey {
  const sorted = [...tags].sort((a, b) => (a[0] === b[0] ? a[1].localeCompare(b[1]) : a[0].localeCompare(b[0])));
  const graphiteTags = sorted.map(([k, v]) => `;${k}=${v}`).join('');
  return { name, tags: sorted, graphiteTags, id: name + graphiteTags };
}

export function counter(name: string, count: number, intervalMs = 1000, tags: Tag[] = []): CounterStat {
  return { key: key(name, tags), count, rate: count / (intervalMs / 1000) };
}

/** A timer from its values (sorted here), with the original's figures. */
export function timer(
  name: string,
  values: number[],
  opts: { thresholds?: number[]; intervalMs?: number; histogram?: HistogramStat | null; tags?: Tag[]; sampleRate?: number } = {},
): TimerStat {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const intervalMs = opts.intervalMs ?? 1000;
  const count = n / (opts.sampleRate ?? 1);
  if (n === 0) {
    return {
      key: key(name, opts.tags),
      n: 0,
      count: 0,
      countPs: 0,
      lower: 0,
      upper: 0,
      sum: 0,
      sumSquares: 0,
      mean: 0,
      median: 0,
      std: 0,
      percentiles: [],
      histogram: null,
      samples: new Float64Array(0),
      exact: true,
    };
  }
  const sum = v.reduce((a, b) => a + b, 0);
  const sumSquares = v.reduce((a, b) => a + b * b, 0);
  const mean = sum / n;
  const mid = Math.floor(n / 2);
  const median = n % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n);
  const percentiles: PercentileStat[] = [];
  for (const pct of opts.thresholds ?? [90]) {
    const k = n > 1 ? Math.round((Math.abs(pct) / 100) * n) : n;
    if (k === 0) continue;
    const part = pct > 0 ? v.slice(0, k) : v.slice(n - k);
    const psum = part.reduce((a, b) => a + b, 0);
    percentiles.push({
      threshold: pct,
      suffix: String(pct).replace('.', '_').replace('-', 'top'),
      count: k,
      mean: psum / k,
      bound: pct > 0 ? part[part.length - 1]! : part[0]!,
      sum: psum,
      sumSquares: part.reduce((a, b) => a + b * b, 0),
    });
  }
  return {
    key: key(name, opts.tags),
    n,
    count,
    countPs: count / (intervalMs / 1000),
    lower: v[0]!,
    upper: v[n - 1]!,
    sum,
    sumSquares,
    mean,
    median,
    std,
    percentiles,
    histogram: opts.histogram ?? null,
    samples: Float64Array.from(v),
    exact: true,
  };
}

/** A snapshot from parts; counters may be given as a CounterStat list (turned into columns). */
export function snapshot(
  parts: Partial<Omit<Snapshot, 'counters'>> & { timestamp: number; counters?: readonly CounterStat[] | CounterColumns },
): Snapshot {
  const intervalMs = parts.intervalMs ?? 1000;
  const c = parts.counters ?? [];
  return {
    intervalMs,
    timers: [],
    gauges: [],
    sets: [],
    internal: { processingTimeMs: 0, liveCounters: 0, liveTimers: 0, liveGauges: 0, liveSets: 0 },
    ...parts,
    counters: c instanceof CounterColumns ? c : CounterColumns.from(c, intervalMs),
  };
}

export const TS = 1795421995;

/** The reference flush of /work/shared/reference/original-statsd.md: foo:1|c, t:320|ms, g:5|g, s:a|s. */
export function referenceSnapshot(): Snapshot {
  return snapshot({
    timestamp: TS,
    counters: [
      counter('statsd.bad_lines_seen', 0),
      counter('statsd.packets_received', 4),
      counter('statsd.metrics_received', 4),
      counter('foo', 1),
    ],
    timers: [timer('t', [320])],
    gauges: [
      { key: key('statsd.timestamp_lag'), value: 0, updated: true },
      { key: key('g'), value: 5, updated: true },
    ],
    sets: [{ key: key('s'), count: 1 }],
  });
}

export function graphiteConfig(over: Partial<GraphiteConfig> = {}): GraphiteConfig {
  // the real Graphite defaults, pointed at localhost with a short timeout
  return { ...testConfig().graphite, host: '127.0.0.1', timeoutMs: 1000, ...over };
}

/** The aggregator tests' config (the real defaults, quiet) with Graphite on, with overrides. */
export function config(over: Partial<TallydConfig> = {}): TallydConfig {
  return testConfig({ backends: ['graphite'], graphite: graphiteConfig(), reservoirSize: 1000, ...over });
}

/** A logger that records every entry (level + msg + fields) for assertions. */
export function recordingLogger(): { log: Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => void entries.push(JSON.parse(s) as Record<string, unknown>) };
  return { log: pino({ level: 'debug' }, stream), entries };
}

export function context(cfg: TallydConfig, log: Logger = pino({ level: 'silent' })): BackendContext {
  return {
    config: cfg,
    log,
    startupTime: 1795421994,
    yieldToIngest: nextTurn,
    health: () => 'up',
    selfStats: () => ({
      packetsReceived: 0,
      linesReceived: 0,
      badLinesByReason: {},
      lastFlushDurationMs: 0,
      flushes: 0,
      liveKeys: { counters: 0, timers: 0, gauges: 0, sets: 0 },
      udpReceiveErrors: null,
      keysDropped: 0,
      setMembersDropped: 0,
      keyTableBytes: 0,
    }),
  };
}
