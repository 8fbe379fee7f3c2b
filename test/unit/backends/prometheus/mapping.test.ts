import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mapper, parseDuration, parseMapping, readMappingFile } from '../../../../src/backends/prometheus/mapping.js';

function mapper(yaml: string): Mapper {
  const r = parseMapping(yaml);
  expect(r.problems).toEqual([]);
  return new Mapper(r.mapping!);
}

const EXAMPLE = `
defaults:
  observer_type: summary
  ttl: 10m
  summary_options:
    quantiles:
      - quantile: 0.5
        error: 0.05
      - quantile: 0.99
        error: 0.001
mappings:
  - match: "test.dispatcher.*.*.*"
    name: "dispatcher_events_total"
    labels:
      processor: "$1"
      action: "$2"
      outcome: "$3"
      job: "test_dispatcher"
  - match: "*.signup.*.*"
    name: "signup_events_total"
    labels:
      provider: "$2"
      outcome: "$3"
      job: "\${1}_server"
  - match: "request_time.*"
    name: "request_seconds"
    observer_type: histogram
    histogram_options:
      buckets: [0.01, 0.1, 1]
    match_metric_type: observer
    ttl: 30s
  - match: "junk.*"
    action: drop
    name: "dropped"
  - match: "(.*)\\\\.(.*)--(.*)\\\\.status\\\\.(.*)\\\\.count"
    match_type: regex
    name: "request_total"
    labels:
      service: "$1"
      status: "\${4}"
  - match: "(?P<svc>[a-z]+)\\\\.latency"
    match_type: regex
    name: "\${svc}_latency_seconds"
`;

describe('statsd_exporter mapping files', () => {
  const m = mapper(EXAMPLE);

  it('expands glob captures into name and labels', () => {
    const r = m.map('test.dispatcher.FooProcessor.send.success', 'counter')!;
    expect(r.name).toBe('dispatcher_events_total');
    expect(r.labels).toEqual([
      ['action', 'send'],
      ['job', 'test_dispatcher'],
      ['outcome', 'success'],
      ['processor', 'FooProcessor'],
    ]);
    const s = m.map('foo_product.signup.facebook.failure', 'counter')!;
    expect(s.labels).toContainEqual(['job', 'foo_product_server']);
  });

  it('a glob star does not cross dots', () => {
    expect(m.map('test.dispatcher.a.b', 'counter')).toBeNull();
    expect(m.map('test.dispatcher.a.b.c.d', 'counter')).toBeNull();
  });

  it('honours match_metric_type, observer_type, buckets and ttl', () => {
    expect(m.map('request_time.api', 'counter')).toBeNull();
    const r = m.map('request_time.api', 'observer')!;
    expect(r.name).toBe('request_seconds');
    expect(r.rule.observerType).toBe('histogram');
    expect(r.rule.buckets).toEqual([0.01, 0.1, 1]);
    expect(r.rule.ttlMs).toBe(30_000);
  });

  it('reads the defaults', () => {
    expect(m.config.defaults.quantiles).toEqual([0.5, 0.99]);
    expect(m.config.defaults.ttlMs).toBe(600_000);
    expect(m.config.defaults.observerType).toBe('summary');
  });

  it('drops with action: drop', () => {
    expect(m.map('junk.anything', 'gauge')!.rule.action).toBe('drop');
  });

  it('expands regex captures, including ${n} and Go named groups', () => {
    const r = m.map('foo.bar--baz.status.500.count', 'counter')!;
    expect(r.name).toBe('request_total');
    expect(r.labels).toEqual([
      ['service', 'foo'],
      ['status', '500'],
    ]);
    expect(m.map('checkout.latency', 'observer')!.name).toBe('checkout_latency_seconds');
  });

  it('tries globs before regexes, then the first match in file order', () => {
    const mm = mapper(`
mappings:
  - match: "a\\\\..*"
    match_type: regex
    name: regex_first_in_file
  - match: "a.*"
    name: glob_later_in_file
  - match: "a.b"
    name: never_reached
`);
    expect(mm.map('a.b', 'counter')!.name).toBe('glob_later_in_file');
    expect(mm.map('a.x.y', 'counter')!.name).toBe('regex_first_in_file');
  });

  it('accepts legacy timer_type, top-level buckets and quantiles', () => {
    const mm = mapper(`
mappings:
  - match: "t.*"
    name: t
    timer_type: histogram
    buckets: [1, 2]
  - match: "q.*"
    name: q
    quantiles: [{ quantile: 0.75, error: 0.01 }]
`);
    expect(mm.map('t.x', 'observer')!.rule.observerType).toBe('histogram');
    expect(mm.map('t.x', 'observer')!.rule.buckets).toEqual([1, 2]);
    expect(mm.map('q.x', 'observer')!.rule.quantiles).toEqual([0.75]);
  });

  it('reports every problem and never throws', () => {
    const r = parseMapping(`
mappings:
  - match: "a.*"
  - match: "b.*"
    name: "bad-name"
  - match: "c.*"
    name: c
    labels: { "bad-label": x }
  - match: "(unclosed"
    match_type: regex
    name: d
  - match: "e.*"
    name: e
    observer_type: gauge
  - match: "f.*"
    name: f
    ttl: forever
  - match: "g.*"
    name: g
    buckets: [2, 1]
`);
    expect(r.mapping).toBeNull();
    expect(r.problems).toHaveLength(7);
    expect(r.problems.join('\n')).toMatch(/didn't set a metric name/);
    expect(parseMapping(': : :\n  - [').problems[0]).toMatch(/invalid YAML/);
    expect(parseMapping('- a\n- b').problems[0]).toMatch(/expected a map/);
  });

  it('warns about unknown keys but loads', () => {
    const r = parseMapping('mappings:\n  - match: a.b\n    name: ab\n    colour: red\n');
    expect(r.problems).toEqual([]);
    expect(r.mapping!.warnings[0]).toMatch(/unknown key 'colour'/);
  });

  it('reads a file and reports an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-mapping-'));
    const f = join(dir, 'm.yaml');
    writeFileSync(f, 'mappings:\n  - match: a.*\n    name: a_$1\n');
    expect(readMappingFile(f).mapping!.rules).toHaveLength(1);
    expect(readMappingFile(join(dir, 'missing.yaml')).problems[0]).toMatch(/cannot read mapping file/);
  });

  it('parses Go durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
  });
});

describe('config/mapping.example.yaml', () => {
  it('loads without problems or warnings and maps as its comments say', () => {
    const r = readMappingFile(join(import.meta.dirname, '..', '..', '..', '..', 'config', 'mapping.example.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.mapping!.warnings).toEqual([]);
    const m = new Mapper(r.mapping!);
    expect(m.map('test.dispatcher.FooProcessor.send.success', 'counter')!.labels).toContainEqual(['processor', 'FooProcessor']);
    expect(m.map('checkout.status.503', 'counter')!.labels).toEqual([
      ['code', '503'],
      ['service', 'checkout'],
    ]);
    expect(m.map('http.api.latency', 'observer')!.rule.observerType).toBe('histogram');
    expect(m.map('debug.x', 'gauge')!.rule.action).toBe('drop');
  });
});
