/**
 * The pipeline: listen → parse → aggregate → flush → backends, built from a frozen config, the same
 * for one process and for `workers` > 1. It holds the aggregator, the backends, the admin interface,
 * the flush timer, the status page and the self-metrics; its input is an IngestSource (./source.ts):
 * local listeners (./ingest-local.ts) or cluster workers (./ingest-workers.ts), whose intervals are
 * merged into the aggregator before each capture. Start and stop happen in order; only main.ts
 * decides about the process.
 */
import type { Logger } from 'pino';
import { AdminStats, startAdminServer } from '../admin/server.js';
import { Aggregator, MSG_CLOCK_MS } from '../aggregator/aggregator.js';
import type { Snapshot } from '../aggregator/snapshot.js';
import type { SelfStats } from '../backends/types.js';
import { backendsNeedRebuild } from '../config/schema.js';
import type { TallydConfig } from '../config/types.js';
import { componentLogger } from '../log/index.js';
import { BAD_LINE_REASONS } from '../parser/types.js';
import { SelfMetrics } from '../selfmetrics/index.js';
import { type StatusCollector, type StatusServer, startStatusPage } from '../status/index.js';
import { BackendSet } from './backend-set.js';
import { LocalIngest } from './ingest-local.js';
import { WorkersIngest } from './ingest-workers.js';
import { KeyFlusher } from './keyflush.js';
import {
  applyCommonConfig,
  badLineLogger,
  createStatusCollector,
  deliverToBackends,
  drainDeliveries,
  logMemoryReport,
  type RuntimeHost,
  reconfigureBackends,
  runtimeAdminContext,
  warnDroppedKeys,
} from './runtime.js';
import { Scheduler } from './scheduler.js';
import type { DroppedKeys, IngestHost, IngestSource } from './source.js';
import { type Clock, FlushTimer, systemClock } from './timer.js';

export interface PipelineOptions {
  clock?: Clock;
  /** The input (default: local listeners with `workers` 1, cluster workers above). */
  source?: (host: IngestHost) => IngestSource;
}

export class Pipeline {
  private config: TallydConfig;
  private readonly log: Logger;
  private readonly dataLog: Logger;
  private readonly clock: Clock;
  private readonly startupSec: number;
  /** ms clock at start-up (the first interval's start). */
  private readonly startedMs: number;
  private readonly aggregator: Aggregator;
  readonly source: IngestSource;
  private readonly backends: BackendSet;
  private admin: { port: number; close(): Promise<void> } | null = null;
  private readonly adminStats = new AdminStats();
  private statusServer: StatusServer | null = null;
  /** The live status page's data (src/status). */
  private readonly status: StatusCollector;
  private timer: FlushTimer | null = null;
  /** Stamps last_msg_seen (the aggregator does not read the clock per packet). */
  private msgClock: NodeJS.Timeout | null = null;
  private keyFlusher: KeyFlusher | null = null;
  private health: 'up' | 'down';
  private readonly selfMetrics: SelfMetrics;
  /** Sliced work's yields to ingest, handed to the flush job, the backends and the admin walk. */
  private readonly scheduler = new Scheduler();
  private pendingDeliveries = new Set<Promise<unknown>>();
  /** The last flush's compute and hand-off: computes run one at a time, in tick order. */
  private flushTail: Promise<unknown> = Promise.resolve();
  /** The last flush's collect and capture (workers): collects run one at a time, in tick order. */
  private collectTail: Promise<unknown> = Promise.resolve();
  /** Flushes captured (or collecting) and not yet handed to the backends. */
  private computing = 0;
  private stopping = false;
  /** This pipeline as the shared runtime pieces (./runtime.ts) see it. */
  private readonly host: RuntimeHost;

