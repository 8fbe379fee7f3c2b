/**
 * The admin TCP server (the original's management console, mgmt_port 8126): one command per line,
 * answered with the original's texts (commands.ts). Partial lines are buffered, several lines in one
 * chunk are each answered in order, `\r\n` is accepted, and a line longer than 64 KiB closes the
 * connection. A client that does not read its answers is not answered further until it does
 * (reading pauses while the socket's write buffer is full). Socket errors are logged, never fatal.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { runCommand, type AdminContext, type CommandResult } from './commands.js';

export type { AdminContext, CommandResult, DumpType } from './commands.js';

/** Answers one command line (the proxy brings its own; the daemon's is runCommand over an AdminContext). */
export type CommandRunner = (line: string, nowSec: number) => CommandResult;

export const MAX_COMMAND_LINE = 64 * 1024;

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

class AdminConnection {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly run: CommandRunner,
    private readonly log: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.ended) {
        this.socket.resume();
        this.process();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const quiet = err.code === 'ECONNRESET' || err.code === 'EPIPE';
      this.log[quiet ? 'debug' : 'warn']({ err, remote: socket.remoteAddress }, 'admin connection error');
    });
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.process();
  }

  private process(): void {
    while (!this.ended) {
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
        this.log.warn({ err, command: line.slice(0, 100) }, 'admin command failed');
        result = { output: 'ERROR\n', close: false };
      }
      if (result.close) {
        this.ended = true;
        this.socket.end(result.output);
        return;
      }
      if (result.output !== '' && !this.socket.write(result.output)) {
        // The client is not reading: stop taking commands until it does.
        this.socket.pause();
        return;
      }
    }
  }

  private refuseLongLine(): void {
    this.log.warn({ remote: this.socket.remoteAddress, limit: MAX_COMMAND_LINE }, 'admin command line too long: closing the connection');
    this.ended = true;
    this.pending = Buffer.alloc(0);
    this.socket.destroy();
  }
}

export function startAdminServer(ctx: AdminContext | CommandRunner, opts: { address: string; port: number }, log: Logger): Promise<AdminServer> {
  const run: CommandRunner = typeof ctx === 'function' ? ctx : (line, nowSec) => runCommand(line, ctx, nowSec);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new AdminConnection(socket, run, log);
  });
  server.on('error', (err) => log.warn({ err }, 'admin server error'));
  return new Promise<AdminServer>((resolve, reject) => {
    const onListenError = (err: Error): void => reject(err);
    server.once('error', onListenError);
    server.listen(opts.port, opts.address, () => {
      server.removeListener('error', onListenError);
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      log.info({ address: opts.address, port }, 'admin interface listening');
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
