import { describe, expect, it } from 'vitest';
import { parseCli } from '../../../src/cli/program.js';
import { buildConfig } from '../../../src/config/load.js';
import { CliError } from '../../../src/errors.js';

const argv = (...a: string[]): string[] => ['node', 'tallyd', ...a];

describe('--prometheus-* flags', () => {
  it('become the prometheus section and add the backend', () => {
    const cli = parseCli(argv('--prometheus-port', '9999', '--prometheus-address', '0.0.0.0', '--prometheus-path', '/m'), '1.0.0');
    const { config } = buildConfig({ backends: ['./backends/graphite'], graphiteHost: 'g', prometheus: { ttl: '5m' } }, cli.overrides);
    expect(config.backends).toEqual(['graphite', 'prometheus']);
    expect(config.raw.prometheus).toEqual({ ttl: '5m', port: 9999, address: '0.0.0.0', path: '/m' });
  });

  it('add prometheus beside the default backend when the file lists none', () => {
    const cli = parseCli(argv('--prometheus-port', '9102'), '1.0.0');
    expect(buildConfig({}, cli.overrides).config.backends).toEqual(['console', 'prometheus']);
  });

  it('refuse a bad port or path naming the flag', () => {
    expect(() => parseCli(argv('--prometheus-port', 'x'), '1.0.0')).toThrow(CliError);
    expect(() => parseCli(argv('--prometheus-path', 'metrics'), '1.0.0')).toThrow(/--prometheus-path/);
  });
});
