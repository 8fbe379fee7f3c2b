/**
 * Input read in this process: the configured listeners hand packets to the one packet path
 * (./packet.ts), which parses them into the pipeline's aggregator. A reload keeps the listeners whose
 * settings did not change and rebuilds the others.
 */
import type { Logger } from 'pino';
import type { Backend } from '../backends/types.js';
import type { ServerConfig, TallydConfig } from '../config/types.js';
import { ListenError, TallydError } from '../errors.js';
import { startModuleListener } from '../listeners/module.js';
import { checkFdBudget, startTcpListener, TcpStats } from '../listeners/tcp.js';
import type { Listener, PacketHandler } from '../listeners/types.js';
import { startUdpListener } from '../listeners/udp.js';
import { componentLogger } from '../log/index.js';
import { BadLine, Sample } from '../parser/types.js';
import { type IngestSink, PacketGuard } from './guard.js';
import { createPacketHandler, type PacketPathState } from './packet.js';
import type { Collected, IngestHost, IngestSource, TcpCounts } from './source.js';

const EMPTY = Buffer.alloc(0);

/**
 * Opens one configured server. `inWorker`: a cluster worker's (with the native reader and a fixed
 * port each worker binds its own SO_REUSEPORT socket and the kernel spreads senders over them by flow
 * hash; port 0 ("any") must be one port for all workers, which only node:cluster's shared dgram socket gives).
 */
export function openListener(
  server: ServerConfig,
  onPacket: PacketHandler,
  config: TallydConfig,
  sink: IngestSink,
  tcpStats: TcpStats,
  log: Logger,
  inWorker: boolean,
): Promise<Listener> {
  if (server.server === 'udp') {
    if (!inWorker) return startUdpListener(server, onPacket, log, config.udpReader);
    return startUdpListener(server, onPacket, log, server.port === 0 ? 'dgram' : config.udpReader, true);
  }
  // a server module runs in each worker (node:cluster shares a net/http server's handle among them)
  if (server.server === 'module') return startModuleListener(server, onPacket, log, config.configFile);
  return startTcpListener(server, onPacket, () => sink.badLine(BadLine.TooLong, EMPTY, 0, 0), log, tcpStats);
}

export class LocalIngest implements IngestSource {
  readonly collect: ((final: boolean) => Promise<Collected>) | null = null;
  /** The packet path's entry (listeners call it; tests too). */
  readonly handlePacket: PacketHandler;
  private readonly sample = new Sample();
  private readonly state: PacketPathState;
  private listeners: Listener[] = [];
  /** JSON of each listener's ServerConfig, aligned with `listeners` (a reload keeps unchanged ones). */
  private listenerKeys: string[] = [];
  /** TCP input connection counts (kept across listener rebuilds). */
  private readonly tcpStats = new TcpStats();
  private readonly log: Logger;

  constructor(private readonly host: IngestHost) {
    const config = host.config();
    const dataLog = componentLogger(host.rootLog, 'ingest');
    this.log = componentLogger(host.rootLog, 'listener');
    this.sample.containerIdTag = config.dogstatsdContainerIdTag === true;
    this.state = { stopped: false, packetBackends: [], dumpMessages: config.dumpMessages };
    const guard = new PacketGuard(host.aggregator, this.sample, dataLog, () => host.now());
    this.handlePacket = createPacketHandler(guard, this.state, dataLog);
  }

  placeBackend(): Backend | null {
    return null;
  }

  setBackends(backends: readonly Backend[]): void {
    this.state.packetBackends = backends.filter((b) => typeof b.packet === 'function');
  }

  async start(): Promise<void> {
    const config = this.host.config();
    checkFdBudget(config.servers, config.mgmtMaxConnections, this.log);
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

  async reconfigure(_prev: TallydConfig, next: TallydConfig): Promise<string[]> {
    this.sample.containerIdTag = next.dogstatsdContainerIdTag === true;
    this.state.dumpMessages = next.dumpMessages;
    return (await this.reconcileListeners(next)) ? ['servers'] : [];
  }

  async closeInput(): Promise<void> {
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    this.listeners = [];
    this.listenerKeys = [];
    this.state.stopped = true;
  }

  async close(): Promise<void> {}

  listenerDescriptions(): string[] {
    return this.listeners.map((l) => l.description);
  }

  udpPorts(): number[] {
    const ports: number[] = [];
    for (const l of this.listeners) if (l.kind === 'udp') ports.push(l.port);
    return ports;
  }

  tcpPorts(): number[] {
    return this.listeners.filter((l) => l.kind === 'tcp').map((l) => l.port);
  }

  tcpCounts(): TcpCounts {
    return this.tcpStats;
  }

  upFields(): Record<string, unknown> {
    return {};
  }

  /** Closes listeners whose settings are gone, starts the new ones; true when anything changed. */
  private async reconcileListeners(next: TallydConfig): Promise<boolean> {
    const wanted = next.servers.map((s) => JSON.stringify(s));
    const keep: Listener[] = [];
    const keepKeys: string[] = [];
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
    const close = unused.map((u) => u.l);
    if (close.length === 0 && toStart.length === 0) return false;
    await Promise.allSettled(close.map((l) => l.close()));
    this.listeners = keep;
    this.listenerKeys = keepKeys;
    for (const i of toStart) {
      try {
        await this.startListener(next.servers[i]!);
      } catch (err) {
        this.host.log.error({ err, server: next.servers[i] }, 'reload: a listener could not start');
      }
    }
    this.host.log.info({ closed: close.map((l) => l.description), listeners: this.listenerDescriptions() }, 'listeners changed');
    return true;
  }

  private async startListener(server: ServerConfig): Promise<void> {
    const l = await openListener(server, this.handlePacket, this.host.config(), this.host.aggregator, this.tcpStats, this.log, false);
    this.listeners.push(l);
    this.listenerKeys.push(JSON.stringify(server));
  }
}
