/**
 * `tallyd proxy CONFIG`: the original's proxy.js. Lines in (udp or tcp) → each metric name placed
 * on the ring (npm hashring, as the original) → batched datagrams to the statsd nodes. Health checks
 * through the nodes' admin `health` command keep the ring to the nodes that answer 'up'; with
 * flushAlignment 'clock', ring changes wait for the aggregators' next flush boundary.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import { type AdminServer, startAdminServer } from '../admin/server.js';
import { writeConfigLines } from '../config/load.js';
import { startTcpListener } from '../listeners/tcp.js';
import type { Listener } from '../listeners/types.js';
import { startUdpListener } from '../listeners/udp.js';
import { type ProxyAdminContext, runProxyCommand } from './admin.js';
import type { ProxyConfig } from './config.js';
import { type CheckResult, delayToNextMultiple, HealthChecker } from './health.js';
import { type FailReason, ProxyRing, type RingChange } from './ring.js';
import { Router } from './router.js';

/**
 * With flushAlignment 'clock', the lines of keys about to move are held from this long before a
 * boundary until this long after it (capped at a quarter of flushInterval), so that neither node
 * receives them near its flush: the old node's timer may fire late, lines may still be in flight.
 */
export const RING_CHANGE_GUARD_MS = 100;
/** Bytes of held lines at most during one ring change (past it, lines go to their new node at once). */
export const MAX_HOLD_BYTES = 64 * 1024 * 1024;

export class StatsdProxy {
  private readonly log: Logger;
  private readonly startupTime = Math.round(Date.now() / 1000);
  private health: 'up' | 'down' = 'up';
  readonly ring: ProxyRing;
  readonly router: Router;
  private readonly socket: dgram.Socket;
  private readonly addresses: string[];
  private listener: Listener | null = null;
  private admin: AdminServer | null = null;
  private checker: HealthChecker | null = null;
  private readonly boundaryTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** The membership being switched to (between the guard before a boundary and the one after). */
  private holdTarget: Set<string> | null = null;

  /** router.sent per node at the last flush boundary, and at the one before. */
  private readonly atBoundary: Float64Array;
  private readonly atPrevBoundary: Float64Array;
  /**
   * atPrevBoundary when the node last answered 'up': what it may have lost starts there (its current
   * interval, and the previous one, whose flush may still have been on its way to Graphite).
   */
  private readonly okMark: Float64Array;
  private readonly lastFail = new Map<string, FailReason>();
  private readonly nodeIndex = new Map<string, number>();
  linesLost = 0;
  ringChanges = 0;
  sendErrors = 0;
  /** TCP lines over tcpMaxLineLength, skipped. */
  tcpTooLong = 0;
  private lastSendErrorLog = 0;
  private noNodeLogged = 0;
  private lastNoNodeLog = 0;

  constructor(
    readonly config: ProxyConfig,
    log: Logger,
    /** A forkCount worker (node:cluster): UDP on SO_REUSEPORT, admin `health` shared with the others. */
    private readonly worker = false,
  ) {
    this.log = log.child({ component: 'proxy' });
    const n = config.nodes.length;
    config.nodes.forEach((node, i) => {
      this.nodeIndex.set(node.id, i);
    });
    this.atBoundary = new Float64Array(n);
    this.atPrevBoundary = new Float64Array(n);
    this.okMark = new Float64Array(n);
    this.addresses = config.nodes.map((node) => node.host);
    this.socket = dgram.createSocket(config.udpVersion);
    this.socket.on('error', (err) => this.log.warn({ err }, 'send socket error'));
    this.ring = new ProxyRing(config.nodes, config.cacheSize, config.flushAlignment === 'clock', (c) => this.onRingChange(c));
    this.router = new Router(n, config.mtu, MAX_HOLD_BYTES, Math.max(config.cacheSize, 65_536), this.ring.resolve, this.emit);
  }

  /** Bound input port (after start). */
  get port(): number {
    return this.listener?.port ?? 0;
  }

  get adminPort(): number {
    return this.admin?.port ?? 0;
  }

  /** Datagrams handed to the socket and not yet sent. */
  private inflight = 0;

