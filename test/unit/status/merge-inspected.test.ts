/**
 * The status page's search with workers: the primary's live keys and each worker's keys of the
 * interval, as one list by key.
 */
import { describe, expect, it } from 'vitest';
import { makeKey } from '../../../src/aggregator/merge.js';
import { MetricType } from '../../../src/parser/types.js';
import { mergeInspected } from '../../../src/status/collector.js';

describe('mergeInspected', () => {
  it("adds counters, timers and sets up by key; a gauge is a worker's set value, else the primary's plus the deltas", () => {
    const local = [
      { type: MetricType.Counter, key: makeKey('c', []), value: 0 },
      { type: MetricType.Gauge, key: makeKey('g', []), value: 10 },
      { type: MetricType.Gauge, key: makeKey('gs', []), value: 10 },
    ];
    const w = (type: number, name: string, value: number, isSet = false, tags: Array<[string, string]> = []) => ({
      type,
      name,
      tags,
      value,
      isSet,
    });
    const merged = mergeInspected(local, [
      [
        w(MetricType.Counter, 'c', 3),
        w(MetricType.Gauge, 'g', 2),
        w(MetricType.Timer, 't', 4, false, [['r', 'eu']]),
        w(MetricType.Gauge, 'gs', 5, true),
      ],
      [
        w(MetricType.Counter, 'c', 4),
        w(MetricType.Gauge, 'g', -1),
        w(MetricType.Timer, 't', 1, false, [['r', 'eu']]),
        w(MetricType.Gauge, 'gs', 1),
      ],
    ]);
    expect(merged.map((m) => [m.type, m.key.id, m.value])).toEqual([
      [MetricType.Counter, 'c', 7],
      [MetricType.Gauge, 'g', 11],
      [MetricType.Gauge, 'gs', 6],
      [MetricType.Timer, 't;r=eu', 5],
    ]);
    expect(merged[3]!.key.tags).toEqual([['r', 'eu']]);
  });
});
