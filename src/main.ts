#!/usr/bin/env node
/**
 * Process entry: parse the command line, load and validate the config, run the daemon, map
 * fatal errors to exit codes, handle signals. The only place that calls process.exit.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli } from './cli/program.js';
import { buildConfig, describeConfig, EMBEDDED_DEFAULT_CONFIG, readConfigFile } from './config/index.js';
import type { TallydConfig } from './config/types.js';
import { Daemon } from './daemon.js';
import { ClusterPrimary } from './cluster/primary.js';
import { CliError, ConfigError } from './errors.js';
import { createLogger, createSyslogLogger } from './log/index.js';
import { describePluginBackends, validateBackendSections } from './backends/registry.js';
import { DEFAULT_STOP_DRAIN_MS, DEFAULT_TITLE } from './config/defaults.js';
import { ConfigReloader } from './reload.js';
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

async function main(): Promise<number> {
  if (process.argv[2] === 'proxy') return runProxy(process.argv, packageVersion());
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv, packageVersion());
  } catch (err) {
    if (err instanceof CliError) {
      if (err.message) (err.exitCode === 0 ? process.stdout : process.stderr).write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      return err.exitCode;
    }
    throw err;
  }

  let config: TallydConfig;
  try {
    const raw = cli.configPath !== undefined
      ? readConfigFile(cli.configPath, { allowJs: cli.allowJsConfig })
      : structuredClone(EMBEDDED_DEFAULT_CONFIG);
    const built = buildConfig(raw, cli.overrides, cli.configPath);
    const problems = validateBackendSections(built.config);
    if (problems.length > 0) throw new ConfigError(problems);
    config = built.config;
    for (const w of built.warnings) process.stderr.write(`tallyd: warning: ${w}\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tallyd: invalid configuration${cli.configPath ? ` in ${cli.configPath}` : ''}:\n${err.message}\n`);
      return 1;
    }
    throw err;
  }

  if (cli.checkConfig) {
    process.stdout.write(describeConfig(config) + '\n');
    for (const line of describePluginBackends(config)) process.stdout.write(line + '\n');
    process.stdout.write('configuration OK\n');
    return 0;
  }

  const log = config.log?.backend === 'syslog' ? createSyslogLogger(config.logLevel, config.log) : createLogger(config.logLevel);
  // the original sets its process title (`title`, default `statsd <args>`); tallyd's default is DEFAULT_TITLE
  if (config.title !== false) process.title = config.title ?? DEFAULT_TITLE;
  // workers > 1: a cluster primary (flush, admin, backends) over N ingest workers (src/cluster)
  const daemon = (config.workers ?? 1) > 1 ? new ClusterPrimary(config, log) : new Daemon(config, log);
  try {
    await daemon.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`tallyd: cannot start: ${e.message}\n`);
    log.flush?.();
    return 1;
  }

  const reloader = cli.configPath !== undefined
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
        resolve(130);
        return;
      }
      stopping = true;
      reloader?.close();
      const drainMs = daemon.currentConfig.stopDrainMs ?? DEFAULT_STOP_DRAIN_MS;
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
    process.stderr.write(`tallyd: fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  },
);
