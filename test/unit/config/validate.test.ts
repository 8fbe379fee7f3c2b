import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, normaliseBackendName, readConfigFile, validateConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/config');

function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('defaults', () => {
  it('every key has its documented default', () => {
    const { config, warnings } = validateConfig({});
    expect(warnings).toEqual([]);
    const { raw, ...rest } = config;
    expect(raw).toEqual({});
    expect(rest).toEqual({
      servers: [
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
      ],
      mgmtMaxConnections: 16,
      mgmtIdleTimeout: 600000,
      mgmtAddress: '127.0.0.1',
      mgmtPort: 8126,
      flushInterval: 10000,
      percentThreshold: [90],
      flushCounts: true,
      deleteCounters: false,
      deleteTimers: false,
      deleteGauges: false,
      deleteSets: false,
      gaugesMaxTTL: 1,
      prefixStats: 'statsd',
      keyNameSanitize: true,
      calculatedTimerMetrics: null,
      histogram: [],
      dumpMessages: false,
      debug: false,
      healthStatus: 'up',
      backends: ['console'],
      graphite: {
        host: undefined,
        port: 2003,
        legacyNamespace: true,
        globalPrefix: 'stats',
        prefixCounter: 'counters',
        prefixTimer: 'timers',
        prefixGauge: 'gauges',
        prefixSet: 'sets',
        globalSuffix: '',
        timeoutMs: 5000,
        queueBytes: 67108864,
        protocol: 'text',
        picklePort: 2004,
      },
      console: { prettyprint: true },
      repeater: [],
      repeaterProtocol: 'udp4',
      repeaterQueueBytes: 16777216,
      keyFlush: { interval: 0, percent: 100, log: undefined },
      reservoirSize: 1024,
      logLevel: 'info',
      log: { backend: 'stdout', application: 'statsd', syslog: { protocol: 'udp', host: '127.0.0.1', port: 514 } },
      title: 'tallyd',
      automaticConfigReload: true,
      workers: 1,
      workerPacketForwardBytes: 4194304,
      udpReader: 'native',
      flushAlignment: 'startup',
      stopDrainMs: 5000,
      dogstatsdContainerIdTag: false,
      maxKeys: 2000000,
      idleKeyTtl: 0,
      maxKeyLength: 2048,
      keyTableBytes: 1073741824,
      setMaxMembers: 100000,
      timerHistogram: true,
      timerHistogramMaxBuckets: 2048,
      prometheus: {
        address: '127.0.0.1',
        port: 9102,
        path: '/metrics',
        mappingFile: undefined,
        ttlMs: 3600000,
        quantiles: [0.5, 0.9, 0.99],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        observerType: 'summary',
        maxExpositionBytes: 134217728,
      },
      statusPage: { enabled: true, address: '127.0.0.1', port: 8127, portConfigured: false, token: undefined },
      configFile: undefined,
    });
  });

  it('null means unset, as `config.x || default` does in the original', () => {
    const { config } = validateConfig({ port: null, flushInterval: null, graphiteHost: null });
    expect([config.servers[0]!.port, config.flushInterval, config.graphite.host]).toEqual([8125, 10000, undefined]);
  });

  it('backends default to graphite when graphiteHost is set', () => {
    expect(validateConfig({ graphiteHost: 'carbon' }).config.backends).toEqual(['graphite']);
    expect(validateConfig({ graphiteHost: '' }).config.backends).toEqual(['console']);
  });

  it('the result is deep-frozen, raw included', () => {
    const { config } = validateConfig({ graphite: { globalPrefix: 'x' }, percentThreshold: [90] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.servers[0])).toBe(true);
    expect(Object.isFrozen(config.graphite)).toBe(true);
    expect(Object.isFrozen(config.percentThreshold)).toBe(true);
    expect(Object.isFrozen(config.raw.graphite)).toBe(true);
    expect(() => {
      (config as { flushInterval: number }).flushInterval = 1;
    }).toThrow(TypeError);
  });
});

