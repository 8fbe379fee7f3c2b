/**
 * Self-metrics, black-box: every figure tallyd sends to Graphite about what its bounds refused or
 * hold (keys_dropped, set_members_dropped, key_table_bytes) is on /metrics too, as tallyd_*, with the
 * same value, in one process and with workers.
 */
import { describe, expect, it } from 'vitest';
import { FakeGraphite, type RunningDaemon, startDaemon, sum, waitFor } from './harness.js';
import { prometheusPort, scrapeUntil } from './prometheus-helpers.js';

function config(graphitePort: number, workers: number): string {
  return `{
  graphitePort: ${graphitePort}, graphiteHost: '127.0.0.1',
  port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
  backends: [ './backends/graphite', './backends/prometheus' ],
  prometheus: { port: 0 },
  maxKeys: 20, setMaxMembers: 10, workers: ${workers}
}`;
}

describe.each([1, 2])('self-metrics on both backends (workers: %i)', (workers) => {
  it('keys_dropped, set_members_dropped and key_table_bytes: Graphite and Prometheus agree', { timeout: 60_000 }, async () => {
    const g = new FakeGraphite();
    await g.listen();
    let d: RunningDaemon | undefined;
    try {
      d = await startDaemon(config(g.port, workers));
      const port = await prometheusPort(d);
      // the set first: it is a new key too, and would be dropped with the flood past maxKeys
      let members = '';
      for (let i = 0; i < 30; i++) members += `crowd:m${i}|s\n`;
      await d.send(members);

      for (let p = 0; p < 6; p++) {
        let lines = '';
        for (let i = 0; i < 10; i++) lines += `flood.k${p * 10 + i}:1|c\n`;
        await d.send(lines);
      }

      const graphiteTotal = (name: string): number => sum(g.values(`stats_counts.statsd.${name}`));
      await waitFor(
        () => graphiteTotal('keys_dropped') > 0 && graphiteTotal('set_members_dropped') > 0,
        15_000,
        'drops flushed to Graphite',
      );
      // the totals stop moving once every dropped line has been flushed; Prometheus then shows the same
      const { s } = await scrapeUntil(
        port,
        (x) =>
          Number(x.get('tallyd_keys_dropped_total')) === graphiteTotal('keys_dropped') &&
          Number(x.get('tallyd_set_members_dropped_total')) === graphiteTotal('set_members_dropped'),
        'tallyd_*_dropped_total equal to the Graphite totals',
      );
      expect(Number(s.get('tallyd_keys_dropped_total'))).toBeGreaterThan(0);
      expect(Number(s.get('tallyd_set_members_dropped_total'))).toBeGreaterThan(0);
      const keyBytes = (): number | undefined => g.values('stats.gauges.statsd.key_table_bytes').at(-1);
      const { s: s2 } = await scrapeUntil(
        port,
        (x) => keyBytes() !== undefined && Number(x.get('tallyd_key_table_bytes')) === keyBytes(),
        'tallyd_key_table_bytes equal to the last Graphite key_table_bytes',
      );
      expect(Number(s2.get('tallyd_key_table_bytes'))).toBeGreaterThan(0);
    } finally {
      await d?.stop().catch(() => undefined);
      await g.close();
    }
  });
});
