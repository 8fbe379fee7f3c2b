/**
 * Graphite lines of a metric type beyond the core four (src/backends/graphite/other-types.ts), with the
 * fake "max" type of test/fake-type/max-type.ts registered as its module registers itself: its stats go
 * out after the sets and before numStats, named as the core types are named (namespace, prefix,
 * globalSuffix, tags, cleaning), counted in numStats and in the lines, the same bytes whether formatted
 * at once or in slices, and the same points through the pickle protocol (decoded by Python's pickle).
 * With no type registered, or none of its stats in the flush, the core types' bytes do not change.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/aggregator/snapshot.js';
import {
  formatGraphite,
  formatGraphiteAsync,
  type GraphiteExtra,
  graphiteFormatOptions,
  namespaceConfigFrom,
} from '../../../src/backends/graphite/format.js';
import { registerGraphiteType } from '../../../src/backends/graphite/other-types.js';
import { PICKLE_FRAMING } from '../../../src/backends/graphite/pickle.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { type MaxStat, registerMaxType } from '../../fake-type/max-type.js';
import { makeAggregator, send } from '../aggregator/helpers.js';
import { config, counter, graphiteConfig, key, referenceSnapshot, snapshot, TS } from './fixtures.js';

const EXTRA: GraphiteExtra = { lastException: 0, lastFlush: 0, flushTime: 0, flushLength: 0, now: () => 0 };
const TS_MS = 1_700_000_000_000;

let unregister: () => void = () => undefined;
beforeAll(() => {
  unregister = registerMaxType();
});
afterAll(() => unregister());

function format(cfg: TallydConfig, snap: Snapshot): { lines: string[]; numStats: number } {
  const out = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), EXTRA);
  const lines = out.bytes.toString('utf8').slice(0, -1).split('\n');
  expect(out.lines).toBe(lines.length);
  return { lines: lines.map((l) => l.replace(` ${snap.timestamp}`, ' TS')), numStats: out.numStats };
}

/** The daemon's path up to the backend: lines parsed and aggregated, one flush captured. */
function flushOf(cfg: TallydConfig, text: string): Snapshot {
  const agg = makeAggregator(cfg);
  send(agg, text);
  return agg.flush(TS_MS);
}

const own = (l: string) => l.includes('statsd.');