describe('original-style file end to end', () => {
  it('reads every value of the exampleConfig-style fixture', () => {
    const file = join(FIXTURES, 'original-style.js');
    const { config, warnings } = buildConfig(readConfigFile(file), {}, file);
    expect(warnings).toEqual([]);
    expect(config.graphite).toMatchObject({
      host: 'graphite.example.com',
      port: 2003,
      legacyNamespace: false,
      globalPrefix: 'prod',
      globalSuffix: 'web01',
    });
    expect(config.percentThreshold).toEqual([90, 99.9, -10]);
    expect(config.flushInterval).toBe(5000);
    expect(config.backends).toEqual(['graphite', 'console']);
    expect(config.histogram).toEqual([
      { metric: 'render', bins: [0.01, 0.1, 1, 10, Infinity] },
      { metric: '', bins: [] },
    ]);
    expect(config.console.prettyprint).toBe(false);
    // deleteIdleStats: true, deleteGauges: false overrides one of the four
    expect([config.deleteCounters, config.deleteTimers, config.deleteGauges, config.deleteSets]).toEqual([true, true, false, true]);
  });
});

describe('deleteIdleStats and gaugesMaxTTL', () => {
  it('deleteIdleStats sets the default of the four delete* keys', () => {
    const on = validateConfig({ deleteIdleStats: true }).config;
    expect([on.deleteCounters, on.deleteTimers, on.deleteGauges, on.deleteSets]).toEqual([true, true, true, true]);
    const mixed = validateConfig({ deleteIdleStats: true, deleteTimers: false, deleteSets: false }).config;
    expect([mixed.deleteCounters, mixed.deleteTimers, mixed.deleteGauges, mixed.deleteSets]).toEqual([true, false, true, false]);
    const off = validateConfig({ deleteIdleStats: false, deleteCounters: true }).config;
    expect([off.deleteCounters, off.deleteTimers, off.deleteGauges, off.deleteSets]).toEqual([true, false, false, false]);
  });

  it.each([
    [undefined, 1, false],
    [1, 1, false],
    [5, 5, false],
    [0, 1, true],
    [-3, 1, true],
    [2.5, 1, true],
    ['10', 1, true],
  ])('gaugesMaxTTL %j → %d (warning: %s)', (value, expected, warned) => {
    const { config, warnings } = validateConfig(value === undefined ? {} : { gaugesMaxTTL: value });
    expect(config.gaugesMaxTTL).toBe(expected);
    expect(warnings.some((w) => w.includes("'gaugesMaxTTL'"))).toBe(warned);
  });
});

