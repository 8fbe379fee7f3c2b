/**
 * The Prometheus backend: what statsd_exporter gives, from tallyd's own aggregation.
 *
 * Each flush folds the snapshot into cumulative series (series.ts), expires idle ones, and marks
 * the exposition stale; the next scrape renders it once (exposition.ts) and later scrapes reuse the
 * bytes until the next flush. tallyd's own metrics come from prom-client (selfmetrics.ts).
 *
 * Config: the `prometheus` section of the config file —
 *   address (default 127.0.0.1), port (9102), path (/metrics), mappingFile (statsd_exporter's YAML),
 *   ttl (seconds or a duration like '1h'; default 1 h; 0 never expires), quantiles ([0.5, 0.9, 0.99]),
 *   buckets (Prometheus' default buckets, seconds), observerType ('summary' or 'histogram').
 */
import type { Snapshot } from '../../aggregator/snapshot.js';
import type { TallydConfig } from '../../config/types.js';
import type { MetricKey } from '../../parser/types.js';
import { LogLimiter } from '../../selfmetrics/ratelimit.js';
import type { Backend, BackendContext, BackendFactory, StatusLine } from '../types.js';
import { writeExposition } from './exposition.js';
import { Mapper, parseDuration, readBuckets, readMappingFile, readQuantiles, type ObserverType } from './mapping.js';
import { createSelfMetrics, SELF_PREFIX, type SelfMetrics } from './selfmetrics.js';
import { DEFAULT_BUCKETS, DEFAULT_QUANTILES, DEFAULT_TTL_MS, SeriesStore, type ConflictInfo } from './series.js';
import { startMetricsServer, type MetricsServer } from './server.js';

export const DEFAULT_PROMETHEUS_ADDRESS = '127.0.0.1';
export const DEFAULT_PROMETHEUS_PORT = 9102;
export const DEFAULT_PROMETHEUS_PATH = '/metrics';

export interface PrometheusConfig {
  readonly address: string;
  readonly port: number;
  readonly path: string;
  readonly mappingFile: string | undefined;
  /** ms; 0: never expire. */
  readonly ttlMs: number;
  readonly quantiles: readonly number[];
  readonly buckets: readonly number[];
  readonly observerType: ObserverType;
}

const KEYS = new Set(['address', 'port', 'path', 'mappingFile', 'ttl', 'quantiles', 'buckets', 'observerType']);

/** Parse the section; every problem is collected (messages start with `config key 'prometheus.…'`). */
function parseSection(raw: unknown, checkMappingFile: boolean): { config: PrometheusConfig; problems: string[] } {
  const problems: string[] = [];
  const bad = (key: string, expected: string, got: unknown): void => {
    problems.push(`config key 'prometheus.${key}': expected ${expected}, got ${JSON.stringify(got)}`);
  };
  const sec: Record<string, unknown> =
    raw === undefined || raw === null ? {} : typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    problems.push(`config key 'prometheus': expected an object, got ${JSON.stringify(raw)}`);
  }
  for (const k of Object.keys(sec)) if (!KEYS.has(k)) problems.push(`config key 'prometheus.${k}': unknown key (known: ${[...KEYS].join(', ')})`);

  let address = DEFAULT_PROMETHEUS_ADDRESS;
  if (sec['address'] !== undefined) {
    if (typeof sec['address'] === 'string' && sec['address'] !== '') address = sec['address'];
    else bad('address', 'a host address string', sec['address']);
  }
  let port = DEFAULT_PROMETHEUS_PORT;
  if (sec['port'] !== undefined) {
    const p = typeof sec['port'] === 'string' && /^\d+$/.test(sec['port']) ? Number(sec['port']) : sec['port'];
    if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) port = p;
    else bad('port', 'an integer from 0 to 65535', sec['port']);
  }
  let path = DEFAULT_PROMETHEUS_PATH;
  if (sec['path'] !== undefined) {
    const v = sec['path'];
    if (typeof v === 'string' && v.startsWith('/') && v !== '/health' && !/[\s?#]/.test(v)) path = v;
    else bad('path', "a URL path starting with '/' (not /health)", v);
  }
  let mappingFile: string | undefined;
  if (sec['mappingFile'] !== undefined && sec['mappingFile'] !== null) {
    const v = sec['mappingFile'];
    if (typeof v !== 'string' || v === '') bad('mappingFile', 'a file path', v);
    else {
      mappingFile = v;
      if (checkMappingFile) {
        const r = readMappingFile(v);
        for (const p of r.problems) problems.push(`config key 'prometheus.mappingFile': ${p}`);
      }
    }
  }
  let ttlMs = DEFAULT_TTL_MS;
  if (sec['ttl'] !== undefined) {
    const v = sec['ttl'];
    const ms = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v * 1000 : typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) bad('ttl', "seconds (a number >= 0) or a duration like '1h'", v);
    else ttlMs = ms;
  }
  const sub: string[] = [];
  const quantiles = readQuantiles(sec['quantiles'], 'quantiles', sub) ?? DEFAULT_QUANTILES;
  if (sub.length > 0) bad('quantiles', 'a list of numbers between 0 and 1', sec['quantiles']);
  sub.length = 0;
  const buckets = readBuckets(sec['buckets'], 'buckets', sub) ?? DEFAULT_BUCKETS;
  if (sub.length > 0) bad('buckets', 'a strictly ascending list of numbers (seconds)', sec['buckets']);
  let observerType: ObserverType = 'summary';
  if (sec['observerType'] !== undefined) {
    const v = sec['observerType'];
    if (v === 'summary' || v === 'histogram') observerType = v;
    else bad('observerType', "'summary' or 'histogram'", v);
  }
  return { config: { address, port, path, mappingFile, ttlMs, quantiles, buckets, observerType }, problems };
}

