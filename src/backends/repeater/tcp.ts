/**
 * The repeater over TCP (`repeaterProtocol: 'tcp'`, as the original's backends/repeater.js offers):
 * every received packet is written to each target as lines (a `\n` is added when the packet does not end
 * with one, so packets never run together), over one long-lived connection per target.
 *
 * - A lost or refused connection is retried after a capped exponential backoff (250 ms → 10 s), reset
 *   by the next successful connect; connecting has a timeout.
 * - While a target is down or slow, packets wait in a queue bounded in bytes (`repeaterQueueBytes`,
 *   default 16 MiB, counting what the socket still buffers): past it the OLDEST packets are dropped and
 *   counted (dropped_packets, dropped_bytes). Bytes the socket had taken but not sent when the
 *   connection broke cannot be known to have arrived: they are counted as lost_bytes.
 * - Logs: one WARN when a target goes down, one ERROR the first time an outage drops data, one INFO
 *   when it is back (with what was dropped meanwhile): never one line per packet.
 * Nothing here throws to the caller.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { RepeaterTarget } from '../../config/types.js';
import { errorText } from '../error-text.js';
import type { Backend, BackendContext, BackendState, StatusLine } from '../types.js';

export const REPEATER_BACKOFF_MIN_MS = 250;
export const REPEATER_BACKOFF_MAX_MS = 10_000;
export const REPEATER_CONNECT_TIMEOUT_MS = 5000;
const NEWLINE = Buffer.from('\n');

/** One target: a connection, its queue and its counters. */
export class TcpTarget {
  private socket: net.Socket | null = null;
  private connected = false;
  /** The last failure (the status page), and when (unix ms). */
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  private readonly queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private backoffMs = REPEATER_BACKOFF_MIN_MS;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private down = false;
  private droppedThisOutage = 0;
  private loggedDrop = false;
  private corked = false;
  packetsSent = 0;
  droppedPackets = 0;
  droppedBytes = 0;
  lostBytes = 0;
  connects = 0;
  errors = 0;

  constructor(
    readonly target: RepeaterTarget,
    private readonly maxBytes: number,
    private readonly log: Logger,
    private readonly backoffMinMs = REPEATER_BACKOFF_MIN_MS,
    private readonly backoffMaxMs = REPEATER_BACKOFF_MAX_MS,
  ) {
    this.backoffMs = backoffMinMs;
  }

