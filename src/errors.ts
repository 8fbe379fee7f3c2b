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