  constructor(
    config: TallydConfig,
    private readonly rootLog: Logger,
    opts: PipelineOptions = {},
  ) {
    this.config = config;
    this.log = componentLogger(rootLog, 'daemon');
    this.dataLog = componentLogger(rootLog, 'ingest');
    this.clock = opts.clock ?? systemClock;
    this.startedMs = this.clock.now();
    this.startupSec = Math.round(this.startedMs / 1000);
    this.health = config.healthStatus;
    const logBadLine = badLineLogger(this.dataLog, () => this.clock.now());
    this.aggregator = new Aggregator({
      config,
      onBadLine: (reason, buf, start, end) => {
        logBadLine(reason, buf, start, end);
        this.status.noteBadLine(BAD_LINE_REASONS[reason] ?? 'unknown', buf, start, end);
      },
    });
    const ingestHost: IngestHost = {
      aggregator: this.aggregator,
      rootLog,
      log: this.log,
      config: () => this.config,
      now: () => this.clock.now(),
    };
    const makeSource = opts.source ?? ((h: IngestHost) => ((config.workers ?? 1) > 1 ? new WorkersIngest(h) : new LocalIngest(h)));
    this.source = makeSource(ingestHost);
    this.selfMetrics = new SelfMetrics({
      aggregator: this.aggregator,
      config: () => this.config,
      udpPorts: () => this.source.udpPorts(),
      tcp: () => this.source.tcpCounts(),
      sourceLines: () => this.source.adminLines?.() ?? [],
      adminStats: this.adminStats,
    });
    this.host = {
      aggregator: this.aggregator,
      rootLog,
      startupSec: this.startupSec,
      config: () => this.config,
      backends: () => this.backends.all,
      getHealth: () => this.health,
      setHealth: (h) => {
        this.health = h;
      },
      selfStats: () => this.selfStats(),
      yieldToIngest: this.scheduler.yieldToIngest,
    };
    this.status = createStatusCollector(this.host, () => this.clock.now());
    this.backends = new BackendSet(this.host, this.source, this.aggregator, this.log);
  }

  /** Ports actually bound (useful with port 0). */
  get ports(): { udp: number[]; tcp: number[]; mgmt: number | null } {
    return { udp: this.source.udpPorts(), tcp: this.source.tcpPorts(), mgmt: this.admin?.port ?? null };
  }

  /** The configuration in force. */
  get currentConfig(): TallydConfig {
    return this.config;
  }

  /** Running totals for backends (Prometheus' tallyd_* metrics) and the status page. */
  selfStats(): SelfStats {
    return this.selfMetrics.stats();
  }

  async start(): Promise<void> {
    this.backends.install(this.backends.build(this.config));
    for (const b of this.backends.all) await b.start();
    try {
      await this.source.start();
    } catch (err) {
      await Promise.allSettled(this.backends.all.map((b) => b.stop(0)));
      throw err;
    }
    this.admin = await this.startAdmin(this.config);
    this.statusServer = await startStatusPage(
      this.status,
      this.config.statusPage,
      () => this.health,
      componentLogger(this.rootLog, 'status'),
    );
    // sliced flush work yields longer while the input is backlogged (./scheduler.ts); with workers
    // the input is read elsewhere
    if (this.source.collect === null) this.scheduler.setIngestProbe(() => this.aggregator.packetsReceived);
    this.msgClock = setInterval(() => this.aggregator.noteTime(this.clock.now()), MSG_CLOCK_MS);
    this.msgClock.unref();
    this.timer = new FlushTimer(
      this.config.flushInterval,
      this.config.flushAlignment === 'clock' ? 0 : this.startupSec,
      () => void this.flush().catch(() => undefined),
      this.clock,
    );
    this.timer.start();
    if (this.config.keyFlush.interval > 0) {
      this.keyFlusher = new KeyFlusher(
        this.config.keyFlush,
        () => this.aggregator.takeKeyHits(),
        componentLogger(this.rootLog, 'keyflush'),
      );
      this.keyFlusher.start();
    }
    this.log.info(
      {
        listeners: this.source.listenerDescriptions(),
        mgmt: `${this.config.mgmtAddress}:${this.admin.port}`,
        ...(this.statusServer === null ? {} : { status: `http://${this.config.statusPage.address}:${this.statusServer.port}/` }),
        backends: this.backends.all.map((b) => b.name),
        flushInterval: this.config.flushInterval,
        ...this.source.upFields(),
      },
      'tallyd is up',
    );
  }

