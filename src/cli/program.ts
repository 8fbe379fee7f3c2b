/**
 * The command line (commander): `tallyd [CONFIG]` as `node stats.js config.js`, plus flags that
 * become config overrides. parseCli never exits: usage errors, --help and --version all come back
 * as a CliError carrying the text and the exit code; main.ts prints it and exits.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DEFAULT_GRAPHITE_PORT, MAX_RESERVOIR_SIZE, MAX_WORKERS, MIN_RESERVOIR_SIZE, PINO_LEVELS } from '../config/defaults.js';
import type { ConfigOverrides } from '../config/load.js';
import { CliError } from '../errors.js';
import { LOG_FORMATS } from '../log/index.js';

export interface CliOptions {
  configPath?: string;
  /** --log-format: json, pretty or auto (pretty when stderr is a TTY). */
  logFormat: string;
  checkConfig: boolean;
  allowJsConfig: boolean;
  overrides: ConfigOverrides;
}

/**
 * Exit codes (README "Exit codes", docs/reference.md): 0 done (or --help, --version, --check-config
 * OK); 1 invalid configuration (file, placeholders or flags: whatever its source) or cannot start
 * (a port in use, a backend that refuses); 2 usage error: an unknown flag, a malformed flag value, a
 * config file given twice; 70 internal error; 130 a second SIGINT/SIGTERM while stopping.
 */
export const EXIT_OK = 0;
export const EXIT_CONFIG = 1;
/** Exit code for a usage error (as argparse and most Unix tools do). */
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
export const EXIT_SECOND_SIGNAL = 130;

/** --log-format's value in raw argv (for messages about the command line itself, before it parses). */
export function logFormatInArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--log-format') return argv[i + 1];
    if (a.startsWith('--log-format=')) return a.slice('--log-format='.length);
  }
  return undefined;
}

function parseLogFormat(value: string): string {
  if (!(LOG_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${LOG_FORMATS.join(', ')}.`);
  return value;
}

function parseInteger(value: string, min: number, max: number, expected: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${expected}.`);
  return n;
}

function parsePort(value: string): number {
  return parseInteger(value, 0, 65535, 'a port number (0..65535)');
}

function parseFlushInterval(value: string): number {
  return parseInteger(value, 1, 2 ** 31 - 1, 'a positive integer (milliseconds)');
}

function parseReservoirSize(value: string): number {
  return parseInteger(value, MIN_RESERVOIR_SIZE, MAX_RESERVOIR_SIZE, `an integer between ${MIN_RESERVOIR_SIZE} and ${MAX_RESERVOIR_SIZE}`);
}

function parseWorkers(value: string): number {
  return parseInteger(value, 1, MAX_WORKERS, `an integer between 1 and ${MAX_WORKERS}`);
}

function parseLogLevel(value: string): string {
  if (!PINO_LEVELS.includes(value)) throw new InvalidArgumentError(`expected one of ${PINO_LEVELS.join(', ')}.`);
  return value;
}

function parseAddress(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected an address.');
  return value;
}

/** `host`, `host:port`, `[v6addr]`, `[v6addr]:port`; a bare IPv6 address (several ':') is a host. */
export function parseGraphiteTarget(value: string): { host: string; port: number } {
  const what = 'host or host:port (port 1..65535; IPv6 as [addr]:port)';
  const expected = `expected ${what}.`;
  let host = value.trim();
  let port = DEFAULT_GRAPHITE_PORT;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close === -1) throw new InvalidArgumentError(expected);
    const rest = host.slice(close + 1);
    host = host.slice(1, close);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new InvalidArgumentError(expected);
      port = parseInteger(rest.slice(1), 1, 65535, what);
    }
  } else if (host.indexOf(':') !== -1 && host.indexOf(':') === host.lastIndexOf(':')) {
    const colon = host.indexOf(':');
    port = parseInteger(host.slice(colon + 1), 1, 65535, what);
    host = host.slice(0, colon);
  }
  if (host === '') throw new InvalidArgumentError(expected);
  return { host, port };
}

function collect(value: string, previous: string[] | undefined): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('expected a backend name.');
  return [...(previous ?? []), value];
}

interface RawOptions {
  config?: string;
  port?: number;
  address?: string;
  mgmtPort?: number;
  mgmtAddress?: string;
  flushInterval?: number;
  graphite?: { host: string; port: number };
  backend?: string[];
  reservoirSize?: number;
  workers?: number;
  prometheusAddress?: string;
  prometheusPort?: number;
  prometheusPath?: string;
  prometheusMappingFile?: string;
  logLevel?: string;
  logFormat?: string;
  checkConfig?: boolean;
  allowJsConfig?: boolean;
}

