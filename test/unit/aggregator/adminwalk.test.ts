/**
 * The admin walks (src/aggregator/adminwalk.ts): deletes match all patterns in one pass with the
 * original's output, and both dumps and deletes run in slices that let other work in between.
 */
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../src/aggregator/index.js';
import { nextTurn } from '../../../src/pipeline/scheduler.js';
import { makeAggregator, send } from './helpers.js';

/** The original's delete_stats, pattern by pattern over the live keys (the reference semantics). */
function referenceDelete(live: string[], patterns: string[]): { lines: string[]; left: string[] } {
  const keys = [...live];
  const lines: string[] = [];
  for (const p of patterns) {
    const matches: string[] = [];
    if (keys.includes(p)) matches.push(p);
    if (p.endsWith('.*')) {
      const folder = p.slice(0, -1);
      for (const k of keys) if (k.startsWith(folder)) matches.push(k);
    }
    if (matches.length === 0) lines.push(`metric ${p} not found`);
    for (const m of matches) {
      const i = keys.indexOf(m);
      if (i >= 0) keys.splice(i, 1);
      lines.push(`deleted: ${m}`);
    }
  }
  return { lines, left: keys };
}

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function userCounters(agg: Aggregator): string[] {
  return Object.keys(agg.dump('counters')).filter((k) => !k.startsWith('statsd.'));
}

describe('deleteKeys: one pass for every pattern, the original output', () => {
  it('matches the pattern-by-pattern reference on random key trees and pattern lists', () => {
    const r = rng(7);
    const parts = ['a', 'b', 'c', 'ab', 'x'];
    const pick = (): string => parts[Math.floor(r() * parts.length)]!;
    for (let round = 0; round < 200; round++) {
      const agg = makeAggregator();
      const keys = new Set<string>();
      const n = 1 + Math.floor(r() * 30);
      for (let i = 0; i < n; i++) {
        const depth = 1 + Math.floor(r() * 4);
        keys.add(Array.from({ length: depth }, pick).join('.'));
      }
      send(agg, [...keys].map((k) => `${k}:1|c`).join('\n'));
      const live = userCounters(agg);
      const patterns: string[] = [];
      const np = 1 + Math.floor(r() * 8);
      for (let i = 0; i < np; i++) {
        const depth = 1 + Math.floor(r() * 3);
        const base = Array.from({ length: depth }, pick).join('.');
        patterns.push(r() < 0.6 ? base + '.*' : base);
      }
      const want = referenceDelete(live, patterns);
      expect(agg.deleteKeys('counters', patterns), `keys ${live.join(' ')} patterns ${patterns.join(' ')}`).toEqual(want.lines);
      expect(userCounters(agg)).toEqual(want.left);
    }
  });

  it('a key named like a folder pattern is reported twice by that pattern, as the original does', () => {
    const agg = makeAggregator({ keyNameSanitize: false });
    send(agg, 'a.*:1|c\na.b:1|c');
    expect(agg.deleteKeys('counters', ['a.*'])).toEqual(['deleted: a.*', 'deleted: a.*', 'deleted: a.b']);
  });

  it('8,000 folder patterns over 20,000 keys: the same answer as the reference, one walk', () => {
    const agg = makeAggregator();
    const keys: string[] = [];
    for (let i = 0; i < 20_000; i++) keys.push(`f${i % 9000}.m${i}`);
    for (let i = 0; i < keys.length; i += 500)
      send(
        agg,
        keys
          .slice(i, i + 500)
          .map((k) => `${k}:1|c`)
          .join('\n'),
      );
    const patterns = Array.from({ length: 8000 }, (_, i) => `f${i}.*`);
    const lines = agg.deleteKeys('counters', patterns);
    // keys f8000..f8999 stay; every other key is deleted under its own folder's pattern, in order
    const expected: string[] = [];
    for (let p = 0; p < 8000; p++) for (let i = p; i < 20_000; i += 9000) expected.push(`deleted: f${p}.m${i}`);
    expect(lines).toEqual(expected);
    expect(userCounters(agg)).toHaveLength(20_000 - expected.length);
  });
});

describe('sliced admin walks', () => {
  it('deleteKeysSliced yields between slices, and its answer equals the synchronous one', async () => {
    const build = (): Aggregator => {
      const agg = makeAggregator();
      for (let b = 0; b < 40; b++) {
        let text = '';
        for (let i = 0; i < 1000; i++) text += `s${b % 7}.k${b}_${i}:1|c\n`;
        send(agg, text);
      }
      return agg;
    };
    const patterns = ['s1.*', 's3.*', 'nope', 's5.*'];
    const want = build().deleteKeys('counters', patterns);
    const agg = build();
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    // 0.01 ms slices: the walk of 40k keys takes many slices, each followed by an event-loop turn
    const { runSliced, DeleteJob } = await import('../../../src/aggregator/adminwalk.js');
    const got = await runSliced(
      new DeleteJob((agg as unknown as { adminStore(): never }).adminStore(), 'counters', patterns),
      nextTurn,
      0.01,
    );
    running = false;
    expect(got).toEqual(want);
    expect(turns).toBeGreaterThan(3);
    expect(await agg.deleteKeysSliced('counters', ['s0.*'])).toHaveLength(Math.ceil(40 / 7) * 1000);
  });

  it('keys deleted or created while a sliced delete runs: skipped, not part of it', async () => {
    const agg = makeAggregator();
    let text = '';
    for (let i = 0; i < 5000; i++) text += `d.k${i}:1|c\n`;
    send(agg, text);
    const { runSliced, DeleteJob } = await import('../../../src/aggregator/adminwalk.js');
    const store = (agg as unknown as { adminStore(): never }).adminStore();
    const job = new DeleteJob(store, 'counters', ['d.*']);
    const run = runSliced(job, nextTurn, 0.01);
    // between slices: a flush with deleteCounters removes nothing here, but new keys arrive and one is removed
    send(agg, 'd.late:1|c');
    agg.deleteKeys('counters', ['d.k4999']);
    const lines = await run;
    expect(lines).not.toContain('deleted: d.late');
    expect(userCounters(agg)).toEqual(['d.late']);
  });

  it('dumpSliced gives the dump as entries, in insertion order', async () => {
    const agg = makeAggregator();
    send(agg, 'b:2|c\na:1|c\nt:5|ms');
    expect(await agg.dumpSliced('counters')).toEqual(Object.entries(agg.dump('counters')));
    expect(await agg.dumpSliced('timers')).toEqual([['t', [5]]]);
  });
});
