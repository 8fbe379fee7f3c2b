/**
 * The admin TCP server (the original's management console, mgmt_port 8126): one command per line,
 * answered with the original's texts (commands.ts). Partial lines are buffered, several lines in one
 * chunk are each answered in order, `\r\n` is accepted, and a line longer than 64 KiB closes the
 * connection. A client that does not read its answers is not answered further until it does
 * (reading pauses while the socket's write buffer is full). Commands that walk the keys answer
 * asynchronously (in slices); a connection's commands are still answered one at a time, in order.
 * At most maxConnections are open at once, and an idle connection is closed after idleTimeoutMs.
 * Socket errors are logged, never fatal.
 */
import { createServer, type DropArgument, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { DEFAULT_MGMT_IDLE_TIMEOUT_MS, DEFAULT_MGMT_MAX_CONNECTIONS } from '../config/defaults.js';
import { listenError } from '../errors.js';
import { LogLimiter } from '../log/ratelimit.js';
import { type AdminContext, type CommandResult, runCommand } from './commands.js';

export type { AdminContext, CommandResult, DumpType } from './commands.js';

/** Answers one command line (the proxy brings its own; the daemon's is runCommand over an AdminContext). */
export type CommandRunner = (line: string, nowSec: number) => CommandResult | Promise<CommandResult>;

export const MAX_COMMAND_LINE = 64 * 1024;
/** Longest run of writes of a chunked answer before the event loop is given back, ms. */
const WRITE_SLICE_MS = 5;

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Connection limits of the admin interface. */
export interface AdminLimits {
  /** Most connections open at once; more are closed at once (logged, counted). */
  readonly maxConnections: number;
  /** ms without a byte either way before a connection is closed; 0: never. */
  readonly idleTimeoutMs: number;
}

/** Counts of the admin interface since start (kept across its restarts by the owner). */
export class AdminStats {
  /** Connections closed at once because maxConnections were open. */
  refused = 0;
  /** Connections closed after idleTimeoutMs without a byte. */
  idleTimeouts = 0;
}

class AdminConnection {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  /** A command is being answered: later lines wait (and reading pauses) until it is. */
  private busy = false;

  constructor(
    private readonly socket: Socket,
    private readonly run: CommandRunner,
    private readonly log: Logger,
    private readonly idleTimeoutMs = 0,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.ended && !this.busy) {
        this.socket.resume();
        this.process();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const quiet = err.code === 'ECONNRESET' || err.code === 'EPIPE';
      this.log[quiet ? 'debug' : 'warn']({ err, remote: socket.remoteAddress }, 'admin connection error');
    });
    socket.on('close', () => {
      this.ended = true;
    });
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.busy) this.process(); // (while busy the socket is paused: little more than a chunk queues)
  }

  private process(): void {
    while (!this.ended && !this.busy) {
      const nl = this.pending.indexOf(0x0a);
      if (nl === -1) {
        if (this.pending.length > MAX_COMMAND_LINE) this.refuseLongLine();
        return;
      }
      if (nl > MAX_COMMAND_LINE) {
        this.refuseLongLine();
        return;
      }
      let end = nl;
      if (end > 0 && this.pending[end - 1] === 0x0d) end--;
      const line = this.pending.toString('utf8', 0, end);
      this.pending = this.pending.subarray(nl + 1);
      let result: ReturnType<typeof runCommand>;
      try {
        result = this.run(line, Math.round(Date.now() / 1000));
      } catch (err) {
        result = this.failed(err, line);
      }
      if (result instanceof Promise || typeof result.output !== 'string') {
        // a command that walks the keys runs in slices, and a long answer is written in chunks:
        // nothing more is read until it has answered
        this.busy = true;
        this.socket.pause();
        if (this.idleTimeoutMs > 0) this.socket.setTimeout(0); // a long command is not idleness
        Promise.resolve(result).then(
          (r) => this.answered(r),
          (err: unknown) => this.answered(this.failed(err, line)),
        );
        return;
      }
      if (!this.write(result)) return;
    }
  }

  private async answered(result: CommandResult): Promise<void> {
    if (this.idleTimeoutMs > 0 && !this.ended) this.socket.setTimeout(this.idleTimeoutMs);
    if (typeof result.output !== 'string') {
      await this.writeChunks(result.output);
      this.busy = false;
      if (this.ended) return;
      // the client is not reading: the drain handler resumes
      if (this.socket.writableNeedDrain) return;
    } else {
      this.busy = false;
      if (this.ended || !this.write(result)) return;
    }
    this.socket.resume();
    this.process();
  }

  /**
   * Writes a long answer chunk by chunk, giving the event loop back every few ms (turning a 40 MB answer
   * into bytes at once would hold ingest for a second).
   */
  private async writeChunks(chunks: readonly string[]): Promise<void> {
    let t0 = performance.now();
    for (const c of chunks) {
      if (this.ended) return;
      this.socket.write(c);
      if (performance.now() - t0 >= WRITE_SLICE_MS) {
        await new Promise((r) => setImmediate(r));
        t0 = performance.now();
      }
    }
  }

  /** Writes a short answer; false when the connection is done or the client is not reading (paused until drain). */
  private write(result: CommandResult): boolean {
    const output = typeof result.output === 'string' ? result.output : result.output.join('');
    if (result.close) {
      this.ended = true;
      this.socket.end(output);
      return false;
    }
    if (output !== '' && !this.socket.write(output)) {
      // The client is not reading: stop taking commands until it does.
      this.socket.pause();
      return false;
    }
    return true;
  }

  private failed(err: unknown, line: string): CommandResult {
    this.log.warn({ err, command: line.slice(0, 100) }, 'admin command failed');
    return { output: 'ERROR\n', close: false };
  }

  private refuseLongLine(): void {
    this.log.warn({ remote: this.socket.remoteAddress, limit: MAX_COMMAND_LINE }, 'admin command line too long: closing the connection');
    this.ended = true;
    this.pending = Buffer.alloc(0);
    this.socket.destroy();
  }
}

