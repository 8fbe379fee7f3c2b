/**
 * Config edge cases (issue 9, points 9, 15, 16) and a reload whose apply throws (issue 12, point 4):
 * forbidden keys, the --allow-js-config child process, the percentThreshold maximum.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseMapping } from '../../../src/backends/prometheus/mapping.js';
import { MAX_PERCENT_THRESHOLDS, parseConfigText, readConfigFile, readConfigFileAsync, validateConfig } from '../../../src/config/index.js';
import { forbiddenKeyProblems } from '../../../src/config/safekeys.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/errors.js';
import { ConfigReloader } from '../../../src/pipeline/reload.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

async function problemsOfAsync(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tallyd-unit-')), name);
  writeFileSync(file, text);
  return file;
}

describe('forbidden keys', () => {
  it('finds __proto__, constructor and prototype at any depth, lists included, naming the path', () => {
    const doc = JSON.parse('{"a": {"b": [{"__proto__": 1}, {"ok": {"constructor": 2}}]}, "prototype": 3, "fine": {"x": 1}}') as unknown;
    expect(forbiddenKeyProblems(doc)).toEqual([
      "config key 'a.b[0].__proto__': '__proto__' is not allowed as a key (it could change how the config is read)",
      "config key 'a.b[1].ok.constructor': 'constructor' is not allowed as a key (it could change how the config is read)",
      "config key 'prototype': 'prototype' is not allowed as a key (it could change how the config is read)",
    ]);
    expect(forbiddenKeyProblems({ a: [1, { b: 'c' }] })).toEqual([]);
  });

  it('a JSON or JS-literal file with one is refused before anything reads it (sync and async reads)', async () => {
    const text = '{ port: 0, "__proto__": { "mgmt_address": "0.0.0.0" } }';
    expect(problemsOf(() => parseConfigText(text, 'c.js'))).toEqual([
      "c.js: config key '__proto__': '__proto__' is not allowed as a key (it could change how the config is read)",
    ]);
    const file = tempFile('c.json', '{ "graphite": { "constructor": { "globalPrefix": "x" } } }');
    expect(problemsOf(() => readConfigFile(file))[0]).toContain("config key 'graphite.constructor'");
    expect((await problemsOfAsync(readConfigFileAsync(file)))[0]).toContain("config key 'graphite.constructor'");
  });

  it('a mapping file with one is refused', () => {
    const r = parseMapping('mappings:\n  - match: a.*\n    name: a\n    labels:\n      __proto__: { x: y }\n', 'm.yml');
    expect(r.mapping).toBeNull();
    expect(r.problems).toEqual([
      "m.yml: key 'mappings[0].labels.__proto__': '__proto__' is not allowed as a key (it could change how the config is read)",
    ]);
  });
});

describe('--allow-js-config: a child process', () => {
  it('runs the file outside the daemon, without file system or child_process access', async () => {
    const pid = parseConfigText("{ title: String(require.constructor('return process')().pid) }", 'p.js', { allowJs: true });
    expect(Number(pid.title)).not.toBe(process.pid);
    const fsRead = problemsOf(() =>
      parseConfigText(
        "{ a: require.constructor('return process')().getBuiltinModule('fs').readFileSync('/etc/hostname', 'utf8') }",
        'r.js',
        { allowJs: true },
      ),
    );
    expect(fsRead[0]).toMatch(/r\.js: evaluating the config file failed: .*(Access to this API has been restricted|ERR_ACCESS_DENIED)/);
    const exec = problemsOf(() =>
      parseConfigText("{ a: String(require.constructor('return process')().getBuiltinModule('child_process').execSync('id')) }", 'x.js', {
        allowJs: true,
      }),
    );
    expect(exec[0]).toMatch(/x\.js: evaluating the config file failed/);
  });

  it('a changed prototype, a getter or a promise that spins are refused or stopped; the async read agrees with the sync one', async () => {
    expect(problemsOf(() => parseConfigText("{ __proto__: { mgmt_address: '0.0.0.0' } }", 'p.js', { allowJs: true }))[0]).toContain(
      "config key '__proto__'",
    );
    const spin = problemsOf(() =>
      parseConfigText('(Promise.resolve().then(() => { for (;;) {} }), { port: 1 })', 's.js', { allowJs: true }),
    );
    expect(spin[0]).toMatch(/s\.js: evaluating the config file failed: Script execution timed out/);
    const file = tempFile('g.js', '({ port: 1, get flushInterval() { for (;;) {} } })');
    const t0 = Date.now();
    expect((await problemsOfAsync(readConfigFileAsync(file, { allowJs: true })))[0]).toContain('did not finish within 5 s; it was stopped');
    expect(Date.now() - t0).toBeLessThan(12_000);
    const ok = tempFile(
      'ok.js',
      "{ port: 9, histogram: [ { metric: 'a', bins: [1, Infinity] } ], env: process.env.HOME === undefined ? 'none' : 'set' }",
    );
    expect(await readConfigFileAsync(ok, { allowJs: true })).toEqual(readConfigFile(ok, { allowJs: true }));
  }, 30_000);
});

describe('percentThreshold', () => {
  it(`takes at most ${MAX_PERCENT_THRESHOLDS} entries, naming the key`, () => {
    const list = (n: number): number[] => Array.from({ length: n }, (_, i) => (i + 1) / 2);
    expect(validateConfig({ percentThreshold: list(MAX_PERCENT_THRESHOLDS) }).config.percentThreshold).toHaveLength(MAX_PERCENT_THRESHOLDS);
    expect(problemsOf(() => validateConfig({ percentThreshold: list(256) }))).toEqual([
      `config key 'percentThreshold': expected at most ${MAX_PERCENT_THRESHOLDS} thresholds, got a list of 256`,
    ]);
  });
});

describe('a reload whose apply throws', () => {
  it('is refused and logged; reload() resolves', async () => {
    const file = tempFile('c.json', '{ "flushInterval": 2000 }');
    const current = validateConfig({}, file).config;
    const errors: string[] = [];
    const log = {
      info: () => undefined,
      warn: () => undefined,
      error: (_o: unknown, msg: string) => errors.push(msg),
    } as unknown as Logger;
    const target = {
      currentConfig: current,
      applyConfig: (_next: TallydConfig): Promise<string[]> => Promise.reject(new Error('backend constructor failed')),
    };
    const r = new ConfigReloader({ configPath: file, overrides: {}, allowJs: false, target, log });
    await expect(r.reload('test')).resolves.toBe('refused');
    expect(errors).toEqual(['config reload failed while applying it, keeping the current configuration: backend constructor failed']);
    r.close();
  });
});
