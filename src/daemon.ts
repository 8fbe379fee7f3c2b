/**
 * Wiring: listen → parse → aggregate → flush → backends, built from a frozen config.
 * Start and stop happen in order; only main.ts decides about the process.
 */
import type { Logger } from 'pino';
import { Aggregator, MSG_CLOCK_MS } from './aggregator/index.js';
import type { Snapshot } from './aggregator/snapshot.js';
import { AdminStats, startAdminServer, type AdminContext } from './admin/server.js';
import type { Backend, SelfStats } from './backends/types.js';
import { DEFAULT_MGMT_IDLE_TIMEOUT_MS, DEFAULT_MGMT_MAX_CONNECTIONS } from './config/defaults.js';
import type { TallydConfig } from './config/types.js';
import { ListenError, TallydError } from './errors.js';
import { FlushTimer, systemClock, type Clock } from './flusher/timer.js';
import { checkFdBudget, startTcpListener, TcpStats } from './listeners/tcp.js';
import type { Listener, PacketHandler } from './listeners/types.js';
import { readUdpDrops, startUdpListener } from './listeners/udp.js';
import { startModuleListener } from './listeners/module.js';
import { componentLogger } from './log/index.js';
import { PacketGuard } from './ingest.js';
import { BadLine, Sample } from './parser/types.js';
import { KeyFlusher } from './selfmetrics/keyflush.js';
import { setIngestProbe } from './aggregator/yield.js';
import type { GaugeStat } from './aggregator/snapshot.js';
import type { MetricKey } from './parser/types.js';
import { BAD_LINE_REASONS } from './parser/types.js';
import { startStatusPage, type StatusCollector, type StatusServer } from './status/index.js';
import {
  applyCommonConfig, badLineLogger, createBackends, createStatusCollector, deliverToBackends, drainDeliveries, logMemoryReport,
  reconfigureBackends, runtimeAdminContext,
  runtimeSelfStats, type RuntimeHost,
} from './runtime.js';

export interface DaemonOptions {
  clock?: Clock;
}

export class Daemon {
  private config: TallydConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly startupSec: number;
  /** ms clock at start-up (the first interval's start). */
  private readonly startedMs: number;
  private readonly aggregator: Aggregator;
  private readonly sample = new Sample();
  private backends: Backend[] = [];
  /** Backends with a packet() hook (the repeater), kept apart so the hot path loops over few. */
  private packetBackends: Backend[] = [];
  private listeners: Listener[] = [];
  private admin: { port: number; close(): Promise<void> } | null = null;
  private timer: FlushTimer | null = null;
  /** Stamps last_msg_seen (the aggregator does not read the clock per packet). */
  private msgClock: NodeJS.Timeout | null = null;
  private health: 'up' | 'down';
  private readonly dataLog: Logger;
  private lastFlushDurationMs = 0;
  private flushes = 0;
  private pendingDeliveries = new Set<Promise<unknown>>();
  /** The last flush's compute and hand-off: computes run one at a time, in tick order. */
  private flushTail: Promise<unknown> = Promise.resolve();
  /** Flushes captured and not yet handed to the backends. */
  private computing = 0;
  private stopping = false;
  /** JSON of each listener's ServerConfig, aligned with `listeners` (a reload keeps unchanged ones). */
  private listenerKeys: string[] = [];
  /** Replaced Graphite backends still draining their queue after a reload (nothing lost). */
  private readonly retiring = new Set<Backend>();
  private keyFlusher: KeyFlusher | null = null;
  /** `<prefixStats>.udp_receive_errors`, added to each snapshot when /proc/net/udp is readable. */
  private readonly udpErrorsKey: MetricKey;
  /** `<prefixStats>.key_table_bytes`: the key bytes held (keyTableBytes' measure), in each snapshot. */
  private readonly keyBytesKey: MetricKey;
  /** TCP input and admin connection counts (kept across listener rebuilds). */
  private readonly tcpStats = new TcpStats();
  private readonly adminStats = new AdminStats();
  private readonly handlePacket: PacketHandler;
  /** This daemon as the shared runtime pieces (./runtime.ts) see it. */
  private readonly host: RuntimeHost;
  /** The live status page's data and server (src/status). */
  private readonly status: StatusCollector;
  private statusServer: StatusServer | null = null;

