/**
 * The Prometheus backend under abuse and reloads, black-box (issue 9, items 4, 7, 8): real UDP in,
 * real /metrics out.
 *  - a flood of long-key timers past `prometheus.maxExpositionBytes`: /metrics still answers 200
 *    within the budget, with tallyd_* and the short series, and promtool finds no error;
 *  - a SIGHUP that changes flushInterval/percentThreshold keeps gauges, summaries and counters, and
 *    the HTTP server stays bound; a changed path rebinds;
 *  - `x:1e308|c` twice holds at Number.MAX_VALUE, never +Inf.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { promtoolCheck, requireBinary } from '../unit/backends/prometheus/promtool.js';
import { type RunningDaemon, startDaemon, waitFor } from './harness.js';
import { freePort, httpGet, parseSamples, prometheusPort, scrapeUntil } from './prometheus-helpers.js';

function config(promPort: number, extra = '', prom = ''): string {
  return `{
  port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 300, automaticConfigReload: false,
  backends: [ 'prometheus' ]${extra},
  prometheus: { port: ${promPort}${prom} }
}`;
}

const logged = (d: RunningDaemon, text: string): string[] => d.stderr.filter((l) => l.includes(text));

describe('prometheus: /metrics never fails as a whole', () => {
  let d: RunningDaemon | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
  });

  it('a flood of long-key timers past maxExpositionBytes: 200, within the budget, tallyd_* kept, promtool clean', {
    timeout: 60_000,
  }, async (ctx) => {
    if (!requireBinary('promtool')) return ctx.skip();
    const budget = 128 * 1024;
    d = await startDaemon(config(0, '', `, maxExpositionBytes: ${budget}`));
    const port = await prometheusPort(d);
    await d.send('ok.hits:1|c\nok.temp:7|g');
    // 500 timers with 200-byte keys (well under any key-length limit): ~550 kB of summary lines, 4 times the budget
    const pad = 'x'.repeat(200);
    for (let i = 0; i < 500; i += 10) {
      await d.send(Array.from({ length: 10 }, (_, j) => `flood.${pad}.${i + j}:${i + j}|ms`).join('\n'));
    }
    const { body, s } = await scrapeUntil(port, (x) => Number(x.get('tallyd_prometheus_series_over_budget')) > 0, 'series left out');
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(budget);
    expect(s.get('ok_hits')).toBe('1');
    expect(s.get('ok_temp')).toBe('7');
    expect(Number(s.get('tallyd_packets_received_total'))).toBeGreaterThan(0);
    expect(Number(s.get('tallyd_prometheus_renders_over_budget_total'))).toBeGreaterThan(0);
    expect(s.get('tallyd_prometheus_exposition_max_bytes')).toBe(String(budget));
    expect([...s.keys()].some((k) => k.startsWith('flood_'))).toBe(true); // what fits is still served
    const r = promtoolCheck(body);
    expect([0, 3], r.output).toContain(r.status);
    expect(r.output).not.toMatch(/error/i);
    // several renders (one per flush), one WARN (rate-limited)
    for (let i = 0; i < 3; i++) {
      await d.send('ok.hits:1|c');
      await scrapeUntil(port, (x) => x.get('ok_hits') === String(i + 2), `ok_hits ${i + 2}`);
    }
    expect(Number((await scrapeUntil(port, () => true, 'a scrape')).s.get('tallyd_prometheus_renders_over_budget_total'))).toBeGreaterThan(
      1,
    );
    const warns = logged(d, 'prometheus.maxExpositionBytes');
    expect(warns).toHaveLength(1);
    const w = JSON.parse(warns[0]!) as { level: number; seriesLeftOut: number; largest: { name: string } };
    expect(w.level).toBe(40);
    expect(w.seriesLeftOut).toBeGreaterThan(0);
    expect(w.largest.name).toMatch(/^flood_x+/); // cut to 200 characters in the log
  });

  it('x:1e308|c sent twice holds at Number.MAX_VALUE, never +Inf', async () => {
    d = await startDaemon(config(0));
    const port = await prometheusPort(d);
    await d.send('x:1e308|c');
    await scrapeUntil(port, (s) => s.get('x') === '1e+308', 'x at 1e308');
    await d.send('x:1e308|c');
    const { s, body } = await scrapeUntil(port, (m) => m.get('x') !== '1e+308', 'x to move');
    expect(s.get('x')).toBe(String(Number.MAX_VALUE));
    expect(body).not.toMatch(/^x \+Inf$/m);
  });
});

describe('prometheus: a reload keeps its state', () => {
  let d: RunningDaemon | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
  });

  it('SIGHUP changing flushInterval and percentThreshold keeps the gauge, the summary and the counter; the server stays bound', {
    timeout: 60_000,
  }, async () => {
    const promPort = await freePort();
    d = await startDaemon(config(promPort, ', flushInterval: 2000'));
    const port = await prometheusPort(d);
    expect(port).toBe(promPort);
    await d.send('rl.temp:42|g\nrl.hits:5|c\nrl.rt:100|ms\nrl.rt:200|ms\nrl.rt:300|ms');
    await scrapeUntil(port, (s) => s.get('rl_rt_count') === '3' && s.get('rl_hits') === '5', 'the first flush');

    writeFileSync(d.configFile, config(promPort, ', flushInterval: 3000, percentThreshold: [50, 95]'));
    d.proc.kill('SIGHUP');
    await waitFor(() => logged(d!, '"msg":"config reloaded"').length === 1, 10_000, 'config reloaded');
    // right after the reload, before any flush of the new interval: nothing vanished
    const after = parseSamples((await httpGet(port, '/metrics')).body);
    expect(after.get('rl_temp')).toBe('42');
    expect(after.get('rl_rt_count')).toBe('3');
    expect(after.get('rl_rt_sum')).toBe('0.6');
    expect(after.get('rl_hits')).toBe('5');
    // and the cumulative values go on from there
    await d.send('rl.hits:2|c\nrl.rt:400|ms\nrl.rt:500|ms');
    const { s } = await scrapeUntil(port, (x) => x.get('rl_rt_count') === '5', 'rl_rt_count 5');
    expect(s.get('rl_hits')).toBe('7');
    expect(s.get('rl_rt_sum')).toBe('1.5');
    expect(s.get('rl_temp')).toBe('42');
    expect(logged(d, 'prometheus: serving')).toHaveLength(1); // never rebound

    // a new path is served (the server is rebound for it)
    writeFileSync(d.configFile, config(promPort, ', flushInterval: 3000', ", path: '/m2'"));
    d.proc.kill('SIGHUP');
    await waitFor(() => logged(d!, '"msg":"config reloaded"').length === 2, 10_000, 'second reload');
    const moved = await scrapeUntil(port, (x) => x.get('rl_hits') === '7', 'rl_hits on /m2', '/m2');
    expect(moved.s.get('rl_rt_count')).toBe('5');
    expect((await httpGet(port, '/metrics')).status).toBe(404);
  });

  it('with workers: 2, a SIGHUP applies the prometheus section in place (new path) and keeps the series', { timeout: 60_000 }, async () => {
    const promPort = await freePort();
    d = await startDaemon(config(promPort, ', workers: 2, flushInterval: 500'));
    const port = await prometheusPort(d);
    await d.send('wk.hits:4|c\nwk.temp:9|g');
    await scrapeUntil(port, (s) => s.get('wk_hits') === '4', 'wk_hits 4');
    writeFileSync(d.configFile, config(promPort, ', workers: 2, flushInterval: 700', ", path: '/w2'"));
    d.proc.kill('SIGHUP');
    await waitFor(() => logged(d!, '"msg":"config reloaded"').length === 1, 10_000, 'config reloaded');
    const moved = await scrapeUntil(port, (x) => x.get('wk_hits') === '4', 'wk_hits on /w2', '/w2');
    expect(moved.s.get('wk_temp')).toBe('9');
    await d.send('wk.hits:1|c');
    await scrapeUntil(port, (x) => x.get('wk_hits') === '5', 'wk_hits 5 on /w2', '/w2');
  });

  it('SIGHUP after the mapping file was edited in place re-maps from the next flush, without a reset', { timeout: 60_000 }, async () => {
    const promPort = await freePort();
    const mapping = (second: string): string =>
      `mappings:\n  - match: "api.*.hits"\n    name: "api_hits"\n    labels: { route: "$1" }\n  - match: "jobs.*"\n    name: "${second}"\n`;
    const mf = join(mkdtempSync(join(tmpdir(), 'tallyd-prom-map-')), 'mapping.yaml');
    writeFileSync(mf, mapping('jobs_done'));
    d = await startDaemon(config(promPort, '', `, mappingFile: '${mf}'`));
    const port = await prometheusPort(d);
    await d.send('api.users.hits:3|c\njobs.nightly:1|c');
    await scrapeUntil(port, (s) => s.get('api_hits{route="users"}') === '3' && s.get('jobs_done') === '1', 'mapped series');
    writeFileSync(mf, mapping('jobs_finished')); // the config file itself is unchanged
    d.proc.kill('SIGHUP');
    await waitFor(() => logged(d!, 'keys are mapped again').length === 1, 10_000, 'the backend to re-read its mapping');
    await d.send('api.users.hits:2|c\njobs.nightly:1|c');
    const { s } = await scrapeUntil(port, (x) => x.get('jobs_finished') === '1', 'the new name');
    expect(s.get('api_hits{route="users"}')).toBe('5');
    expect(s.get('jobs_done')).toBe('1'); // no longer fed; it expires by its TTL
  });
});
