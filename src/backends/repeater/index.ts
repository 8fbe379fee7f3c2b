/**
 * The repeater backend (the original's backends/repeater.js; over TCP see ./tcp.ts): every received packet is sent on,
 * byte for byte, to each target of config.repeater over one udp4/udp6 socket (config.repeaterProtocol).
 * flush() does nothing. Host names are resolved once at start (Node would otherwise look them up for
 * every datagram); a name that does not resolve is kept and left to the per-send lookup.
 * Send errors are counted and logged at most once per 10 s; nothing here throws.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LogLimiter } from '../../log/ratelimit.js';
import type { Backend, BackendContext, StatusLine } from '../types.js';
import { TcpRepeaterBackend } from './tcp.js';

interface ResolvedTarget {
  readonly host: string;
  readonly port: number;
  /** What we send to: an address, or the name when it did not resolve at start. */
  address: string;
}

export class RepeaterBackend implements Backend {
  readonly name = 'repeater';
  private readonly socket: Socket;
  private readonly targets: ResolvedTarget[];
  private readonly errLog = new LogLimiter(10_000);
  private readonly onSent: (err: Error | null) => void;
  private closed = false;
  packetsSent = 0;
  sendErrors = 0;

  constructor(private readonly ctx: BackendContext) {
    const proto = ctx.config.repeaterProtocol;
    this.socket = createSocket(proto === 'udp6' ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.countError(err));
    this.targets = ctx.config.repeater.map((t) => ({ host: t.host, port: t.port, address: t.host }));
    // One callback for every send (no closure per packet).
    this.onSent = (err) => {
      if (err) this.countError(err);
    };
  }

  async start(): Promise<void> {
    const family = this.ctx.config.repeaterProtocol === 'udp6' ? 6 : 4;
    await Promise.all(
      this.targets.map(async (t) => {
        if (isIP(t.host) !== 0) return;
        try {
          t.address = (await lookup(t.host, { family })).address;
        } catch (err) {
          this.ctx.log.warn({ err, host: t.host }, 'repeater: cannot resolve target now; will look it up per packet');
        }
      }),
    );
    this.ctx.log.info(
      { targets: this.targets.map((t) => `${t.host}:${t.port}`), protocol: this.ctx.config.repeaterProtocol },
      'repeater ready',
    );
  }

  packet(buf: Buffer, start: number, end: number): void {
    if (this.closed) return;
    const ts = this.targets;
    // send() is asynchronous and the listener may reuse `buf` (the native reader does): send a copy
    const copy = Buffer.allocUnsafe(end - start);
    buf.copy(copy, 0, start, end);
    // send() throws only for a closed socket or bad arguments: one guard per packet, not per target.
    try {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        this.socket.send(copy, 0, copy.length, t.port, t.address, this.onSent);
        this.packetsSent++;
      }
    } catch (err) {
      this.countError(err as Error);
    }
  }

  async flush(): Promise<void> {}

  status(): StatusLine[] {
    return [
      ['packets_sent', this.packetsSent],
      ['send_errors', this.sendErrors],
    ];
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((res) => {
      try {
        this.socket.close(() => res());
      } catch {
        res();
      }
    });
  }

  private countError(err: Error): void {
    this.sendErrors++;
    if (this.errLog.take()) {
      this.ctx.log.warn({ err, suppressed: this.errLog.suppressedSince(), errors: this.sendErrors }, 'repeater: send failed');
    }
  }
}

export function createRepeaterBackend(ctx: BackendContext): Backend {
  return ctx.config.repeaterProtocol === 'tcp' ? new TcpRepeaterBackend(ctx) : new RepeaterBackend(ctx);
}