export function startAdminServer(
  ctx: AdminContext | CommandRunner,
  opts: { address: string; port: number },
  log: Logger,
  limits: AdminLimits = { maxConnections: DEFAULT_MGMT_MAX_CONNECTIONS, idleTimeoutMs: DEFAULT_MGMT_IDLE_TIMEOUT_MS },
  stats: AdminStats = new AdminStats(),
): Promise<AdminServer> {
  const run: CommandRunner = typeof ctx === 'function' ? ctx : (line, nowSec) => runCommand(line, ctx, nowSec);
  const sockets = new Set<Socket>();
  const refusedLog = new LogLimiter(10_000);
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs);
      socket.on('timeout', () => {
        stats.idleTimeouts++;
        log.debug({ remote: socket.remoteAddress, idleTimeoutMs: limits.idleTimeoutMs }, 'admin connection idle: closed');
        socket.destroy();
      });
    }
    new AdminConnection(socket, run, log, limits.idleTimeoutMs);
  });
  // Past the cap, Node accepts and closes at once ('drop'): idle admin clients cannot take every fd.
  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: DropArgument) => {
    stats.refused++;
    if (refusedLog.take()) {
      log.warn(
        { remote: data?.remoteAddress, maxConnections: limits.maxConnections, suppressed: refusedLog.suppressedSince() },
        'admin connection refused: maxConnections open (mgmtMaxConnections)',
      );
    }
  });
  server.on('error', (err) => log.warn({ err }, 'admin server error'));
  return new Promise<AdminServer>((resolve, reject) => {
    const onListenError = (err: Error): void => reject(listenError('admin interface', opts.address, opts.port, err));
    server.once('error', onListenError);
    server.listen(opts.port, opts.address, () => {
      server.removeListener('error', onListenError);
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      log.info(
        { address: opts.address, port, maxConnections: limits.maxConnections, idleTimeoutMs: limits.idleTimeoutMs },
        'admin interface listening',
      );
      resolve({
        port,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}
