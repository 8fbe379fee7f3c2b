/**
 * --check-config's output (src/config/effective.ts): the effective configuration in the config file's
 * own key names. The property: the printed JSON, written back as a config file and loaded, gives the
 * same configuration, with no unknown-key warning (and no warning the source did not have).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildConfig,
  describeEffectiveConfig,
  effectiveConfigObject,
  parseConfigText,
  readConfigFile,
  SECTIONS,
  type SectionSchema,
} from '../../../src/config/index.js';
import { CORE_SECTION, type KeySchema } from '../../../src/config/schema.js';
import type { TallydConfig } from '../../../src/config/types.js';

const CONFIG_DIR = join(import.meta.dirname, '../../../config');
const FIXTURES = join(import.meta.dirname, '../../fixtures/config');
const TOKEN = 'a-status-page-token-0123456789';
const ctx = {
  env: { TALLYD_STATUS_TOKEN: TOKEN, TALLYD_PORT: '8137', TALLYD_MGMT_PORT: '8138', TALLYD_NAME: 'agg1' },
  hostname: 'h.example',
};

const dir = mkdtempSync(join(tmpdir(), 'tallyd-effective-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// a server module of the original's interface (resolved when the config is read)
writeFileSync(join(dir, 'my-server.cjs'), 'exports.start = (config, cb) => true;\n');

/** TallydConfig without what the printed file cannot give back the same: where it was read from, the file as written, the token (hidden). */
function comparable(config: TallydConfig): unknown {
  const strip = (value: unknown, path: string): unknown => {
    if (value === config.raw) return '(the whole file)'; // a top-level server module's config
    if (Array.isArray(value)) return value.map((v: unknown, i) => strip(v, `${path}[${i}]`));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = path === '' ? k : `${path}.${k}`;
      // statusPage.portConfigured: the printed file always names the port (see effective.ts)
      if (p === 'configFile' || p === 'raw' || p === 'statusPage.token' || p === 'statusPage.portConfigured') continue;
      out[k] = strip(v, p);
    }
    return out;
  };
  return strip(config, '');
}

/** Print `raw`'s config, write it back as a file, load that; both loads and their warnings. */
function roundTrip(raw: Record<string, unknown>, file = join(dir, 'source.js')) {
  const first = buildConfig(raw, {}, file, ctx);
  const text = describeEffectiveConfig(first.config);
  const printed = parseConfigText(text, 'printed') as Record<string, unknown>;
  const page = printed.statusPage as Record<string, unknown> | undefined;
  if (first.config.statusPage.token !== undefined) {
    expect(page?.token).toBe('(set)');
    page!.token = first.config.statusPage.token;
  } else {
    expect(page?.token).toBeNull();
  }
  const second = buildConfig(printed, {}, file, ctx);
  return { first, second, text, printed };
}

function expectSameConfig(
  raw: Record<string, unknown>,
  file?: string,
): { text: string; printed: Record<string, unknown>; warnings: string[] } {
  const { first, second, text, printed } = roundTrip(raw, file);
  expect(comparable(second.config)).toEqual(comparable(first.config));
  expect(second.config.statusPage.token).toBe(first.config.statusPage.token);
  // no unknown-key warning the source did not have (a top-level server module's own keys are unknown to tallyd in both)
  const unknownKeys = (ws: string[]): string[] => ws.filter((w) => w.startsWith('unknown config key'));
  expect(unknownKeys(second.warnings)).toEqual(unknownKeys(first.warnings));
  for (const w of second.warnings) expect(first.warnings).toContain(w);
  return { text, printed, warnings: second.warnings };
}

/** A value other than the key's default that its check accepts (for keys read generically). */
function otherValue(k: KeySchema): unknown {
  const c = k.check;
  switch (c.kind) {
    case 'bool':
      return !(k.def as boolean);
    case 'int':
      return (k.def as number) + 1 <= c.max ? (k.def as number) + 1 : c.min;
    case 'port':
      return 1234;
    case 'str':
      return `${String(k.def)}x`;
    case 'optStr':
      return 'set';
    case 'oneOf':
      return c.values.find((v) => v !== k.def);
    default:
      return undefined;
  }
}

