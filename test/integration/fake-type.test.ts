/**
 * A fifth metric type end to end, black-box: the daemon is spawned as in every other test, with the fake
 * "max" type's module (test/fake-type/max-type.ts, built to dist/test/fake-type/) loaded before it starts
 * through `NODE_OPTIONS=--import=…/preload.js`. That module makes the type's three registrations (store,
 * parser suffix, Graphite lines, Prometheus series) and nothing in src/ names it. Real UDP `key:v|mx`
 * lines in, a real TCP Graphite listener reads `stats.max.KEY` with the interval's largest value,
 * counted in numStats and cleared after the flush, and the same daemon's /metrics shows it as a gauge;
 * with `workers: 2` the forked workers load it too (they inherit NODE_OPTIONS), export it in their
 * partials, and the primary merges it.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  flushWith,
  nextFlush,
  originalStyleConfig,
  ROOT,
  startDaemon,
  statusUrl,
  useGraphiteAndDaemon,
  waitFor,
  waitForAsync,
} from './harness.js';
import { prometheusPort, scrapeUntil } from './prometheus-helpers.js';

const env = useGraphiteAndDaemon();

/** The built preload; refuses a build older than the type's sources (global-setup checks only src/). */
function preloadEnv(): NodeJS.ProcessEnv {
  const built = join(ROOT, 'dist', 'test', 'fake-type', 'preload.js');
  for (const f of ['preload', 'max-type']) {
    const src = statSync(join(ROOT, 'test', 'fake-type', f + '.ts')).mtimeMs;
    const out = statSync(join(ROOT, 'dist', 'test', 'fake-type', f + '.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (out < src) throw new Error(`dist/test/fake-type/${f}.js is older than its source: run npm run build`);
  }
  const options = process.env.NODE_OPTIONS ?? '';
  return { NODE_OPTIONS: `${options} --import=${pathToFileURL(built).href}`.trim() };
}

describe('a fifth metric type registered by its own module, in the spawned daemon', () => {
  it('parses, aggregates and flushes it to Graphite as stats.max.KEY, counted in numStats, cleared after the flush; Prometheus shows a gauge', async () => {
    const config = `{
  graphitePort: ${env.graphite.port}, graphiteHost: '127.0.0.1', port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000,
  backends: [ './backends/graphite', './backends/prometheus' ],
  prometheus: { port: 0, address: '127.0.0.1' }, statusPage: { port: 0 }
}`;
    env.daemon = await startDaemon(config, [], preloadEnv());
    // one packet: its lines land in one interval
    await env.daemon.send('req.size:3|mx\nreq.size:9|mx\nreq.size:4|mx\nhits:1|c\nneg:-2.5|mx|#env:prod\nreq.size:7|mx');
    const flush = await flushWith(env.graphite, 'stats.max.neg;env=prod');
    expect(flush.get('stats.max.req.size')).toBe(9);
    expect(flush.get('stats.max.neg;env=prod')).toBe(-2.5);
    expect(flush.get('stats_counts.hits')).toBe(1);
    expect(flush.get('stats_counts.statsd.bad_lines_seen')).toBe(0);
    // numStats: one per key of every type (counters by their stats_counts line), the max keys with them
    const paths = [...flush.keys()];
    const perType = (p: RegExp) => paths.filter((x) => p.test(x)).length;
    const core =
      perType(/^stats_counts\./) + perType(/^stats\.gauges\./) + perType(/^stats\.sets\./) + perType(/^stats\.timers\..*\.count$/);
    expect(perType(/^stats\.max\./)).toBe(2);
    expect(flush.get('statsd.numStats')).toBe(core + 2);
    // written between the core types and the trailer, in the order the keys came
    const ts = env.graphite.lines.find((l) => l.path === 'stats.max.req.size')!.ts;
    const order = env.graphite.lines.filter((l) => l.ts === ts).map((l) => l.path);
    expect(order.indexOf('stats.max.req.size')).toBe(order.indexOf('stats.max.neg;env=prod') - 1);
    expect(order.indexOf('stats.max.neg;env=prod')).toBe(order.indexOf('statsd.numStats') - 1);
    // cleared: the next whole flush has no max line
    const next = await nextFlush(env.graphite, ts);
    expect(env.graphite.lines.filter((l) => l.ts === next && l.path.startsWith('stats.max.'))).toEqual([]);
    // the same flushes folded by the Prometheus backend: a gauge per key, the last interval's maximum
    const { body, s } = await scrapeUntil(await prometheusPort(env.daemon), (m) => m.has('req_size'), 'req_size on /metrics');
    expect(body).toContain('# TYPE req_size gauge\n');
    expect(s.get('req_size')).toBe('9');
    expect(s.get('neg{env="prod"}')).toBe('-2.5');
    // the status page knows the type: the search names it and its Graphite path, and its chart can be asked for
    await env.daemon.send('req.size:11|mx');
    const base = statusUrl(env.daemon);
    type Found = { keys: Array<{ type: string; id: string; value: number; graphite: string[] }> };
    const found = await waitForAsync(
      async () => {
        const a = (await (await fetch(base + 'api/keys?q=req.size')).json()) as Found;
        return a.keys.some((k) => k.value === 11) ? a : undefined;
      },
      5000,
      'req.size in the status search',
    );
    expect(found.keys.map((k) => [k.type, k.id, k.graphite])).toEqual([['max', 'req.size', ['stats.max.req.size']]]);
    const chart = await fetch(base + 'api/key?type=max&id=req.size');
    expect(chart.status).toBe(200);
    expect(((await chart.json()) as { type: string }).type).toBe('max');
  });

  it('with workers: 2, each worker parses and exports it and the primary merges the largest value', async () => {
    env.daemon = await startDaemon(originalStyleConfig(env.graphite.port, ', workers: 2'), [], preloadEnv());
    // the values 1..120 in a shuffled order, each packet to whichever worker reads it
    const values = Array.from({ length: 120 }, (_, i) => ((i * 37) % 120) + 1);
    for (const v of values) await env.daemon.send(`w:${v}|mx\nw.n:1|c`);
    await waitFor(
      () => env.graphite.values('stats_counts.w.n').reduce((a, b) => a + b, 0) === values.length,
      15_000,
      'every packet counted',
    );
    const seen = env.graphite.values('stats.max.w');
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBe(120);
    for (const v of seen) expect(values).toContain(v);
    expect(env.graphite.values('stats_counts.statsd.bad_lines_seen').every((v) => v === 0)).toBe(true);
  });
});
