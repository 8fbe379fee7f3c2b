/**
 * Names are always safe on the wire: whatever a sender puts in a key and whatever the config says
 * (keyNameSanitize off, odd prefixes or suffix), each Graphite record is one well-formed plaintext line
 * `<path> <number> <timestamp>`, and a flush has exactly as many lines as the formatter counts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatGraphite, graphiteFormatOptions, graphiteName, namespaceConfigFrom } from '../../../src/backends/graphite/format.js';
import { makeAggregator, send } from '../aggregator/helpers.js';
import { config, graphiteConfig } from './fixtures.js';

const PATH = '[A-Za-z0-9_.\\-]+';
const TAG = `;${PATH}=${PATH}`;
const NUMBER = '-?(?:[0-9.]+(?:e[-+]?[0-9]+)?|Infinity)';
const LINE = new RegExp(`^${PATH}(?:${TAG})* ${NUMBER} [0-9]+$`);

const EXTRA = { lastException: 0, lastFlush: 0, flushTime: 0, flushLength: 0, now: () => 0 };
const TYPES = ['1|c', '2|ms', '3|g', 'm|s', '4|h'];

/** Keys made of the bytes that matter to plaintext (space, newline, tab, CR, NUL, `;`, `=`) and any other char. */
const keyChar = fc.oneof(
  fc.constantFrom(' ', '\t', '\r', '\0', ';', '=', '/', '.', 'a', 'Z', '9', '\u00e9', '\u2028', '#', ','),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const rawKey = fc
  .string({ unit: keyChar, minLength: 1, maxLength: 24 })
  .filter((k) => !k.includes('\n') && !k.includes(':') && !k.includes('|'));
const prefixText = fc.string({ unit: keyChar, maxLength: 8 });

function checkFlush(text: string, counted: number): void {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines.length).toBe(counted);
  for (const l of lines) expect(l, JSON.stringify(l)).toMatch(LINE);
}

describe('Graphite names: always one well-formed line per record', () => {
  it('graphiteName keeps clean names as they are and cleans the others as the original does', () => {
    expect(graphiteName('api.req-ok_1')).toBe('api.req-ok_1');
    expect(graphiteName('a 999 1')).toBe('a_999_1');
    expect(graphiteName('we ird/key!@')).toBe('we_ird-key');
    expect(graphiteName('a;b=c')).toBe('abc');
    expect(graphiteName('x\r\ny')).toBe('x_y');
  });

  it('with keyNameSanitize off, no key and no prefix can add a line or break one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(rawKey, fc.constantFrom(...TYPES), fc.option(fc.string({ unit: keyChar, maxLength: 10 }))), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.record({
          legacy: fc.boolean(),
          globalPrefix: prefixText,
          prefixCounter: prefixText,
          globalSuffix: prefixText,
          prefixStats: prefixText,
        }),
        (entries, p) => {
          const cfg = config({
            keyNameSanitize: false,
            prefixStats: p.prefixStats,
            histogram: [{ metric: '', bins: [1, 10, Infinity] }],
            graphite: graphiteConfig({
              legacyNamespace: p.legacy,
              globalPrefix: p.globalPrefix,
              prefixCounter: p.prefixCounter,
              globalSuffix: p.globalSuffix,
            }),
          });
          const agg = makeAggregator(cfg);
          for (const [k, v, tags] of entries) send(agg, `${k}:${v}${tags === null ? '' : `|#${tags.replace(/[\n|]/g, '')}`}`);
          const snap = agg.flush(1_700_000_000_000);
          const out = formatGraphite(snap, graphiteFormatOptions(namespaceConfigFrom(cfg)), EXTRA);
          checkFlush(out.bytes.toString('utf8'), out.lines);
        },
      ),
      { seed: 11, numRuns: 400 },
    );
  });

  it('a key such as `a 999 1` cannot write a value at a timestamp of its own (keyNameSanitize off)', () => {
    const cfg = config({ keyNameSanitize: false });
    const agg = makeAggregator(cfg);
    send(agg, 'a 999 1:5|g\nstats.gauges.x 1 1\r:1|c');
    const out = formatGraphite(agg.flush(1_700_000_000_000), graphiteFormatOptions(namespaceConfigFrom(cfg)), EXTRA);
    const text = out.bytes.toString('utf8');
    checkFlush(text, out.lines);
    expect(text).toContain('stats.gauges.a_999_1 5 1700000000\n');
    expect(text).not.toContain(' 999 ');
  });
});
