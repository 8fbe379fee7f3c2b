/**
 * The last step of the `log.backend: 'syslog'` transport when the logs go to a Unix datagram socket
 * (`log.syslog.dgram`, by default the local syslog's /dev/log). pino.transport loads this module in
 * its worker thread, after pino-syslog: each RFC 5424 message pino-syslog formats is rewritten to the
 * local form that syslog(3) sends to /dev/log, `<PRI>Mmm dd hh:mm:ss APP-NAME[PID]: MSG` (what
 * rsyslog's imuxsock and journald parse there: they take the host from the socket, and read neither
 * a hostname nor an RFC 5424 header on it), and sent as one datagram with no trailing newline.
 *
 * Nothing here waits on the socket: a datagram the receiver's queue has no room for (EAGAIN: a burst
 * past net.unix.max_dgram_qlen, or a stalled syslog daemon) waits in a queue bounded in bytes and is
 * retried every {@link RETRY_MS}; past the bound it is dropped. Dropped and failed datagrams (the
 * socket missing, the daemon down: the addon connects again on the next send) are counted and
 * reported on stderr, the first at once and then at most once a minute.
 */
import { Writable } from 'node:stream';
import { getSystemErrorName } from 'node:util';
import { createLogger, type Logger } from './index.js';
import { loadUnixDgram, SENT, unixDgramProblem, WOULD_BLOCK } from './unix-dgram.js';

export interface SyslogDgramOptions {
  /** The socket's path. */
  readonly path: string;
  /** Bytes of datagrams waiting for room in the receiver's queue at most (default {@link MAX_QUEUED_BYTES}). */
  readonly maxQueuedBytes?: number;
}

/** Datagrams waiting for the receiver, 1 MiB at most: past that, new ones are dropped (and counted). */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/** How often a full receiver is tried again. */
export const RETRY_MS = 10;
/** How long the end of the log (the process stopping) waits for a full receiver at most. */
export const FINAL_DRAIN_MS = 1000;
/** Losses are reported at most this often (the first at once). */
export const REPORT_EVERY_MS = 60_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC5424_TIME = /^\d{4}-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/;

/**
 * pino-syslog's RFC 5424 message (`modern: true`, no structured data)
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` → `<PRI>Mmm dd hh:mm:ss APP-NAME[PROCID]: MSG`,
 * the timestamp's wall-clock time kept (day space-padded, as syslog(3) writes it). A trailing newline
 * is dropped; anything else is returned as it is.
 */
export function toLocalSyslog(message: string): string {
  const end = message.endsWith('\n') ? message.length - 1 : message.length;
  const gt = message.indexOf('>');
  if (message[0] !== '<' || gt < 2 || gt > 4 || !message.startsWith('1 ', gt + 1)) return message.slice(0, end);
  const fields: string[] = [];
  let at = gt + 3;
  for (let i = 0; i < 6; i++) {
    const sp = message.indexOf(' ', at);
    if (sp === -1 || sp >= end) return message.slice(0, end);
    fields.push(message.slice(at, sp));
    at = sp + 1;
  }
  const [time, , app, procid, , sd] = fields as [string, string, string, string, string, string];
  const t = RFC5424_TIME.exec(time);
  const month = t === null ? undefined : MONTHS[Number(t[1]) - 1];
  if (t === null || month === undefined || sd !== '-') return message.slice(0, end);
  const day = t[2]!.startsWith('0') ? ` ${t[2]![1]}` : t[2]!;
  const tag = procid === '-' ? app : `${app}[${procid}]`;
  return `${message.slice(0, gt + 1)}${month} ${day} ${t[3]} ${tag}: ${message.slice(at, end)}`;
}

/** Counts what did not reach the socket; logs it the first time and then at most once a minute. */
class LossReport {
  dropped = 0;
  failed = 0;
  lastError = '';
  private lastAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private log: Logger | undefined;

  constructor(private readonly path: string) {}

  drop(): void {
    this.dropped++;
    this.maybeReport();
  }

  fail(errno: number): void {
    this.failed++;
    this.lastError = getSystemErrorName(errno);
    this.maybeReport();
  }

  private maybeReport(): void {
    const wait = this.lastAt + REPORT_EVERY_MS - Date.now();
    if (wait <= 0) this.report();
    else this.timer ??= setTimeout(() => this.report(), wait).unref();
  }

  report(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dropped === 0 && this.failed === 0) return;
    this.lastAt = Date.now();
    // on stderr, in the daemon's format (TALLYD_LOG_FORMAT, inherited by this thread)
    this.log ??= createLogger('warn').child({ component: 'syslog' });
    this.log.warn(
      { socket: this.path, dropped: this.dropped, failed: this.failed, ...(this.failed > 0 ? { error: this.lastError } : {}) },
      this.failed > 0
        ? `log messages not sent to the syslog socket (${this.lastError}); sending again with the next ones`
        : "log messages dropped: the syslog socket's queue stayed full",
    );
    this.dropped = 0;
    this.failed = 0;
  }
}

/** The transport stream: one datagram per message written (pino-syslog writes one message per chunk). */
export default function syslogDgram(opts: SyslogDgramOptions): Writable {
  const addon = loadUnixDgram();
  if (addon === null) throw new Error(`log.syslog.dgram: ${unixDgramProblem()}`);
  const handle = addon.open(opts.path);
  const maxBytes = opts.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  const losses = new LossReport(opts.path);
  const queue: Buffer[] = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;

  /** Sends what waits, in order; false when the receiver is still full. */
  const drain = (): boolean => {
    while (queue.length > 0) {
      const rc = addon.send(handle, queue[0]!);
      if (rc === WOULD_BLOCK) return false;
      queuedBytes -= queue.shift()!.length;
      if (rc !== SENT) losses.fail(rc);
    }
    return true;
  };
  const retry = (): void => {
    timer = undefined;
    if (!drain()) timer = setTimeout(retry, RETRY_MS);
  };

  return new Writable({
    objectMode: true,
    write(chunk: unknown, _enc, cb): void {
      const datagram = Buffer.from(toLocalSyslog(String(chunk)));
      if (queue.length === 0) {
        const rc = addon.send(handle, datagram);
        if (rc !== WOULD_BLOCK) {
          if (rc !== SENT) losses.fail(rc);
          cb();
          return;
        }
      }
      if (queuedBytes + datagram.length > maxBytes) losses.drop();
      else {
        queue.push(datagram);
        queuedBytes += datagram.length;
        timer ??= setTimeout(retry, RETRY_MS);
      }
      cb();
    },
    final(cb): void {
      clearTimeout(timer);
      timer = undefined;
      const deadline = Date.now() + FINAL_DRAIN_MS;
      const step = (): void => {
        if (!drain() && Date.now() < deadline) {
          setTimeout(step, RETRY_MS);
          return;
        }
        for (let i = queue.length; i > 0; i--) losses.dropped++;
        queue.length = 0;
        losses.report();
        cb();
      };
      step();
    },
    destroy(err, cb): void {
      clearTimeout(timer);
      addon.close(handle);
      cb(err);
    },
  });
}
