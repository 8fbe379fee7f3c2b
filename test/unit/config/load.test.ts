import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildConfig,
  describeConfig,
  EMBEDDED_DEFAULT_CONFIG,
  expandPlaceholders,
  parseConfigText,
  readConfigFile,
  writeConfigLines,
} from '../../../src/config/index.js';
import { ConfigError, ERROR_CODES } from '../../../src/errors.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/config');
const CONFIG_DIR = join(import.meta.dirname, '../../../config');
const fixture = (name: string): string => join(FIXTURES, name);

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('readConfigFile', () => {
  it("parses the original's exampleConfig style (comments, leading commas, unquoted keys, single quotes)", () => {
    const raw = readConfigFile(fixture('original-style.js'));
    expect(raw).toEqual({
      graphitePort: 2003,
      graphiteHost: 'graphite.example.com',
      port: 8125,
      mgmt_port: 8126,
      flushInterval: 5000,
      percentThreshold: [90, 99.9, -10],
      deleteIdleStats: true,
      deleteGauges: false,
      backends: ['./backends/graphite', './backends/console'],
      graphite: { legacyNamespace: false, globalPrefix: 'prod', globalSuffix: 'web01' },
      histogram: [
        { metric: 'render', bins: [0.01, 0.1, 1, 10, 'inf'] },
        { metric: '', bins: [] },
      ],
      console: { prettyprint: false },
    });
  });

  it('parses JSON', () => {
    expect(readConfigFile(fixture('plain.json'))).toEqual({
      port: 9125,
      address: '127.0.0.1',
      mgmt_port: 9126,
      flushInterval: 1000,
      percentThreshold: 95,
      backends: ['console'],
      prometheus: { port: 9102 },
    });
  });

  it('accepts a trailing semicolon (the original evals `config = <file>`)', () => {
    expect(readConfigFile(fixture('trailing-semicolon.js'))).toEqual({ port: 8125, backends: ['./backends/console'] });
  });

  it('reports a syntax error with file, line and column', () => {
    const err = configErrorOf(() => readConfigFile(fixture('syntax-error.js')));
    expect(err.code).toBe(ERROR_CODES.CONFIG);
    expect(err.message).toMatch(/syntax-error\.js:4:3: syntax error: invalid character 'm'/);
    expect(err.message).not.toMatch(/allow-js-config/);
  });

  it('says a file with code needs --allow-js-config, and does not run it', () => {
    const err = configErrorOf(() => readConfigFile(fixture('with-code.js')));
    expect(err.message).toMatch(/with-code\.js:4:19/);
    expect(err.message).toMatch(/seems to contain code/);
    expect(err.message).toMatch(/--allow-js-config/);
    expect(err.message).toMatch(/\$\{HOSTNAME_SHORT\}/);
  });

  it('evaluates a file with code when allowJs is on, with require limited to os', async () => {
    const os = await import('node:os');
    const raw = readConfigFile(fixture('with-code.js'), { allowJs: true });
    expect(raw).toEqual({ graphiteHost: '127.0.0.1', graphite: { globalSuffix: os.hostname().split('.')[0] } });
    // plain data, not objects of the vm's realm
    expect(Object.getPrototypeOf(raw)).toBe(Object.prototype);

    const err = configErrorOf(() => parseConfigText("{ a: require('fs').readFileSync('/etc/passwd') }", 'x.js', { allowJs: true }));
    expect(err.message).toMatch(/x\.js: evaluating the config file failed: require\('fs'\) is not available/);
    const fnErr = configErrorOf(() => parseConfigText('{ a: { b: function () {} } }', 'f.js', { allowJs: true }));
    expect(fnErr.message).toContain("config key 'a.b': a function is not a config value");
    const loop = configErrorOf(() => parseConfigText('(function () { while (true) {} })()', 'loop.js', { allowJs: true }));
    expect(loop.message).toMatch(/loop\.js: evaluating the config file failed/);
  });

  it('rejects a top level that is not an object, and a missing file', () => {
    expect(configErrorOf(() => readConfigFile(fixture('not-object.json'))).message).toMatch(/expected an object literal.*got a list/);
    expect(configErrorOf(() => readConfigFile(fixture('does-not-exist.js'))).message).toMatch(
      /cannot read config file .*does-not-exist\.js: ENOENT/,
    );
  });

  it('config/default.js holds the same content as EMBEDDED_DEFAULT_CONFIG', () => {
    expect(readConfigFile(join(CONFIG_DIR, 'default.js'))).toEqual(EMBEDDED_DEFAULT_CONFIG);
    expect(Object.isFrozen(EMBEDDED_DEFAULT_CONFIG)).toBe(true);
  });

  it('the embedded default makes UDP 8125 on 0.0.0.0, admin on 127.0.0.1:8126, console, 10 s', () => {
    const { config, warnings } = buildConfig(structuredClone(EMBEDDED_DEFAULT_CONFIG));
    expect(warnings).toEqual([]);
    expect(config.servers).toEqual([
      {
        server: 'udp',
        address: '0.0.0.0',
        port: 8125,
        addressIpv6: false,
        recvBufferBytes: 33554432,
        maxLineLength: 65536,
        maxConnections: 1000,
        idleTimeoutMs: 300000,
      },
    ]);
    expect([config.mgmtAddress, config.mgmtPort, config.flushInterval]).toEqual(['127.0.0.1', 8126, 10000]);
    expect(config.backends).toEqual(['console']);
    expect(config.configFile).toBeUndefined();
  });

  it('config/example.js and config/example.json load and validate without warnings', () => {
    const ctx = { env: {}, hostname: 'web01.example.com' };
    for (const name of ['example.js', 'example.json']) {
      const file = join(CONFIG_DIR, name);
      const { config, warnings } = buildConfig(readConfigFile(file), {}, file, ctx);
      expect(warnings, name).toEqual([]);
      expect(config.graphite.globalSuffix, name).toBe('web01');
      expect(config.configFile).toBe(file);
    }
  });
});

