/**
 * `tallyd proxy --check-config` prints the effective proxy config in the file's own key names: written
 * back as a proxy config, it loads as the same configuration, with no unknown keys.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfigFile } from '../../../src/config/load.js';
import { describeEffectiveProxyConfig, validateProxyConfig } from '../../../src/proxy/config.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);

function roundTrip(raw: Record<string, unknown>): void {
  const first = validateProxyConfig(raw, undefined);
  const printed = describeEffectiveProxyConfig(first.config);
  const again = validateProxyConfig(JSON.parse(printed) as Record<string, unknown>, undefined);
  expect(again.warnings).toEqual([]);
  const { raw: _a, configFile: _b, ...a } = first.config;
  const { raw: _c, configFile: _d, ...b } = again.config;
  expect(b).toEqual(a);
  expect(describeEffectiveProxyConfig(again.config)).toBe(printed);
}

describe('the effective proxy config', () => {
  it("round-trips the original's exampleProxyConfig.js and tallyd's config/cluster/proxy.js", () => {
    roundTrip(readConfigFile(join(dirname(require.resolve('statsd/package.json')), 'exampleProxyConfig.js')));
    roundTrip(readConfigFile(join(ROOT, 'config', 'cluster', 'proxy.js'), { allowJs: true }));
  });

  it('round-trips a config with every key away from its default, in file names only', () => {
    const raw = {
      nodes: [{ host: '10.0.0.1', port: 9000, adminport: 9001 }],
      server: './servers/tcp',
      host: '::1',
      port: 9125,
      address_ipv6: true,
      udp_version: 'udp6',
      mgmt_address: '0.0.0.0',
      mgmt_port: 9126,
      checkInterval: 500,
      cacheSize: 77,
      forkCount: 'auto',
      mtu: 512,
      flushInterval: 5000,
      flushAlignment: 'clock',
      logLevel: 'warn',
      udpRecvBuffer: 1 << 20,
      udpReader: 'dgram',
      tcpMaxLineLength: 4096,
      title: 'myproxy',
    };
    roundTrip(raw);
    const printed = describeEffectiveProxyConfig(validateProxyConfig(raw, undefined).config);
    for (const internal of ['mgmtPort', 'udpVersion', 'recvBufferBytes', 'addressIpv6', '"id"']) expect(printed).not.toContain(internal);
    expect(JSON.parse(printed)).toMatchObject({ address: '::1', server: './servers/tcp', mgmt_port: 9126, title: 'myproxy' });
  });
});
