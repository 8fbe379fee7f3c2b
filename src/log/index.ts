/** The pino factory: one root logger, one child per component ({ component }). */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { LogConfig } from '../config/types.js';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { name: 'tallyd', level, base: { pid: process.pid } },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** The original's syslog facility: LOG_LOCAL0. */
const SYSLOG_FACILITY_LOCAL0 = 16;

/**
 * `log.backend: 'syslog'`: the same JSON records, as RFC 5424 syslog messages (APP-NAME
 * log.application, facility local0, severity from the level) sent to the local syslog by pino's own
 * transports, pino-syslog (formatting) then pino-socket (UDP or TCP, or a Unix stream socket), in a
 * worker thread off the event loop.
 */
export function createSyslogLogger(level: string, cfg: LogConfig): Logger {
  const require = createRequire(import.meta.url);
  const s = cfg.syslog;
  const options: Array<{ target: string; options: Record<string, unknown> }> = [
    {
      target: require.resolve('pino-syslog'),
      options: { modern: true, appname: cfg.application, facility: SYSLOG_FACILITY_LOCAL0, messageOnly: false, newline: s.protocol === 'tcp' || s.socket !== undefined },
    },
    {
      target: require.resolve('pino-socket'),
      options: s.socket !== undefined
        ? { unixsocket: s.socket, mode: 'tcp', reconnect: true }
        : { mode: s.protocol, address: s.host, port: s.port, reconnect: true },
    },
  ];
  const transport = pino.transport({ pipeline: options });
  return pino({ name: 'tallyd', level, base: { pid: process.pid } }, transport);
}

/** Per-component child logger. */
export function componentLogger(root: Logger, component: string, extra?: Record<string, unknown>): Logger {
  return root.child({ component, ...extra });
}
