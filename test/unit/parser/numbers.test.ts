import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNumber } from '../../../src/parser/numbers.js';

/** The reference: Number() on the text, except that an empty/blank text is NaN. */
function reference(text: string): number {
  return text.trim().length === 0 ? NaN : Number(text);
}

function parse(text: string): number {
  const b = Buffer.from(`xx${text}yy`, 'latin1');
  return parseNumber(b, 2, b.length - 2);
}

describe('parseNumber', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['-0', -0],
    ['+3', 3],
    ['-3', -3],
    ['12.5', 12.5],
    ['.5', 0.5],
    ['5.', 5],
    ['-.25', -0.25],
    ['007', 7],
    ['0.1', 0.1],
    ['0.3', 0.3],
    ['123456789012345', 123456789012345],
    ['1234567890123456789', 1234567890123456800],
    ['9007199254740993', 9007199254740992],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['0x10', 16],
    [' 42 ', 42],
    ['\t7\n', 7],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['1e400', Infinity],
    ['0.0000000000000000000000001', 1e-25],
  ])('%j → %d', (text, want) => {
    expect(Object.is(parse(text), want)).toBe(true);
  });

  it.each(['', ' ', '\t', '-', '+', '.', '-.', 'abc', '1a', '1.2.3', 'NaN', '--1', '+-1', '-0x10', '1_000', '1,5', '\u00a05'])(
    '%j → NaN',
    (text) => {
      expect(parse(text)).toBeNaN();
    },
  );

  it('decodes non-ASCII bytes as UTF-8 (NBSP is trimmed like Number(), a lone 0xA0 is not)', () => {
    const nbsp = Buffer.from('\u00a05', 'utf8'); // C2 A0 35
    expect(parseNumber(nbsp, 0, nbsp.length)).toBe(5);
    const lone = Buffer.from([0xa0, 0x35]);
    expect(parseNumber(lone, 0, lone.length)).toBeNaN();
  });

  it('only reads its range', () => {
    const b = Buffer.from('99:12.5|ms');
    expect(parseNumber(b, 3, 7)).toBe(12.5);
    expect(parseNumber(b, 3, 3)).toBeNaN();
  });

  it('matches Number() on decimal strings (property)', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '+', '-'), fc.stringMatching(/^[0-9]{0,25}$/), fc.boolean(), fc.stringMatching(/^[0-9]{0,25}$/))
      .map(([sign, int, dot, frac]) => `${sign}${int}${dot ? '.' : ''}${dot ? frac : ''}`);
    fc.assert(
      fc.property(decimal, (text) => {
        expect(Object.is(parse(text), reference(text))).toBe(true);
      }),
      { seed: 42, numRuns: 20_000 },
    );
  });

  it('matches Number() on the text of random doubles (property)', () => {
    fc.assert(
      fc.property(fc.double(), fc.integer({ min: 0, max: 20 }), (d, digits) => {
        for (const text of [String(d), d.toFixed(digits)]) {
          expect(Object.is(parse(text), reference(text))).toBe(true);
        }
      }),
      { seed: 7, numRuns: 20_000 },
    );
  });

  it('matches Number() on arbitrary short strings (property)', () => {
    const chars = fc.constantFrom(...'0123456789+-.eExXabIinfty N\t'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 12 }), (arr) => {
        const text = arr.join('');
        expect(Object.is(parse(text), reference(text))).toBe(true);
      }),
      { seed: 3, numRuns: 20_000 },
    );
  });
});
