/**
 * A real Prometheus scrapes tallyd while SIGHUPs change flushInterval and percentThreshold (issue 9,
 * item 7): the scraped counter never decreases (no reset, so increase() does not under-count), and
 * it ends equal to the total sent.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBinary } from '../unit/backends/prometheus/promtool.js';
import { pace, type RunningDaemon, sleep, startDaemon, waitFor, waitForAsync } from './harness.js';
import { freePort, prometheusPort, startPrometheus } from './prometheus-helpers.js';

function config(promPort: number, flushInterval: number, percentThreshold: number[]): string {
  return `{
  port: 0, address: '127.0.0.1', mgmt_port: 0, automaticConfigReload: false,
  flushInterval: ${flushInterval}, percentThreshold: ${JSON.stringify(percentThreshold)},
  backends: [ 'prometheus' ],
  prometheus: { port: ${promPort} }
}`;
}

describe('a real Prometheus scrapes tallyd across SIGHUPs', () => {
  let d: RunningDaemon | null = null;
  let prom: ChildProcess | null = null;
  afterEach(async () => {
    if (prom && prom.exitCode === null) {
      const p = prom;
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (p.exitCode === null) p.kill('SIGKILL');
    }
    prom = null;
    await d?.stop();
    d = null;
  });

  it('the counter never decreases and ends equal to the total sent', { timeout: 120_000 }, async (ctx) => {
    if (!requireBinary('prometheus')) return ctx.skip();
    // a fixed port, so that even a backend rebuilt on reload would be scraped again (and show its reset)
    const target = await freePort();
    d = await startDaemon(config(target, 500, [90]));
    expect(await prometheusPort(d)).toBe(target);

    const started = await startPrometheus(target, '500ms');
    prom = started.proc;
    const { log, query } = started;
    // Prometheus is scraping tallyd before anything is sent
    await waitForAsync(
      async () => (await query('up{job="tallyd"}'))[0]?.value?.[1] === '1',
      40_000,
      'prometheus to scrape tallyd',
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}:\n${log.join('').slice(-3000)}`);
    });

    // 6 rounds of 2,000 increments; a SIGHUP after each of the first 5, each changing
    // flushInterval and percentThreshold
    const reloads: [number, number[]][] = [
      [700, [95]],
      [400, [50, 99]],
      [900, [90]],
      [600, [75]],
      [500, [99, 999 / 10]],
    ];
    let sent = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 2000; i += 20) {
        await d.send(Array.from({ length: 20 }, () => 'hup.hits:1|c').join('\n'));
        sent += 20;
        if (i % 400 === 0) await pace(20);
      }
      // at least one flush and one scrape: Prometheus has the round's total
      const total = String(sent);
      await waitForAsync(async () => (await query('hup_hits'))[0]?.value?.[1] === total, 15_000, `round ${round + 1} scraped`, 100);
      if (round < reloads.length) {
        const [fi, pt] = reloads[round]!;
        writeFileSync(d.configFile, config(target, fi, pt));
        const before = d.stderr.filter((l) => l.includes('"msg":"config reloaded"')).length;
        d.proc.kill('SIGHUP');
        await waitFor(() => d!.stderr.filter((l) => l.includes('"msg":"config reloaded"')).length > before, 10_000, `reload ${round + 1}`);
      }
    }
    expect(d.stderr.filter((l) => l.includes('"msg":"config reloaded"'))).toHaveLength(5);

    // the last value scraped reaches the total sent
    let last = '';
    await waitForAsync(
      async () => (last = (await query('hup_hits'))[0]?.value?.[1] ?? '') === String(sent),
      30_000,
      'the total scraped',
      250,
    ).catch(() => undefined);
    expect(last, log.join('').slice(-2000)).toBe(String(sent));
    // every sample Prometheus stored, in order: never a decrease
    const series = await query('hup_hits[10m]');
    expect(series).toHaveLength(1);
    const values = series[0]!.values!.map(([, v]) => Number(v));
    expect(values.length, values.join(', ')).toBeGreaterThanOrEqual(6); // about 2 per round
    for (let i = 1; i < values.length; i++)
      expect(values[i]!, `sample ${i}: ${values.slice(Math.max(0, i - 3), i + 2).join(', ')}`).toBeGreaterThanOrEqual(values[i - 1]!);
    expect(values[values.length - 1]).toBe(sent);
    const resets = await query('resets(hup_hits[10m])');
    expect(resets[0]?.value?.[1]).toBe('0');
  });
});
