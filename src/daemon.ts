/**
 * Wiring: listen → parse → aggregate → flush → backends, built from a frozen config.
 * Start and stop happen in order; only main.ts decides about the process.
 */
import type { Logger } from 'pino';
import { Aggregator } from './aggregator/index.js';
import type { Snapshot } from './aggregator/snapshot.js';
import { startAdminServer, type AdminContext } from './admin/server.js';
import { createBackend } from './backends/registry.js';
import type { Backend, BackendContext, SelfStats } from './backends/types.js';
import type { TallydConfig } from './config/types.js';
import { writeConfigLines } from './config/index.js';
import { FlushTimer, systemClock, type Clock } from './flusher/timer.js';
import { startTcpListener } from './listeners/tcp.js';
import type { Listener } from './listeners/types.js';
import { readUdpDrops, startUdpListener } from './listeners/udp.js';
import { componentLogger } from './log/index.js';
import { parsePacket } from './parser/index.js';
import { BAD_LINE_REASONS, BadLine, Sample } from './parser/types.js';
import { LogLimiter } from './selfmetrics/ratelimit.js';

export interface DaemonOptions {
  clock?: Clock;
}

export class Daemon {
  private config: TallydConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly startupSec: number;
  private readonly aggregator: Aggregator;
  private readonly sample = new Sample();
  private backends: Backend[] = [];
  /** Backends with a packet() hook (the repeater), kept apart so the hot path loops over few. */
  private packetBackends: Backend[] = [];
  private listeners: Listener[] = [];
  private admin: { port: number; close(): Promise<void> } | null = null;
  private timer: FlushTimer | null = null;
  private health: 'up' | 'down';
  private readonly badLineLog: LogLimiter;
  private readonly dataLog: Logger;
  private lastFlushDurationMs = 0;
  private flushes = 0;
  private pendingDeliveries = new Set<Promise<unknown>>();
  private stopping = false;
  private readonly handlePacket: (buf: Buffer, start: number, end: number) => void;

