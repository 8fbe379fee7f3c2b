/**
 * The Prometheus backend in the built daemon: real UDP in, real /metrics out, promtool on it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBinary } from '../unit/backends/prometheus/promtool.js';
import { logText, MAIN, type RunningDaemon, startDaemon } from './harness.js';
import { httpGet, prometheusPort, scrapeUntil } from './prometheus-helpers.js';

function config(extra = ''): string {
  return `{
  port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 300,
  backends: [ './backends/prometheus' ],
  prometheus: { port: 0${extra} }
}`;
}

describe('prometheus backend (built daemon)', () => {
  let d: RunningDaemon | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
  });

  it('exposes counters, gauges, timers and sets with labels from tags; counters are cumulative', async () => {
    d = await startDaemon(config());
    const port = await prometheusPort(d);
    await d.send('web.requests:1|c|#code:200,method:get\napi.latency:320|ms\ntemp:5|g\nusers:a|s\nusers:b|s');
    await d.send('web.requests:2|c|#method:get,code:200');
    await d.send('cpu.load,host=a,dc=eu:1|c');
    let { s, body } = await scrapeUntil(port, (x) => x.get('web_requests{code="200",method="get"}') === '3', 'web_requests 3');
    expect(s.get('api_latency{quantile="0.5"}')).toBe('0.32');
    expect(s.get('api_latency_count')).toBe('1');
    expect(s.get('temp')).toBe('5');
    expect(s.get('users')).toBe('2');
    expect(s.get('cpu_load{dc="eu",host="a"}')).toBe('1');
    expect(body).toContain('# TYPE api_latency summary');
    expect(Number(s.get('tallyd_packets_received_total'))).toBeGreaterThanOrEqual(3);
    expect(Number(s.get('tallyd_lines_received_total'))).toBeGreaterThanOrEqual(7);
    // the daemon's own gauges and counters are on /metrics once, as tallyd_*, not as user series as well
    expect(s.has('tallyd_key_table_bytes')).toBe(true);
    expect([...s.keys()].filter((k) => k.startsWith('statsd_'))).toEqual([]);

    await d.send('web.requests:4|c|#code:200,method:get\ntemp:-2|g\nbad line without type');
    ({ s } = await scrapeUntil(port, (x) => x.get('web_requests{code="200",method="get"}') === '7', 'web_requests 7'));
    expect(s.get('temp')).toBe('3');
    expect(Number(s.get('tallyd_bad_lines_total{reason="no_type"}'))).toBeGreaterThanOrEqual(1);
    // the set is per interval: 0 once idle
    ({ s } = await scrapeUntil(port, (x) => x.get('users') === '0', 'users 0'));
  });

  it('passes promtool check metrics', async (ctx) => {
    if (!requireBinary('promtool')) return ctx.skip();
    d = await startDaemon(config());
    const port = await prometheusPort(d);
    await d.send('a.b:1|c|#x:"q"\nt:5|ms|@0.5\ng:1.5|g\ns:z|s');
    const { body } = await scrapeUntil(port, (x) => x.has('t_count'), 't_count');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
    expect([0, 3], r.stdout + r.stderr).toContain(r.status);
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    // lint findings only where the names are not tallyd's to choose: the user's series (named as sent, as
    // statsd_exporter names them: no _total added) and prom-client's default nodejs_active_*_total gauges
    const findings = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
    const user = new Set(['a_b', 't', 'g', 's']);
    for (const f of findings) expect(user.has(f.split(' ')[0]!) || /^nodejs_active_\w+_total /.test(f), f).toBe(true);
  });

  it('/health follows the admin health command', async () => {
    d = await startDaemon(config());
    const port = await prometheusPort(d);
    expect((await httpGet(port, '/health')).status).toBe(200);
    expect(await d.admin('health down')).toMatch(/down/);
    expect((await httpGet(port, '/health')).status).toBe(503);
    expect(await d.admin('health up')).toMatch(/up/);
    expect((await httpGet(port, '/health')).status).toBe(200);
  });

  it('uses a statsd_exporter mapping file (histogram, labels, drop)', async () => {
    const tmp = await startDaemon(config()); // only for a temp dir
    const dir = tmp.dir;
    await tmp.stop();
    const mf = join(dir, 'mapping.yaml');
    writeFileSync(
      mf,
      `mappings:
  - match: "svc.*.latency"
    name: "svc_latency_seconds"
    observer_type: histogram
    histogram_options: { buckets: [0.1, 1] }
    labels: { service: "$1" }
  - match: "noise.*"
    action: drop
    name: noise
`,
    );
    d = await startDaemon(config(`, mappingFile: ${JSON.stringify(mf)}`));
    const port = await prometheusPort(d);
    await d.send('svc.checkout.latency:50|ms\nsvc.checkout.latency:500|ms\nsvc.checkout.latency:5000|ms\nnoise.x:1|c');
    const { s, body } = await scrapeUntil(port, (x) => x.has('svc_latency_seconds_count{service="checkout"}'), 'histogram');
    expect(s.get('svc_latency_seconds_bucket{service="checkout",le="0.1"}')).toBe('1');
    expect(s.get('svc_latency_seconds_bucket{service="checkout",le="1"}')).toBe('2');
    expect(s.get('svc_latency_seconds_bucket{service="checkout",le="+Inf"}')).toBe('3');
    expect(body).not.toContain('noise');
  });

  it('--check-config refuses a bad prometheus section and a bad mapping file', async () => {
    const tmp = await startDaemon(config());
    const dir = tmp.dir;
    await tmp.stop();
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, `{ port: 0, backends: ['prometheus'], prometheus: { port: 99999 } }`);
    let r = spawnSync(process.execPath, [MAIN, '--check-config', bad], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(logText(r.stderr)).toContain('prometheus.port');
    const mf = join(dir, 'bad.yaml');
    writeFileSync(mf, 'mappings:\n  - match: "a.*"\n');
    const badMapping = join(dir, 'badmap.js');
    writeFileSync(badMapping, `{ port: 0, backends: ['prometheus'], prometheus: { mappingFile: ${JSON.stringify(mf)} } }`);
    r = spawnSync(process.execPath, [MAIN, '--check-config', badMapping], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(logText(r.stderr)).toMatch(/mappingFile.*metric name/);
  });
});
