/**
 * Resilience, black-box (issue 4, point 5): key explosions. 300k distinct keys stay under 400 MiB RSS;
 * past maxKeys new keys are dropped and counted (keys_dropped, one warning per flush naming the top
 * prefixes) while existing keys keep counting; idleKeyTtl reclaims idle keys; keyFlush reports the
 * most frequent keys.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectQuietFor, pace, sum, useCleanups, waitCounters, waitFor } from './harness.js';

const { cleanups, setup } = useCleanups();

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('key explosions', () => {
  it('300k distinct keys: the daemon stays up and under 400 MiB RSS', { timeout: 60_000 }, async () => {
    const { g, d } = await setup(', flushInterval: 4000, deleteIdleStats: true');
    const total = 300_000;
    let peak = 0;
    for (let k = 0; k < total; k += 25) {
      let p = '';
      for (let j = 0; j < 25; j++) p += `burst.g${(k + j) % 97}.key${k + j}:1|c\n`;
      await d.send(p);
      if (k % 2500 === 0) await pace(40); // paced: 100 packets per 40 ms, about what creating new keys costs
      if (k % 50_000 === 0) peak = Math.max(peak, rssMiB(d.proc.pid!));
    }
    // every key arrives in a flush (numStats counts them), the process keeps running
    // what the kernel dropped (its receive buffer overflowed) is visible in udp_receive_errors: 25 keys a packet
    const seen = (): number => sum(g.values('statsd.numStats')) + 25 * Math.max(0, ...g.values('stats.gauges.statsd.udp_receive_errors'));
    await waitFor(() => seen() >= total, 30_000, 'the burst flushed');
    expect(sum(g.values('statsd.numStats'))).toBeGreaterThan(total * 0.9);
    peak = Math.max(peak, rssMiB(d.proc.pid!));
    expect(peak).toBeLessThan(400);
    expect(d.proc.exitCode).toBeNull();
    expect(await d.admin('health')).toBe('health: up\n');
    // deleteIdleStats: after the flush the keys are gone (memory can return)
    await waitFor(() => g.values('statsd.numStats').at(-1)! < 100, 15_000, 'keys deleted after the burst');
  });

  it('past maxKeys lines for new keys are dropped and counted; existing keys keep counting', async () => {
    const { g, d } = await setup(', maxKeys: 20');
    for (let i = 0; i < 10; i++) await d.send(`keep.k${i}:1|c`);
    await waitCounters(d, "'keep.k9': 1");
    const flood: string[] = [];
    for (let i = 0; i < 60; i++) flood.push(`flood.a.k${i}:1|c`);
    for (let i = 0; i < 20; i++) flood.push(`flood.b.k${i}:1|c`);
    for (let i = 0; i < flood.length; i += 10) await d.send(flood.slice(i, i + 10).join('\n'));
    for (let i = 0; i < 10; i++) await d.send(`keep.k${i}:2|c`);

    await waitFor(() => sum(g.values('stats_counts.keep.k9')) === 3, 10_000, 'keep.k9 = 3');
    for (let i = 0; i < 10; i++) expect(sum(g.values(`stats_counts.keep.k${i}`))).toBe(3);
    await waitFor(() => g.has('stats_counts.statsd.keys_dropped'), 5000, 'keys_dropped flushed');
    const accepted = new Set(g.lines.filter((l) => l.path.startsWith('stats_counts.flood.')).map((l) => l.path)).size;
    expect(accepted).toBeLessThan(10);
    expect(sum(g.values('stats_counts.statsd.keys_dropped'))).toBe(80 - accepted);
    const warn = d.stderr.find((l) => l.includes('maxKeys reached'));
    expect(warn).toBeDefined();
    const w = JSON.parse(warn!) as { level: number; topPrefixes: Record<string, number> };
    expect(w.level).toBe(40);
    expect(Object.keys(w.topPrefixes)[0]).toBe('flood.a');
    expect(Object.keys(w.topPrefixes)).toContain('flood.b');
    expect((await d.admin('stats')).includes(`messages.keys_dropped: ${80 - accepted}`)).toBe(true);
    // at most one such warning per flush
    await expectQuietFor(1200, () => expect(d.stderr.filter((l) => l.includes('maxKeys reached')).length).toBeLessThanOrEqual(2));
  });

  it('idleKeyTtl deletes keys not updated for that many flushes; busy keys stay', async () => {
    const { g, d } = await setup(', idleKeyTtl: 2');
    await d.send('idle.once:1|c\nidle.once_t:5|ms\nidle.once_s:x|s');
    const busy = setInterval(() => void d.send('idle.busy:1|c'), 200);
    cleanups.push(async () => clearInterval(busy));
    await waitFor(() => g.values('stats_counts.idle.busy').length >= 5, 10_000, 'five flushes');
    clearInterval(busy);
    // flushed while alive (the interval it was sent in, then 1 idle flush), then gone
    const n = g.values('stats_counts.idle.once').length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(3);
    expect(g.values('stats.timers.idle.once_t.count').length).toBeLessThanOrEqual(3);
    expect(g.values('stats.sets.idle.once_s.count').length).toBeLessThanOrEqual(3);
    const last = [...g.byTimestamp().values()].at(-1)!;
    expect(last.has('stats_counts.idle.once')).toBe(false);
    expect(last.has('stats_counts.idle.busy')).toBe(true);
  });

  it('keyFlush writes the most frequent keys of each interval to stdout', async () => {
    const { d } = await setup(', keyFlush: { interval: 1000, percent: 100 }');
    await d.send(Array.from({ length: 5 }, () => 'kf.a:1|c').join('\n') + '\nkf.b:1|c\nkf.b:3|ms');
    await waitFor(() => d.stdout.some((l) => / count=5 key=kf\.a$/.test(l)), 5000, 'keyFlush line for kf.a');
    const a = d.stdout.findIndex((l) => / count=5 key=kf\.a$/.test(l));
    const b = d.stdout.findIndex((l) => / count=2 key=kf\.b$/.test(l));
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBe(a + 1); // most frequent first; counter and timer lines of one name add up
    expect(d.stdout[a]).toMatch(/^\w{3} \w{3} \d{2} \d{4} .* count=5 key=kf\.a$/);
  });
});