describe('servers', () => {
  it('without servers, top-level port/address/address_ipv6 make one UDP server', () => {
    const { config } = validateConfig({ port: 9000, address: '::1', address_ipv6: true, udpRecvBuffer: 4096 });
    expect(config.servers).toEqual([
      {
        server: 'udp',
        address: '::1',
        port: 9000,
        addressIpv6: true,
        recvBufferBytes: 4096,
        maxLineLength: 65536,
        maxConnections: 1000,
        idleTimeoutMs: 300000,
      },
    ]);
    expect(validateConfig({ address_ipv6: true }).config.servers[0]!.address).toBe('::');
  });

  it('servers replaces the top-level keys (with a warning) and normalises server names', () => {
    const { config, warnings } = buildConfig(readConfigFile(join(FIXTURES, 'servers.js')));
    expect(config.servers).toEqual([
      {
        server: 'udp',
        address: '0.0.0.0',
        port: 8125,
        addressIpv6: false,
        recvBufferBytes: 1048576,
        maxLineLength: 4096,
        maxConnections: 1000,
        idleTimeoutMs: 300000,
      },
      {
        server: 'tcp',
        address: '::',
        port: 8125,
        addressIpv6: true,
        recvBufferBytes: 1048576,
        maxLineLength: 4096,
        maxConnections: 1000,
        idleTimeoutMs: 300000,
      },
      {
        server: 'tcp',
        address: '0.0.0.0',
        port: 8125,
        addressIpv6: false,
        socket: '/tmp/tallyd.sock',
        socketMod: 0o660,
        recvBufferBytes: 1048576,
        maxLineLength: 4096,
        maxConnections: 1000,
        idleTimeoutMs: 300000,
      },
    ]);
    expect(warnings).toEqual(["config key 'port' is ignored because 'servers' is set"]);
  });

  it('reports bad server entries with their index', () => {
    expect(problemsOf({ servers: [{ server: 'quic' }, 'udp', { port: 70000, socket_mod: 'rw' }] })).toEqual([
      // any other name is a server module (the original's require(name)): here one that is not found
      expect.stringMatching(/^config key 'servers\[0\]\.server': server module "quic": not found \(looked in config file directory/),
      'config key \'servers[1]\': expected an object like { server: "./servers/udp", port: 8125 }, got "udp"',
      "config key 'servers[2].port': expected a port number (0..65535), got 70000",
      "config key 'servers[2].socket_mod': expected a file mode (a number such as 0o660, or an octal string such as '660'), got \"rw\"",
    ]);
    expect(problemsOf({ servers: [] })[0]).toMatch(/^config key 'servers': expected a non-empty list/);
  });

  it('socket on a udp server is a warning', () => {
    const { warnings } = validateConfig({ servers: [{ server: 'udp', socket: '/tmp/x' }] });
    expect(warnings[0]).toMatch(/apply to tcp servers only/);
  });
});

describe('backends', () => {
  it.each([
    ['./backends/graphite', 'graphite'],
    ['graphite', 'graphite'],
    ['backends/console.js', 'console'],
    ['./backends/repeater', 'repeater'],
    ['./backends/prometheus', 'prometheus'],
    ['statsd-influxdb-backend', 'statsd-influxdb-backend'],
    ['./backends/custom', './backends/custom'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseBackendName(input)).toBe(expected);
  });

  it('normalises the list, drops duplicates with a warning, keeps other names for the registry', () => {
    const { config, warnings } = validateConfig({
      graphiteHost: 'g',
      backends: ['./backends/graphite', 'graphite', './backends/console', 'statsd-influxdb-backend'],
      influxdb: { host: 'i' },
    });
    expect(config.backends).toEqual(['graphite', 'console', 'statsd-influxdb-backend']);
    expect(warnings).toEqual(["config key 'backends': backend 'graphite' is listed twice (loaded once)"]);
    expect(config.raw.influxdb).toEqual({ host: 'i' });
  });

  it('warns about graphite without graphiteHost and repeater without targets', () => {
    const { warnings } = validateConfig({ backends: ['graphite', 'repeater'] });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/'graphiteHost' is not set/);
    expect(warnings[1]).toMatch(/lists no targets/);
  });

  it('reads the prometheus section with the rest (its problems in the same pass), when the backend is configured', () => {
    expect(problemsOf({ backends: ['prometheus'], prometheus: { anything: [1, 2], port: 'x' }, flushInterval: 0 })).toEqual([
      "config key 'flushInterval': expected a positive integer (ms), got 0",
      "config key 'prometheus.anything': unknown key (known: address, port, path, mappingFile, ttl, quantiles, buckets, observerType, maxExpositionBytes)",
      'config key \'prometheus.port\': expected an integer from 0 to 65535, got "x"',
    ]);
    const { config, warnings } = validateConfig({ backends: ['prometheus'], prometheus: { port: 9200, ttl: '1m' } });
    expect(warnings).toEqual([]);
    expect(config.prometheus).toMatchObject({ address: '127.0.0.1', port: 9200, path: '/metrics', ttlMs: 60_000 });
    // not configured: a problem names the section, its content is not checked
    expect(problemsOf({ prometheus: { port: 'x' } })).toEqual([expect.stringMatching(/^config section 'prometheus' is set but/)]);
  });
});