  private readonly onSent = (err: Error | null): void => {
    this.inflight--;
    if (err === null) return;
    this.sendErrors++;
    const now = Date.now();
    if (now - this.lastSendErrorLog > 10_000) {
      this.lastSendErrorLog = now;
      this.log.warn({ err, sendErrors: this.sendErrors }, 'sending to a node failed (logged at most every 10 s)');
    }
  };

  private readonly emit = (node: number, buf: Buffer, off: number, len: number): void => {
    this.inflight++;
    this.socket.send(buf, off, len, this.config.nodes[node]!.port, this.addresses[node]!, this.onSent);
  };

  async start(): Promise<void> {
    const family = this.config.udpVersion === 'udp6' ? 6 : 4;
    await Promise.all(
      this.config.nodes.map(async (node, i) => {
        try {
          this.addresses[i] = (await lookup(node.host, { family })).address;
        } catch (err) {
          this.log.warn({ err, node: node.id }, 'cannot resolve the node now: its name is resolved on each send');
        }
      }),
    );
    const { server } = this.config;
    this.listener =
      server.server === 'tcp'
        ? await startTcpListener(server, this.router.onPacket, () => this.tcpTooLong++, this.log)
        : // a forkCount worker: one SO_REUSEPORT socket each (port 0 needs node:cluster's shared dgram socket)
          await startUdpListener(
            server,
            this.router.onPacket,
            this.log,
            this.worker && server.port === 0 ? 'dgram' : this.config.udpReader,
            this.worker,
          );
    if (this.worker) {
      process.on('message', (m: { proxyHealth?: 'up' | 'down' }) => {
        if (m.proxyHealth === 'up' || m.proxyHealth === 'down') this.health = m.proxyHealth;
      });
    }
    this.admin = await startAdminServer(
      (line, nowSec) => runProxyCommand(line, this.adminContext, nowSec),
      { address: this.config.mgmtAddress, port: this.config.mgmtPort },
      this.log,
    );
    this.checker = new HealthChecker(this.config.nodes, this.config.checkInterval, (node, r) => this.onCheck(node.id, r));
    void this.checker.start();
    this.scheduleBoundary();
    this.log.info(
      {
        listeners: [this.listener.description],
        mgmt: `${this.config.mgmtAddress}:${this.admin.port}`,
        nodes: this.config.nodes.map((x) => x.id),
        mtu: this.config.mtu,
        checkInterval: this.config.checkInterval,
        flushAlignment: this.config.flushAlignment,
        flushInterval: this.config.flushInterval,
      },
      'proxy is up',
    );
  }

  async stop(): Promise<void> {
    this.checker?.stop();
    this.stopped = true;
    for (const t of this.boundaryTimers) clearTimeout(t);
    this.boundaryTimers.clear();
    if (this.holdTarget !== null) this.afterBoundary();
    await this.listener?.close();
    this.router.flushAll();
    await this.admin?.close();
    // let the last datagrams leave before closing the socket (at most 2 s)
    const deadline = Date.now() + 2000;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise<void>((res) => setTimeout(res, 5));
    await new Promise<void>((res) => this.socket.close(() => res()));
  }

