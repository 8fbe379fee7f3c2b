/**
 * tallyd flushes into a real carbon-cache (Debian's graphite-carbon); the values are read back from
 * whisper files. Needs carbon-cache and whisper-fetch (.ci/run installs them): fails when CI is set and
 * they are missing, skips elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Carbon, haveCarbon } from './carbon.js';
import { originalStyleConfig, type RunningDaemon, startDaemon, waitFor } from './harness.js';

const available = haveCarbon();
if (!available && process.env.CI)
  throw new Error('carbon-cache/whisper-fetch missing: .ci/run must install graphite-carbon and python3-whisper');

describe.skipIf(!available)('real carbon-cache + whisper', () => {
  const carbon = new Carbon();
  let daemon: RunningDaemon;

  beforeAll(async () => {
    await carbon.start();
    daemon = await startDaemon(originalStyleConfig(carbon.linePort, ', percentThreshold: [90]'));
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await carbon.stop();
  });

  it('stores counters, timers, gauges and sets with the values sent', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 2;
    await daemon.send('it.requests:7|c\nit.requests:3|c\nit.latency:100|ms\nit.latency:300|ms\nit.temp:21.5|g\nit.users:a|s\nit.users:b|s');
    const until = (): number => Math.floor(Date.now() / 1000) + 2;
    const counts = await waitFor(
      () => {
        const p = carbon.fetch('stats_counts.it.requests', t0, until());
        return p.length > 0 ? p : undefined;
      },
      20_000,
      'stats_counts.it.requests in whisper',
    );
    expect(counts[0]![1]).toBe(10);
    const ts = counts[0]![0];
    const one = (path: string): Promise<number> =>
      waitFor(() => carbon.fetch(path, ts - 1, ts + 1).find((p) => p[0] === ts)?.[1], 10_000, path);
    expect(await one('stats.it.requests')).toBe(10);
    expect(await one('stats.timers.it.latency.mean')).toBe(200);
    expect(await one('stats.timers.it.latency.upper')).toBe(300);
    expect(await one('stats.timers.it.latency.count')).toBe(2);
    expect(await one('stats.timers.it.latency.upper_90')).toBe(300);
    expect(await one('stats.gauges.it.temp')).toBe(21.5);
    expect(await one('stats.sets.it.users.count')).toBe(2);
  });
});