function buildProgram(version: string, out: { stdout: string; stderr: string }): Command {
  return new Command('tallyd')
    .description('A fast, StatsD-compatible metrics daemon: StatsD lines in, Graphite plaintext and Prometheus out.')
    .argument('[config]', "config file: the original statsd's (a JS object literal) or JSON")
    .option('--config <file>', 'config file (instead of the positional argument)')
    .option('-p, --port <n>', 'UDP port to listen on (first udp server when the config has `servers`)', parsePort)
    .option('--address <addr>', 'address to listen on', parseAddress)
    .option('--mgmt-port <n>', 'admin (management) TCP port', parsePort)
    .option('--mgmt-address <addr>', 'admin (management) address', parseAddress)
    .option('-f, --flush-interval <ms>', 'flush interval in milliseconds', parseFlushInterval)
    .option(
      '-g, --graphite <host:port>',
      `send to Graphite at host[:port] (port ${DEFAULT_GRAPHITE_PORT} by default; adds the graphite backend)`,
      parseGraphiteTarget,
    )
    .option('--backend <name>', 'backend to load; repeat for several (replaces `backends`; -g and --prometheus-* add theirs)', collect)
    .option(
      '--reservoir-size <n>',
      `timer samples kept per key per interval (${MIN_RESERVOIR_SIZE}..${MAX_RESERVOIR_SIZE})`,
      parseReservoirSize,
    )
    .option('--prometheus-address <addr>', 'Prometheus /metrics address (adds the prometheus backend)', parseAddress)
    .option('--prometheus-port <n>', 'Prometheus /metrics port (adds the prometheus backend)', parsePort)
    .option('--prometheus-path <path>', 'Prometheus metrics path, e.g. /metrics (adds the prometheus backend)', parsePath)
    .option('--prometheus-mapping-file <file>', 'statsd_exporter mapping file (adds the prometheus backend)')
    .option('--workers <n>', 'ingest processes: 1 = one process, N > 1 = N cluster workers sharing the listeners', parseWorkers)
    .option('-l, --log-level <level>', `log level: ${PINO_LEVELS.join(', ')}`, parseLogLevel)
    .option(
      '--log-format <format>',
      'stderr log format: json (pino JSON lines), pretty (one readable line each), auto (pretty on a terminal, else json)',
      parseLogFormat,
      'auto',
    )
    .option('--check-config', 'validate the configuration, print the effective config and exit')
    .option(
      '--allow-js-config',
      'evaluate the config file as JavaScript, as the original statsd does, in a restricted child process (require limited to os, 5 s limit)',
    )
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .addHelpText(
      'after',
      "\nCommands:\n  tallyd proxy CONFIG  run as a cluster proxy in front of several tallyd/statsd nodes (the original's proxy.js; tallyd proxy --help)" +
        '\n\nExit codes:\n  0    stopped cleanly; --help, --version; --check-config found the configuration valid' +
        '\n  1    invalid configuration (config file, placeholders or flag values that make it invalid), or cannot start (port in use, backend refused)' +
        '\n  2    usage error: unknown flag, malformed flag value, config file given twice' +
        '\n  70   internal error' +
        '\n  130  a second SIGINT/SIGTERM while stopping' +
        '\n\nWith no config: StatsD on UDP 0.0.0.0:8125, admin on 127.0.0.1:8126, status page on http://127.0.0.1:8127/,' +
        '\n  aggregates printed to stdout every 10 s (console backend). Logs go to stderr.' +
        '\n\nSignals:\n  SIGHUP           reload the config file (also on a change of the file, with automaticConfigReload)' +
        '\n  SIGTERM, SIGINT  flush the partial interval, let backends deliver (stopDrainMs), exit 0' +
        '\n\nDocumentation: README.md; every key, flag, self-metric and admin command: docs/reference.md',
    )
    .configureOutput({
      writeOut: (s) => {
        out.stdout += s;
      },
      writeErr: (s) => {
        out.stderr += s;
      },
    })
    .exitOverride();
}

function parsePath(value: string): string {
  if (!value.startsWith('/')) {
    throw new InvalidArgumentError(`expected a URL path starting with '/', got '${value}'`);
  }
  return value;
}