/** Problems in the `prometheus` config section (and its mapping file), for --check-config. [] when valid. */
export function validatePrometheusConfig(raw: unknown): string[] {
  return parseSection(raw, true).problems;
}

/** The validated section; throws an Error naming the first bad key (all problems in the message). */
export function prometheusConfigFrom(config: TallydConfig): PrometheusConfig {
  const { config: c, problems } = parseSection(config.raw['prometheus'], false);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return c;
}

export interface PrometheusBackendDeps {
  /** ms clock (tests). */
  readonly now?: () => number;
  /** Include prom-client's process_* / nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export class PrometheusBackend implements Backend {
  readonly name = 'prometheus';
  readonly settings: PrometheusConfig;
  readonly store: SeriesStore;
  private readonly self: SelfMetrics;
  private server: MetricsServer | null = null;
  private readonly now: () => number;
  private readonly conflictLog: LogLimiter;
  /** Rendered user series and the store version they were rendered at. */
  private rendered: Buffer = Buffer.alloc(0);
  private renderedVersion = -1;
  private lastFlush = 0;
  private lastRenderMs = 0;
  /** The last flush's fold (never rejects). */
  private applyTail: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: BackendContext, deps: PrometheusBackendDeps = {}) {
    this.settings = prometheusConfigFrom(ctx.config);
    this.now = deps.now ?? Date.now;
    this.conflictLog = new LogLimiter(10_000, this.now);
    let mapper: Mapper | null = null;
    if (this.settings.mappingFile !== undefined) {
      const r = readMappingFile(this.settings.mappingFile);
      if (r.mapping === null) throw new Error(r.problems.map((p) => `config key 'prometheus.mappingFile': ${p}`).join('\n'));
      for (const w of r.mapping.warnings) ctx.log.warn({ mappingFile: this.settings.mappingFile }, w);
      mapper = new Mapper(r.mapping);
    }
    const prefix = ctx.config.prefixStats;
    const skipKeys = new Set(
      prefix === '' ? [] : ['bad_lines_seen', 'packets_received', 'metrics_received', 'timestamp_lag'].map((k) => `${prefix}.${k}`),
    );
    // The store must exist before self metrics read it; reserved names are added right after.
    this.store = new SeriesStore({
      quantiles: this.settings.quantiles,
      buckets: this.settings.buckets,
      observerType: this.settings.observerType,
      ttlMs: this.settings.ttlMs,
      mapper,
      reservedPrefix: SELF_PREFIX,
      skipKeys,
      onConflict: (c) => this.logConflict(c),
    });
    this.self = createSelfMetrics(
      { selfStats: () => ctx.selfStats(), storeStats: () => this.store.stats() },
      { processMetrics: deps.processMetrics },
    );
    for (const n of this.self.names) this.store.reserve(n);
  }

  async start(): Promise<void> {
    const s = this.settings;
    this.server = await startMetricsServer({
      address: s.address,
      port: s.port,
      path: s.path,
      body: () => this.body(),
      health: () => this.ctx.health(),
      log: this.ctx.log,
    });
    this.ctx.log.info({ url: this.server.url, port: this.server.port, ttlMs: s.ttlMs, mappingFile: s.mappingFile }, `prometheus: serving ${this.server.url}`);
  }

  /** The bound port (useful with port 0), or null before start. */
  get port(): number | null {
    return this.server?.port ?? null;
  }

  /** The le bounds (ms) of the histogram series a timer key feeds, for exact counts at ingest. */
  timerBounds(key: MetricKey): Float64Array | null {
    return this.store.timerBounds(key);
  }

  flush(snapshot: Snapshot): Promise<void> {
    // folded in slices that yield to ingest; one fold at a time, in flush order
    const done = this.applyTail.then(async () => {
      await this.store.applyAsync(snapshot, this.now());
      this.lastFlush = snapshot.timestamp;
    });
    this.applyTail = done.catch((err: unknown) => this.ctx.log.error({ err }, 'prometheus: could not fold a flush'));
    return done;
  }

  /** The user series' exposition text, rendered at most once per store change. */
  exposition(): Buffer {
    if (this.renderedVersion !== this.store.version) {
      const t0 = performance.now();
      this.rendered = Buffer.from(writeExposition(this.store.families.values(), this.store.gen), 'utf8');
      this.renderedVersion = this.store.version;
      this.lastRenderMs = performance.now() - t0;
    }
    return this.rendered;
  }

  /** What /metrics serves: user series, then tallyd_* and process metrics. */
  async body(): Promise<(Buffer | string)[]> {
    await this.applyTail; // a scrape never sees a flush half folded
    const user = this.exposition();
    const own = await this.self.metrics();
    return [user, own];
  }

  status(): StatusLine[] {
    const st = this.store.stats();
    return [
      ['last_flush', this.lastFlush],
      ['series', st.series.counter + st.series.gauge + st.series.summary + st.series.histogram],
      ['series_expired', st.expired],
      ['conflicts', st.conflicts],
      ['render_ms', Math.round(this.lastRenderMs * 1000) / 1000],
    ];
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  private logConflict(c: ConflictInfo): void {
    if (!this.conflictLog.take()) return;
    this.ctx.log.warn(
      { name: c.name, key: c.key, statsdType: c.statsdType, reason: c.reason, holder: c.holder, suppressed: this.conflictLog.suppressedSince() },
      'prometheus: metric dropped: name conflict',
    );
  }
}

