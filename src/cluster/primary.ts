/**
 * The cluster primary (`workers` > 1): forks the workers (./worker.ts), owns the flush schedule,
 * the admin interface and the backends (one aggregation, one Graphite stream). At each flush it asks
 * every worker for its partial, merges them into its own Aggregator (../aggregator/merge.ts) and
 * flushes that as the single-process daemon does. Admin `counters`/`timers`/`gauges` and `stats`
 * show the merged state as of the last flush.
 *
 * Stop: the workers close their listeners and send a final partial; the primary merges them,
 * flushes once more, lets the backends drain, and the workers exit.
 */
import cluster, { type Worker } from 'node:cluster';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Aggregator } from '../aggregator/aggregator.js';
import { mergePartials, SourceTotals, type PartialVisitor } from '../aggregator/merge.js';
import type { Snapshot } from '../aggregator/snapshot.js';
import { startAdminServer } from '../admin/server.js';
import type { Backend, SelfStats } from '../backends/types.js';
import type { TallydConfig } from '../config/types.js';
import { WorkerError } from '../errors.js';
import { FlushTimer, systemClock, type Clock } from '../flusher/timer.js';
import { tcpGauges } from '../listeners/tcp.js';
import { componentLogger } from '../log/index.js';
import {
  applyCommonConfig, createBackends, createStatusCollector, deliverToBackends, drainDeliveries, logMemoryReport, reconfigureBackends,
  runtimeAdminContext,
  runtimeSelfStats,
  type RuntimeHost,
} from '../runtime.js';
import { startStatusPage, type StatusCollector, type StatusServer } from '../status/index.js';
import { decodePartial, PartialDictionary } from './protocol.js';
import type { FromWorker, ToWorker } from './worker.js';

const WORKER_ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'worker-main.js');
/** How long a worker may take to start listening, ms. */
const WORKER_START_TIMEOUT_MS = 15_000;
/** Longest wait for the workers' partials at a flush; a later partial is merged into the next flush. */
const MAX_COLLECT_WAIT_MS = 2000;

/** One worker as the primary sees it. */
class WorkerHandle {
  readonly dict = new PartialDictionary();
  readonly totals = new SourceTotals();
  /** Partials that arrived with nobody waiting (late): merged first at the next flush. */
  readonly late: Buffer[] = [];
  waiter: ((buf: Buffer | null) => void) | null = null;
  ready: Extract<FromWorker, { t: 'ready' }> | null = null;
  finalSent = false;
  exited = false;
  /** Its TCP listeners' counts, as of its last partial. */
  tcp = { open: 0, refused: 0, idleTimeouts: 0 };

  constructor(readonly worker: Worker, readonly slot: number) {}

  send(m: ToWorker): void {
    if (!this.exited && this.worker.isConnected()) this.worker.send(m);
  }

  /** The next partial, or null after `timeoutMs` (the partial then lands in `late`). */
  next(timeoutMs: number): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (buf) => {
        clearTimeout(timer);
        this.waiter = null;
        resolve(buf);
      };
    });
  }

  deliver(buf: Buffer): void {
    if (this.waiter !== null) this.waiter(buf);
    else this.late.push(buf);
  }
}

/**
 * The config a worker gets: no raw sections (they may hold what does not survive the IPC clone),
 * except `prometheus` (plain data, validated): workers count its timer buckets (prometheusTimerBounds).
 */
function workerConfig(config: TallydConfig): TallydConfig {
  let prom = config.raw['prometheus'];
  try {
    prom = structuredClone(prom);
  } catch {
    prom = undefined; // (something not clonable in it: the workers' buckets are then estimated)
  }
  return { ...config, raw: prom === undefined ? {} : { prometheus: prom } };
}

