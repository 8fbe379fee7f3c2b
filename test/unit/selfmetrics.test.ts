/**
 * The self-metrics (src/selfmetrics): each figure counted once, where its event happens, and every
 * output (SelfStats for Prometheus and the status page, the admin `messages.*` lines, a worker's
 * packet backends) reads that one count.
 */
import { describe, expect, it } from 'vitest';
import { AdminStats } from '../../src/admin/server.js';
import { DROPS_MAX_AGE_MS, ingestSelfStats, SelfMetrics } from '../../src/selfmetrics/index.js';
import { makeAggregator, send, testConfig } from './aggregator/helpers.js';

describe('SelfMetrics', () => {
  it('gives every output the same counts of one ingest', () => {
    const agg = makeAggregator();
    send(agg, 'a:1|c\nb:2|ms\nnot a line\nc:x|g');
    send(agg, 's:1|s');
    const adminStats = new AdminStats();
    adminStats.refused = 2;
    const self = new SelfMetrics({
      aggregator: agg,
      config: () => testConfig(),
      udpPorts: () => [],
      tcp: () => ({ open: 1, refused: 3, idleTimeouts: 4 }),
      adminStats,
    });
    self.flushed(7.5);

    const stats = self.stats();
    const msgs = self.adminMessages();
    const lines = new Map(self.adminLines());
    const bad = Object.values(stats.badLinesByReason).reduce((a, b) => a + b, 0);

    expect(stats.packetsReceived).toBe(2);
    expect(stats.linesReceived).toBe(5);
    expect(bad).toBe(2);
    expect(msgs.packets_received).toBe(stats.packetsReceived);
    expect(msgs.lines_received).toBe(stats.linesReceived);
    expect(msgs.bad_lines_seen).toBe(bad);
    expect(msgs.last_msg_seen).toBe(agg.lastMsgSeen);
    expect(stats.lastFlushDurationMs).toBe(7.5);
    expect(stats.flushes).toBe(1);
    expect(stats.tcp).toEqual({ open: 1, refused: 3, idleTimeouts: 4 });
    expect(lines.get('tcp_connections_refused')).toBe(3);
    expect(lines.get('admin_connections_refused')).toBe(2);
    expect(lines.get('key_table_bytes')).toBe(agg.keyBytesUsed());

    // a worker's packet backends: the same ingest figures, from the same function
    const own = ingestSelfStats(agg);
    expect(own.packetsReceived).toBe(stats.packetsReceived);
    expect(own.linesReceived).toBe(stats.linesReceived);
    expect(own.badLinesByReason).toEqual(stats.badLinesByReason);
    expect(own.liveKeys).toEqual(stats.liveKeys);
  });
});

describe('SelfMetrics kernel drops', () => {
  it('reads /proc/net/udp at most once a second for the running totals, afresh for a flush and the admin lines', () => {
    let reads = 0;
    let drops = 5;
    let now = 10_000;
    const self = new SelfMetrics({
      aggregator: makeAggregator(),
      config: () => testConfig(),
      udpPorts: () => [8125],
      tcp: () => ({ open: 0, refused: 0, idleTimeouts: 0 }),
      adminStats: new AdminStats(),
      readDrops: (ports) => {
        expect(ports).toEqual([8125]);
        reads++;
        return drops;
      },
      now: () => now,
    });

    expect(self.stats().udpReceiveErrors).toBe(5);
    drops = 9;
    now += DROPS_MAX_AGE_MS / 2;
    expect(self.stats().udpReceiveErrors).toBe(5); // a scrape or poll within the second reuses the reading
    expect(reads).toBe(1);
    now += DROPS_MAX_AGE_MS;
    expect(self.stats().udpReceiveErrors).toBe(9);
    expect(reads).toBe(2);

    drops = 12;
    expect(self.udpReceiveErrors()).toBe(12); // the flush's capture
    expect(new Map(self.adminLines()).get('udp_receive_errors')).toBe(12);
    expect(reads).toBe(4);
  });
});
