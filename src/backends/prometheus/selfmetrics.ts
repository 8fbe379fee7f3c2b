/**
 * tallyd's own metrics (`tallyd_*`) and prom-client's process metrics, in a registry of their own,
 * read at scrape time from the daemon's running totals and the series store.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SelfStats } from '../types.js';
import type { StoreStats } from './series.js';

export const SELF_PREFIX = 'tallyd_';

/** The last render of /metrics' user series against its byte budget. */
export interface ExpositionStats {
  /** Series left out of the last render (the largest first) to stay within maxExpositionBytes. */
  readonly seriesOverBudget: number;
  /** Renders that had to leave series out, since start. */
  readonly rendersOverBudget: number;
  /** Scrapes whose user series could not be rendered at all (tallyd_* served alone), since start. */
  readonly renderErrors: number;
  /** Bytes of the user series in the last render. */
  readonly bytes: number;
  /** prometheus.maxExpositionBytes. */
  readonly maxBytes: number;
}

export interface SelfMetricsSources {
  selfStats(): SelfStats;
  storeStats(): StoreStats;
  expositionStats?(): ExpositionStats;
}

export interface SelfMetrics {
  readonly registry: Registry;
  /** Every sample name this registry can expose (user metrics may not take them). */
  readonly names: readonly string[];
  /** The text exposition of tallyd_* and process metrics. */
  metrics(): Promise<string>;
}

/** Set a counter to an absolute running total (our figures are kept elsewhere). */
function setCounter(c: Counter<string>, v: number, labels?: Record<string, string>): void {
  if (labels) c.inc(labels, Math.max(0, v));
  else c.inc(Math.max(0, v));
}