describe('placeholders', () => {
  const ctx = { env: { TALLYD_TEST_GRAPHITE_HOST: 'carbon.internal', TALLYD_TEST_MGMT_PORT: '9999' }, hostname: 'web01.dc1.example.com' };

  it('expands ${HOSTNAME}, ${HOSTNAME_SHORT}, ${ENV:NAME} and $${ at load time', () => {
    const raw = readConfigFile(fixture('placeholders.js'));
    const { config } = buildConfig(raw, {}, 'placeholders.js', ctx);
    expect(config.graphite.host).toBe('carbon.internal');
    expect(config.mgmtPort).toBe(9999); // a whole-value placeholder may stand for a number
    expect(config.graphite.globalSuffix).toBe('web01');
    expect(config.graphite.globalPrefix).toBe('stats.web01.dc1.example.com');
    expect(config.raw.title).toBe('costs ${HOSTNAME}');
    expect(config.raw.graphiteHost).toBe('carbon.internal');
    // the input is not modified
    expect(raw.graphiteHost).toBe('${ENV:TALLYD_TEST_GRAPHITE_HOST}');
  });

  it('a missing environment variable is a config error naming the key', () => {
    const err = configErrorOf(() => buildConfig(readConfigFile(fixture('placeholders.js')), {}, undefined, { env: {}, hostname: 'h' }));
    expect(err.problems).toEqual([
      "config key 'graphiteHost': environment variable 'TALLYD_TEST_GRAPHITE_HOST' is not set (placeholder ${ENV:TALLYD_TEST_GRAPHITE_HOST})",
      "config key 'mgmt_port': environment variable 'TALLYD_TEST_MGMT_PORT' is not set (placeholder ${ENV:TALLYD_TEST_MGMT_PORT})",
    ]);
  });

  it('an unknown placeholder is a warning and left as written; a short host name stays whole', () => {
    const problems: string[] = [];
    const warnings: string[] = [];
    const out = expandPlaceholders({ a: ['x${NOPE}', '${HOSTNAME_SHORT}'] }, { env: {}, hostname: 'solo' }, problems, warnings);
    expect(out).toEqual({ a: ['x${NOPE}', 'solo'] });
    expect(problems).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^config key 'a\[0\]': unknown placeholder \$\{NOPE\}/);
  });

  it('reads process.env by default', () => {
    process.env.TALLYD_TEST_PREFIX = 'fromenv';
    try {
      const { config } = buildConfig({ prefixStats: '${ENV:TALLYD_TEST_PREFIX}' });
      expect(config.prefixStats).toBe('fromenv');
    } finally {
      delete process.env.TALLYD_TEST_PREFIX;
    }
  });
});