describe('other keys', () => {
  it('reads the less common keys', () => {
    const { config, warnings } = validateConfig({
      percentThreshold: -50,
      calculatedTimerMetrics: ['count', 'upper_percent', 'histogram'],
      backends: ['console', 'repeater'],
      repeater: [{ host: '10.0.0.2', port: 8125 }],
      repeaterProtocol: 'udp6',
      keyFlush: { interval: 60000, percent: 10, log: '/tmp/keys.log' },
      healthStatus: 'down',
      title: false,
      log: { backend: 'stdout', application: 'statsd', level: 'LOG_DEBUG' },
      dumpMessages: true,
      flush_counts: false,
      keyNameSanitize: false,
      automaticConfigReload: false,
      prefixStats: 'tallyd',
      mgmt_address: '0.0.0.0',
      graphitePicklePort: 2004,
      graphiteProtocol: 'text',
    });
    expect(warnings).toEqual([]);
    expect(config.percentThreshold).toEqual([-50]);
    expect(config.calculatedTimerMetrics).toEqual(['count', 'upper_percent', 'histogram']);
    expect(config.repeater).toEqual([{ host: '10.0.0.2', port: 8125 }]);
    expect(config.repeaterProtocol).toBe('udp6');
    expect(config.keyFlush).toEqual({ interval: 60000, percent: 10, log: '/tmp/keys.log' });
    expect(config.healthStatus).toBe('down');
    expect(config.logLevel).toBe('debug');
    expect([config.dumpMessages, config.flushCounts, config.keyNameSanitize, config.automaticConfigReload]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect([config.prefixStats, config.mgmtAddress]).toEqual(['tallyd', '0.0.0.0']);
  });

  it("graphiteProtocol 'pickle' sends to graphitePicklePort (default 2004); 'text' or unset is plaintext", () => {
    expect(validateConfig({ graphiteProtocol: 'pickle' }).config.graphite).toMatchObject({
      protocol: 'pickle',
      picklePort: 2004,
      port: 2003,
    });
    expect(validateConfig({ graphiteProtocol: 'pickle', graphitePicklePort: 2104 }).config.graphite).toMatchObject({
      protocol: 'pickle',
      picklePort: 2104,
    });
    expect(validateConfig({ graphiteProtocol: 'text', graphitePicklePort: 2104 }).config.graphite.protocol).toBe('text');
    expect(validateConfig({}).config.graphite.protocol).toBe('text');
    expect(() => validateConfig({ graphiteProtocol: 'pickle', graphitePicklePort: 0 })).toThrow(/graphitePicklePort/);
  });

  it('log level: logLevel beats log.level beats debug', () => {
    expect(validateConfig({ debug: true }).config.logLevel).toBe('debug');
    expect(validateConfig({ debug: true, log: { level: 'warn' } }).config.logLevel).toBe('warn');
    expect(validateConfig({ debug: true, log: { level: 'warn' }, logLevel: 'error' }).config.logLevel).toBe('error');
    const { config, warnings } = validateConfig({ log: { level: 'chatty', backend: 'syslog', application: 'app' } });
    expect(config.logLevel).toBe('info');
    expect(warnings).toHaveLength(1);
    expect(config.log).toMatchObject({ backend: 'syslog', application: 'app' });
    // the original throws for any other backend
    expect(() => validateConfig({ log: { backend: 'file' } })).toThrow(
      /config key 'log.backend': expected one of 'stdout', 'syslog', got "file"/,
    );
  });

  it('an unknown top-level key is a warning naming it', () => {
    const { config, warnings } = validateConfig({ fooo: 1, backends: ['graphite'], graphiteHost: 'g', graphite: { globalPrefx: 'x' } });
    expect(warnings).toEqual([
      "unknown config key 'graphite.globalPrefx' (ignored; did you mean 'graphite.globalPrefix'?)",
      "unknown config key 'fooo' (ignored)",
    ]);
    expect(config.raw.fooo).toBe(1);
  });

  it.each([
    [{ flushIntreval: 1000 }, "unknown config key 'flushIntreval' (ignored; did you mean 'flushInterval'?)"],
    [{ flushinterval: 1000 }, "unknown config key 'flushinterval' (ignored; did you mean 'flushInterval'?)"],
    [{ mgmtPort: 1 }, "unknown config key 'mgmtPort' (ignored; did you mean 'mgmt_port'?)"],
    [{ deleteIdelStats: true }, "unknown config key 'deleteIdelStats' (ignored; did you mean 'deleteIdleStats'?)"],
    [{ keyFlush: { intervl: 5 } }, "unknown config key 'keyFlush.intervl' (ignored; did you mean 'keyFlush.interval'?)"],
    [{ statusPage: { tokn: 'x'.repeat(16) } }, "unknown config key 'statusPage.tokn' (ignored; did you mean 'statusPage.token'?)"],
    [{ servers: [{ server: 'udp', prot: 1 }] }, "unknown config key 'servers[0].prot' (ignored; did you mean 'servers[0].port'?)"],
    [{ completelyDifferent: 1 }, "unknown config key 'completelyDifferent' (ignored)"],
  ])('did you mean: %j', (raw, warning) => {
    expect(validateConfig(raw as Record<string, unknown>).warnings).toContain(warning);
  });

  it("tallyd's own prometheus section without the backend is a problem naming it (the original's keys stay warnings)", () => {
    expect(() => validateConfig({ prometheus: { port: 0 } })).toThrow(
      "config section 'prometheus' is set but the 'prometheus' backend is not in 'backends': add 'prometheus' to 'backends'",
    );
  });

  it.each([
    [
      { backends: ['console'], graphite: { globalPrefix: 'x' } },
      "config section 'graphite' is set but the 'graphite' backend is not in 'backends'",
    ],
    [{ backends: ['console'], graphiteHost: 'g' }, "config key 'graphiteHost' is set but the 'graphite' backend is not in 'backends'"],
    [{ repeater: [{ host: 'h', port: 1 }] }, "config key 'repeater' is set but the 'repeater' backend is not in 'backends'"],
  ])('an original backend key or section without its backend is a warning naming it: %j', (raw, warning) => {
    expect(validateConfig(raw as Record<string, unknown>).warnings.join('\n')).toContain(warning);
  });

  it('a section with its backend listed is no warning', () => {
    const raw = {
      backends: ['graphite', 'prometheus', 'repeater'],
      graphiteHost: 'g',
      graphite: { globalPrefix: 'x' },
      prometheus: {},
      repeater: [{ host: 'h', port: 1 }],
    };
    expect(validateConfig(raw).warnings).toEqual([]);
  });

  it('an unknown timer metric name is a warning', () => {
    const { warnings } = validateConfig({ calculatedTimerMetrics: ['count', 'avg'] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unknown timer metric 'avg'/);
  });

  it('numeric strings are accepted where the original passed them to Number()', () => {
    const { config } = validateConfig({ port: '9125', flushInterval: '2000', percentThreshold: ['95'] });
    expect([config.servers[0]!.port, config.flushInterval, config.percentThreshold]).toEqual([9125, 2000, [95]]);
  });
});

describe('wrong values', () => {
  it('reports every problem at once, each naming its key', () => {
    let err: unknown;
    try {
      validateConfig({
        flushInterval: 'abc',
        port: 70000,
        percentThreshold: [90, 0, 150],
        deleteIdleStats: 'yes',
        backends: 'graphite',
        healthStatus: 'sideways',
        reservoirSize: 8,
        graphite: { legacyNamespace: 'no', timeoutMs: -1 },
        histogram: [{ metric: 'a', bins: [10, 5, 'x'] }],
        repeater: [{ host: '', port: 0 }],
        repeaterProtocol: 'sctp',
        graphiteProtocol: 'carrier-pigeon',
        logLevel: 'loud',
        mgmt_port: -1,
        fooo: true,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'config key \'flushInterval\': expected a positive integer (ms), got "abc"',
        "config key 'port': expected a port number (0..65535), got 70000",
        "config key 'percentThreshold[1]': expected a non-zero number between -100 and 100 (or a list of them), got 0",
        "config key 'percentThreshold[2]': expected a non-zero number between -100 and 100 (or a list of them), got 150",
        'config key \'deleteIdleStats\': expected true or false, got "yes"',
        "config key 'backends': expected a list of backend names, e.g. ['./backends/graphite'], got \"graphite\"",
        "config key 'healthStatus': expected one of 'up', 'down', got \"sideways\"",
        "config key 'reservoirSize': expected an integer between 16 and 1048576, got 8",
        'config key \'graphite.legacyNamespace\': expected true or false, got "no"',
        "config key 'graphite.timeoutMs': expected a positive integer (ms), got -1",
        "config key 'histogram[0].bins[1]': expected a bound greater than the previous one (10): bins must ascend, got 5",
        "config key 'histogram[0].bins[2]': expected a number or 'inf', got \"x\"",
        'config key \'repeater[0].host\': expected a host name or address, got ""',
        "config key 'repeater[0].port': expected a port number (1..65535), got 0",
        "config key 'repeaterProtocol': expected one of 'udp4', 'udp6', 'tcp', got \"sctp\"",
        "config key 'mgmt_port': expected a port number (0..65535), got -1",
      ]),
    );
    expect(problems.some((p) => p.startsWith("config key 'graphiteProtocol'"))).toBe(true);
    expect(problems.some((p) => p.startsWith("config key 'logLevel'"))).toBe(true);
    expect(problems).toHaveLength(18);
    // the message lists them one per line
    expect((err as ConfigError).message.split('\n')).toEqual(problems);
  });

  it('overrides and placeholders problems are reported together with value problems', () => {
    let err: unknown;
    try {
      buildConfig({ graphiteHost: '${ENV:TALLYD_TEST_NOT_SET_X}', flushInterval: 0 }, {}, undefined, { env: {}, hostname: 'h' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([
      "config key 'graphiteHost': environment variable 'TALLYD_TEST_NOT_SET_X' is not set (placeholder ${ENV:TALLYD_TEST_NOT_SET_X})",
      "config key 'flushInterval': expected a positive integer (ms), got 0",
    ]);
  });
});

describe('udpReader', () => {
  it('takes native or dgram and refuses anything else, naming the key', () => {
    expect(validateConfig({ udpReader: 'dgram' }).config.udpReader).toBe('dgram');
    expect(() => validateConfig({ udpReader: 'fast' })).toThrow(/udpReader/);
  });
});

describe('byte bounds: maxKeyLength, keyTableBytes, setMaxMembers', () => {
  it('take the documented defaults unless configured, and read them when they are', () => {
    const c = validateConfig({}).config;
    expect([c.maxKeyLength, c.keyTableBytes, c.setMaxMembers]).toEqual([2048, 1073741824, 100000]);
    const d = validateConfig({ maxKeyLength: 512, keyTableBytes: 1048576, setMaxMembers: 10 }).config;
    expect([d.maxKeyLength, d.keyTableBytes, d.setMaxMembers]).toEqual([512, 1048576, 10]);
  });

  it('refuse values out of range, each problem naming its key and the range', () => {
    expect(problemsOf({ maxKeyLength: 0, keyTableBytes: 1024, setMaxMembers: 2 ** 24 })).toEqual(
      expect.arrayContaining([
        "config key 'maxKeyLength': expected an integer between 1 and 1048576 (bytes), got 0",
        "config key 'keyTableBytes': expected an integer between 65536 and 2147483647 (bytes), got 1024",
        "config key 'setMaxMembers': expected an integer between 1 and 16000000 (members), got 16777216",
      ]),
    );
    expect(problemsOf({ keyTableBytes: 2 ** 31 })[0]).toMatch(/keyTableBytes/);
  });
});

describe('timerHistogram, timerHistogramMaxBuckets', () => {
  it('take a boolean and an integer in range, and refuse anything else, naming the key', () => {
    const { config } = validateConfig({ timerHistogram: false, timerHistogramMaxBuckets: 512 });
    expect([config.timerHistogram, config.timerHistogramMaxBuckets]).toEqual([false, 512]);
    expect(validateConfig({}).config.timerHistogram).toBe(true); // DEFAULT_TIMER_HISTOGRAM
    expect(problemsOf({ timerHistogram: 'no', timerHistogramMaxBuckets: 8 })).toEqual([
      expect.stringMatching(/^config key 'timerHistogram': expected /),
      "config key 'timerHistogramMaxBuckets': expected an integer between 32 and 16384, got 8",
    ]);
    expect(problemsOf({ timerHistogramMaxBuckets: 100_000 })).toHaveLength(1);
  });
});