export class ClusterPrimary {
  private config: TallydConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly startupSec: number;
  /** ms clock at start-up (the first interval's start). */
  private readonly startedMs: number;
  private readonly aggregator: Aggregator;
  private readonly handles: (WorkerHandle | null)[];
  private backends: Backend[] = [];
  private admin: { port: number; close(): Promise<void> } | null = null;
  private timer: FlushTimer | null = null;
  private health: 'up' | 'down';
  private lastFlushDurationMs = 0;
  private flushes = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly pendingDeliveries = new Set<Promise<unknown>>();
  private stopping = false;
  private listenerDescriptions: string[] = [];
  private udpPorts: number[] = [];
  /** TCP counts of workers that exited (a replacement starts from 0). */
  private readonly retiredTcp = { refused: 0, idleTimeouts: 0 };
  /** This primary as the shared runtime pieces (../runtime.ts) see it. */
  private readonly host: RuntimeHost;
  /** The status page: it sees the merged state, so live keys appear after the flush that merges them. */
  private readonly status: StatusCollector;
  private statusServer: StatusServer | null = null;

  constructor(config: TallydConfig, private readonly rootLog: Logger, opts: { clock?: Clock } = {}) {
    this.config = config;
    this.log = componentLogger(rootLog, 'cluster');
    this.clock = opts.clock ?? systemClock;
    this.startedMs = this.clock.now();
    this.startupSec = Math.round(this.startedMs / 1000);
    this.health = config.healthStatus;
    this.aggregator = new Aggregator({ config });
    this.host = {
      aggregator: this.aggregator,
      rootLog,
      startupSec: this.startupSec,
      config: () => this.config,
      backends: () => this.backends,
      getHealth: () => this.health,
      setHealth: (h) => {
        this.health = h;
      },
      udpPorts: () => this.udpPorts,
      lastFlushDurationMs: () => this.lastFlushDurationMs,
      flushes: () => this.flushes,
      tcpStats: () => this.tcpTotals(),
    };
    this.handles = new Array<WorkerHandle | null>(Math.max(2, config.workers ?? 2)).fill(null);
    this.status = createStatusCollector(this.host, () => this.clock.now());
  }

  get currentConfig(): TallydConfig {
    return this.config;
  }

  get ports(): { udp: number[]; mgmt: number | null } {
    return { udp: this.udpPorts, mgmt: this.admin?.port ?? null };
  }

  /** The backends' timer buckets (Prometheus histograms): the workers count them, the merge adds them up. */
  private wireTimerBounds(): void {
    const b = this.backends.find((x) => typeof x.timerBounds === 'function');
    this.aggregator.setTimerBounds(b === undefined ? null : (key) => b.timerBounds!(key));
  }

