/** TCP input and admin connection limits: tcpMaxConnections, tcpIdleTimeout (global or per server), mgmt*. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';

function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const servers = [
  { server: 'udp', port: 0 },
  { server: 'tcp', port: 0 },
  { server: 'tcp', port: 1, max_connections: 5, idle_timeout: 0 },
];

describe('TCP connection limits', () => {
  it('unset: the defaults, applied at load (1000 connections, 300 s idle; admin 16, 600 s)', () => {
    const { config, warnings } = validateConfig({ servers });
    expect(warnings).toEqual([]);
    expect(config.servers[1]).toMatchObject({ maxConnections: 1000, idleTimeoutMs: 300_000 });
    expect(config.servers[2]).toMatchObject({ maxConnections: 5, idleTimeoutMs: 0 });
    expect([config.mgmtMaxConnections, config.mgmtIdleTimeout]).toEqual([16, 600_000]);
  });

  it('global keys apply to every tcp server; a server entry overrides them', () => {
    const { config, warnings } = validateConfig({ servers, tcpMaxConnections: 20, tcpIdleTimeout: 1500 });
    expect(warnings).toEqual([]);
    expect(config.servers[1]).toMatchObject({ maxConnections: 20, idleTimeoutMs: 1500 });
    expect(config.servers[2]).toMatchObject({ maxConnections: 5, idleTimeoutMs: 0 });
  });

  it('bad values stop start-up naming the key', () => {
    const problems = problemsOf({
      servers: [{ server: 'tcp', port: 0, max_connections: 0, idle_timeout: -1 }],
      tcpMaxConnections: 'many',
      tcpIdleTimeout: 1.5,
      mgmtMaxConnections: 0,
      mgmtIdleTimeout: 'x',
    });
    expect(problems).toEqual([
      'config key \'tcpMaxConnections\': expected an integer between 1 and 1000000 (connections), got "many"',
      "config key 'tcpIdleTimeout': expected a non-negative integer (ms; 0: never), got 1.5",
      "config key 'servers[0].max_connections': expected an integer between 1 and 1000000 (connections), got 0",
      "config key 'servers[0].idle_timeout': expected a non-negative integer (ms; 0: never), got -1",
      "config key 'mgmtMaxConnections': expected an integer between 1 and 100000 (connections), got 0",
      'config key \'mgmtIdleTimeout\': expected a non-negative integer (ms; 0: never), got "x"',
    ]);
  });

  it('limits on a udp server entry are warned about and ignored', () => {
    const { config, warnings } = validateConfig({ servers: [{ server: 'udp', port: 0, max_connections: 3 }] });
    expect(warnings).toEqual([
      "config keys 'servers[0].max_connections' and 'servers[0].idle_timeout' apply to tcp servers only (ignored)",
    ]);
    expect(config.servers[0]!.maxConnections).toBe(1000); // the default, not the entry's 3 (a udp server has no connections)
  });

  it('admin limits', () => {
    const { config } = validateConfig({ mgmtMaxConnections: 4, mgmtIdleTimeout: 0 });
    expect(config.mgmtMaxConnections).toBe(4);
    expect(config.mgmtIdleTimeout).toBe(0);
  });
});