describe('overrides', () => {
  it('replace the matching keys', () => {
    const { config } = buildConfig(
      { port: 8125, backends: ['./backends/console'], flushInterval: 10000 },
      { port: 0, address: '127.0.0.1', mgmtPort: 0, mgmtAddress: '::1', flushInterval: 250, logLevel: 'warn', reservoirSize: 64 },
    );
    expect(config.servers[0]).toMatchObject({ server: 'udp', port: 0, address: '127.0.0.1' });
    expect([config.mgmtPort, config.mgmtAddress, config.flushInterval, config.logLevel, config.reservoirSize]).toEqual([
      0,
      '::1',
      250,
      'warn',
      64,
    ]);
    expect(config.raw.flushInterval).toBe(250); // the admin `config` command shows effective values
  });

  it('--graphite sets host and port and adds the graphite backend; --backend replaces backends', () => {
    const a = buildConfig({ backends: ['./backends/console'] }, { graphiteHost: 'carbon', graphitePort: 2103 }).config;
    expect([a.graphite.host, a.graphite.port, a.backends]).toEqual(['carbon', 2103, ['console', 'graphite']]);
    const b = buildConfig({}, { graphiteHost: 'carbon' }).config;
    expect([b.graphite.port, b.backends]).toEqual([2003, ['graphite']]);
    const c = buildConfig(
      { backends: ['./backends/graphite'], graphiteHost: 'x' },
      { backends: ['./backends/console', 'prometheus'] },
    ).config;
    expect(c.backends).toEqual(['console', 'prometheus']);
  });

  it('--port applies to the first udp server when the config lists servers', () => {
    const raw = {
      servers: [
        { server: './servers/tcp', port: 8125 },
        { server: './servers/udp', port: 8125 },
      ],
    };
    const { config } = buildConfig(raw, { port: 0 });
    expect(config.servers.map((s) => [s.server, s.port])).toEqual([
      ['tcp', 8125],
      ['udp', 0],
    ]);
    expect(raw.servers[1]!.port).toBe(8125);
    const err = configErrorOf(() => buildConfig({ servers: [{ server: 'tcp' }] }, { port: 1 }));
    expect(err.message).toMatch(/--port\/--address: .* no udp server/);
  });
});

describe('describeConfig', () => {
  it('prints the effective config as JSON with inf bins and backend sections', () => {
    const { config } = buildConfig(
      {
        histogram: [{ metric: 'a', bins: [1, 'inf'] }],
        backends: ['prometheus'],
        prometheus: { port: 9102 },
      },
      {},
      '/etc/tallyd.js',
    );
    const parsed = JSON.parse(describeConfig(config)) as Record<string, unknown>;
    expect(parsed.histogram).toEqual([{ metric: 'a', bins: [1, 'inf'] }]);
    expect(parsed.sections).toEqual({ prometheus: { port: 9102 } });
    expect(parsed.configFile).toBe('/etc/tallyd.js');
    expect(parsed.flushInterval).toBe(10000);
    expect((parsed.graphite as Record<string, unknown>).host).toBeNull();
    expect(parsed.raw).toBeUndefined();
  });
});

describe('writeConfigLines (the admin `config` command)', () => {
  it('writes the original helpers.writeConfig format', () => {
    const text = writeConfigLines({
      port: 8125,
      graphiteHost: 'g',
      debug: false,
      percentThreshold: [90, 99],
      graphite: { legacyNamespace: false, globalPrefix: 'stats', nested: { a: 1 } },
      nothing: null,
      backends: ['./backends/graphite'],
    });
    expect(text).toBe(
      '\nport: 8125\ngraphiteHost: g\ndebug: false\n' +
        'percentThreshold > 0: 90\npercentThreshold > 1: 99\n' +
        'graphite > legacyNamespace: false\ngraphite > globalPrefix: stats\ngraphite > nested: [object Object]\n' +
        'backends > 0: ./backends/graphite\n',
    );
  });
});

describe('files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a BOM and CRLF line ends are fine', () => {
    const file = join(dir, 'bom.js');
    writeFileSync(file, '\uFEFF{\r\n  port: 8125 // c\r\n, flushInterval: 500\r\n}\r\n');
    expect(readConfigFile(file)).toEqual({ port: 8125, flushInterval: 500 });
  });
});