  async start(): Promise<void> {
    this.backends = createBackends(this.host, this.config);
    this.wireTimerBounds();
    for (const b of this.backends) await b.start();
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], serialization: 'advanced' });
    try {
      const ready = await Promise.all(this.handles.map((_, i) => this.fork(i)));
      this.listenerDescriptions = ready[0]!.listeners;
      this.udpPorts = ready[0]!.udpPorts;
    } catch (err) {
      this.stopping = true;
      for (const h of this.handles) h?.worker.kill();
      await Promise.allSettled(this.backends.map((b) => b.stop(0)));
      throw err;
    }
    this.admin = await startAdminServer(
      // what was dropped past the bounds, in the workers and in the merge (totals since start)
      runtimeAdminContext(this.host, () => [
        {
          name: 'messages',
          lines: [
            ['keys_dropped', this.aggregator.keysDroppedTotal],
            ['set_members_dropped', this.aggregator.setMembersDroppedSinceStart],
          ],
        },
      ]),
      { address: this.config.mgmtAddress, port: this.config.mgmtPort },
      componentLogger(this.rootLog, 'admin'),
      {
        maxConnections: this.config.mgmtMaxConnections,
        idleTimeoutMs: this.config.mgmtIdleTimeout,
      },
    );
    this.statusServer = await startStatusPage(this.status, this.config.statusPage, () => this.health, componentLogger(this.rootLog, 'status'));
    this.timer = new FlushTimer(this.config.flushInterval, this.config.flushAlignment === 'clock' ? 0 : this.startupSec, () => void this.flush(), this.clock);
    this.timer.start();
    this.log.info(
      {
        listeners: this.listenerDescriptions,
        mgmt: `${this.config.mgmtAddress}:${this.admin.port}`,
        backends: this.backends.map((b) => b.name),
        flushInterval: this.config.flushInterval,
        workers: this.handles.length,
      },
      'tallyd is up',
    );
  }

  /** Fork the worker for `slot`; resolves when it listens. */
  private fork(slot: number): Promise<Extract<FromWorker, { t: 'ready' }>> {
    const worker = cluster.fork({ TALLYD_WORKER: String(slot) });
    const h = new WorkerHandle(worker, slot);
    this.handles[slot] = h;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new WorkerError(slot, `worker ${slot} did not start within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'partial') {
          if (m.final) h.finalSent = true;
          if (m.tcp !== undefined) h.tcp = m.tcp;
          h.deliver(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
        } else if (m.t === 'ready') {
          h.ready = m;
          clearTimeout(timer);
          resolve(m);
        } else if (m.t === 'hello') {
          worker.send({ t: 'config', config: workerConfig(this.config) } satisfies ToWorker);
        } else if (m.t === 'failed') {
          clearTimeout(timer);
          reject(new WorkerError(slot, m.message));
        }
      });
      worker.on('exit', (code, signal) => {
        h.exited = true;
        this.retiredTcp.refused += h.tcp.refused;
        this.retiredTcp.idleTimeouts += h.tcp.idleTimeouts;
        h.waiter?.(null);
        clearTimeout(timer);
        if (h.ready === null) {
          reject(new WorkerError(slot, `worker ${slot} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.stopping) return;
        // its unflushed interval is lost; the replacement starts with a fresh dictionary
        this.log.error({ worker: slot, code, signal }, 'worker exited: starting a replacement (its data since the last flush is lost)');
        this.fork(slot).catch((err: unknown) => this.log.error({ err, worker: slot }, 'replacement worker failed to start'));
      });
    });
  }

  /** One flush: collect and merge the workers' partials, then aggregate and deliver as usual. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce(false)).then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'flush failed'),
    );
    return this.flushing;
  }

  private async flushOnce(final: boolean): Promise<Snapshot> {
    const now = this.clock.now();
    const t0 = performance.now();
    await this.collect(final);
    this.status.beforeCapture();
    let snapshot = this.aggregator.flush(now, final ? { startedMs: this.startedMs } : undefined);
    const memory = this.aggregator.takeMemoryReport();
    if (memory !== null) logMemoryReport(this.log, memory);
    const tcp = tcpGauges(this.config.prefixStats, this.tcpTotals());
    if (tcp.length > 0) snapshot = { ...snapshot, gauges: [...snapshot.gauges, ...tcp] };
    deliverToBackends(this.backends, snapshot, this.pendingDeliveries, this.log);
    this.lastFlushDurationMs = performance.now() - t0;
    this.flushes++;
    this.status.afterFlush(this.lastFlushDurationMs, snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length);
    return snapshot;
  }

  /** The workers' TCP counts (as of their last partials), those of exited workers included. */
  private tcpTotals(): { open: number; refused: number; idleTimeouts: number } {
    const t = { open: 0, refused: this.retiredTcp.refused, idleTimeouts: this.retiredTcp.idleTimeouts };
    for (const h of this.handles) {
      if (h === null || h.exited) continue;
      t.open += h.tcp.open;
      t.refused += h.tcp.refused;
      t.idleTimeouts += h.tcp.idleTimeouts;
    }
    return t;
  }

  /** Ask every live worker for its partial (`stop` at the end) and merge what came, late ones first. */
  private async collect(final: boolean): Promise<void> {
    const live = this.handles.filter((h): h is WorkerHandle => h !== null && !h.exited && h.ready !== null);
    const wait = final ? Math.max(MAX_COLLECT_WAIT_MS, 5000) : Math.min(MAX_COLLECT_WAIT_MS, Math.max(100, this.config.flushInterval / 2));
    const fresh = await Promise.all(
      live.map((h) => {
        h.send(final ? { t: 'stop' } : { t: 'collect' });
        return h.next(wait);
      }),
    );
    const sources: Array<{ totals: SourceTotals; feed: (v: PartialVisitor) => void }> = [];
    live.forEach((h, i) => {
      const bufs = h.late.splice(0);
      const f = fresh[i];
      if (f) bufs.push(f);
      else if (!h.exited) this.log.warn({ worker: h.slot, waitedMs: wait }, 'a worker partial is late: it is merged into the next flush');
      for (const buf of bufs) {
        sources.push({
          totals: h.totals,
          feed: (v) => {
            try {
              decodePartial(buf, h.dict, v);
            } catch (err) {
              this.log.error({ err, worker: h.slot }, 'unreadable worker partial: replacing the worker');
              h.worker.kill();
            }
          },
        });
      }
    });
    mergePartials(this.aggregator, sources);
  }

  /**
   * Applies a reloaded configuration: aggregation settings, flush interval, log level, health, and
   * the Prometheus section (in place, keeping its series). Listeners, the backend list, other
   * backends' settings and `workers` change at restart.
   */
  async applyConfig(next: TallydConfig): Promise<string[]> {
    if (this.stopping) return [];
    const prev = this.config;
    this.config = next;
    const changed = applyCommonConfig(this.host, prev, next, this.timer);
    for (const h of this.handles) h?.send({ t: 'config', config: workerConfig(next) });
    if (JSON.stringify(next.servers) !== JSON.stringify(prev.servers)) changed.push('servers (applies at restart with workers > 1)');
    if (JSON.stringify(next.backends) !== JSON.stringify(prev.backends)) changed.push('backends (applies at restart with workers > 1)');
    if (next.workers !== prev.workers) changed.push('workers (applies at restart)');
    await this.refreshBackends();
    return changed;
  }

  /** Backends with a `reconfigure` hook (Prometheus) take the config in force in place (a reload, or SIGHUP to re-read a mapping file). */
  async refreshBackends(): Promise<void> {
    if (!this.stopping) await reconfigureBackends(this.host, this.backends, this.config);
  }

  /** Stop: final partials from every worker, one last flush, backends drained within `drainMs`, workers gone. */
  async stop(drainMs: number): Promise<void> {
    if (this.stopping) return;
    this.timer?.stop();
    await this.flushing;
    this.stopping = true;
    this.log.info('stopping: collecting the workers\' final partials');
    await this.flushOnce(true).catch((err: unknown) => this.log.error({ err }, 'final flush failed'));
    const deadline = Date.now() + drainMs;
    await drainDeliveries(this.pendingDeliveries, drainMs);
    await Promise.allSettled(this.backends.map((b) => b.stop(Math.max(0, deadline - Date.now()))));
    await this.admin?.close();
    this.admin = null;
    await this.statusServer?.close();
    this.statusServer = null;
    await Promise.all(
      this.handles.map(
        (h) =>
          new Promise<void>((res) => {
            if (h === null || h.exited) return res();
            // a worker exits by itself once its final partial is sent: if it is already going, telling it
            // to disconnect fails with EPIPE, an 'error' that must not take the primary down
            h.worker.on('error', () => undefined);
            const kill = setTimeout(() => h.worker.kill('SIGKILL'), 3000);
            h.worker.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            if (h.worker.isConnected()) h.worker.disconnect();
          }),
      ),
    );
    this.log.info('stopped');
  }

  selfStats(): SelfStats {
    return runtimeSelfStats(this.host);
  }
}