/** Every generically read key of a section set to a non-default value, from the schema: a key added later is covered too. */
function everyKey(section: SectionSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of section.keys) {
    const v = otherValue(k);
    if (v !== undefined) out[k.key] = v;
  }
  return out;
}

const section = (prefix: string): SectionSchema => SECTIONS.find((s) => s.prefix === prefix)!;

describe('--check-config prints the config in its file key names, and that file loads as the same config', () => {
  it.each([
    ['config/example.js', join(CONFIG_DIR, 'example.js')],
    ['config/example.json', join(CONFIG_DIR, 'example.json')],
    ['config/default.js', join(CONFIG_DIR, 'default.js')],
    ['config/docker.js (a status page token)', join(CONFIG_DIR, 'docker.js')],
    ['config/cluster/aggregator.js (placeholders)', join(CONFIG_DIR, 'cluster', 'aggregator.js')],
    ['a servers fixture (udp, tcp over IPv6, a Unix socket)', join(FIXTURES, 'servers.js')],
  ])('%s', (_name, file) => {
    const { warnings } = expectSameConfig(readConfigFile(file), file);
    expect(warnings.filter((w) => w.startsWith('unknown config key'))).toEqual([]);
  });

  it('the empty config (every default)', () => {
    const { printed } = expectSameConfig({});
    expect(printed.mgmt_port).toBe(8126);
    expect(printed.servers).toEqual([{ server: 'udp', address: '0.0.0.0', port: 8125, address_ipv6: false }]);
    // a built-in backend's own key is left out while that backend is off and the key holds its default
    expect(printed).not.toHaveProperty('prometheus');
    expect(printed).not.toHaveProperty('graphite');
    expect(printed.console).toEqual({ prettyprint: true });
  });

  it('a workers config', () => {
    const { printed } = expectSameConfig({ workers: 4, workerPacketForwardBytes: 0, udpReader: 'dgram', flushAlignment: 'clock' });
    expect(printed.workers).toBe(4);
  });

  it('a pickle and tcp repeater config', () => {
    const { printed } = expectSameConfig({
      backends: ['./backends/graphite', 'repeater'],
      graphiteHost: 'carbon.example',
      graphiteProtocol: 'pickle',
      graphitePicklePort: 2104,
      graphite: { legacyNamespace: false, globalSuffix: '${HOSTNAME_SHORT}', queueBytes: 1024 },
      repeater: [
        { host: '10.0.0.1', port: 8125 },
        { host: '10.0.0.2', port: '8126' },
      ],
      repeaterProtocol: 'tcp',
      repeaterQueueBytes: 4096,
    });
    expect(printed.graphiteProtocol).toBe('pickle');
    expect((printed.graphite as Record<string, unknown>).globalSuffix).toBe('h');
    expect(printed.repeater).toEqual([
      { host: '10.0.0.1', port: 8125 },
      { host: '10.0.0.2', port: 8126 },
    ]);
  });

  it('tcp servers with their own limits, a top-level tcp server, and server modules', () => {
    expectSameConfig({
      servers: [
        { server: 'tcp', port: 0, max_connections: 5, idle_timeout: 0, socket: join(dir, 's.sock'), socket_mod: 0o640 },
        { server: './servers/udp', port: 0 },
        { server: './my-server.cjs', port: 9, anything: { x: 1 } },
      ],
      tcpMaxConnections: 7,
      tcpIdleTimeout: 1234,
    });
    const { printed } = expectSameConfig({ server: './servers/tcp', port: 0, tcpMaxConnections: 3, tcpMaxLineLength: 100 });
    expect(printed.servers).toEqual([
      {
        server: 'tcp',
        address: '0.0.0.0',
        port: 0,
        address_ipv6: false,
        socket: null,
        socket_mod: null,
        max_connections: 3,
        idle_timeout: 300000,
      },
    ]);
    expect(printed.tcpMaxLineLength).toBe(100);
    // the top-level form of a server module: the whole file is its config, so it stays top-level
    const top = expectSameConfig({ server: './my-server.cjs', port: 4000, moduleKey: 'kept' }).printed;
    expect(top).toMatchObject({ server: './my-server.cjs', port: 4000, moduleKey: 'kept' });
    expect(top).not.toHaveProperty('servers');
    // a module's entry is its own config, as written, secrets hidden
    const module = { server: './my-server.cjs', port: 9, apiKey: 'zzz' };
    const printed2 = effectiveConfigObject(buildConfig({ servers: [module] }, {}, join(dir, 'source.js'), ctx).config);
    expect(printed2.servers).toEqual([{ ...module, apiKey: '(set)' }]);
  });

  it('the input keys folded into each server print as read (numbers, not the strings written)', () => {
    const { printed } = expectSameConfig({ udpRecvBuffer: '65536', tcpMaxConnections: '12', tcpIdleTimeout: '0', tcpMaxLineLength: '512' });
    expect(printed).toMatchObject({ udpRecvBuffer: 65536, tcpMaxConnections: 12, tcpIdleTimeout: 0, tcpMaxLineLength: 512 });
  });

  it('the aggregation keys that are read for others (deleteIdleStats, percentThreshold as a number, inf bins)', () => {
    const all = { deleteCounters: true, deleteTimers: true, deleteGauges: true, deleteSets: true };
    expect(expectSameConfig(all).printed).toMatchObject({ deleteIdleStats: true, ...all });
    expectSameConfig({ deleteIdleStats: true, deleteSets: false, percentThreshold: 95, gaugesMaxTTL: 5 });
    const { text, printed } = expectSameConfig({
      deleteIdleStats: true,
      histogram: [{ metric: '', bins: [1, 10, 'inf'] }],
      calculatedTimerMetrics: ['count', 'mean'],
    });
    expect(printed.deleteIdleStats).toBe(true);
    expect(text).toContain('"inf"');
  });

  it('the prometheus, log, keyFlush, statusPage and a plug-in backend section; secrets are not printed', () => {
    const { text, printed } = expectSameConfig({
      backends: ['prometheus', 'statsd-example-backend'],
      prometheus: {
        port: 0,
        ttl: '90m',
        quantiles: [{ quantile: 0.5, error: 0.05 }, 0.99],
        buckets: [0.1, 1],
        observerType: 'histogram',
        mappingFile: join(CONFIG_DIR, 'mapping.example.yaml'),
      },
      log: { backend: 'syslog', application: 'tallyd', level: 'LOG_WARNING', syslog: { protocol: 'tcp', port: 601 } },
      keyFlush: { interval: 60000, percent: 10, log: '/tmp/keys.log' },
      statusPage: { address: '0.0.0.0', port: 0, token: TOKEN },
      title: false,
      example: { host: 'db', password: 'hunter2', nested: { apiKey: 'k' } },
    });
    expect(printed.logLevel).toBe('warn');
    expect((printed.prometheus as Record<string, unknown>).ttl).toBe(5400);
    expect(printed.example).toEqual({ host: 'db', password: '(set)', nested: { apiKey: '(set)' } });
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('hunter2');
    expectSameConfig({ backends: ['prometheus'], prometheus: { ttl: '1500ms' } });
  });

  it('every generically read key and section key, each set to a value other than its default', () => {
    const raw: Record<string, unknown> = {
      ...everyKey(CORE_SECTION),
      backends: ['graphite', 'console'],
      graphite: everyKey(section('graphite.')),
      console: everyKey(section('console.')),
      keyFlush: everyKey(section('keyFlush.')),
      statusPage: { ...everyKey(section('statusPage.')), token: TOKEN },
    };
    expect(Object.keys(raw).length).toBeGreaterThan(30);
    const { printed } = expectSameConfig(raw);
    for (const [key, value] of Object.entries(everyKey(CORE_SECTION))) {
      if (key !== 'graphiteHost') expect(printed[key], key).toEqual(value);
    }
  });

  it('no internal field names', () => {
    const printed = effectiveConfigObject(buildConfig({ servers: [{ server: 'tcp', port: 0 }] }, {}, undefined, ctx).config);
    const names = JSON.stringify(printed);
    for (const internal of [
      'mgmtPort',
      'mgmtAddress',
      'recvBufferBytes',
      'maxLineLength',
      'flushCounts',
      'ttlMs',
      'portConfigured',
      'configFile',
    ]) {
      expect(names).not.toContain(`"${internal}"`);
    }
  });
});
