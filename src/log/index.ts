/** The pino factory: one root logger, one child per component ({ component }). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { name: 'tallyd', level, base: { pid: process.pid } },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** Per-component child logger. */
export function componentLogger(root: Logger, component: string, extra?: Record<string, unknown>): Logger {
  return root.child({ component, ...extra });
}
