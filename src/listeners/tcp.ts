/**
 * TCP listener (the original's servers/tcp): newline-delimited StatsD lines over a stream, on a
 * host:port or a Unix stream socket. Lines split across chunks are reassembled; a last line without
 * a newline is taken when the peer closes; a line longer than maxLineLength is skipped (counted) and
 * the connection stays open.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/types.js';
import type { Listener, PacketHandler } from './types.js';

const NL = 0x0a;

/** Per-connection line framing; exported for unit tests. */
export class LineFramer {
  private pending: Buffer | null = null;
  /** True while skipping the rest of an over-long line. */
  private discarding = false;

  constructor(
    private readonly maxLineLength: number,
    private readonly onLines: PacketHandler,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.discarding) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) return;
      this.discarding = false;
      pos = nl + 1;
    }
    if (this.pending !== null) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.appendPending(chunk, pos, chunk.length);
        return;
      }
      const line = Buffer.concat([this.pending, chunk.subarray(pos, nl + 1)]);
      this.pending = null;
      if (line.length - 1 > this.maxLineLength) this.onTooLong();
      else this.onLines(line, 0, line.length);
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= pos) {
      this.deliverChecked(chunk, pos, last + 1);
      pos = last + 1;
    }
    if (pos < chunk.length) this.appendPending(chunk, pos, chunk.length);
  }

  /** The peer closed: a last line without a newline is still a line. */
  end(): void {
    if (this.pending !== null && !this.discarding) {
      const line = this.pending;
      this.pending = null;
      this.onLines(line, 0, line.length);
    }
    this.pending = null;
  }

  private appendPending(chunk: Buffer, start: number, end: number): void {
    const have = this.pending === null ? 0 : this.pending.length;
    if (have + (end - start) > this.maxLineLength) {
      this.pending = null;
      this.discarding = true;
      this.onTooLong();
      return;
    }
    const part = Buffer.from(chunk.subarray(start, end)); // copy: the chunk is not ours to keep
    this.pending = this.pending === null ? part : Buffer.concat([this.pending, part]);
  }

  /** Deliver complete lines, skipping any single line over the limit. */
  private deliverChecked(buf: Buffer, start: number, end: number): void {
    if (end - start <= this.maxLineLength) {
      this.onLines(buf, start, end);
      return;
    }
    let runStart = start;
    let pos = start;
    while (pos < end) {
      const nl = buf.indexOf(NL, pos);
      const lineEnd = nl < 0 || nl >= end ? end : nl;
      if (lineEnd - pos > this.maxLineLength) {
        if (pos > runStart) this.onLines(buf, runStart, pos);
        this.onTooLong();
        runStart = lineEnd + 1;
      }
      pos = lineEnd + 1;
    }
    if (runStart < end) this.onLines(buf, runStart, end);
  }
}

export function startTcpListener(
  cfg: ServerConfig,
  onPacket: PacketHandler,
  onTooLong: () => void,
  log: Logger,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const framer = new LineFramer(cfg.maxLineLength, onPacket, onTooLong);
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('end', () => framer.end());
    socket.on('error', (err) => log.debug({ err }, 'tcp client error'));
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err }, 'tcp server error'));
      let description: string;
      let port = 0;
      if (cfg.socket !== undefined) {
        if (cfg.socketMod !== undefined) chmodSync(cfg.socket, cfg.socketMod);
        description = `tcp unix:${cfg.socket}`;
      } else {
        const addr = server.address() as net.AddressInfo;
        port = addr.port;
        description = `tcp ${addr.address}:${addr.port}`;
      }
      log.info({ maxLineLength: cfg.maxLineLength }, `listening on ${description}`);
      resolve({
        kind: 'tcp',
        description,
        port,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            for (const s of sockets) s.end();
            setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, 1000).unref();
          }),
      });
    };
    if (cfg.socket !== undefined) {
      if (existsSync(cfg.socket)) unlinkSync(cfg.socket); // a stale socket file from a previous run
      server.listen(cfg.socket, onListening);
    } else {
      server.listen(cfg.port, cfg.address, onListening);
    }
  });
}
