import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPrometheusBackend,
  type PrometheusBackend,
  prometheusBackend,
  validatePrometheusConfig,
} from '../../../../src/backends/prometheus/index.js';
import { context, counter, gauge, samples, set, snapshot, timer } from './helpers.js';
import { promtoolCheck, requireBinary } from './promtool.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('prometheus config section', () => {
  it('accepts defaults and a full valid section', () => {
    expect(validatePrometheusConfig(undefined)).toEqual([]);
    expect(
      validatePrometheusConfig({
        address: '0.0.0.0',
        port: 9200,
        path: '/m',
        ttl: '30m',
        quantiles: [0.5, { quantile: 0.95, error: 0.01 }],
        buckets: [0.1, 1],
        observerType: 'histogram',
      }),
    ).toEqual([]);
  });

  it('names every bad key', () => {
    const problems = validatePrometheusConfig({
      port: 70000,
      address: 5,
      path: 'metrics',
      ttl: -1,
      quantiles: [2],
      buckets: [3, 1],
      observerType: 'x',
      colour: 1,
      mappingFile: '/nonexistent/m.yaml',
    });
    const text = problems.join('\n');
    for (const k of ['port', 'address', 'path', 'ttl', 'quantiles', 'buckets', 'observerType', 'colour', 'mappingFile']) {
      expect(text).toContain(`config key 'prometheus.${k}'`);
    }
    expect(problems.find((p) => p.includes('.port'))).toMatch(
      /^config key 'prometheus\.port': expected an integer from 0 to 65535, got 70000$/,
    );
    expect(validatePrometheusConfig(7)[0]).toMatch(/config key 'prometheus': expected an object/);
  });

  it('validates the mapping file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-prom-'));
    const f = join(dir, 'm.yaml');
    writeFileSync(f, 'mappings:\n  - match: a.*\n');
    expect(validatePrometheusConfig({ mappingFile: f }).join('\n')).toMatch(/prometheus\.mappingFile'.*didn't set a metric name/);
  });

  it('the factory throws an Error naming the key', () => {
    expect(() => prometheusBackend(context({ port: 'abc' }))).toThrow(/config key 'prometheus\.port'/);
  });
});