export function createSelfMetrics(src: SelfMetricsSources, opts: { processMetrics?: boolean } = {}): SelfMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Read once per scrape, shared by every collect() of that scrape.
  let cached: { self: SelfStats; store: StoreStats; exposition: ExpositionStats } | null = null;
  const noExposition: ExpositionStats = { seriesOverBudget: 0, rendersOverBudget: 0, renderErrors: 0, bytes: 0, maxBytes: 0 };
  const read = (): { self: SelfStats; store: StoreStats; exposition: ExpositionStats } =>
    (cached ??= { self: src.selfStats(), store: src.storeStats(), exposition: src.expositionStats?.() ?? noExposition });

  new Counter({
    name: 'tallyd_packets_received_total',
    help: 'UDP datagrams and TCP reads received.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.packetsReceived);
    },
  });
  new Counter({
    name: 'tallyd_lines_received_total',
    help: 'StatsD lines received (valid or not).',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.linesReceived);
    },
  });
  new Counter({
    name: 'tallyd_bad_lines_total',
    help: 'Lines refused, by reason.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(read().self.badLinesByReason)) setCounter(this, n, { reason });
    },
  });
  new Gauge({
    name: 'tallyd_flush_duration_seconds',
    help: 'Duration of the last flush (aggregation and hand-off to the backends).',
    registers,
    collect() {
      this.set(read().self.lastFlushDurationMs / 1000);
    },
  });
  new Counter({
    name: 'tallyd_flushes_total',
    help: 'Flushes since start.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.flushes);
    },
  });
  new Gauge({
    name: 'tallyd_live_keys',
    help: 'Live keys in the aggregator, by StatsD type.',
    labelNames: ['type'],
    registers,
    collect() {
      const k = read().self.liveKeys;
      this.set({ type: 'counter' }, k.counters);
      this.set({ type: 'timer' }, k.timers);
      this.set({ type: 'gauge' }, k.gauges);
      this.set({ type: 'set' }, k.sets);
    },
  });
  new Counter({
    name: 'tallyd_keys_dropped_total',
    help: 'Lines for new keys dropped past maxKeys or keyTableBytes.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.keysDropped);
    },
  });
  new Counter({
    name: 'tallyd_set_members_dropped_total',
    help: 'New set members dropped past setMaxMembers.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.setMembersDropped);
    },
  });
  new Gauge({
    name: 'tallyd_key_table_bytes',
    help: 'Bytes of key names held (what keyTableBytes bounds).',
    registers,
    collect() {
      this.set(read().self.keyTableBytes);
    },
  });
  new Gauge({
    name: 'tallyd_prometheus_series',
    help: 'Series exposed by the Prometheus backend, by Prometheus type.',
    labelNames: ['type'],
    registers,
    collect() {
      const s = read().store.series;
      this.set({ type: 'counter' }, s.counter);
      this.set({ type: 'gauge' }, s.gauge);
      this.set({ type: 'summary' }, s.summary);
      this.set({ type: 'histogram' }, s.histogram);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_series_expired_total',
    help: 'Series removed after their TTL without update.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().store.expired);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_conflicts_total',
    help: 'Metrics dropped because their name is taken by another type or collides with another metric.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().store.conflicts);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_negative_increments_total',
    help: 'Counter intervals dropped because their sum was negative (Prometheus counters only go up).',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().store.negativeCounters);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_redefined_total',
    help: 'Metric families replaced after a reload changed their type or histogram buckets (their series restart).',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().store.redefined);
    },
  });
  new Gauge({
    name: 'tallyd_prometheus_series_over_budget',
    help: 'Series left out of the last /metrics render, the largest first, to stay within prometheus.maxExpositionBytes.',
    registers,
    collect() {
      this.set(read().exposition.seriesOverBudget);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_renders_over_budget_total',
    help: 'Renders of /metrics that had to leave series out to stay within prometheus.maxExpositionBytes.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().exposition.rendersOverBudget);
    },
  });
  new Counter({
    name: 'tallyd_prometheus_render_errors_total',
    help: 'Scrapes whose user series could not be rendered (an internal fault): /metrics then serves tallyd_* and process metrics only.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().exposition.renderErrors);
    },
  });
  new Gauge({
    name: 'tallyd_prometheus_exposition_bytes',
    help: 'Bytes of user series in the last /metrics render (tallyd_* and process metrics not included).',
    registers,
    collect() {
      this.set(read().exposition.bytes);
    },
  });
  new Gauge({
    name: 'tallyd_prometheus_exposition_max_bytes',
    help: 'prometheus.maxExpositionBytes: the most /metrics answers with, tallyd_* and process metrics included.',
    registers,
    collect() {
      this.set(read().exposition.maxBytes);
    },
  });
  new Counter({
    name: 'tallyd_tcp_connections_refused_total',
    help: 'TCP input connections closed at once because tcpMaxConnections were open.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.tcp?.refused ?? 0);
    },
  });
  new Counter({
    name: 'tallyd_tcp_idle_timeouts_total',
    help: 'TCP input connections closed after tcpIdleTimeout without a byte.',
    registers,
    collect() {
      this.reset();
      setCounter(this, read().self.tcp?.idleTimeouts ?? 0);
    },
  });
  new Gauge({
    name: 'tallyd_tcp_connections',
    help: 'TCP input connections open.',
    registers,
    collect() {
      this.set(read().self.tcp?.open ?? 0);
    },
  });
  // Only where /proc/net/udp is readable: registered on the first scrape that can read it.
  let udpErrors: Counter<string> | null = null;
  const udpErrorsName = 'tallyd_udp_receive_errors_total';

  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const names: string[] = [udpErrorsName];
  for (const m of registry.getMetricsAsArray()) {
    const n = (m as unknown as { name: string }).name;
    names.push(n, n + '_sum', n + '_count', n + '_bucket', n + '_created');
  }

  return {
    registry,
    names,
    async metrics(): Promise<string> {
      cached = null;
      const drops = read().self.udpReceiveErrors;
      if (drops !== null && udpErrors === null) {
        udpErrors = new Counter({
          name: udpErrorsName,
          help: "Datagrams the kernel dropped for tallyd's UDP sockets (/proc/net/udp drops).",
          registers,
          collect() {
            this.reset();
            const d = read().self.udpReceiveErrors;
            if (d !== null) setCounter(this, d);
          },
        });
      }
      try {
        return await registry.metrics();
      } finally {
        cached = null;
      }
    },
  };
}
