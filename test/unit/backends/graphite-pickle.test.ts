/**
 * Graphite pickle protocol (graphiteProtocol 'pickle'): the bytes are decoded by Python's own pickle
 * module (python3, with a restricted unpickler as carbon's), message by message, and must carry the same
 * points as the plaintext flush of the same snapshot; messages are bounded; the framing the delivery
 * queue uses finds their ends and counts their points. Names stay safe whatever the keys and config.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatGraphite, graphiteFormatOptions, namespaceConfigFrom } from '../../../src/backends/graphite/format.js';
import { PICKLE_FRAMING, PICKLE_MAX_DATAPOINTS, PICKLE_MAX_MESSAGE_BYTES } from '../../../src/backends/graphite/pickle.js';
import type { TallydConfig } from '../../../src/config/types.js';
import { makeAggregator, send } from '../aggregator/helpers.js';
import { config, graphiteConfig } from './fixtures.js';

const EXTRA = { lastException: 0, lastFlush: 0, flushTime: 0, flushLength: 0, now: () => 0 };
const TS_MS = 1_700_000_000_000;

/** One decoded message: its body length and its points [path, ts, value]. */
interface Message {
  bytes: number;
  points: Array<[string, number, number]>;
}

/**
 * Splits each payload into messages (4-byte big-endian length + body) and unpickles every body with
 * Python, refusing any global (what carbon's safe unpickler allows is a subset of that); one python3
 * run for all payloads.
 */
function decodeWithPython(payloads: Buffer[]): Message[][] {
  const script = `
import json, pickle, struct, sys, io
class Safe(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError('global %s.%s' % (module, name))
data = sys.stdin.buffer.read()
out = []
p = 0
while p < len(data):
    (n,) = struct.unpack('>I', data[p:p+4]); p += 4
    payload = data[p:p+n]; p += n
    msgs = []
    q = 0
    while q < len(payload):
        (m,) = struct.unpack('>I', payload[q:q+4]); q += 4
        body = payload[q:q+m]; q += m
        pts = Safe(io.BytesIO(body)).load()
        assert isinstance(pts, list)
        for (path, (ts, value)) in pts:
            assert isinstance(path, str) and isinstance(value, float) and isinstance(ts, (int, float))
        msgs.append({'bytes': m, 'points': [[path, ts, value] for (path, (ts, value)) in pts]})
    out.append(msgs)
print(json.dumps(out))
`;
  const framed = Buffer.concat(
    payloads.flatMap((p) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(p.length);
      return [h, p];
    }),
  );
  return JSON.parse(execFileSync('python3', ['-c', script], { input: framed, maxBuffer: 1 << 28 }).toString('utf8')) as Message[][];
}

/** The points of a plaintext flush, in order. */
function textPoints(text: string): Array<[string, number, number]> {
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => {
      const [path, value, ts] = l.split(' ');
      return [path!, Number(ts), Number(value)];
    });
}

function both(cfg: TallydConfig, lines: string): { text: string; pickle: Buffer; lines: number } {
  const agg = makeAggregator(cfg);
  send(agg, lines);
  const snap = agg.flush(TS_MS);
  const text = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), EXTRA);
  const pcfg = { ...cfg, graphite: { ...cfg.graphite, protocol: 'pickle' as const } };
  const pickle = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(pcfg)), EXTRA);
  expect(pickle.lines).toBe(text.lines);
  return { text: text.bytes.toString('utf8'), pickle: pickle.bytes, lines: text.lines };
}

