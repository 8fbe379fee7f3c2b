/**
 * `tallyd proxy CONFIG`: load and validate the proxy config, run the proxy until SIGTERM/SIGINT.
 * Returns the exit code; main.ts exits with it.
 */
import { parseProxyCli } from '../cli/program.js';
import { readConfigFile } from '../config/load.js';
import { CliError, ConfigError } from '../errors.js';
import { createLogger } from '../log/index.js';
import { validateProxyConfig, type ProxyConfig } from './config.js';
import { StatsdProxy } from './proxy.js';

export async function runProxy(argv: string[], version: string): Promise<number> {
  let cli: ReturnType<typeof parseProxyCli>;
  try {
    cli = parseProxyCli(argv, version);
  } catch (err) {
    if (err instanceof CliError) {
      if (err.message) (err.exitCode === 0 ? process.stdout : process.stderr).write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      return err.exitCode;
    }
    throw err;
  }
  let config: ProxyConfig;
  try {
    const raw = readConfigFile(cli.configPath, { allowJs: cli.allowJsConfig });
    if (cli.logLevel !== undefined) raw.logLevel = cli.logLevel;
    const built = validateProxyConfig(raw, cli.configPath);
    config = built.config;
    for (const w of built.warnings) process.stderr.write(`tallyd proxy: warning: ${w}\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tallyd proxy: invalid configuration in ${cli.configPath}:\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (cli.checkConfig) {
    const { raw: _raw, ...shown } = config;
    process.stdout.write(JSON.stringify(shown, null, 2) + '\nconfiguration OK\n');
    return 0;
  }

  const log = createLogger(config.logLevel);
  const proxy = new StatsdProxy(config, log);
  try {
    await proxy.start();
  } catch (err) {
    process.stderr.write(`tallyd proxy: cannot start: ${(err as Error).message}\n`);
    log.flush?.();
    return 1;
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
