/**
 * The one catalog of tallyd's errors. Each class has a stable `code` (fastify's lib/errors.js style)
 * so callers and tests match on the code, never on message text. Only main.ts maps these to exit codes.
 * Each code is documented in docs/errors.md (test/unit/errors.test.ts checks that, and that each is used).
 */

export const ERROR_CODES = {
  /** The configuration (file, placeholders or command-line overrides) is invalid. */
  CONFIG: 'TALLYD_ERR_CONFIG',
  /** The command line is invalid, or --help / --version was asked for (exit code 0). */
  CLI: 'TALLYD_ERR_CLI',
  /** A listener (UDP, TCP, admin) could not start. */
  LISTEN: 'TALLYD_ERR_LISTEN',
  /** A backend could not be created or started (an npm backend's init included). */
  BACKEND: 'TALLYD_ERR_BACKEND',
  /** With `workers` > 1: a worker process did not start (it failed, exited or timed out). */
  WORKER: 'TALLYD_ERR_WORKER',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Base class: every tallyd error has a stable code. */
export class TallydError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The configuration is invalid. `problems` holds one line per problem, e.g.
 * `config key 'flushInterval': expected a positive integer (ms), got "abc"`; the message joins them
 * with newlines, so every problem is reported at once.
 */
export class ConfigError extends TallydError {
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[], options?: { cause?: unknown }) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(ERROR_CODES.CONFIG, list.join('\n'), options);
    this.problems = Object.freeze(list);
  }

  /**
   * `2 problems, 1 warning`: the list ends with the pass's unknown keys as `warning: …` lines (their
   * 'did you mean'), so that one run shows everything to fix.
   */
  summary(): string {
    const w = this.problems.filter((p) => p.startsWith('warning: ')).length;
    const n = this.problems.length - w;
    return `${n} problem${n === 1 ? '' : 's'}${w > 0 ? `, ${w} warning${w === 1 ? '' : 's'}` : ''}`;
  }
}

/**
 * The command line asked the process to stop: a usage error (exitCode != 0, message for stderr)
 * or --help / --version (exitCode 0, message for stdout). main.ts prints and exits.
 */
export class CliError extends TallydError {
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(ERROR_CODES.CLI, message, options);
    this.exitCode = exitCode;
  }
}

/** With `workers` > 1: worker `slot` did not start. */
export class WorkerError extends TallydError {
  readonly slot: number;

  constructor(slot: number, message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.WORKER, message, options);
    this.slot = slot;
  }
}

/** A listener could not start: a bind failed (address in use, permission, bad socket path) or a server module did not load. */
export class ListenError extends TallydError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.LISTEN, message, options);
  }
}

/** A backend is unknown, or failed to be created or started. */
export class BackendError extends TallydError {
  readonly backend: string;

  constructor(backend: string, message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.BACKEND, message, options);
    this.backend = backend;
  }
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'address not available on this host',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/**
 * A bind failure as a ListenError naming what failed, its address and port, e.g.
 * `udp listener: cannot listen on 127.0.0.1:8125: address already in use (EADDRINUSE)`.
 */
export function listenError(what: string, address: string, port: number | string, err: unknown): ListenError {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : /\b(E[A-Z_]{3,})\b/.exec(message)?.[1];
  const reason = code !== undefined && LISTEN_REASONS[code] !== undefined ? `${LISTEN_REASONS[code]} (${code})` : message;
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  const listenErr = new ListenError(`${what}: cannot listen on ${host}:${port}: ${reason}`, { cause: err });
  if (code !== undefined) (listenErr as { errno?: string }).errno = code;
  return listenErr;
}