  private at(delay: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.boundaryTimers.delete(t);
        if (!this.stopped) fn();
      },
      Math.max(0, delay),
    );
    this.boundaryTimers.add(t);
  }

  /**
   * The aggregators' flush instants (wall-clock multiples of flushInterval). With flushAlignment
   * 'clock', a pending ring change is made around the boundary: from `guard` before it the lines of
   * the keys that move are held, `guard` after it the ring changes and they go to their new nodes.
   */
  private scheduleBoundary(): void {
    const interval = this.config.flushInterval;
    const now = Date.now();
    let delay = delayToNextMultiple(now, interval);
    const clock = this.config.flushAlignment === 'clock';
    const guard = Math.min(RING_CHANGE_GUARD_MS, Math.floor(interval / 4));
    if (clock && delay <= guard) delay += interval; // too close to prepare this one
    if (clock) this.at(delay - guard, () => this.beforeBoundary());
    this.at(delay, () => this.onBoundary());
    this.at(delay + (clock ? guard : 0), () => {
      if (clock) this.afterBoundary();
      this.scheduleBoundary();
    });
  }

  private beforeBoundary(): void {
    const next = this.ring.preview();
    if (next === null) return;
    this.holdTarget = next.target;
    this.router.beginHold(next.resolve);
  }

  private onBoundary(): void {
    // what is staged was received before the boundary: it goes out first, to the nodes it was routed to
    this.router.flushAll();
    const noNode = this.router.linesNoNode;
    if (noNode > this.noNodeLogged && Date.now() - this.lastNoNodeLog >= 10_000) {
      // the original logs this per line; here at most every 10 s, with the count
      this.log.error({ lines: noNode - this.noNodeLogged, linesNoNode: noNode }, 'no statsd node in the ring: lines dropped');
      this.noNodeLogged = noNode;
      this.lastNoNodeLog = Date.now();
    }
    this.atPrevBoundary.set(this.atBoundary);
    this.atBoundary.set(this.router.sent);
  }

  private afterBoundary(): void {
    const target = this.holdTarget;
    this.holdTarget = null;
    if (target !== null) this.ring.apply(undefined, target);
    this.router.endHold();
  }

  private onCheck(id: string, r: CheckResult): void {
    const i = this.nodeIndex.get(id)!;
    if (r.ok) {
      this.okMark[i] = this.atPrevBoundary[i]!;
      this.lastFail.delete(id);
      this.ring.healthy(id);
      return;
    }
    const first = !this.lastFail.has(id);
    this.lastFail.set(id, r.reason);
    if (first) this.log.warn({ node: id, reason: r.reason, detail: r.detail }, 'health check failed');
    this.ring.unhealthy(id, r.reason);
  }

  private onRingChange(change: RingChange): void {
    this.ringChanges++;
    this.router.clearCache();
    for (const id of change.removed) {
      const i = this.nodeIndex.get(id)!;
      const reason = this.lastFail.get(id);
      if (reason === 'down') {
        this.log.warn({ node: id }, "node answers 'health: down': it left the ring (it flushes what it holds)");
        continue;
      }
      const lost = this.router.sent[i]! - this.okMark[i]!;
      this.linesLost += lost;
      this.log.error(
        { node: id, reason, lines: lost, linesLost: this.linesLost },
        'node is unreachable and left the ring: the lines it held since its last flush are lost (at most this many)',
      );
    }
    if (change.added.length > 0) this.log.warn({ nodes: change.added }, 'nodes are healthy again and rejoined the ring');
    this.log.info({ ring: this.ring.memberIds() }, 'ring changed');
  }

  private readonly adminContext: ProxyAdminContext = {
    startupTime: this.startupTime,
    getHealth: () => this.health,
    setHealth: (h) => {
      this.health = h;
      // as the original: the other forks are told
      if (this.worker) process.send?.({ proxyHealth: h });
    },
    ringNodes: () => this.ring.memberIds(),
    configText: () => writeConfigLines(this.config.raw as Record<string, unknown>),
    stats: () => {
      const r = this.router;
      const p = this.ring.pending();
      const out: Array<[string, number | string]> = [
        ['proxy.lines_received', r.linesIn],
        ['proxy.lines_forwarded', r.linesIn - r.linesNoNode],
        ['proxy.lines_no_node', r.linesNoNode],
        ['proxy.lines_oversize', r.oversizeLines],
        ['proxy.tcp_lines_too_long', this.tcpTooLong],
        ['proxy.datagrams_sent', r.datagramsOut],
        ['proxy.send_errors', this.sendErrors],
        ['proxy.lines_lost', this.linesLost],
        ['proxy.ring_changes', this.ringChanges],
        ['proxy.route_cache_resets', r.cacheResets],
        ['proxy.lines_held', r.linesHeld],
        ['proxy.lines_hold_overflow', r.holdOverflow],
        ['proxy.pending_add', p.added.join(' ')],
        ['proxy.pending_remove', p.removed.join(' ')],
      ];
      this.config.nodes.forEach((node, i) => {
        out.push([`proxy.node.${node.id}.lines`, r.sent[i]!]);
      });
      return out;
    },
  };
}
