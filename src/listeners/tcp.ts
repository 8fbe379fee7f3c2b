/**
 * TCP listener (the original's servers/tcp): newline-delimited StatsD lines over a stream, on a
 * host:port or a Unix stream socket. Lines split across chunks are reassembled; a last line without
 * a newline is taken when the peer closes; a line longer than maxLineLength is skipped (counted) and
 * the connection stays open. At most maxConnections are open per listener (more are closed at once and
 * counted), and a connection idle for idleTimeoutMs is closed (counted), so that idle or trickling
 * peers cannot take every file descriptor from Graphite and the admin interface.
 */
import { chmodSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import type { GaugeStat } from '../aggregator/snapshot.js';
import type { ServerConfig } from '../config/types.js';
import { listenError } from '../errors.js';
import { LogLimiter } from '../log/ratelimit.js';
import type { MetricKey } from '../parser/types.js';
import type { Listener, PacketHandler } from './types.js';

const NL = 0x0a;
/** A pending buffer at or under this size is kept for the connection's next partial line (no re-allocation). */
const KEEP_PENDING_BYTES = 4096;
const NO_BYTES = Buffer.alloc(0);

/**
 * Per-connection line framing; exported for unit tests.
 *
 * Linear in the bytes received: a partial line is appended to one growing buffer (capacity doubled,
 * up to maxLineLength + 1), and only the new chunk is scanned for '\n'. (It used to re-concatenate
 * the whole pending line on every chunk: a line trickled in byte by byte cost O(n²) copies.)
 */
export class LineFramer {
  /** Holds the pending partial line in [0, pendingLen). */
  private pending: Buffer = NO_BYTES;
  private pendingLen = 0;
  /** True while skipping the rest of an over-long line. */
  private discarding = false;
  /** Bytes copied into the pending buffer so far, growth included (tests check it stays linear). */
  copiedBytes = 0;

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
    if (this.pendingLen > 0) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.appendPending(chunk, pos, chunk.length);
        return;
      }
      if (this.pendingLen + (nl - pos) > this.maxLineLength) {
        this.onTooLong();
      } else {
        this.copyIn(chunk, pos, nl + 1);
        this.onLines(this.pending, 0, this.pendingLen);
      }
      this.resetPending();
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= pos) {
      this.deliverChecked(chunk, pos, last + 1);
      pos = last + 1;
    }
    if (pos < chunk.length) this.appendPending(chunk, pos, chunk.length);
  }

  /** The peer closed (or the connection timed out): a last line without a newline is still a line. */
  end(): void {
    if (this.pendingLen > 0 && !this.discarding) this.onLines(this.pending, 0, this.pendingLen);
    this.pendingLen = 0;
    this.pending = NO_BYTES;
  }

  /** Bytes of the partial line held (tests). */
  get pendingBytes(): number {
    return this.pendingLen;
  }

  private appendPending(chunk: Buffer, start: number, end: number): void {
    if (this.pendingLen + (end - start) > this.maxLineLength) {
      this.resetPending();
      this.discarding = true;
      this.onTooLong();
      return;
    }
    this.copyIn(chunk, start, end); // a copy: the chunk is not ours to keep
  }

  /** Appends chunk[start, end) to the pending buffer, doubling its capacity when needed. */
  private copyIn(chunk: Buffer, start: number, end: number): void {
    const need = this.pendingLen + (end - start);
    if (need > this.pending.length) {
      let cap = Math.max(256, this.pending.length * 2);
      while (cap < need) cap *= 2;
      cap = Math.min(cap, this.maxLineLength + 1);
      const grown = Buffer.allocUnsafeSlow(Math.max(cap, need)); // (not from the shared pool: it may be kept)
      this.pending.copy(grown, 0, 0, this.pendingLen);
      this.copiedBytes += this.pendingLen;
      this.pending = grown;
    }
    chunk.copy(this.pending, this.pendingLen, start, end);
    this.copiedBytes += end - start;
    this.pendingLen = need;
  }

  private resetPending(): void {
    this.pendingLen = 0;
    // an idle connection does not keep a large buffer of a long line it once sent
    if (this.pending.length > KEEP_PENDING_BYTES) this.pending = NO_BYTES;
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

/** Counts shared by the TCP listeners of a process (kept across reloads); read for self-metrics and admin. */
export class TcpStats {
  /** Connections open now. */
  open = 0;
  /** Connections closed at once because the listener had maxConnections open. */
  refused = 0;
  /** Connections closed after idleTimeoutMs without a byte either way. */
  idleTimeouts = 0;

  /**
   * `<prefixStats>.tcp_connections_refused` and `.tcp_idle_timeouts` (totals since start) as flush
   * gauges, each from its first occurrence on (until then the output stays the original's).
   */
  gauges(prefixStats: string): GaugeStat[] {
    return tcpGauges(prefixStats, this);
  }
}

/** The TCP self-metric gauges of some counts (TcpStats, or the sum of a cluster's workers'). */
export function tcpGauges(prefixStats: string, counts: { readonly refused: number; readonly idleTimeouts: number }): GaugeStat[] {
  const out: GaugeStat[] = [];
  if (counts.refused > 0) out.push({ key: ownKey(prefixStats + '.tcp_connections_refused'), value: counts.refused, updated: true });
  if (counts.idleTimeouts > 0) out.push({ key: ownKey(prefixStats + '.tcp_idle_timeouts'), value: counts.idleTimeouts, updated: true });
  return out;
}

function ownKey(name: string): MetricKey {
  return Object.freeze({ name, tags: Object.freeze([]), graphiteTags: '', id: name });
}

/** The soft open-file limit of this process (Linux /proc/self/limits), or null where unknown. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/** File descriptors kept free besides the connection caps: UDP sockets, Graphite, Prometheus, files, Node's own. */
const FD_HEADROOM = 64;

/**
 * A WARN when the TCP and admin connection caps together leave less than FD_HEADROOM of the open-file
 * limit: the caps would then not protect Graphite and admin from running out of descriptors.
 */
export function checkFdBudget(servers: readonly ServerConfig[], mgmtMaxConnections: number, log: Logger, limit = openFileLimit()): boolean {
  if (limit === null) return true;
  let caps = mgmtMaxConnections;
  for (const s of servers) if (s.server === 'tcp') caps += s.maxConnections;
  if (caps + FD_HEADROOM <= limit) return true;
  log.warn(
    { openFileLimit: limit, connectionCaps: caps, headroom: FD_HEADROOM },
    `the TCP and admin connection caps (${caps} in total) leave less than ${FD_HEADROOM} of the open-file limit (${limit}): lower tcpMaxConnections or raise ulimit -n`,
  );
  return false;
}

export function startTcpListener(
  cfg: ServerConfig,
  onPacket: PacketHandler,
  onTooLong: () => void,
  log: Logger,
  stats: TcpStats = new TcpStats(),
): Promise<Listener> {
  const maxConnections = cfg.maxConnections;
  const idleTimeoutMs = cfg.idleTimeoutMs;
  const refusedLog = new LogLimiter(10_000);
  const idleLog = new LogLimiter(10_000);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    // Past the cap the connection is closed at once: the fds stay free for Graphite and admin. (Not
    // server.maxConnections: in a cluster worker it makes the primary hand the connection to another
    // worker, round and round, instead of closing it.)
    if (sockets.size >= maxConnections) {
      stats.refused++;
      if (refusedLog.take()) {
        log.warn(
          { remote: socket.remoteAddress, maxConnections, suppressed: refusedLog.suppressedSince() },
          'tcp connection refused: maxConnections open (tcpMaxConnections)',
        );
      }
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    stats.open++;
    // the peer, given with each run of lines (one object per connection)
    const from = { address: socket.remoteAddress ?? '', family: socket.remoteFamily ?? '', port: socket.remotePort ?? 0 };
    const framer = new LineFramer(cfg.maxLineLength, (b, start, end) => onPacket(b, start, end, from), onTooLong);
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('end', () => framer.end());
    socket.on('error', (err) => log.debug({ err }, 'tcp client error'));
    socket.on('close', () => {
      sockets.delete(socket);
      stats.open--;
    });
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs);
      socket.on('timeout', () => {
        stats.idleTimeouts++;
        if (idleLog.take()) {
          log.info({ remote: socket.remoteAddress, idleTimeoutMs, suppressed: idleLog.suppressedSince() }, 'tcp connection idle: closed');
        }
        framer.end(); // a last line without its newline counts, as when the peer closes
        socket.destroy();
      });
    }
  });
  return new Promise((resolve, reject) => {
    const onListenError = (err: Error): void => {
      reject(
        cfg.socket !== undefined
          ? listenError('tcp listener', 'unix', cfg.socket, err)
          : listenError('tcp listener', cfg.address, cfg.port, err),
      );
    };
    server.once('error', onListenError);
    const onListening = (): void => {
      server.off('error', onListenError);
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
      log.info({ maxLineLength: cfg.maxLineLength, maxConnections, idleTimeoutMs }, `listening on ${description}`);
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
