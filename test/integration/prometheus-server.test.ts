/**
 * A real Prometheus server (Debian's `prometheus` package) scrapes the built daemon every second and
 * answers a PromQL query with the value that was sent over StatsD.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBinary } from '../unit/backends/prometheus/promtool.js';
import { type RunningDaemon, startDaemon, waitForAsync } from './harness.js';
import { prometheusPort, startPrometheus } from './prometheus-helpers.js';

describe('a real Prometheus scrapes tallyd', () => {
  let d: RunningDaemon | null = null;
  let prom: ChildProcess | null = null;
  afterEach(async () => {
    if (prom && prom.exitCode === null) {
      const p = prom;
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
      if (p.exitCode === null) p.kill('SIGKILL');
    }
    prom = null;
    await d?.stop();
    d = null;
  });

  it('answers a PromQL query with the value sent', { timeout: 60_000 }, async (ctx) => {
    if (!requireBinary('prometheus')) return ctx.skip();
    d = await startDaemon(
      `{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500, backends: ['prometheus'], prometheus: { port: 0 } }`,
    );
    const target = await prometheusPort(d);
    await d.send('checkout.orders:7|c|#shop:berlin\ncheckout.basket:12.5|g');

    const started = await startPrometheus(target, '1s');
    prom = started.proc;
    const { log } = started;
    const query = (q: string) => started.query<{ metric: Record<string, string>; value: [number, string] }>(q);
    let orders: Awaited<ReturnType<typeof query>> = [];
    await waitForAsync(
      async () => (orders = await query('checkout_orders')).length > 0,
      40_000,
      'checkout_orders in prometheus',
      250,
    ).catch(() => undefined);
    expect(orders, log.join('').slice(-3000)).toHaveLength(1);
    expect(orders[0]!.metric).toMatchObject({ __name__: 'checkout_orders', shop: 'berlin', job: 'tallyd' });
    expect(orders[0]!.value[1]).toBe('7');
    const basket = await query('checkout_basket');
    expect(basket[0]?.value[1]).toBe('12.5');
    const up = await query('up{job="tallyd"}');
    expect(up[0]?.value[1]).toBe('1');
    const self = await query('tallyd_packets_received_total');
    expect(Number(self[0]?.value[1])).toBeGreaterThanOrEqual(1);
  });
});
