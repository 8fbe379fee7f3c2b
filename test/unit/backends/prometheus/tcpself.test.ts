/** tallyd_tcp_* self-metrics: read at scrape time from the daemon's TCP connection counts. */
import { describe, expect, it } from 'vitest';
import { createSelfMetrics } from '../../../../src/backends/prometheus/selfmetrics.js';
import type { StoreStats } from '../../../../src/backends/prometheus/series.js';
import type { SelfStats } from '../../../../src/backends/types.js';
import { fakeSelfStats, samples } from './helpers.js';

const store: StoreStats = {
  series: { counter: 0, gauge: 0, summary: 0, histogram: 0 },
  families: 0,
  expired: 0,
  conflicts: 0,
  redefined: 0,
  negativeCounters: 0,
};

describe('tallyd_tcp_* self-metrics', () => {
  it('counters of refused and idle-closed connections, a gauge of open ones', async () => {
    const self: { current: SelfStats } = { current: { ...fakeSelfStats, tcp: { open: 3, refused: 40, idleTimeouts: 20 } } };
    const m = createSelfMetrics({ selfStats: () => self.current, storeStats: () => store }, { processMetrics: false });
    let s = samples(await m.metrics());
    expect(s.get('tallyd_tcp_connections_refused_total')).toBe('40');
    expect(s.get('tallyd_tcp_idle_timeouts_total')).toBe('20');
    expect(s.get('tallyd_tcp_connections')).toBe('3');
    self.current = { ...fakeSelfStats, tcp: { open: 0, refused: 41, idleTimeouts: 23 } };
    s = samples(await m.metrics());
    expect(s.get('tallyd_tcp_connections_refused_total')).toBe('41');
    expect(s.get('tallyd_tcp_idle_timeouts_total')).toBe('23');
    expect(s.get('tallyd_tcp_connections')).toBe('0');
    expect(m.names).toContain('tallyd_tcp_connections_refused_total');
  });

  it('0 where the process runs no TCP listener (no tcp field)', async () => {
    const m = createSelfMetrics({ selfStats: () => fakeSelfStats, storeStats: () => store }, { processMetrics: false });
    const s = samples(await m.metrics());
    expect(s.get('tallyd_tcp_connections_refused_total')).toBe('0');
  });
});
