/**
 * `tallyd proxy CONFIG`: load and validate the proxy config, run the proxy until SIGTERM/SIGINT.
 * Returns the exit code; main.ts exits with it.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Logger } from 'pino';
import { EXIT_CONFIG, logFormatInArgv, parseProxyCli } from '../cli/program.js';
import { readConfigFile } from '../config/load.js';
import { CliError, ConfigError } from '../errors.js';
import { createLogger, resolveLogFormat } from '../log/index.js';
import { describeEffectiveProxyConfig, type ProxyConfig, validateProxyConfig } from './config.js';
import { StatsdProxy } from './proxy.js';

export async function runProxy(argv: string[], version: string): Promise<number> {
  let cli: ReturnType<typeof parseProxyCli>;
  try {
    cli = parseProxyCli(argv, version);
  } catch (err) {
    if (err instanceof CliError) {
      if (err.exitCode === 0) {
        if (err.message) process.stdout.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      } else {
        createLogger('info', undefined, resolveLogFormat(logFormatInArgv(argv), process.stderr.isTTY === true)).error(
          { component: 'cli', exitCode: err.exitCode },
          err.message,
        );
      }
      return err.exitCode;
    }
    throw err;
  }
  const format = resolveLogFormat(cli.logFormat, process.stderr.isTTY === true);
  const log = createLogger(cli.logLevel ?? 'info', undefined, format);
  let config: ProxyConfig;
  try {
    const raw = readConfigFile(cli.configPath, { allowJs: cli.allowJsConfig });
    if (cli.logLevel !== undefined) raw.logLevel = cli.logLevel;
    const built = validateProxyConfig(raw, cli.configPath);
    config = built.config;
    for (const w of built.warnings) log.warn({ component: 'config', configFile: cli.configPath }, w);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(
        { component: 'config', configFile: cli.configPath, problems: err.problems },
        `invalid configuration in ${cli.configPath}: ${err.summary()}`,
      );
      return EXIT_CONFIG;
    }
    throw err;
  }
  if (cli.checkConfig) {
    process.stdout.write(describeEffectiveProxyConfig(config) + '\nconfiguration OK\n');
    return 0;
  }

  log.level = config.logLevel;
  const forks = config.forkCount === 'auto' ? os.availableParallelism() : config.forkCount;
  if (forks > 1 && cluster.isPrimary) return runPrimary(forks, log);
  const proxy = new StatsdProxy(config, log, cluster.isWorker);
  try {
    await proxy.start();
  } catch (err) {
    log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    log.flush?.();
    return EXIT_CONFIG;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        resolve(130);
        return;
      }
      stopping = true;
      log.info({ signal: sig }, 'signal received: stopping');
      proxy.stop().then(
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

/**
 * forkCount > 1, as the original: the primary forks that many proxies (each a full proxy with its own
 * ring and health checks, UDP on its own SO_REUSEPORT socket, the admin port shared by node:cluster),
 * restarts one that dies, passes `health up|down` on to all, and stops them on SIGTERM/SIGINT.
 */
function runPrimary(forks: number, root: Logger): Promise<number> {
  const log = root.child({ component: 'proxy-primary' });
  const workers = new Set<Worker>();
  let stopping = false;
  const fork = (): void => {
    const w = cluster.fork();
    workers.add(w);
    w.on('message', (m: { proxyHealth?: string }) => {
      if (m.proxyHealth !== undefined) for (const o of workers) if (o !== w) o.send(m);
    });
    w.on('exit', (code, signal) => {
      workers.delete(w);
      if (stopping) return;
      log.error({ pid: w.process.pid, code, signal }, 'a proxy fork died: restarting it');
      fork();
    });
  };
  log.info({ forkCount: forks }, `forking ${forks} proxies`);
  for (let i = 0; i < forks; i++) fork();
  return new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        resolve(130);
        return;
      }
      stopping = true;
      log.info({ signal: sig }, 'signal received: stopping the forks');
      const all = [...workers];
      if (all.length === 0) resolve(0);
      let left = all.length;
      for (const w of all) {
        w.once('exit', () => {
          if (--left === 0) resolve(0);
        });
        w.process.kill('SIGTERM');
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