describe('PrometheusBackend over HTTP', () => {
  let backend: PrometheusBackend | null = null;
  afterEach(async () => {
    await backend?.stop();
    backend = null;
  });

  async function started(section: Record<string, unknown> = {}, health: () => 'up' | 'down' = () => 'up'): Promise<number> {
    backend = createPrometheusBackend(context({ port: 0, ...section }, { health }));
    await backend.start();
    return backend.port!;
  }

  it('serves user series and tallyd_* self metrics on /metrics', async () => {
    const port = await started();
    await backend!.flush(
      snapshot({
        counters: [counter('web.requests', 3, [['code', '200']]), counter('statsd.packets_received', 9)],
        gauges: [gauge('temp', 21)],
      }),
    );
    const r = await get(port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const s = samples(r.body);
    expect(s.get('web_requests{code="200"}')).toBe('3');
    expect(s.get('temp')).toBe('21');
    expect(s.has('statsd_packets_received')).toBe(false);
    expect(s.get('tallyd_packets_received_total')).toBe('42');
    expect(s.get('tallyd_lines_received_total')).toBe('50');
    expect(s.get('tallyd_bad_lines_total{reason="no_type"}')).toBe('3');
    expect(s.get('tallyd_flush_duration_seconds')).toBe('0.0025');
    expect(s.get('tallyd_live_keys{type="set"}')).toBe('4');
    expect(s.get('tallyd_prometheus_series{type="counter"}')).toBe('1');
    expect(s.get('tallyd_udp_receive_errors_total')).toBe('5');
    expect(s.get('tallyd_prometheus_conflicts_total')).toBe('0');
    expect(s.get('tallyd_prometheus_series_expired_total')).toBe('0');
    expect([...s.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    // HEAD: headers only
    const h = await get(port, '/metrics', 'HEAD');
    expect(h.status).toBe(200);
    expect(h.body).toBe('');
  });

  it('reuses the rendered text until the next flush', async () => {
    await started();
    await backend!.flush(snapshot({ counters: [counter('a', 1)] }));
    const first = await backend!.exposition();
    expect(await backend!.exposition()).toBe(first);
    await backend!.flush(snapshot({ counters: [counter('a', 1)] }));
    const second = await backend!.exposition();
    expect(second).not.toBe(first);
    expect(samples(Buffer.concat(second.chunks).toString()).get('a')).toBe('2');
  });

  it('a fault while rendering the user series still answers 200 with tallyd_* (counted)', async () => {
    const port = await started();
    await backend!.flush(snapshot({ counters: [counter('a', 1)] }));
    const families = backend!.store.families;
    const values = families.values.bind(families);
    families.values = () => {
      throw new Error('injected render fault');
    };
    const r = await get(port, '/metrics');
    expect(r.status).toBe(200);
    const s = samples(r.body);
    expect(s.has('a')).toBe(false);
    expect(s.get('tallyd_packets_received_total')).toBe('42');
    expect(s.get('tallyd_prometheus_render_errors_total')).toBe('1');
    families.values = values; // the next scrape renders again
    await backend!.flush(snapshot({ counters: [counter('a', 1)] }));
    const again = samples((await get(port, '/metrics')).body);
    expect(again.get('a')).toBe('2');
    expect(again.get('tallyd_prometheus_render_errors_total')).toBe('1');
  });

  it('honours a custom path; /health follows the admin health; others 404/405', async () => {
    let health: 'up' | 'down' = 'up';
    const port = await started({ path: '/prom' }, () => health);
    expect((await get(port, '/prom')).status).toBe(200);
    expect((await get(port, '/metrics')).status).toBe(404);
    const up = await get(port, '/health');
    expect([up.status, up.body]).toEqual([200, 'up\n']);
    health = 'down';
    const down = await get(port, '/health');
    expect([down.status, down.body]).toEqual([503, 'down\n']);
    expect((await get(port, '/prom', 'POST')).status).toBe(405);
  });

  it('fails to start on a port in use', async () => {
    const port = await started();
    const other = createPrometheusBackend(context({ port }));
    await expect(other.start()).rejects.toThrow(/EADDRINUSE/);
  });

  it('reports status lines for the admin stats command', async () => {
    await started();
    await backend!.flush(snapshot({ counters: [counter('a', 1)] }, 1_700_000_123));
    expect(backend!.status()).toContainEqual(['last_flush', 1_700_000_123]);
    expect(backend!.status()).toContainEqual(['series', 1]);
  });

  it('promtool check metrics finds no error in the exposition', async (ctx) => {
    if (!requireBinary('promtool')) return ctx.skip();
    const port = await started({ observerType: 'summary' });
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-prom-'));
    const mf = join(dir, 'm.yaml');
    writeFileSync(mf, 'mappings:\n  - match: "hist.*"\n    name: "hist_$1_seconds"\n    observer_type: histogram\n');
    await backend!.stop();
    backend = createPrometheusBackend(context({ port: 0, mappingFile: mf }));
    await backend.start();
    const p = backend.port!;
    expect(p).not.toBe(port);
    await backend.flush(
      snapshot({
        counters: [
          counter('web.requests', 3, [
            ['code', '200'],
            ['path', '/a "quoted"\\ one'],
          ]),
          counter('5xx', 1),
        ],
        gauges: [gauge('temp', -3.5), gauge('big', 1e300)],
        sets: [set('users', 3)],
        timers: [
          timer('api.latency', [1, 2, 3], { tags: [['le', 'x']] }),
          timer('hist.get', [5, 500, 5000], { tags: [['quantile', 'q']] }),
        ],
      }),
    );
    await backend.flush(snapshot({ timers: [timer('api.latency', [])] })); // NaN quantiles
    const body = (await get(p, '/metrics')).body;
    expect(body).toContain('hist_get_seconds_bucket{quantile="q",le="+Inf"} 3');
    const r = promtoolCheck(body);
    // 0: clean; 3: lint warnings only (e.g. "counter metrics should have _total suffix")
    expect([0, 3], r.output).toContain(r.status);
    expect(r.output).not.toMatch(/error/i);
  });
});