  /**
   * One flush. With local input the interval is captured now, at the tick (synchronously and cheaply:
   * what arrives from here on belongs to the next one); with workers, once their partials are merged.
   * Its snapshot is computed in slices that yield to ingest, then handed to every backend (they never
   * block each other). Computes run one at a time, in tick order. Resolves with the snapshot once the
   * backends have it (not once they delivered it).
   */
  flush(final = false): Promise<Snapshot> {
    const nowMs = this.clock.now();
    if (this.computing > 0) {
      // capture still happens at the tick (it defines the interval); its compute waits for the previous one
      this.log.warn(
        { queued: this.computing, flushInterval: this.config.flushInterval },
        'flush: the previous flush is still being computed; this one runs after it',
      );
    }
    const collect = this.source.collect;
    let captured: Promise<Captured>;
    if (collect === null) captured = Promise.resolve(this.capture(nowMs, final, 0, []));
    else {
      // the workers' partials first (one collect at a time, in tick order), then the capture
      captured = this.collectTail.then(() => collect(final)).then((c) => this.capture(nowMs, final, c.mergeCpuMs, c.dropped));
      this.collectTail = captured.catch(() => undefined);
    }
    this.computing++;
    const done = Promise.all([captured, this.flushTail])
      .then(([c]) => c.job.run(this.scheduler.yieldToIngest).then((computed) => ({ c, computed })))
      .then(
        ({ c, computed }) => {
          this.computing--;
          return this.deliver(computed, c.udpErrors, c.cpuMs + c.job.cpuMs);
        },
        (err: unknown) => {
          this.computing--;
          this.log.error({ err }, 'flush: could not compute the snapshot; this interval is lost');
          throw err;
        },
      );
    this.flushTail = done.catch(() => undefined);
    return done;
  }

  /** The interval as of now: captured from the aggregator, with the warnings about what it refused. */
  private capture(nowMs: number, final: boolean, mergeCpuMs: number, dropped: readonly DroppedKeys[]): Captured {
    const t0 = performance.now();
    this.status.beforeCapture();
    const job = this.aggregator.captureFlush(nowMs, final ? { startedMs: this.startedMs } : undefined);
    const udpErrors = this.selfMetrics.udpReceiveErrors();
    warnDroppedKeys(this.dataLog, this.aggregator, this.config, dropped);
    const memory = this.aggregator.takeMemoryReport();
    if (memory !== null) logMemoryReport(this.dataLog, memory);
    return { job, udpErrors, cpuMs: mergeCpuMs + (performance.now() - t0) };
  }

  /** Hands one computed snapshot, with the own gauges, to every backend. */
  private deliver(computed: Snapshot, udpErrors: number | null, cpuMs: number): Snapshot {
    const t0 = performance.now();
    const snapshot: Snapshot = { ...computed, gauges: [...computed.gauges, ...this.selfMetrics.gauges(udpErrors)] };
    deliverToBackends(this.backends.all, snapshot, this.pendingDeliveries, this.log);
    let numStats = snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length;
    if (snapshot.others !== undefined) for (const stats of snapshot.others.values()) numStats += stats.length;
    this.selfMetrics.flushed(cpuMs + (performance.now() - t0));
    this.status.afterFlush(this.selfMetrics.lastFlushDurationMs, numStats);
    if (this.config.debug) this.log.debug({ ms: this.selfMetrics.lastFlushDurationMs, numStats }, 'flushed');
    return snapshot;
  }

