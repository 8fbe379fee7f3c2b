#!/usr/bin/env node
/**
 * Process entry: parse the command line, load and validate the config, run the daemon, map
 * fatal errors to exit codes, handle signals. The only place that calls process.exit.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePluginBackends, validateBackendSections } from './backends/registry.js';
import { EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_SECOND_SIGNAL, logFormatInArgv, parseCli } from './cli/program.js';
import { buildConfig, describeEffectiveConfig, EMBEDDED_DEFAULT_CONFIG, readConfigFile } from './config/index.js';
import type { TallydConfig } from './config/types.js';
import { CliError, ConfigError } from './errors.js';
import { createLogger, createSyslogLogger, LOG_FORMAT_ENV, type Logger, resolveLogFormat } from './log/index.js';
import { Pipeline } from './pipeline/pipeline.js';
import { ConfigReloader } from './pipeline/reload.js';
import { runProxy } from './proxy/run.js';

const here = dirname(fileURLToPath(import.meta.url));

function packageVersion(): string {
  for (const p of [join(here, '..', '..', 'package.json'), join(here, '..', 'package.json')]) {
    try {
      return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return '0.0.0';
}

/** Set once the log format is known: fatal errors go through it too. */
let stderrLog: Logger | undefined;

/** A config problem list as one record: a `problems` array (pretty mode prints one per line). */
function logConfigError(log: Logger, err: ConfigError, configFile: string | undefined): void {
  log.error(
    { component: 'config', configFile: configFile ?? null, problems: err.problems },
    `invalid configuration${configFile ? ` in ${configFile}` : ''}: ${err.summary()}`,
  );
}

async function main(): Promise<number> {
  if (process.argv[2] === 'proxy') return runProxy(process.argv, packageVersion());
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv, packageVersion());
  } catch (err) {
    if (err instanceof CliError) {
      if (err.exitCode === 0) {
        if (err.message) process.stdout.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      } else {
        const format = resolveLogFormat(logFormatInArgv(process.argv), process.stderr.isTTY === true);
        stderrLog = createLogger('info', undefined, format);
        stderrLog.error({ component: 'cli', exitCode: err.exitCode }, err.message);
      }
      return err.exitCode;
    }
    throw err;
  }

  // one format for every line on stderr, this process's and its cluster workers' (they inherit the env)
  const format = resolveLogFormat(cli.logFormat, process.stderr.isTTY === true);
  process.env[LOG_FORMAT_ENV] = format;
  const log0 = createLogger(cli.overrides.logLevel ?? 'info', undefined, format);
  stderrLog = log0;

  let config: TallydConfig;
  let warnings: string[];
  try {
    const raw =
      cli.configPath !== undefined
        ? readConfigFile(cli.configPath, { allowJs: cli.allowJsConfig })
        : structuredClone(EMBEDDED_DEFAULT_CONFIG);
    // core keys and the backends' own checks (unknown names, their sections) in one pass
    const built = buildConfig(raw, cli.overrides, cli.configPath, undefined, validateBackendSections);
    config = built.config;
    warnings = built.warnings;
  } catch (err) {
    if (err instanceof ConfigError) {
      logConfigError(log0, err, cli.configPath);
      return EXIT_CONFIG;
    }
    throw err;
  }
  for (const w of warnings) log0.warn({ component: 'config', configFile: cli.configPath ?? null }, w);

  if (cli.checkConfig) {
    // `--check-config | head`: a reader that stops early is not an error (else an unhandled EPIPE)
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    // in the config file's own key names and shapes: what to write in a file to get this configuration
    process.stdout.write(describeEffectiveConfig(config) + '\n');
    for (const line of describePluginBackends(config)) process.stdout.write(line + '\n');
    process.stdout.write('configuration OK\n');
    return EXIT_OK;
  }

  let log: Logger = log0;
  if (config.log.backend === 'syslog') log = createSyslogLogger(config.logLevel, config.log);
  else log0.level = config.logLevel;
  // the original sets its process title (`title`, default `statsd <args>`); tallyd's default is DEFAULT_TITLE
  if (config.title !== false) process.title = config.title;
  // workers > 1: the same pipeline over N ingest workers (src/pipeline/ingest-workers.ts)
  const daemon = new Pipeline(config, log);
  try {
    await daemon.start();
  } catch (err) {
    const e = err as Error;
    // also on stderr when the logs go to syslog: the operator starting it must see why it stopped
    for (const l of log === log0 ? [log] : [log, log0]) l.fatal({ err: e }, `cannot start: ${e.message}`);
    log.flush?.();
    return EXIT_CONFIG;
  }

  const reloader =
    cli.configPath !== undefined
      ? new ConfigReloader({
          configPath: cli.configPath,
          overrides: cli.overrides,
          allowJs: cli.allowJsConfig,
          target: daemon,
          log: log.child({ component: 'reload' }),
        })
      : null;
  reloader?.syncWatch();
  process.on('SIGHUP', () => {
    if (reloader === null) {
      log.warn('SIGHUP: no config file was given, nothing to reload');
      return;
    }
    log.info('SIGHUP: reloading the configuration');
    // (reload() catches what it can; anything else is logged here, never an unhandled rejection)
    reloader.reload('SIGHUP').catch((err: unknown) => log.error({ err }, 'config reload failed, keeping the current configuration'));
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting at once');
        resolve(EXIT_SECOND_SIGNAL);
        return;
      }
      stopping = true;
      reloader?.close();
      const drainMs = daemon.currentConfig.stopDrainMs;
      log.info({ signal: sig, drainMs }, 'signal received: flushing and stopping');
      daemon.stop(drainMs).then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main().then(
  (code) => {
    // give pino's async destination a moment to drain
    setTimeout(() => process.exit(code), 50);
  },
  (err) => {
    (stderrLog ?? createLogger('info')).fatal({ err }, `fatal: ${(err as Error)?.message ?? String(err)}`);
    stderrLog?.flush?.();
    process.exit(EXIT_INTERNAL);
  },
);