describe('Graphite lines of a registered fifth type (the fake max type)', () => {
  it('are written after the sets and before numStats, as stats.max.KEY, counted in numStats', () => {
    const cfg = config();
    const snap = flushOf(cfg, 'req.size:3|mx\nreq.size:9|mx\nneg:-2.5|mx\nreq.size:4|mx\nhits:1|c\nu:a|s\nlevel:7|g');
    const { lines, numStats } = format(cfg, snap);
    expect(lines.filter((l) => !own(l))).toEqual([
      'stats.hits 1 TS',
      'stats_counts.hits 1 TS',
      'stats.gauges.level 7 TS',
      'stats.sets.u.count 1 TS',
      'stats.max.req.size 9 TS',
      'stats.max.neg -2.5 TS',
    ]);
    // right after the last set, right before numStats
    const at = lines.indexOf('stats.max.req.size 9 TS');
    expect(lines[at - 1]).toBe('stats.sets.u.count 1 TS');
    expect(lines[at + 2]).toMatch(/^statsd\.numStats /);
    const core = snap.counters.length + snap.timers.length + snap.gauges.length + snap.sets.length;
    expect(numStats).toBe(core + 2);
    expect(lines[at + 2]).toBe(`statsd.numStats ${core + 2} TS`);
  });

  it('are named with the new namespace, globalPrefix, globalSuffix and tags as the core types', () => {
    const text = 'p:5|mx|#env:prod,az:b\np:1|mx\nodd key/x:2|mx';
    const raw = { keyNameSanitize: false };
    const withPrefix = config({ ...raw, graphite: graphiteConfig({ legacyNamespace: false, globalPrefix: 'pfx', globalSuffix: 'sfx' }) });
    expect(format(withPrefix, flushOf(withPrefix, text)).lines.filter((l) => l.includes('.max.'))).toEqual([
      'pfx.max.p.sfx;az=b;env=prod 5 TS',
      'pfx.max.p.sfx 1 TS',
      'pfx.max.odd_key-x.sfx 2 TS', // cleaned on the way out as a core type's name (keyNameSanitize off)
    ]);
    const noPrefix = config({ graphite: graphiteConfig({ legacyNamespace: false, globalPrefix: '' }) });
    expect(format(noPrefix, flushOf(noPrefix, 'p:5|mx')).lines.filter((l) => l.startsWith('max.'))).toEqual(['max.p 5 TS']);
    // the core types under the same settings, for comparison
    expect(format(noPrefix, flushOf(noPrefix, 'p:5|g')).lines).toContain('gauges.p 5 TS');
  });

  it('leave the core types byte-identical: registered but absent from the flush, the bytes are those of the core four alone', () => {
    const cfg = config();
    const o = graphiteFormatOptions(namespaceConfigFrom(cfg));
    const withType = formatGraphite(referenceSnapshot(), o, EXTRA);
    const snap = flushOf(cfg, 'req.size:9|mx\nhits:1|c');
    expect(snap.others?.get('max')).toHaveLength(1);
    unregister();
    try {
      const without = formatGraphite(referenceSnapshot(), o, EXTRA);
      expect(withType.bytes.equals(without.bytes)).toBe(true);
      expect(withType.numStats).toBe(8);
      // unregistered, a flush that has max stats writes none of them
      const lines = formatGraphite(snap, o, EXTRA).bytes.toString('utf8');
      expect(lines).not.toContain('.max.');
      expect(lines).toContain('stats.hits 1 ');
    } finally {
      unregister = registerMaxType();
    }
  });

  it('are the same bytes when formatted in slices, across many stats, with a writer of several lines per stat', async () => {
    const undo = registerGraphiteType<MaxStat>(
      'spread',
      (m, out) => {
        out.line(m.key, '.value', m.max);
        out.line(m.key, '.double', m.max * 2);
        out.line(m.key, '.huge', m.max * 1e308 * 10); // Infinity for |max| > 0.18: saturated
      },
      { part: 'sprd', units: 3 },
    );
    try {
      const maxes: MaxStat[] = Array.from({ length: 6000 }, (_, i) => ({
        key: key(`k.${i}`, i % 5 === 0 ? [['h', 'x' + i]] : []),
        max: i - 0.5,
      }));
      const snap = snapshot({
        timestamp: TS,
        counters: Array.from({ length: 3000 }, (_, i) => counter(`c.${i}`, i)),
        sets: [{ key: key('s'), count: 2 }],
        others: new Map([
          ['max', maxes],
          ['spread', maxes.slice(0, 2000)],
        ]),
      });
      const o = graphiteFormatOptions(namespaceConfigFrom(config()));
      const sync = formatGraphite(snap, o, EXTRA);
      const sliced = await formatGraphiteAsync(snap, o, EXTRA, 0);
      expect(sliced.bytes.equals(sync.bytes)).toBe(true);
      expect(sliced.lines).toBe(sync.lines);
      expect(sync.numStats).toBe(3000 + 1 + 6000 + 2000);
      const text = sync.bytes.toString('utf8');
      expect(text).toContain(`stats.max.k.5;h=x5 4.5 ${TS}\n`);
      expect(text).toContain(
        `stats.sprd.k.2.value 1.5 ${TS}\nstats.sprd.k.2.double 3 ${TS}\nstats.sprd.k.2.huge ${Number.MAX_VALUE} ${TS}\n`,
      );
      expect(text).not.toContain('Infinity');
      // max (registered first) before spread, both after the set and before numStats
      expect(text.indexOf('stats.sets.s.count')).toBeLessThan(text.indexOf('stats.max.k.1 '));
      expect(text.indexOf('stats.max.k.5999 ')).toBeLessThan(text.indexOf('stats.sprd.k.0.value'));
      expect(text.indexOf('stats.sprd.k.1999.huge')).toBeLessThan(text.indexOf('statsd.numStats 11001 '));
      expect(() => registerGraphiteType('spread', () => undefined)).toThrow(/already registered/);
    } finally {
      undo();
    }
  });

  it('carry the same points through the pickle protocol (decoded by Python pickle)', () => {
    const cfg = config();
    const snap = flushOf(cfg, 'req.size:3|mx\nreq.size:9|mx\nt:1.25|mx|#a:b\nhits:2|c');
    const text = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), EXTRA);
    const pcfg = config({ graphite: graphiteConfig({ protocol: 'pickle' }) });
    const pickle = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(pcfg)), EXTRA);
    expect(pickle.numStats).toBe(text.numStats);
    expect(PICKLE_FRAMING.count(pickle.bytes)).toBe(text.lines);
    const script = `
import json, pickle, struct, sys, io
class Safe(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError('global %s.%s' % (module, name))
data = sys.stdin.buffer.read()
pts = []
p = 0
while p < len(data):
    (n,) = struct.unpack('>I', data[p:p+4]); p += 4
    pts += [[path, ts, value] for (path, (ts, value)) in Safe(io.BytesIO(data[p:p+n])).load()]; p += n
print(json.dumps(pts))
`;
    const points = JSON.parse(execFileSync('python3', ['-c', script], { input: pickle.bytes }).toString('utf8')) as Array<
      [string, number, number]
    >;
    const expected = text.bytes
      .toString('utf8')
      .slice(0, -1)
      .split('\n')
      .map((l) => {
        const [path, value, ts] = l.split(' ');
        return [path!, Number(ts), Number(value)];
      });
    expect(points).toEqual(expected);
    expect(points).toContainEqual(['stats.max.req.size', TS_MS / 1000, 9]);
    expect(points).toContainEqual(['stats.max.t;a=b', TS_MS / 1000, 1.25]);
  });
});