describe('Graphite pickle protocol', () => {
  it('carries the same points as plaintext, decoded by Python pickle (protocol 2)', () => {
    const cfg = config({ percentThreshold: [90], histogram: [{ metric: 'lat', bins: [100, Infinity] }] });
    const r = both(
      cfg,
      'req:7|c\nreq:3|c|@0.5\nlat:100|ms\nlat:300|ms\ntemp:-21.5|g\nbig:1e300|g\nu:a|s\nu:b|s\ntagged:1|c|#env:prod,az:b',
    );
    const [msgs] = decodeWithPython([r.pickle]);
    expect(msgs).toHaveLength(1);
    const points = msgs!.flatMap((m) => m.points);
    expect(points).toEqual(textPoints(r.text));
    expect(points.length).toBe(r.lines);
    // spot checks of what Python saw
    expect(points).toContainEqual(['stats_counts.req', 1_700_000_000, 13]);
    expect(points).toContainEqual(['stats.gauges.temp', 1_700_000_000, -21.5]);
    expect(points).toContainEqual(['stats.gauges.big', 1_700_000_000, 1e300]);
    expect(points).toContainEqual(['stats_counts.tagged;az=b;env=prod', 1_700_000_000, 1]);
    expect(PICKLE_FRAMING.count(r.pickle)).toBe(r.lines);
    expect(PICKLE_FRAMING.many(r.pickle)).toBe(false);
  });

  it('batches into messages of at most 500 points and 512 KiB; the framing cuts at their ends and counts their points', () => {
    const cfg = config();
    const lines: string[] = [];
    for (let i = 0; i < 700; i++) lines.push(`c${i}:${i}|c`);
    // long names: the byte bound closes messages before the point bound
    for (let i = 0; i < 300; i++) lines.push(`${'x'.repeat(1900)}${i}:1|g`);
    const r = both(cfg, lines.join('\n'));
    const [msgs] = decodeWithPython([r.pickle]);
    expect(msgs!.length).toBeGreaterThan(3);
    for (const m of msgs!) {
      expect(m.points.length).toBeGreaterThan(0);
      expect(m.points.length).toBeLessThanOrEqual(PICKLE_MAX_DATAPOINTS);
      expect(m.bytes).toBeLessThanOrEqual(PICKLE_MAX_MESSAGE_BYTES);
    }
    expect(msgs!.flatMap((m) => m.points)).toEqual(textPoints(r.text));
    expect(PICKLE_FRAMING.count(r.pickle)).toBe(r.lines);
    expect(PICKLE_FRAMING.many(r.pickle)).toBe(true);

    // cut: the largest message boundary at or below max; at least the first message
    const ends: number[] = [];
    for (let off = 0; off < r.pickle.length; ) {
      off += 4 + r.pickle.readUInt32BE(off);
      ends.push(off);
    }
    expect(ends.at(-1)).toBe(r.pickle.length);
    expect(PICKLE_FRAMING.cut(r.pickle, 1)).toBe(ends[0]);
    expect(PICKLE_FRAMING.cut(r.pickle, ends[1]!)).toBe(ends[1]);
    expect(PICKLE_FRAMING.cut(r.pickle, ends[1]! + 3)).toBe(ends[1]);
    expect(PICKLE_FRAMING.cut(r.pickle, r.pickle.length + 10)).toBe(r.pickle.length);
    const head = r.pickle.subarray(0, ends[1]!);
    expect(PICKLE_FRAMING.count(head)).toBe(msgs![0]!.points.length + msgs![1]!.points.length);
  });

  it('names stay safe: with keyNameSanitize off and any key or prefix, pickle paths are the clean plaintext paths', () => {
    const keyChar = fc.constantFrom(
      ' ',
      '\t',
      '\r',
      '\0',
      ';',
      '=',
      '/',
      '.',
      'a',
      'Z',
      '9',
      '\u00e9',
      '\u2028',
      '#',
      ',',
      "'",
      '"',
      '(',
      '.\n',
    );
    const rawKey = fc.string({ unit: keyChar, minLength: 1, maxLength: 16 }).map((k) => k.replace(/[\n:|]/g, ''));
    const cases: Array<{ text: string; pickle: Buffer }> = [];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(rawKey, fc.constantFrom('1|c', '2|ms', '3|g', 'm|s')), { minLength: 1, maxLength: 8 }),
        fc.record({
          legacy: fc.boolean(),
          globalPrefix: fc.string({ unit: keyChar, maxLength: 6 }),
          prefixStats: fc.string({ unit: keyChar, maxLength: 6 }),
        }),
        (entries, p) => {
          const cfg = config({
            keyNameSanitize: false,
            prefixStats: p.prefixStats,
            graphite: graphiteConfig({ legacyNamespace: p.legacy, globalPrefix: p.globalPrefix }),
          });
          cases.push(both(cfg, entries.map(([k, v]) => `${k}:${v}`).join('\n')));
        },
      ),
      { seed: 7, numRuns: 150 },
    );
    const decoded = decodeWithPython(cases.map((c) => c.pickle));
    decoded.forEach((msgs, i) => {
      const points = msgs.flatMap((m) => m.points);
      expect(points).toEqual(textPoints(cases[i]!.text));
      for (const [path] of points) expect(path).toMatch(/^[A-Za-z0-9_.-]+(?:;[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+)*$/);
    });
  });
});
