/**
 * The pino factory: one root logger, one child per component ({ component }).
 *
 * Two formats on stderr, never mixed in one run: `json` (pino's JSON lines, for log collectors) and
 * `pretty` (one readable line per record, for a terminal). `--log-format auto` (the default) picks
 * pretty when stderr is a TTY and json otherwise. Cluster workers inherit the choice through
 * TALLYD_LOG_FORMAT, set by main.ts before they are forked.
 */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import type { LogConfig } from '../config/types.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;

/** The environment variable through which main.ts hands the chosen format to cluster workers. */
export const LOG_FORMAT_ENV = 'TALLYD_LOG_FORMAT';

/** `auto` (or unset): pretty when stderr is a terminal, json otherwise. */
export function resolveLogFormat(choice: string | undefined, stderrIsTTY: boolean): LogFormat {
  if (choice === 'json' || choice === 'pretty') return choice;
  return stderrIsTTY ? 'pretty' : 'json';
}

/** The format this process logs in: the env var set by the parent (workers), else auto. */
export function inheritedLogFormat(): LogFormat {
  return resolveLogFormat(process.env[LOG_FORMAT_ENV], process.stderr.isTTY === true);
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Keys every record has, not repeated in the pretty line. */
const PRETTY_SKIP: ReadonlySet<string> = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component']);

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * One pino JSON line → `HH:MM:SS.mmm LEVEL [component] msg key=value …`; an `err` prints its
 * message (its stack at debug level and below), a `problems` list one problem per line.
 */
export function formatPretty(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const t = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
  let out = `${t} ${level.padEnd(5)} ${typeof rec.component === 'string' ? `[${rec.component}] ` : ''}${String(rec.msg ?? '')}`;
  const tail: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (PRETTY_SKIP.has(k) || v === undefined) continue;
    if (k === 'problems' && Array.isArray(v)) {
      for (const p of v) tail.push(`\n    ${String(p)}`);
      continue;
    }
    if (k === 'err' && v !== null && typeof v === 'object') {
      const e = v as { message?: unknown; stack?: unknown };
      out += ` err=${prettyValue(String(e.message ?? ''))}`;
      if ((rec.level as number) <= 20 && typeof e.stack === 'string') tail.push(`\n    ${e.stack.replace(/\n/g, '\n    ')}`);
      continue;
    }
    out += ` ${k}=${prettyValue(v)}`;
  }
  return `${out}${tail.join('')}\n`;
}

/**
 * A pino destination that writes each record as a pretty line to `fd`, synchronously (a terminal);
 * through sonic-boom, which retries a write the fd refuses for now (EAGAIN on a full pipe).
 */
function prettyDestination(fd: number): { write(s: string): boolean } {
  const out = pino.destination({ fd, sync: true });
  return {
    write(s: string): boolean {
      // pino writes one record (one line) per call
      return out.write(formatPretty(s.endsWith('\n') ? s.slice(0, -1) : s));
    },
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = inheritedLogFormat()): Logger {
  return pino(
    { name: 'tallyd', level, base: { pid: process.pid } },
    destination ?? (format === 'pretty' ? prettyDestination(2) : pino.destination({ fd: 2, sync: false })),
  );
}

/** The original's syslog facility: LOG_LOCAL0. */
const SYSLOG_FACILITY_LOCAL0 = 16;

/** The last step for a Unix datagram socket (src/log/syslog-dgram.ts, built beside this file). */
const SYSLOG_DGRAM_TARGET = fileURLToPath(new URL('./syslog-dgram.js', import.meta.url));

/**
 * `log.backend: 'syslog'`: the same JSON records as syslog messages (APP-NAME log.application,
 * facility local0, severity from the level), formatted by pino-syslog and sent, in pino's transport
 * worker thread off the event loop, either to a Unix datagram socket (`log.syslog.dgram`, by default
 * /dev/log where it exists) by tallyd's own transport, in the local form syslog(3) sends there, or as
 * RFC 5424 by pino-socket over UDP or TCP, or to a Unix stream socket.
 */
export function createSyslogLogger(level: string, cfg: LogConfig): Logger {
  const require = createRequire(import.meta.url);
  const s = cfg.syslog;
  const dgram = s.dgram !== undefined;
  const options: Array<{ target: string; options: Record<string, unknown> }> = [
    {
      target: require.resolve('pino-syslog'),
      options: {
        modern: true,
        appname: cfg.application,
        facility: SYSLOG_FACILITY_LOCAL0,
        messageOnly: false,
        newline: !dgram && (s.protocol === 'tcp' || s.socket !== undefined),
        // the local form carries the local time, as syslog(3) writes it; RFC 5424 its UTC offset
        ...(dgram ? { tz: 'local' } : {}),
      },
    },
    {
      target: dgram ? SYSLOG_DGRAM_TARGET : require.resolve('pino-socket'),
      options: dgram
        ? { path: s.dgram }
        : s.socket !== undefined
          ? { unixsocket: s.socket, mode: 'tcp', reconnect: true }
          : { mode: s.protocol, address: s.host, port: s.port, reconnect: true },
    },
  ];
  const transport = pino.transport({ pipeline: options });
  // pino-syslog writes the record's `hostname` as the HOSTNAME field: without it the header reads
  // "undefined". RFC 5424's nil value '-' when the host has no usable name.
  return pino({ name: 'tallyd', level, base: { pid: process.pid, hostname: syslogHostname() } }, transport);
}

/** The HOSTNAME field of RFC 5424 (1*255 PRINTUSASCII): os.hostname(), else the nil value '-'. */
function syslogHostname(): string {
  const h = hostname();
  return /^[\x21-\x7e]{1,255}$/.test(h) ? h : '-';
}

/** Per-component child logger. */
export function componentLogger(root: Logger, component: string, extra?: Record<string, unknown>): Logger {
  return root.child({ component, ...extra });
}
