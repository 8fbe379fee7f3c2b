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
 *   buckets (Prometheus' default buckets, seconds), observerType ('summary' or 'histogram'),
 *   maxExpositionBytes (128 MiB: the largest user series are left out of /metrics past it).
 *
 * A reload hands the new config to the running backend ({@link PrometheusBackend.reconfigure}): the
 * series and their cumulative values stay, the HTTP server is rebound only when its address or port
 * changed (a new path is served on the same socket), and a changed mapping applies from the next
 * flush (it re-maps, it does not reset).
 *
 * From the config to the store's options, the section validator and the workers' timer bounds: ./setup.ts.
 */
import type { Snapshot } from '../../aggregator/snapshot.js';
import { LogLimiter } from '../../log/ratelimit.js';
import type { MetricKey } from '../../parser/types.js';
import type { Backend, BackendContext, BackendFactory, StatusLine } from '../types.js';
import type { PrometheusConfig } from './config.js';
import { type Rendered, renderExpositionAsync } from './exposition.js';
import { createSelfMetrics, type SelfMetrics } from './selfmetrics.js';
import { type ConflictInfo, DEFAULT_SLICE_MS, SeriesStore } from './series.js';
import { type MetricsServer, startMetricsServer } from './server.js';
import { prometheusConfigFrom, storeSetup } from './setup.js';

export {
  DEFAULT_MAX_EXPOSITION_BYTES,
  DEFAULT_PROMETHEUS_ADDRESS,
  DEFAULT_PROMETHEUS_PATH,
  DEFAULT_PROMETHEUS_PORT,
  MIN_MAX_EXPOSITION_BYTES,
  PROMETHEUS_KEYS,
  type PrometheusConfig,
  parsePrometheusSection,
  validatePrometheusConfig,
} from './config.js';
export { prometheusConfigFrom, prometheusSection, prometheusTimerBounds, validatePrometheusSection } from './setup.js';

/** Room kept for tallyd's own metrics above their last measured size, rounded up to it (a stable budget). */
const OWN_ROOM_BYTES = 16 * 1024;

export interface PrometheusBackendDeps {
  /** ms clock (tests). */
  readonly now?: () => number;
  /** Include prom-client's process_* / nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export class PrometheusBackend implements Backend {
  readonly name = 'prometheus';
  private ctx: BackendContext;
  private current: PrometheusConfig;
  readonly store: SeriesStore;
  private readonly self: SelfMetrics;
  private server: MetricsServer | null = null;
  private readonly now: () => number;
  private readonly conflictLog: LogLimiter;
  private readonly budgetLog: LogLimiter;
  private readonly renderErrorLog: LogLimiter;
  /** Scrapes whose user series could not be rendered (served tallyd_* only). */
  private renderErrors = 0;
  private storeKey: string;
  /** The last render of the user series, and the store version it was made at. */
  private rendered: Rendered | null = null;
  private renderedVersion = -1;
  /** A render in progress (concurrent scrapes share it). */
  private rendering: Promise<Rendered> | null = null;
  /** Bytes of tallyd's own metrics at the last scrape. */
  private ownBytes = 0;
  /** Renders that left series out for the budget, since start. */
  private rendersOverBudget = 0;
  private lastFlush = 0;
  private lastRenderMs = 0;
  /** Folds, renders and reconfigurations of the store, one at a time, in order (never rejects). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(ctx: BackendContext, deps: PrometheusBackendDeps = {}) {
    this.ctx = ctx;
    this.current = prometheusConfigFrom(ctx.config);
    this.now = deps.now ?? Date.now;
    this.conflictLog = new LogLimiter(10_000, this.now);
    this.budgetLog = new LogLimiter(60_000, this.now);
    this.renderErrorLog = new LogLimiter(60_000, this.now);
    const setup = storeSetup(ctx, this.current, (c) => this.logConflict(c));
    this.storeKey = setup.key;
    // The store must exist before self metrics read it; reserved names are added right after.
    this.store = new SeriesStore(setup.options);
    this.self = createSelfMetrics(
      {
        selfStats: () => this.ctx.selfStats(),
        storeStats: () => this.store.stats(),
        expositionStats: () => ({
          seriesOverBudget: this.rendered?.droppedSeries ?? 0,
          rendersOverBudget: this.rendersOverBudget,
          renderErrors: this.renderErrors,
          bytes: this.rendered?.bytes ?? 0,
          maxBytes: this.current.maxExpositionBytes,
        }),
      },
      { processMetrics: deps.processMetrics },
    );
    for (const n of this.self.names) this.store.reserve(n);
  }

  /** The section in force. */
  get settings(): PrometheusConfig {
    return this.current;
  }

  async start(): Promise<void> {
    this.ownBytes = Buffer.byteLength(await this.self.metrics());
    await this.listen(this.current);
  }

  private async listen(s: PrometheusConfig): Promise<void> {
    this.server = await startMetricsServer({
      address: s.address,
      port: s.port,
      path: s.path,
      body: () => this.body(),
      health: () => this.ctx.health(),
      log: this.ctx.log,
    });
    this.ctx.log.info(
      { url: this.server.url, port: this.server.port, ttlMs: s.ttlMs, mappingFile: s.mappingFile },
      `prometheus: serving ${this.server.url}`,
    );
  }

  /**
   * A reload: take the new config in place, so Prometheus sees no reset. The series and their
   * cumulative values stay; a changed mapping, quantiles, buckets, observer type, TTL or prefixStats
   * re-resolves every key from the next flush (see SeriesStore.reconfigure); the HTTP server is
   * rebound only when its address or port changed. Also called with an unchanged config on SIGHUP,
   * to read the mapping file again. Throws, changing nothing, when the new section or mapping file
   * cannot be used.
   */
  async reconfigure(ctx: BackendContext): Promise<boolean> {
    const next = prometheusConfigFrom(ctx.config);
    const setup = storeSetup(ctx, next, (c) => this.logConflict(c));
    const prev = this.current;
    this.ctx = ctx;
    this.current = next;
    if (setup.key !== this.storeKey) {
      this.storeKey = setup.key;
      await this.serial(async () => this.store.reconfigure(setup.options));
      this.ctx.log.info(
        { mappingFile: next.mappingFile },
        'prometheus: new series settings: keys are mapped again from the next flush; series keep their values',
      );
    }
    if (this.server !== null && (next.address !== prev.address || next.port !== prev.port)) await this.rebind(next, prev);
    else if (this.server !== null && next.path !== prev.path) {
      this.server.setPath(next.path);
      this.ctx.log.info({ url: this.server.url, port: this.server.port }, `prometheus: serving ${this.server.url}`);
    }
    return true;
  }

  /**
   * A new address or port: the new server starts before the old one closes, so scrapes never find
   * the port closed; on the same port (another address), the old one must close first. When the new
   * one cannot start, the old one keeps serving (re-opened if it had to close).
   */
  private async rebind(next: PrometheusConfig, prev: PrometheusConfig): Promise<void> {
    const old = this.server!;
    const samePort = next.port !== 0 && next.port === old.port;
    if (samePort) {
      await old.close();
      this.server = null;
    }
    try {
      await this.listen(next);
      if (!samePort) await old.close();
    } catch (err) {
      this.ctx.log.error(
        { err, address: next.address, port: next.port },
        'prometheus: cannot serve on the new address; serving on the previous one',
      );
      this.current = { ...next, address: prev.address, port: prev.port };
      if (samePort) await this.listen({ ...this.current, port: old.port });
      else {
        this.server = old;
        old.setPath(next.path);
      }
    }
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
    return this.serial(async () => {
      await this.store.applyAsync(snapshot, this.now(), this.ctx.yieldToIngest);
      this.lastFlush = snapshot.timestamp;
    }).catch((err: unknown) => {
      this.ctx.log.error({ err }, 'prometheus: could not fold a flush');
      throw err;
    });
  }

  /** Runs `fn` after every fold, render and reconfiguration queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /**
   * The user series, rendered at most once per store change (a scrape never sees a flush half
   * folded), within `budget` bytes: past it the largest series are left out.
   */
  exposition(budget: number = this.userBudget()): Promise<Rendered> {
    // after any fold or reload queued before it; concurrent scrapes share one render
    return (this.rendering ??= this.serial(async () => {
      try {
        const cached = this.rendered;
        if (
          cached !== null &&
          this.renderedVersion === this.store.version &&
          (cached.droppedSeries === 0 ? cached.bytes <= budget : cached.budget === budget)
        ) {
          return cached;
        }
        const version = this.store.version;
        this.rendered = null; // not kept alive beside its successor (scrapes still sending it hold their own reference)
        const t0 = performance.now();
        const out = await renderExpositionAsync(this.store.families, this.store.gen, budget, DEFAULT_SLICE_MS, this.ctx.yieldToIngest);
        this.lastRenderMs = performance.now() - t0;
        this.rendered = out;
        this.renderedVersion = version;
        if (out.droppedSeries > 0) this.overBudget(out);
        return out;
      } finally {
        this.rendering = null;
      }
    }));
  }

  /** The user series' share of maxExpositionBytes: what tallyd's own metrics leave, with room to spare. */
  private userBudget(): number {
    const own = Math.ceil((this.ownBytes + 1) / OWN_ROOM_BYTES) * OWN_ROOM_BYTES + OWN_ROOM_BYTES;
    return Math.max(0, this.current.maxExpositionBytes - own);
  }

  /** What /metrics serves: user series, then tallyd_* and process metrics (never left out). */
  async body(): Promise<(Buffer | string)[]> {
    let user: Rendered;
    try {
      user = await this.exposition();
    } catch (err) {
      // a fault in the user series never takes tallyd's own metrics down with it
      this.renderErrors++;
      if (this.renderErrorLog.take()) {
        this.ctx.log.error(
          { err, suppressed: this.renderErrorLog.suppressedSince() },
          'prometheus: cannot render the user series; /metrics serves tallyd_* only',
        );
      }
      return [await this.self.metrics()];
    }
    let own = await this.self.metrics();
    this.ownBytes = Buffer.byteLength(own);
    if (user.bytes + this.ownBytes > this.current.maxExpositionBytes && user.bytes > 0) {
      // tallyd's own metrics grew past the room kept for them: the user series make room
      user = await this.exposition(this.userBudget());
      own = await this.self.metrics();
    }
    return [...user.chunks, own];
  }

  status(): StatusLine[] {
    const st = this.store.stats();
    return [
      ['last_flush', this.lastFlush],
      ['series', st.series.counter + st.series.gauge + st.series.summary + st.series.histogram],
      ['series_expired', st.expired],
      ['conflicts', st.conflicts],
      ['series_over_budget', this.rendered?.droppedSeries ?? 0],
      ['exposition_bytes', this.rendered?.bytes ?? 0],
      ['render_ms', Math.round(this.lastRenderMs * 1000) / 1000],
    ];
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  private overBudget(r: Rendered): void {
    this.rendersOverBudget++;
    if (!this.budgetLog.take()) return;
    const big = r.largestDropped;
    this.ctx.log.warn(
      {
        seriesLeftOut: r.droppedSeries,
        bytesLeftOut: r.droppedBytes,
        exposedBytes: r.bytes,
        maxExpositionBytes: this.current.maxExpositionBytes,
        largest: big === null ? undefined : { name: big.name.slice(0, 200), labels: big.labels.slice(0, 200), bytes: big.bytes },
        suppressed: this.budgetLog.suppressedSince(),
      },
      `prometheus: /metrics would exceed prometheus.maxExpositionBytes: the ${r.droppedSeries} largest series are left out`,
    );
  }

  private logConflict(c: ConflictInfo): void {
    if (!this.conflictLog.take()) return;
    this.ctx.log.warn(
      {
        metric: c.name,
        key: c.key,
        statsdType: c.statsdType,
        reason: c.reason,
        holder: c.holder,
        suppressed: this.conflictLog.suppressedSince(),
      },
      'prometheus: metric dropped: name conflict',
    );
  }
}

export function createPrometheusBackend(ctx: BackendContext, deps?: PrometheusBackendDeps): PrometheusBackend {
  return new PrometheusBackend(ctx, deps);
}

/** The registry entry: `registerBackend('prometheus', prometheusBackend)`. */
export const prometheusBackend: BackendFactory = (ctx) => new PrometheusBackend(ctx);
