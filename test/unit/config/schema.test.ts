/**
 * The config schema (src/config/schema.ts): the loaded config has every default applied, the
 * schema's defaults are the ones applied, and what a reload rebuilds follows each key's declared
 * reload effect.
 */
import { describe, expect, it } from 'vitest';
import { PROMETHEUS_SECTION } from '../../../src/backends/prometheus/config.js';
import { buildConfig, validateConfig } from '../../../src/config/index.js';
import { backendsNeedRebuild, CORE_SECTION, changedBackendKeys, SECTIONS, type SectionSchema } from '../../../src/config/schema.js';
import type { TallydConfig } from '../../../src/config/types.js';

const env = { env: {}, hostname: 'h' };
const load = (raw: Record<string, unknown>): TallydConfig => buildConfig(raw, {}, undefined, env).config;

/** Fields whose unset value means "none" (no Graphite host, no token, every timer metric...), not a missing default. */
const UNSET_MEANS_NONE = new Set([
  'graphite.host',
  'keyFlush.log',
  'statusPage.token',
  'prometheus.mappingFile',
  'calculatedTimerMetrics',
  'configFile',
  'log.syslog.socket',
  'log.syslog.dgram',
]);

function undefinedPaths(value: unknown, path: string, out: string[]): string[] {
  if (value === undefined || value === null) {
    if (!UNSET_MEANS_NONE.has(path)) out.push(path);
    return out;
  }
  if (typeof value === 'object' && !Array.isArray(value) && path !== 'raw') {
    for (const [k, v] of Object.entries(value)) undefinedPaths(v, path === '' ? k : `${path}.${k}`, out);
  }
  return out;
}

describe('the loaded config', () => {
  it('has no field left for a consumer to default (an empty config, and one with tcp servers)', () => {
    expect(undefinedPaths(validateConfig({}).config, '', [])).toEqual([]);
    const c = validateConfig({
      servers: [
        { server: 'tcp', port: 0 },
        { server: 'udp', port: 0 },
      ],
    }).config;
    expect(undefinedPaths(c, '', [])).toEqual([]);
    expect(c.servers[0]).toMatchObject({ maxConnections: 1000, idleTimeoutMs: 300_000 });
  });

  it("has every field the schema maps a key to, holding the schema's default", () => {
    const config = validateConfig({}).config as unknown as Record<string, unknown>;
    const at = (path: string): unknown => path.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], config);
    const checked: string[] = [];
    const sectionFields: Array<[SectionSchema, string]> = [];
    for (const k of CORE_SECTION.keys) {
      if (k.field === undefined) continue;
      expect(at(k.field) !== undefined || UNSET_MEANS_NONE.has(k.field), k.key).toBe(true);
      if (k.def !== undefined) {
        expect(at(k.field), k.key).toEqual(k.def);
        checked.push(k.key);
      }
      if (k.check.kind === 'section') sectionFields.push([k.check.section, k.field]);
    }
    for (const [section, field] of sectionFields) {
      for (const k of section.keys) {
        if (k.def === undefined) continue;
        expect(at(`${field}.${k.field ?? k.key}`), section.prefix + k.key).toEqual(k.def);
        checked.push(section.prefix + k.key);
      }
    }
    // the prometheus backend's section, read into config.prometheus whether or not the backend is on
    for (const k of PROMETHEUS_SECTION.keys) {
      if (k.def === undefined) continue;
      expect(at(`prometheus.${k.field ?? k.key}`), `prometheus.${k.key}`).toEqual(k.def);
      checked.push(`prometheus.${k.key}`);
    }
    expect(checked.length).toBeGreaterThan(50);
  });

  it('every key of every section declares a type, a meaning and a reload effect', () => {
    for (const s of SECTIONS) {
      for (const k of s.keys) {
        expect(k.type, s.prefix + k.key).not.toBe('');
        expect(k.doc, s.prefix + k.key).not.toBe('');
        expect(['none', 'pipeline', 'backends', 'restart'], s.prefix + k.key).toContain(k.reload);
        expect(
          k.def !== undefined || k.defaultDoc !== undefined || k.check.kind === 'optStr',
          `${s.prefix}${k.key}: a default for the reference`,
        ).toBe(true);
      }
    }
  });
});

describe('backendsNeedRebuild: what a reload rebuilds follows the schema', () => {
  const base = { backends: ['graphite', 'prometheus'], graphiteHost: '127.0.0.1', graphitePort: 2003, prometheus: { port: 9102 } };
  const prev = load(base);

  it.each([
    ['maxKeys', { maxKeys: 10 }],
    ['statusPage', { statusPage: { enabled: false } }],
    ['reservoirSize', { reservoirSize: 64 }],
    ['log', { log: { application: 'x' } }],
    ['servers (port)', { port: 9999 }],
    ['mgmt_port', { mgmt_port: 1 }],
    ['keyFlush', { keyFlush: { interval: 1000 } }],
    ['workers', { workers: 2 }],
    ['logLevel', { logLevel: 'warn' }],
    ['tcpMaxConnections', { tcpMaxConnections: 5 }],
  ])('a change of %s alone keeps the backends', (_name, change) => {
    expect(changedBackendKeys(prev, load({ ...base, ...change }))).toEqual([]);
    expect(backendsNeedRebuild(prev, load({ ...base, ...change }))).toBe(false);
  });

  it.each([
    ['graphiteHost', { graphiteHost: 'localhost' }, 'graphiteHost'],
    ['graphitePort', { graphitePort: 2103 }, 'graphitePort'],
    ['graphite section', { graphite: { globalPrefix: 'x' } }, 'graphite'],
    ['prometheus section', { prometheus: { port: 9200 } }, 'prometheus'],
    ['prefixStats', { prefixStats: 'tallyd' }, 'prefixStats'],
    ['flushInterval', { flushInterval: 2000 }, 'flushInterval'],
    ['backends', { backends: ['graphite', 'prometheus', 'console'] }, 'backends'],
    ["an npm backend's section (a key the schema does not know)", { influxdb: { host: 'i' } }, 'influxdb'],
  ])('a change of %s rebuilds them', (_name, change, key) => {
    expect(changedBackendKeys(prev, load({ ...base, ...change }))).toContain(key);
    expect(backendsNeedRebuild(prev, load({ ...base, ...change }))).toBe(true);
  });

  it('an identical config rebuilds nothing; a typed field changed without its raw key (a test config) still counts', () => {
    expect(backendsNeedRebuild(prev, load(base))).toBe(false);
    const fewerBackends: TallydConfig = { ...prev, backends: ['graphite'] };
    const fewerKeys: TallydConfig = { ...prev, maxKeys: 5 };
    expect(backendsNeedRebuild(prev, fewerBackends)).toBe(true);
    expect(backendsNeedRebuild(prev, fewerKeys)).toBe(false);
  });
});