  constructor(config: TallydConfig, private readonly rootLog: Logger, opts: DaemonOptions = {}) {
    this.config = config;
    this.log = componentLogger(rootLog, 'daemon');
    this.dataLog = componentLogger(rootLog, 'ingest');
    this.clock = opts.clock ?? systemClock;
    this.startupSec = Math.round(this.clock.now() / 1000);
    this.health = config.healthStatus;
    this.badLineLog = new LogLimiter(10_000, () => this.clock.now());
    this.aggregator = new Aggregator({
      config,
      onBadLine: (reason, buf, lineStart, lineEnd) => this.logBadLine(reason, buf, lineStart, lineEnd),
    });
    const aggregator = this.aggregator;
    const sample = this.sample;
    // The hot path: one closure per daemon, not per packet.
    this.handlePacket = (buf, start, end) => {
      if (this.stopping) return;
      const pb = this.packetBackends;
      for (let i = 0; i < pb.length; i++) pb[i]!.packet!(buf, start, end);
      if (this.config.dumpMessages) this.dataLog.info({ packet: buf.toString('utf8', start, end) }, 'message');
      const lines = parsePacket(buf, start, end, aggregator, sample);
      aggregator.countPacket(lines);
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
    this.backends = this.createBackends(this.config);
    for (const b of this.backends) await b.start();
    this.packetBackends = this.backends.filter((b) => typeof b.packet === 'function');

    await this.startListeners(this.config);
    this.admin = await startAdminServer(
      this.adminContext(),
      { address: this.config.mgmtAddress, port: this.config.mgmtPort },
      componentLogger(this.rootLog, 'admin'),
    );
    this.timer = new FlushTimer(this.config.flushInterval, this.startupSec, () => this.flush(), this.clock);
    this.timer.start();
    this.log.info(
      {
        listeners: this.listeners.map((l) => l.description),
        mgmt: `${this.config.mgmtAddress}:${this.admin.port}`,
        backends: this.backends.map((b) => b.name),
        flushInterval: this.config.flushInterval,
      },
      'tallyd is up',
    );
  }

  /** One flush: aggregate, hand the snapshot to every backend (they never block each other). */
  flush(): Snapshot {
    const t0 = performance.now();
    const snapshot = this.aggregator.flush(this.clock.now());
    const deliveries = Promise.allSettled(this.backends.map((b) => b.flush(snapshot)));
    this.pendingDeliveries.add(deliveries);
    void deliveries.then((results) => {
      this.pendingDeliveries.delete(deliveries);
      results.forEach((r, i) => {
        if (r.status === 'rejected') this.log.error({ err: r.reason, backend: this.backends[i]?.name }, 'backend flush failed');
      });
    });
    this.lastFlushDurationMs = performance.now() - t0;
    this.flushes++;
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
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    this.listeners = [];
    this.stopping = true;
    this.log.info('stopping: final flush');
    this.flush();
    const deadline = Date.now() + drainMs;
    await Promise.race([
      Promise.allSettled([...this.pendingDeliveries]),
      new Promise((res) => setTimeout(res, drainMs).unref()),
    ]);
    await Promise.allSettled(this.backends.map((b) => b.stop(Math.max(0, deadline - Date.now()))));
    await this.admin?.close();
    this.admin = null;
    this.log.info('stopped');
  }

  selfStats(): SelfStats {
    const byReason: Record<string, number> = {};
    const counts = this.aggregator.badLinesByReason;
    for (let i = 0; i < BAD_LINE_REASONS.length; i++) byReason[BAD_LINE_REASONS[i]!] = counts[i] ?? 0;
    const udpPorts = this.listeners.filter((l) => l.kind === 'udp').map((l) => l.port);
    return {
      packetsReceived: this.aggregator.packetsReceived,
      linesReceived: this.aggregator.linesReceived,
      badLinesByReason: byReason,
      lastFlushDurationMs: this.lastFlushDurationMs,
      flushes: this.flushes,
      liveKeys: this.aggregator.liveKeys(),
      udpReceiveErrors: readUdpDrops(udpPorts),
    };
  }

  private createBackends(config: TallydConfig): Backend[] {
    const ctx: BackendContext = {
      config,
      log: this.rootLog,
      startupTime: this.startupSec,
      health: () => this.health,
      selfStats: () => this.selfStats(),
    };
    return config.backends.map((name) =>
      createBackend(name, { ...ctx, log: componentLogger(this.rootLog, 'backend', { backend: name }) }),
    );
  }

  private async startListeners(config: TallydConfig): Promise<void> {
    const ingestLog = componentLogger(this.rootLog, 'listener');
    try {
      for (const server of config.servers) {
        if (server.server === 'udp') {
          this.listeners.push(await startUdpListener(server, this.handlePacket, ingestLog));
        } else {
          this.listeners.push(
            await startTcpListener(
              server,
              this.handlePacket,
              () => this.aggregator.badLine(BadLine.TooLong, EMPTY, 0, 0),
              ingestLog,
            ),
          );
        }
      }
    } catch (err) {
      await Promise.allSettled(this.listeners.map((l) => l.close()));
      this.listeners = [];
      throw err;
    }
  }

  private logBadLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    if (!this.badLineLog.take()) return;
    const suppressed = this.badLineLog.suppressedSince();
    this.dataLog.warn(
      {
        reason: BAD_LINE_REASONS[reason],
        line: lineEnd > lineStart ? buf.toString('utf8', lineStart, Math.min(lineEnd, lineStart + 200)) : undefined,
        suppressed,
      },
      'bad line',
    );
  }

  private adminContext(): AdminContext {
    return {
      startupTime: this.startupSec,
      messages: () => ({
        last_msg_seen: this.aggregator.lastMsgSeen,
        bad_lines_seen: this.aggregator.badLinesSeen,
      }),
      backendStatus: () => this.backends.map((b) => ({ name: b.name, lines: b.status() })),
      dump: (type) => this.aggregator.dump(type),
      deleteKeys: (type, patterns) => this.aggregator.deleteKeys(type, patterns),
      getHealth: () => this.health,
      setHealth: (h) => {
        this.health = h;
      },
      configText: () => writeConfigLines(this.config.raw as Record<string, unknown>),
    };
  }
}

const EMPTY = Buffer.alloc(0);
