/**
 * `tallyd proxy CONFIG`: load and validate the proxy config, run the proxy until SIGTERM/SIGINT.
 * Returns the exit code; main.ts exits with it.
 */
import { EXIT_CONFIG, logFormatInArgv, parseProxyCli } from '../cli/program.js';
import { readConfigFile } from '../config/load.js';
import { CliError, ConfigError } from '../errors.js';
import { createLogger, resolveLogFormat } from '../log/index.js';
import { validateProxyConfig, type ProxyConfig } from './config.js';
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
        createLogger('info', undefined, resolveLogFormat(logFormatInArgv(argv), process.stderr.isTTY === true))
          .error({ component: 'cli', exitCode: err.exitCode }, err.message);
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
      const n = err.problems.length;
      log.error(
        { component: 'config', configFile: cli.configPath, problems: err.problems },
        `invalid configuration in ${cli.configPath}: ${n} problem${n === 1 ? '' : 's'}`,
      );
      return EXIT_CONFIG;
    }
    throw err;
  }
  if (cli.checkConfig) {
    const { raw: _raw, ...shown } = config;
    process.stdout.write(JSON.stringify(shown, null, 2) + '\nconfiguration OK\n');
    return 0;
  }

  log.level = config.logLevel;
  const proxy = new StatsdProxy(config, log);
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
      proxy.stop().then(() => resolve(0), (err) => {
        log.error({ err }, 'error while stopping');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
