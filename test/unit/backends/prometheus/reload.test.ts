/**
 * A reload hands the new config to the running Prometheus backend: series keep their cumulative
 * values, the HTTP server stays bound unless its address/port/path changed, a new mapping re-maps.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusBackend, type PrometheusBackend } from '../../../../src/backends/prometheus/index.js';
import { context, counter, gauge, samples, snapshot, timer } from './helpers.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function scrape(port: number, path = '/metrics'): Promise<Map<string, string>> {
  const r = await get(port, path);
  expect(r.status).toBe(200);
  return samples(r.body);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function mappingFile(yaml: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'tallyd-prom-reload-')), 'm.yaml');
  writeFileSync(f, yaml);
  return f;
}

describe('PrometheusBackend.reconfigure', () => {
  let backend: PrometheusBackend | null = null;
  afterEach(async () => {
    await backend?.stop();
    backend = null;
  });

  async function started(section: Record<string, unknown>): Promise<PrometheusBackend> {
    backend = createPrometheusBackend(context({ port: 0, ...section }), { processMetrics: false });
    await backend.start();
    return backend;
  }

  it('keeps counters, gauges and summaries, and the same port, across a reload', async () => {
    const b = await started({});
    const port = b.port!;
    await b.flush(snapshot({ counters: [counter('hits', 5)], gauges: [gauge('temp', 21)], timers: [timer('rt', [100, 200, 300])] }));
    // the same section (what a flushInterval/percentThreshold change looks like to this backend)
    expect(await b.reconfigure(context({ port: 0 }))).toBe(true);
    expect(b.port).toBe(port);
    let s = await scrape(port);
    expect(s.get('hits')).toBe('5');
    expect(s.get('temp')).toBe('21');
    expect(s.get('rt_count')).toBe('3');
    expect(s.get('rt{quantile="0.5"}')).toBe('0.2');
    await b.flush(snapshot({ counters: [counter('hits', 2)], timers: [timer('rt', [400])] }));
    s = await scrape(port);
    expect(s.get('hits')).toBe('7');
    expect(s.get('rt_count')).toBe('4');
    expect(s.get('rt_sum')).toBe('1');
  });

  it('a new path is served on the same socket; a new port binds the new one before closing the old', async () => {
    const b = await started({});
    const port = b.port!;
    await b.flush(snapshot({ counters: [counter('hits', 1)] }));
    await b.reconfigure(context({ port: 0, path: '/prom' }));
    expect(b.port).toBe(port);
    expect((await get(port, '/metrics')).status).toBe(404);
    expect((await scrape(port, '/prom')).get('hits')).toBe('1');
    const next = await freePort();
    await b.reconfigure(context({ port: next, path: '/prom' }));
    expect(b.port).toBe(next);
    expect((await scrape(next, '/prom')).get('hits')).toBe('1');
    await expect(get(port, '/prom')).rejects.toThrow();
  });

  it('a new port that is taken: an ERROR, and the old port keeps serving', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const b = await started({});
    const port = b.port!;
    await b.flush(snapshot({ counters: [counter('hits', 1)] }));
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      expect(await b.reconfigure({ ...context({ port: taken }), log })).toBe(true);
      expect(b.port).toBe(port);
      expect((await scrape(port)).get('hits')).toBe('1');
      const err = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 50);
      expect(err?.msg).toMatch(/cannot serve on the new address/);
      expect(b.settings.port).toBe(0);
    } finally {
      await new Promise((res) => blocker.close(res));
    }
  });

  it('a changed mapping re-maps: a series that keeps its name keeps its value; a new name starts a new series', async () => {
    const m1 = mappingFile('mappings:\n  - match: "api.*.hits"\n    name: "api_hits"\n    labels: { route: "$1" }\n');
    const b = await started({ mappingFile: m1 });
    await b.flush(snapshot({ counters: [counter('api.users.hits', 3), counter('api.orders.hits', 4)] }));
    // the new mapping keeps api_hits for users, and sends orders to a name of its own
    const m2 = mappingFile(
      'mappings:\n  - match: "api.orders.hits"\n    name: "orders_hits"\n  - match: "api.*.hits"\n    name: "api_hits"\n    labels: { route: "$1" }\n',
    );
    await b.reconfigure(context({ port: 0, mappingFile: m2 }));
    let s = await scrape(b.port!);
    expect(s.get('api_hits{route="users"}')).toBe('3'); // nothing vanished at the reload
    expect(s.get('api_hits{route="orders"}')).toBe('4');
    await b.flush(snapshot({ counters: [counter('api.users.hits', 1), counter('api.orders.hits', 10)] }));
    s = await scrape(b.port!);
    expect(s.get('api_hits{route="users"}')).toBe('4');
    expect(s.get('orders_hits')).toBe('10');
    expect(s.get('api_hits{route="orders"}')).toBe('4'); // no longer fed: it ages out by its TTL
  });

  it('a mapping file edited in place (same path) is read again', async () => {
    const m = mappingFile('mappings:\n  - match: "a.*"\n    name: "first_$1"\n');
    const b = await started({ mappingFile: m });
    await b.flush(snapshot({ counters: [counter('a.x', 1)] }));
    writeFileSync(m, 'mappings:\n  - match: "a.*"\n    name: "second_$1"\n');
    await b.reconfigure(context({ port: 0, mappingFile: m }));
    await b.flush(snapshot({ counters: [counter('a.x', 1)] }));
    const s = await scrape(b.port!);
    expect(s.get('second_x')).toBe('1');
    expect(s.get('first_x')).toBe('1');
  });

  it("new quantiles keep a summary's _sum and _count; new buckets or type replace the family", async () => {
    const b = await started({ quantiles: [0.5] });
    await b.flush(snapshot({ timers: [timer('rt', [100, 300])], counters: [counter('c', 1)] }));
    await b.reconfigure(context({ port: 0, quantiles: [0.9, 0.99] }));
    await b.flush(snapshot({ timers: [timer('rt', [500])] }));
    let s = await scrape(b.port!);
    expect(s.get('rt_count')).toBe('3');
    expect(s.get('rt_sum')).toBe('0.9');
    expect(s.get('rt{quantile="0.99"}')).toBe('0.5');
    expect(s.has('rt{quantile="0.5"}')).toBe(false);
    // summary → histogram: a new definition, no conflict; the counter is untouched
    await b.reconfigure(context({ port: 0, observerType: 'histogram', buckets: [0.25, 1] }));
    await b.flush(snapshot({ timers: [timer('rt', [200])], counters: [counter('c', 1)] }));
    s = await scrape(b.port!);
    expect(s.get('rt_count')).toBe('1');
    expect(s.get('rt_bucket{le="0.25"}')).toBe('1');
    expect(s.get('c')).toBe('2');
    expect(s.get('tallyd_prometheus_redefined_total')).toBe('1');
    expect(s.get('tallyd_prometheus_conflicts_total')).toBe('0');
  });
});