  constructor(config: TallydConfig, private readonly rootLog: Logger, opts: DaemonOptions = {}) {
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
      udpPorts: () => this.udpPorts(),
      lastFlushDurationMs: () => this.lastFlushDurationMs,
      flushes: () => this.flushes,
      tcpStats: () => this.tcpStats,
    };
    this.status = createStatusCollector(this.host, () => this.clock.now());
    const ue = config.prefixStats + '.udp_receive_errors';
    this.udpErrorsKey = Object.freeze({ name: ue, tags: Object.freeze([]), graphiteTags: '', id: ue });
    const kb = config.prefixStats + '.key_table_bytes';
    this.keyBytesKey = Object.freeze({ name: kb, tags: Object.freeze([]), graphiteTags: '', id: kb });
    this.sample.containerIdTag = config.dogstatsdContainerIdTag === true;
    const guard = new PacketGuard(this.aggregator, this.sample, this.dataLog, () => this.clock.now());
    // The hot path: one closure per daemon, not per packet. Nothing throws out of it (src/ingest.ts:
    // one try/catch per packet, not per line).
    this.handlePacket = (buf, start, end, from) => {
      if (this.stopping) return;
      try {
        guard.begin();
        const pb = this.packetBackends;
        for (let i = 0; i < pb.length; i++) pb[i]!.packet!(buf, start, end, from);
        if (this.config.dumpMessages) this.dataLog.info({ packet: buf.toString('utf8', start, end) }, 'message');
        guard.ingest(buf, start, end);
      } catch (err) {
        guard.recover(err, buf, start, end);
      }
    };
  }

  /** Ports actually bound (useful with port 0). */
  get ports(): { udp: number[]; tcp: number[]; mgmt: number | null } {
    return {
      udp: this.listeners.filter((l) => l.kind === 'udp').map((l) => l.port),
      tcp: this.listeners.filter((l) => l.kind === 'tcp').map((l) => l.port),
      mgmt: this.admin?.port ?? null,
    };
  }

  async start(): Promise<void> {
    this.backends = createBackends(this.host, this.config);
    this.wireTimerBounds();
    for (const b of this.backends) await b.start();
    this.packetBackends = this.backends.filter((b) => typeof b.packet === 'function');

    checkFdBudget(this.config.servers, this.config.mgmtMaxConnections ?? DEFAULT_MGMT_MAX_CONNECTIONS, componentLogger(this.rootLog, 'listener'));
    await this.startListeners(this.config);
    this.admin = await this.startAdmin(this.config);
    this.statusServer = await startStatusPage(this.status, this.config.statusPage, () => this.health, componentLogger(this.rootLog, 'status'));
    // sliced flush work yields longer while the UDP socket is backlogged (src/aggregator/yield.ts)
    setIngestProbe(() => this.aggregator.packetsReceived);
    this.msgClock = setInterval(() => this.aggregator.noteTime(this.clock.now()), MSG_CLOCK_MS);
    this.msgClock.unref();
    this.timer = new FlushTimer(this.config.flushInterval, this.config.flushAlignment === 'clock' ? 0 : this.startupSec, () => void this.flush().catch(() => undefined), this.clock);
    this.timer.start();
    if (this.config.keyFlush.interval > 0) {
      this.keyFlusher = new KeyFlusher(this.config.keyFlush, () => this.aggregator.takeKeyHits(), componentLogger(this.rootLog, 'keyflush'));
      this.keyFlusher.start();
    }
    this.log.info(
      {
        listeners: this.listeners.map((l) => l.description),
        mgmt: `${this.config.mgmtAddress}:${this.admin.port}`,
        ...(this.statusServer === null ? {} : { status: `http://${this.config.statusPage.address}:${this.statusServer.port}/` }),
        backends: this.backends.map((b) => b.name),
        flushInterval: this.config.flushInterval,
      },
      'tallyd is up',
    );
  }

  /**
   * One flush: the interval is captured now (synchronously and cheaply: what arrives from here on
   * belongs to the next one), its snapshot is computed in slices that yield to ingest, then handed to
   * every backend (they never block each other). Computes run one at a time, in tick order. Resolves
   * with the snapshot once the backends have it (not once they delivered it).
   */
  flush(final = false): Promise<Snapshot> {
    const t0 = performance.now();
    if (this.computing > 0) {
      // capture still happens at the tick (it defines the interval); its compute waits for the previous one
      this.log.warn({ queued: this.computing, flushInterval: this.config.flushInterval }, 'flush: the previous flush is still being computed; this one runs after it');
    }
    this.status.beforeCapture();
    const job = this.aggregator.captureFlush(this.clock.now(), final ? { startedMs: this.startedMs } : undefined);
    const udpErrors = readUdpDrops(this.udpPorts());
    const dropped = this.aggregator.takeDroppedKeys();
    if (dropped !== null) {
      // at most once per flush: the interval's drops, and where they come from
      const bound = dropped.forBytes === 0 ? 'maxKeys' : dropped.forBytes === dropped.dropped ? 'keyTableBytes' : 'maxKeys and keyTableBytes';
      this.dataLog.warn(
        {
          dropped: dropped.dropped, droppedForBytes: dropped.forBytes, droppedSinceStart: dropped.total, maxKeys: dropped.maxKeys,
          keyTableBytes: dropped.keyTableBytes, topPrefixes: Object.fromEntries(dropped.topPrefixes),
        },
        `${bound} reached: dropped ${dropped.dropped} lines for new keys this interval (top prefixes: ${dropped.topPrefixes.map(([p, n]) => `${p} (${n})`).join(', ')})`,
      );
    }
    const memory = this.aggregator.takeMemoryReport();
    if (memory !== null) logMemoryReport(this.dataLog, memory);
    const captureMs = performance.now() - t0;
    this.computing++;
    const done = this.flushTail.then(() => job.run()).then(
      (computed) => {
        this.computing--;
        return this.deliver(computed, udpErrors, captureMs + job.cpuMs);
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

  /** Hands one computed snapshot to every backend. */
  private deliver(computed: Snapshot, udpErrors: number | null, cpuMs: number): Snapshot {
    const t0 = performance.now();
    let snapshot = computed;
    const gauges: GaugeStat[] = snapshot.gauges.slice();
    if (udpErrors !== null) gauges.push({ key: this.udpErrorsKey, value: udpErrors, updated: true });
    gauges.push({ key: this.keyBytesKey, value: this.aggregator.keyBytesUsed(), updated: true });
    gauges.push(...this.tcpStats.gauges(this.config.prefixStats));
    snapshot = { ...snapshot, gauges };
    deliverToBackends(this.backends, snapshot, this.pendingDeliveries, this.log);
    // CPU time of this flush on the event loop: capture + compute slices + hand-off (not wall time)
    this.lastFlushDurationMs = cpuMs + (performance.now() - t0);
    this.flushes++;
    this.status.afterFlush(this.lastFlushDurationMs, snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length);
    if (this.config.debug) this.log.debug({ ms: this.lastFlushDurationMs, numStats: snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length }, 'flushed');
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
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    this.listeners = [];
    this.stopping = true;
    this.log.info('stopping: final flush');
    // the final interval's compute (after any still running) completes before backends are stopped
    await this.flush(true).catch(() => undefined);
    const deadline = Date.now() + drainMs;
    await drainDeliveries(this.pendingDeliveries, drainMs);
    await Promise.allSettled([...this.backends, ...this.retiring].map((b) => b.stop(Math.max(0, deadline - Date.now()))));
    await this.admin?.close();
    this.admin = null;
    await this.statusServer?.close();
    this.statusServer = null;
    this.log.info('stopped');
  }

  selfStats(): SelfStats {
    return runtimeSelfStats(this.host);
  }

  private udpPorts(): number[] {
    const ports: number[] = [];
    for (const l of this.listeners) if (l.kind === 'udp') ports.push(l.port);
    return ports;
  }

  /** The configuration in force. */
  get currentConfig(): TallydConfig {
    return this.config;
  }

  /**
   * Applies a new (validated) configuration without losing the interval's aggregates: aggregation
   * settings from the next flush, the flush timer re-armed when the interval changed, listeners, the
   * admin server and backends rebuilt only where their settings changed. A replaced Graphite backend
   * keeps delivering its queued flushes in the background until its queue is empty. Returns what changed.
   */
  async applyConfig(next: TallydConfig): Promise<string[]> {
    if (this.stopping) return [];
    const prev = this.config;
    // the new backends are built before anything changes: a constructor that throws (a mapping file
    // unreadable since it was validated) rejects the reload with the old config still wholly in force
    const fresh = backendView(prev) !== backendView(next) ? createBackends(this.host, next) : null;
    this.config = next;
    this.sample.containerIdTag = next.dogstatsdContainerIdTag === true;
    const changed = applyCommonConfig(this.host, prev, next, this.timer);
    if (JSON.stringify(next.keyFlush) !== JSON.stringify(prev.keyFlush)) changed.push('keyFlush (applies at restart)');

    if (await this.reconcileListeners(next)) changed.push('servers');
    if (next.mgmtAddress !== prev.mgmtAddress || next.mgmtPort !== prev.mgmtPort
      || next.mgmtMaxConnections !== prev.mgmtMaxConnections || next.mgmtIdleTimeout !== prev.mgmtIdleTimeout) {
      await this.admin?.close();
      this.admin = null;
      try {
        this.admin = await this.startAdmin(next);
      } catch (err) {
        this.log.error({ err, address: next.mgmtAddress, port: next.mgmtPort }, 'reload: the admin interface could not start on its new address');
      }
      changed.push('mgmt');
    }
    if (JSON.stringify(next.statusPage) !== JSON.stringify(prev.statusPage)) {
      await this.statusServer?.close();
      this.statusServer = null;
      try {
        this.statusServer = await startStatusPage(this.status, next.statusPage, () => this.health, componentLogger(this.rootLog, 'status'));
      } catch (err) {
        this.log.error({ err, address: next.statusPage.address, port: next.statusPage.port }, 'reload: the status page could not start on its new address');
      }
      changed.push('statusPage');
    }
    if (fresh !== null) {
      await this.rebuildBackends(next, fresh);
      changed.push('backends');
    }
    return changed;
  }

  /** A reload with an unchanged config: backends with a `reconfigure` hook re-read the files they name. */
  async refreshBackends(): Promise<void> {
    if (!this.stopping) await reconfigureBackends(this.host, this.backends, this.config);
  }

  /** Closes listeners whose settings are gone, starts the new ones; true when anything changed. */
  private async reconcileListeners(next: TallydConfig): Promise<boolean> {
    const wanted = next.servers.map((s) => JSON.stringify(s));
    const keep: Listener[] = [];
    const keepKeys: string[] = [];
    const close: Listener[] = [];
    const unused = this.listeners.map((l, i) => ({ l, key: this.listenerKeys[i]! }));
    const toStart: number[] = [];
    wanted.forEach((key, i) => {
      const j = unused.findIndex((u) => u.key === key);
      if (j >= 0) {
        keep.push(unused[j]!.l);
        keepKeys.push(key);
        unused.splice(j, 1);
      } else {
        toStart.push(i);
      }
    });
    for (const u of unused) close.push(u.l);
    if (close.length === 0 && toStart.length === 0) return false;
    await Promise.allSettled(close.map((l) => l.close()));
    this.listeners = keep;
    this.listenerKeys = keepKeys;
    for (const i of toStart) {
      try {
        await this.startListener(next.servers[i]!);
      } catch (err) {
        this.log.error({ err, server: next.servers[i] }, 'reload: a listener could not start');
      }
    }
    this.log.info({ closed: close.map((l) => l.description), listeners: this.listeners.map((l) => l.description) }, 'listeners changed');
    return true;
  }

  /** A backend's timer buckets (Prometheus histograms) are counted exactly at ingest by the aggregator. */
  private wireTimerBounds(): void {
    const b = this.backends.find((x) => typeof x.timerBounds === 'function');
    this.aggregator.setTimerBounds(b === undefined ? null : (key) => b.timerBounds!(key));
  }

  /**
   * Backends from `next`. One with a `reconfigure` hook takes the new config in place (Prometheus keeps
   * its series). The others are new: the old ones are stopped first (a port may need to be freed),
   * except Graphite, whose old instance is retired: it takes no new flushes and drains its queue meanwhile.
   */
  private async rebuildBackends(next: TallydConfig, built: Backend[]): Promise<void> {
    const old = this.backends;
    // Backends that take the new config in place (Prometheus: its cumulative series survive) are kept;
    // the others are the ones built (and so checked) before the reload changed anything.
    const kept = await reconfigureBackends(this.host, old, next);
    const fresh = next.backends.map((_name, i) => kept[i] ?? built[i]!);
    const replaced = old.filter((b) => !kept.includes(b));
    const started = fresh.filter((b) => !kept.includes(b));
    const drainer = replaced.filter((b) => b.name === 'graphite');
    await Promise.allSettled(replaced.filter((b) => b.name !== 'graphite').map((b) => b.stop(1000)));
    const results = await Promise.allSettled(started.map((b) => b.start()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.error({ err: r.reason, backend: started[i]!.name }, 'reload: a backend could not start');
    });
    this.backends = fresh;
    this.wireTimerBounds();
    this.packetBackends = fresh.filter((b) => typeof b.packet === 'function');
    for (const b of drainer) {
      this.retiring.add(b);
      // no deadline but the queue's byte bound: it stops once every queued flush is delivered
      void b.stop(RETIRE_DRAIN_MS).finally(() => this.retiring.delete(b));
    }
  }

  private startAdmin(config: TallydConfig): Promise<{ port: number; close(): Promise<void> }> {
    return startAdminServer(
      this.adminContext(),
      { address: config.mgmtAddress, port: config.mgmtPort },
      componentLogger(this.rootLog, 'admin'),
      {
        maxConnections: config.mgmtMaxConnections ?? DEFAULT_MGMT_MAX_CONNECTIONS,
        idleTimeoutMs: config.mgmtIdleTimeout ?? DEFAULT_MGMT_IDLE_TIMEOUT_MS,
      },
      this.adminStats,
    );
  }

  private async startListeners(config: TallydConfig): Promise<void> {
    try {
      for (const server of config.servers) await this.startListener(server);
    } catch (err) {
      await Promise.allSettled(this.listeners.map((l) => l.close()));
      this.listeners = [];
      this.listenerKeys = [];
      // a bind failure (an errno error) crosses into the catalog here, its message unchanged
      throw err instanceof TallydError ? err : new ListenError((err as Error)?.message ?? String(err), { cause: err });
    }
  }

  private async startListener(server: TallydConfig['servers'][number]): Promise<void> {
    const ingestLog = componentLogger(this.rootLog, 'listener');
    const l = server.server === 'udp'
      ? await startUdpListener(server, this.handlePacket, ingestLog, this.config.udpReader)
      : server.server === 'module'
      ? await startModuleListener(server, this.handlePacket, ingestLog, this.config.configFile)
      : await startTcpListener(server, this.handlePacket, () => this.aggregator.badLine(BadLine.TooLong, EMPTY, 0, 0), ingestLog, this.tcpStats);
    this.listeners.push(l);
    this.listenerKeys.push(JSON.stringify(server));
  }

  private adminContext(): AdminContext {
    // tallyd's own `messages.*` lines, shown after the original's two
    return runtimeAdminContext(this.host, () => [
      {
        name: 'messages',
        lines: [
          ['udp_receive_errors', readUdpDrops(this.udpPorts()) ?? 'null'],
          ['keys_dropped', this.aggregator.keysDroppedTotal],
          ['set_members_dropped', this.aggregator.setMembersDroppedSinceStart],
          ['key_table_bytes', this.aggregator.keyBytesUsed()],
          ['tcp_connections', this.tcpStats.open],
          ['tcp_connections_refused', this.tcpStats.refused],
          ['tcp_idle_timeouts', this.tcpStats.idleTimeouts],
          ['admin_connections_refused', this.adminStats.refused],
        ],
      },
    ]);
  }
}

const EMPTY = Buffer.alloc(0);

/** How long a retired Graphite backend may keep replaying its queue after a reload (~24 days: until empty). */
const RETIRE_DRAIN_MS = 2 ** 31 - 1;

/** Top-level config fields no backend reads: a change in them alone does not rebuild backends. */
const NOT_FOR_BACKENDS = new Set([
  'servers', 'udpReader', 'mgmtAddress', 'mgmtPort', 'automaticConfigReload', 'logLevel', 'configFile', 'dumpMessages', 'keyFlush',
  'maxKeys', 'idleKeyTtl', 'stopDrainMs', 'healthStatus', 'debug', 'maxKeyLength', 'keyTableBytes', 'setMaxMembers',
  'mgmtMaxConnections', 'mgmtIdleTimeout',
  'statusPage',
]);
/** The same, as spelled in the raw file. */
const RAW_NOT_FOR_BACKENDS = new Set([
  'port', 'address', 'address_ipv6', 'servers', 'mgmt_port', 'mgmt_address', 'automaticConfigReload', 'logLevel', 'log',
  'dumpMessages', 'keyFlush', 'maxKeys', 'idleKeyTtl', 'stopDrainMs', 'healthStatus', 'debug', 'udpRecvBuffer', 'udpReader',
  'tcpMaxLineLength', 'maxKeyLength', 'keyTableBytes', 'setMaxMembers',
  'tcpMaxConnections', 'tcpIdleTimeout', 'mgmtMaxConnections', 'mgmtIdleTimeout',
  'statusPage',
]);

/** What backends may read of a config, as one comparable string. */
function backendView(c: TallydConfig): string {
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!NOT_FOR_BACKENDS.has(k) && k !== 'raw') view[k] = v;
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.raw)) if (!RAW_NOT_FOR_BACKENDS.has(k)) raw[k] = v;
  view['raw'] = raw;
  return JSON.stringify(view, (_k, v: unknown) => (v === Infinity ? 'inf' : v));
}
