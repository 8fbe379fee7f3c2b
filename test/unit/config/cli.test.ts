/** The command line (src/cli/program.ts): kept here with the config tests it feeds. */
import { describe, expect, it } from 'vitest';
import { EXIT_USAGE, parseCli, parseGraphiteTarget } from '../../../src/cli/program.js';
import { CliError, ERROR_CODES } from '../../../src/errors.js';

const run = (...args: string[]) => parseCli(['/usr/bin/node', '/opt/tallyd/dist/src/main.js', ...args], '1.2.3');

function cliErrorOf(...args: string[]): CliError {
  try {
    run(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe(ERROR_CODES.CLI);
    return err as CliError;
  }
  throw new Error(`expected a CliError for ${args.join(' ')}`);
}

describe('parseCli', () => {
  it('no arguments: no config file, no overrides', () => {
    expect(run()).toEqual({ logFormat: 'auto', checkConfig: false, allowJsConfig: false, overrides: {} });
  });

  it('takes the config file positionally (as `node stats.js config.js`) or with --config', () => {
    expect(run('/etc/statsd/config.js').configPath).toBe('/etc/statsd/config.js');
    expect(run('--config', 'c.json').configPath).toBe('c.json');
    expect(run('--config=c.json').configPath).toBe('c.json');
  });

  it('refuses both a positional config and --config', () => {
    const err = cliErrorOf('a.js', '--config', 'b.js');
    expect(err.exitCode).toBe(EXIT_USAGE);
    expect(err.message).toMatch(/config file was given twice \('a\.js' and --config 'b\.js'\)/);
  });

  it('refuses a second positional argument', () => {
    expect(cliErrorOf('a.js', 'b.js').message).toMatch(/too many arguments/);
  });

  it('turns flags into overrides', () => {
    const opts = run(
      'cfg.js',
      '-p',
      '9125',
      '--address',
      '127.0.0.1',
      '--mgmt-port',
      '0',
      '--mgmt-address',
      '::1',
      '-f',
      '500',
      '-g',
      'carbon.local:2103',
      '--backend',
      'console',
      '--backend',
      './backends/repeater',
      '--reservoir-size',
      '256',
      '-l',
      'debug',
      '--check-config',
      '--allow-js-config',
    );
    expect(opts).toEqual({
      logFormat: 'auto',
      configPath: 'cfg.js',
      checkConfig: true,
      allowJsConfig: true,
      overrides: {
        port: 9125,
        address: '127.0.0.1',
        mgmtPort: 0,
        mgmtAddress: '::1',
        flushInterval: 500,
        graphiteHost: 'carbon.local',
        graphitePort: 2103,
        backends: ['console', './backends/repeater'],
        reservoirSize: 256,
        logLevel: 'debug',
      },
    });
  });

  it('--graphite port defaults to 2003; IPv6 in brackets', () => {
    expect(run('-g', 'carbon').overrides).toEqual({ graphiteHost: 'carbon', graphitePort: 2003 });
    expect(parseGraphiteTarget('[::1]:2004')).toEqual({ host: '::1', port: 2004 });
    expect(parseGraphiteTarget('[fe80::1]')).toEqual({ host: 'fe80::1', port: 2003 });
    expect(parseGraphiteTarget('fe80::1')).toEqual({ host: 'fe80::1', port: 2003 });
  });

  it.each([
    [['--port', 'abc'], /option '-p, --port <n>' argument 'abc' is invalid\. expected a port number \(0\.\.65535\)/],
    [['--port', '70000'], /option '-p, --port <n>' argument '70000' is invalid\. expected a port number/],
    [['--port', '-1'], /option '-p, --port <n>' argument '-1' is invalid/],
    [['--mgmt-port', '8126.5'], /option '--mgmt-port <n>' argument '8126\.5' is invalid/],
    [['-f', '0'], /option '-f, --flush-interval <ms>' argument '0' is invalid\. expected a positive integer \(milliseconds\)/],
    [['--reservoir-size', '4'], /option '--reservoir-size <n>' argument '4' is invalid\. expected an integer between 16 and 1048576/],
    [['-l', 'loud'], /option '-l, --log-level <level>' argument 'loud' is invalid\. expected one of trace, debug/],
    [['-g', 'carbon:99999'], /option '-g, --graphite <host:port>' argument 'carbon:99999' is invalid\. expected host or host:port/],
    [['-g', ':2003'], /option '-g, --graphite <host:port>' argument ':2003' is invalid/],
    [['--nope'], /unknown option '--nope'/],
    [['--port'], /option '-p, --port <n>' argument missing/],
  ])('%j is a one-line usage error', (args, pattern) => {
    const err = cliErrorOf(...args);
    expect(err.exitCode).toBe(EXIT_USAGE);
    expect(err.message).not.toContain('\n');
    const first = err.message;
    expect(first).toMatch(/^error: /);
    expect(first).toMatch(pattern);
  });

  it('--help prints the usage with exit code 0', () => {
    const err = cliErrorOf('--help');
    expect(err.exitCode).toBe(0);
    expect(err.message).toMatch(/^Usage: tallyd \[options\] \[config\]/);
    for (const flag of [
      '--config <file>',
      '-p, --port <n>',
      '-g, --graphite <host:port>',
      '--check-config',
      '--allow-js-config',
      '-V, --version',
    ]) {
      expect(err.message).toContain(flag);
    }
    expect(cliErrorOf('-h').exitCode).toBe(0);
  });

  it('--version prints the version with exit code 0', () => {
    const err = cliErrorOf('-V');
    expect([err.exitCode, err.message.trim()]).toEqual([0, '1.2.3']);
    expect(cliErrorOf('--version').message.trim()).toBe('1.2.3');
  });

  it('does not write to the real stdout/stderr nor exit', () => {
    const writes: string[] = [];
    const orig = [process.stdout.write, process.stderr.write] as const;
    const record = (s: string): boolean => {
      writes.push(s);
      return true;
    };
    process.stdout.write = record as typeof process.stdout.write;
    process.stderr.write = record as typeof process.stderr.write;
    try {
      cliErrorOf('--help');
      cliErrorOf('--port', 'x');
    } finally {
      [process.stdout.write, process.stderr.write] = orig;
    }
    expect(writes).toEqual([]);
  });
});
