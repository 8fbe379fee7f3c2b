/** The admin dump's text: util.inspect of the object, byte for byte, built entry by entry in slices. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CHUNK_ENTRIES, formatEntries, formatEntriesSliced } from '../../../src/admin/format.js';
import { nextTurn } from '../../../src/pipeline/scheduler.js';

function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
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

describe('formatEntries = util.inspect of the object', () => {
  it('random keys (quoted, escaped, reserved names) and values (numbers, -0, NaN, timer arrays of every size)', async () => {
    const r = rng(11);
    const keyPool = [
      'a',
      '0',
      '4',
      '10',
      '007',
      '4294967295',
      'a.b',
      'x_y',
      'ab1',
      '1a',
      "it's",
      'say "hi"',
      'both\'"',
      'k\\q',
      'tab\t',
      'é',
      '日本',
      '__proto__',
      'constructor',
      'toString',
      'stats.timers.x',
      '',
      'a-b',
      'x;tag=1',
      'A'.repeat(90),
    ];
    const numbers = [0, -0, 1.5, 1e21, 1e-7, NaN, Infinity, -Infinity, -3, 123456789, 0.1 + 0.2];
    for (let round = 0; round < 3000; round++) {
      const entries: Array<[string, unknown]> = [];
      const seen = new Set<string>();
      const n = Math.floor(r() * 30);
      for (let i = 0; i < n; i++) {
        const k = keyPool[Math.floor(r() * keyPool.length)]! + (r() < 0.3 ? String(i) : '');
        if (seen.has(k)) continue;
        seen.add(k);
        let v: unknown;
        if (r() < 0.5) v = numbers[Math.floor(r() * numbers.length)];
        else {
          const m = [0, 1, 3, 6, 7, 20, 99, 100, 101, 250][Math.floor(r() * 10)]!;
          v = Array.from({ length: m }, () => (r() < 0.5 ? Math.floor(r() * 1000) : r() * 1e6));
        }
        entries.push([k, v]);
      }
      const want = inspect(objectOf(entries));
      expect(formatEntries(entries)).toBe(want);
      expect((await formatEntriesSliced(entries)).join('')).toBe(want);
    }
  });

  it('the one-line / one-entry-per-line boundary at 80 columns', () => {
    for (let len = 1; len < 80; len++) {
      const entries: Array<[string, unknown]> = [
        ['k'.repeat(len), 1],
        ['b', 2],
      ];
      expect(formatEntries(entries)).toBe(inspect(objectOf(entries)));
    }
  });

  it('sliced: the same text, yielding to the event loop between slices', async () => {
    const entries: Array<[string, unknown]> = [];
    for (let i = 0; i < 20_000; i++) entries.push([`stats.k${i}`, i % 3 === 0 ? [i, i + 1] : i]);
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks = await formatEntriesSliced(entries, nextTurn, 0.01);
    running = false;
    expect(chunks.join('')).toBe(inspect(objectOf(entries)));
    // written in chunks of at most CHUNK_ENTRIES entries
    expect(chunks.length).toBe(Math.ceil(entries.length / CHUNK_ENTRIES) + 1);
    expect(turns).toBeGreaterThan(3);
  });
});