  get label(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  /** Bytes held for this target: our queue plus what the socket has not written yet. */
  get pendingBytes(): number {
    return this.queuedBytes + (this.socket?.writableLength ?? 0);
  }

  connect(): void {
    if (this.closed || this.socket !== null) return;
    const s = net.connect({ host: this.target.host, port: this.target.port });
    this.socket = s;
    s.setNoDelay(true);
    s.setTimeout(REPEATER_CONNECT_TIMEOUT_MS, () => s.destroy(new Error(`connect timeout after ${REPEATER_CONNECT_TIMEOUT_MS} ms`)));
    s.on('connect', () => {
      s.setTimeout(0);
      this.connected = true;
      this.connects++;
      this.backoffMs = this.backoffMinMs;
      if (this.down) {
        this.log.info({ target: this.label, droppedPackets: this.droppedThisOutage }, 'repeater: target is back');
        this.down = false;
        this.droppedThisOutage = 0;
      }
      this.pump();
    });
    s.on('drain', () => this.pump());
    // the other side never speaks; reading keeps a half-closed connection noticed
    s.on('data', () => undefined);
    s.on('error', (err) => this.onDown(s, err));
    s.on('close', () => this.onDown(s, null));
  }

  /** One packet for this target (`data` is this call's own copy). */
  send(data: Buffer): void {
    if (this.closed) return;
    if (this.connected && this.queue.length === this.queueHead && !this.socket!.writableNeedDrain) {
      this.write(data);
      return;
    }
    this.enqueue(data);
  }

  private write(data: Buffer): void {
    const s = this.socket!;
    if (!this.corked) {
      // several packets of one tick go out in one write
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(data);
    if (data[data.length - 1] !== 0x0a) s.write(NEWLINE);
    this.packetsSent++;
  }

  private enqueue(data: Buffer): void {
    const room = this.maxBytes - (this.socket?.writableLength ?? 0);
    if (data.length > room) {
      this.drop(1, data.length);
      return;
    }
    this.queue.push(data);
    this.queuedBytes += data.length;
    // oldest first: what waited longest is the least useful
    while (this.queuedBytes > room && this.queueHead < this.queue.length) {
      const old = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = NEWLINE; // release the buffer
      this.queuedBytes -= old.length;
      this.drop(1, old.length);
    }
    this.compact();
  }

  private drop(packets: number, bytes: number): void {
    this.droppedPackets += packets;
    this.droppedBytes += bytes;
    this.droppedThisOutage += packets;
    if (!this.loggedDrop) {
      this.loggedDrop = true;
      this.log.error(
        { target: this.label, maxBytes: this.maxBytes },
        'repeater: queue full, dropping the oldest packets (logged once; see dropped_packets in the admin stats)',
      );
    }
  }

  private compact(): void {
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Writes queued packets while the socket takes them. */
  private pump(): void {
    const s = this.socket;
    if (s === null || !this.connected) return;
    while (this.queueHead < this.queue.length && !s.writableNeedDrain) {
      const data = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = NEWLINE;
      this.queuedBytes -= data.length;
      this.write(data);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else {
      this.compact();
    }
  }

  private onDown(s: net.Socket, err: Error | null): void {
    if (s !== this.socket) return; // already handled (an error is followed by a close)
    this.socket = null;
    const wasConnected = this.connected;
    this.connected = false;
    this.lostBytes += s.writableLength;
    s.destroy();
    if (err !== null) {
      this.errors++;
      this.lastError = this.label + ': ' + errorText(err);
      this.lastErrorAt = Date.now();
    }
    if (this.closed) return;
    if (!this.down) {
      this.down = true;
      this.log.warn(
        { err, target: this.label, retryMs: this.backoffMs, wasConnected },
        'repeater: target down; packets are queued and it is retried',
      );
    }
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, this.backoffMs);
    this.retry.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
  }

  /** Waits until the queue is sent or `deadlineMs` passes, then closes. */
  async stop(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.pendingBytes > 0 && this.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    const s = this.socket;
    if (s === null) return;
    await new Promise<void>((res) => {
      const t = setTimeout(
        () => {
          s.destroy();
          res();
        },
        Math.max(0, until - Date.now()),
      );
      t.unref();
      s.end(() => {
        clearTimeout(t);
        res();
      });
    });
    this.socket = null;
  }

  get isConnected(): boolean {
    return this.connected;
  }
}

export class TcpRepeaterBackend implements Backend {
  readonly name = 'repeater';
  readonly targets: TcpTarget[];

  constructor(private readonly ctx: BackendContext) {
    const max = ctx.config.repeaterQueueBytes;
    this.targets = ctx.config.repeater.map((t) => new TcpTarget(t, max, ctx.log));
  }

  async start(): Promise<void> {
    for (const t of this.targets) t.connect();
    this.ctx.log.info({ targets: this.targets.map((t) => t.label), protocol: 'tcp' }, 'repeater ready');
  }

  packet(buf: Buffer, start: number, end: number): void {
    const ts = this.targets;
    if (end <= start) return;
    // one copy per packet, shared by the targets (the listener may reuse `buf`)
    const copy = Buffer.allocUnsafe(end - start);
    buf.copy(copy, 0, start, end);
    for (let i = 0; i < ts.length; i++) ts[i]!.send(copy);
  }

  async flush(): Promise<void> {}

  status(): StatusLine[] {
    const sum = (f: (t: TcpTarget) => number): number => this.targets.reduce((a, t) => a + f(t), 0);
    return [
      ['packets_sent', sum((t) => t.packetsSent)],
      ['send_errors', sum((t) => t.errors)],
      ['dropped_packets', sum((t) => t.droppedPackets)],
      ['dropped_bytes', sum((t) => t.droppedBytes)],
      ['lost_bytes', sum((t) => t.lostBytes)],
      ['queued_bytes', sum((t) => t.pendingBytes)],
      ['connected_targets', sum((t) => (t.isConnected ? 1 : 0))],
    ];
  }

  state(): BackendState {
    const ts = this.targets;
    const last = ts.reduce<TcpTarget | null>(
      (a, t) => (t.lastErrorAt !== null && (a === null || t.lastErrorAt > a.lastErrorAt!) ? t : a),
      null,
    );
    return {
      connected: ts.length === 0 ? null : ts.every((t) => t.isConnected),
      // a target that is up again and still sending what was queued while it was down
      replaying: ts.some((t) => t.isConnected && t.lastError !== null && t.pendingBytes > 0),
      lastError: last?.lastError ?? null,
      lastErrorAt: last?.lastErrorAt ?? null,
    };
  }

  async stop(deadlineMs: number): Promise<void> {
    await Promise.allSettled(this.targets.map((t) => t.stop(deadlineMs)));
  }
}