/** Parse process.argv-style arguments. Throws CliError (exit code 0 for --help / --version). */
export function parseCli(argv: string[], version: string): CliOptions {
  const out = { stdout: '', stderr: '' };
  const program = buildProgram(version, out);
  try {
    program.parse(argv, { from: 'node' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) throw new CliError(out.stdout || out.stderr, 0, { cause: err });
      const text = (out.stderr || err.message).trim();
      throw new CliError(`${text} (see tallyd --help)`, EXIT_USAGE, { cause: err });
    }
    throw err;
  }
  const opts = program.opts<RawOptions>();
  const positional = program.args[0];
  if (positional !== undefined && opts.config !== undefined) {
    throw new CliError(
      `error: a config file was given twice ('${positional}' and --config '${opts.config}'); give one (see tallyd --help)`,
      EXIT_USAGE,
    );
  }

  const overrides: ConfigOverrides = {};
  if (opts.port !== undefined) overrides.port = opts.port;
  if (opts.address !== undefined) overrides.address = opts.address;
  if (opts.mgmtPort !== undefined) overrides.mgmtPort = opts.mgmtPort;
  if (opts.mgmtAddress !== undefined) overrides.mgmtAddress = opts.mgmtAddress;
  if (opts.flushInterval !== undefined) overrides.flushInterval = opts.flushInterval;
  if (opts.graphite !== undefined) {
    overrides.graphiteHost = opts.graphite.host;
    overrides.graphitePort = opts.graphite.port;
  }
  if (opts.backend !== undefined) overrides.backends = opts.backend;
  if (opts.reservoirSize !== undefined) overrides.reservoirSize = opts.reservoirSize;
  if (opts.workers !== undefined) overrides.workers = opts.workers;
  if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel;
  const prom: NonNullable<ConfigOverrides['prometheus']> = {};
  if (opts.prometheusAddress !== undefined) prom.address = opts.prometheusAddress;
  if (opts.prometheusPort !== undefined) prom.port = opts.prometheusPort;
  if (opts.prometheusPath !== undefined) prom.path = opts.prometheusPath;
  if (opts.prometheusMappingFile !== undefined) prom.mappingFile = opts.prometheusMappingFile;
  if (Object.keys(prom).length > 0) overrides.prometheus = prom;

  const result: CliOptions = {
    logFormat: opts.logFormat ?? 'auto',
    checkConfig: opts.checkConfig === true,
    allowJsConfig: opts.allowJsConfig === true,
    overrides,
  };
  const configPath = positional ?? opts.config;
  if (configPath !== undefined) result.configPath = configPath;
  return result;
}

export interface ProxyCliOptions {
  configPath: string;
  logFormat: string;
  checkConfig: boolean;
  allowJsConfig: boolean;
  logLevel?: string;
}

/** `tallyd proxy [options] CONFIG` (argv as process.argv, with 'proxy' at argv[2]). Throws CliError. */
export function parseProxyCli(argv: string[], version: string): ProxyCliOptions {
  const out = { stdout: '', stderr: '' };
  const program = new Command('tallyd proxy')
    .description("Cluster proxy (the original's proxy.js): each line goes to the node the consistent hashring picks for its metric name.")
    .argument('<config>', "the original's proxy config (nodes, port, mgmt_port, checkInterval, ...)")
    .option('-l, --log-level <level>', `log level: ${PINO_LEVELS.join(', ')}`, parseLogLevel)
    .option('--log-format <format>', 'stderr log format: json, pretty, auto (pretty on a terminal, else json)', parseLogFormat, 'auto')
    .option('--check-config', 'validate the configuration, print it and exit')
    .option('--allow-js-config', 'evaluate the config file as JavaScript, as the original does (require limited to os)')
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .configureOutput({
      writeOut: (s) => {
        out.stdout += s;
      },
      writeErr: (s) => {
        out.stderr += s;
      },
    })
    .exitOverride();
  try {
    program.parse(argv.slice(3), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) throw new CliError(out.stdout || out.stderr, 0, { cause: err });
      const text = (out.stderr || err.message).trim();
      throw new CliError(`${text} (see tallyd proxy --help)`, EXIT_USAGE, { cause: err });
    }
    throw err;
  }
  const opts = program.opts<{ logLevel?: string; logFormat?: string; checkConfig?: boolean; allowJsConfig?: boolean }>();
  const result: ProxyCliOptions = {
    configPath: program.args[0]!,
    logFormat: opts.logFormat ?? 'auto',
    checkConfig: opts.checkConfig === true,
    allowJsConfig: opts.allowJsConfig === true,
  };
  if (opts.logLevel !== undefined) result.logLevel = opts.logLevel;
  return result;
}

/** Every flag of `tallyd` (long and short forms), for docs/reference.md's drift test. */
export function cliOptionFlags(): string[] {
  const program = buildProgram('0.0.0', { stdout: '', stderr: '' });
  const flags: string[] = [];
  for (const o of program.options) {
    if (o.long !== undefined) flags.push(o.long);
    if (o.short !== undefined) flags.push(o.short);
  }
  return flags;
}