export function createPrometheusBackend(ctx: BackendContext, deps?: PrometheusBackendDeps): PrometheusBackend {
  return new PrometheusBackend(ctx, deps);
}

/** The registry entry: `registerBackend('prometheus', prometheusBackend)`. */
export const prometheusBackend: BackendFactory = (ctx) => new PrometheusBackend(ctx);

/** The registry's section validator: `registerBackend('prometheus', prometheusBackend, validatePrometheusSection)`. */
export function validatePrometheusSection(config: TallydConfig): string[] {
  return validatePrometheusConfig(config.raw['prometheus']);
}

/** Timer keys remembered by {@link prometheusTimerBounds}' cache before it starts over. */
const TIMER_BOUNDS_CACHE = 1_000_000;

/**
 * The le bounds (ms) per timer key that this config's Prometheus backend counts exactly, for a
 * process without the backend (a cluster worker, see src/cluster/worker.ts): null when the config
 * has no Prometheus backend. Resolved through the same mapping; cached per key (a worker re-creates
 * its keys every interval).
 */
export function prometheusTimerBounds(config: TallydConfig): ((key: MetricKey) => Float64Array | null) | null {
  if (!config.backends.some((b) => b === 'prometheus' || b.endsWith('/prometheus'))) return null;
  const settings = prometheusConfigFrom(config);
  let mapper: Mapper | null = null;
  if (settings.mappingFile !== undefined) {
    const r = readMappingFile(settings.mappingFile);
    if (r.mapping === null) return null;
    mapper = new Mapper(r.mapping);
  }
  const store = new SeriesStore({ quantiles: settings.quantiles, buckets: settings.buckets, observerType: settings.observerType, ttlMs: settings.ttlMs, mapper });
  const cache = new Map<string, Float64Array | null>();
  return (key) => {
    let b = cache.get(key.id);
    if (b === undefined) {
      if (cache.size >= TIMER_BOUNDS_CACHE) cache.clear();
      b = store.timerBounds(key);
      cache.set(key.id, b);
    }
    return b;
  };
}