  /**
   * Stop: stop reading input, flush the partial interval to every backend, let backends drain
   * for at most `drainMs`, close everything.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.stopping) return;
    this.timer?.stop();
    this.keyFlusher?.stop();
    if (this.msgClock !== null) clearInterval(this.msgClock);
    await this.source.closeInput();
    this.stopping = true;
    this.log.info('stopping: final flush');
    // the final interval's compute (after any still running) completes before backends are stopped
    await this.flush(true).catch(() => undefined);
    const deadline = Date.now() + drainMs;
    await drainDeliveries(this.pendingDeliveries, drainMs);
    await this.backends.stopAll(deadline);
    await this.admin?.close();
    this.admin = null;
    await this.statusServer?.close();
    this.statusServer = null;
    await this.source.close();
    if (this.source.collect === null) this.scheduler.setIngestProbe(null);
    this.log.info('stopped');
  }

  /**
   * Applies a new (validated) configuration without losing the interval's aggregates: aggregation
   * settings from the next flush, the flush timer re-armed when the interval changed, input, the admin
   * server and backends rebuilt only where their settings changed. A replaced backend that drains after
   * replacement (Graphite) keeps delivering its queue in the background. Returns what changed. Rejects,
   * with the old config still wholly in force, when a new backend cannot be built.
   */
  async applyConfig(next: TallydConfig): Promise<string[]> {
    if (this.stopping) return [];
    const prev = this.config;
    const backendsChanged = backendsNeedRebuild(prev, next);
    // the new backends are built before anything changes: a constructor that throws (a mapping file
    // unreadable since it was validated) rejects the reload with the old config still wholly in force
    const fresh = backendsChanged ? this.backends.build(next) : null;
    this.config = next;
    const changed = applyCommonConfig(this.host, prev, next, this.timer);
    if (JSON.stringify(next.keyFlush) !== JSON.stringify(prev.keyFlush)) changed.push('keyFlush (applies at restart)');
    changed.push(...(await this.source.reconfigure(prev, next, backendsChanged)));
    if (
      next.mgmtAddress !== prev.mgmtAddress ||
      next.mgmtPort !== prev.mgmtPort ||
      next.mgmtMaxConnections !== prev.mgmtMaxConnections ||
      next.mgmtIdleTimeout !== prev.mgmtIdleTimeout
    ) {
      await this.admin?.close();
      this.admin = null;
      try {
        this.admin = await this.startAdmin(next);
      } catch (err) {
        this.log.error(
          { err, address: next.mgmtAddress, port: next.mgmtPort },
          'reload: the admin interface could not start on its new address',
        );
      }
      changed.push('mgmt');
    }
    if (JSON.stringify(next.statusPage) !== JSON.stringify(prev.statusPage)) {
      await this.statusServer?.close();
      this.statusServer = null;
      try {
        this.statusServer = await startStatusPage(this.status, next.statusPage, () => this.health, componentLogger(this.rootLog, 'status'));
      } catch (err) {
        this.log.error(
          { err, address: next.statusPage.address, port: next.statusPage.port },
          'reload: the status page could not start on its new address',
        );
      }
      changed.push('statusPage');
    }
    if (fresh !== null) {
      await this.backends.replace(next, fresh);
      changed.push('backends');
    }
    return changed;
  }

  /** A reload with an unchanged config: backends with a `reconfigure` hook re-read the files they name. */
  async refreshBackends(): Promise<void> {
    if (!this.stopping) await reconfigureBackends(this.host, this.backends.all, this.config);
  }

  private startAdmin(config: TallydConfig): Promise<{ port: number; close(): Promise<void> }> {
    return startAdminServer(
      // tallyd's own `messages.*` lines, shown after the original's two
      runtimeAdminContext(this.host, this.selfMetrics),
      { address: config.mgmtAddress, port: config.mgmtPort },
      componentLogger(this.rootLog, 'admin'),
      {
        maxConnections: config.mgmtMaxConnections,
        idleTimeoutMs: config.mgmtIdleTimeout,
      },
      this.adminStats,
    );
  }
}

/** A flush's interval once captured. */
interface Captured {
  readonly job: ReturnType<Aggregator['captureFlush']>;
  readonly udpErrors: number | null;
  /** CPU ms so far: the merge (workers) and the capture. */
  readonly cpuMs: number;
}
