import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKeyBytes, hashTagBytes, parsePacket } from '../../../src/parser/scanner.js';
import { type BadLine, Sample, type SampleSink } from '../../../src/parser/types.js';
import { type Bad, type Got, RecordingSink } from './helpers.js';

function run(text: string | Buffer): { sink: RecordingSink; lines: number } {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const sink = new RecordingSink();
  const lines = parsePacket(buf, 0, buf.length, sink, new Sample());
  return { sink, lines };
}

/** A sample with defaults for what a row does not mention. */
function s(type: Got['type'], key: string, value: number, more: Partial<Got> = {}): Got {
  return { type, key, value, rate: 1, delta: false, tags: '', member: String(value), ...more };
}

describe('parsePacket: valid lines', () => {
  const rows: [string, Got[]][] = [
    ['foo:1|c', [s('counter', 'foo', 1)]],
    ['foo:2.5|c', [s('counter', 'foo', 2.5, { member: '2.5' })]],
    ['foo:-4|c', [s('counter', 'foo', -4)]],
    ['a:1|c:2|c', [s('counter', 'a', 1), s('counter', 'a', 2)]],
    ['a:1|c:2|ms:3|g', [s('counter', 'a', 1), s('timer', 'a', 2), s('gauge', 'a', 3)]],
    ['a:1|c\r\n', [s('counter', 'a', 1)]],
    ['t:320|ms', [s('timer', 't', 320)]],
    ['t:12.5|ms', [s('timer', 't', 12.5, { member: '12.5' })]],
    ['t:0|ms', [s('timer', 't', 0)]],
    ['h:5|h', [s('timer', 'h', 5)]],
    ['d:5|d', [s('timer', 'd', 5)]],
    ['g:5|g', [s('gauge', 'g', 5)]],
    ['g:+3|g', [s('gauge', 'g', 3, { delta: true, member: '+3' })]],
    ['g:-3|g', [s('gauge', 'g', -3, { delta: true })]],
    ['g:-0|g', [s('gauge', 'g', -0, { delta: true, member: '-0' })]],
    ['s:a|s', [s('set', 's', 0, { member: 'a' })]],
    ['s:|s', [s('set', 's', 0, { member: '' })]],
    ['s:héllo wörld|s', [s('set', 's', 0, { member: 'héllo wörld' })]],
    ['c:1|c|@0.1', [s('counter', 'c', 1, { rate: 0.1 })]],
    ['c:1|c|@0.000001', [s('counter', 'c', 1, { rate: 1e-6 })]], // MIN_SAMPLE_RATE itself
    ['c:1|c|@1e-6', [s('counter', 'c', 1, { rate: 1e-6 })]],
    ['c:1|c|@1', [s('counter', 'c', 1)]],
    ['c:1|c|#b:2,a:1', [s('counter', 'c', 1, { tags: 'b:2,a:1' })]],
    ['c:1|c|@0.5|#x:y', [s('counter', 'c', 1, { rate: 0.5, tags: 'x:y' })]],
    // (tags run to the next `|`: fields may follow them, DogStatsD v1.2+)
    ['c:1|c|#x:y|@0.5', [s('counter', 'c', 1, { tags: 'x:y', rate: 0.5 })]],
    ['c:1|c|#a:1:2', [s('counter', 'c', 1, { tags: 'a:1:2' })]],
    ['c:1|c|c:abc123|T1656581400|@0.5', [s('counter', 'c', 1, { rate: 0.5 })]],
    ['c:1|c|T1656581400:2|c', [s('counter', 'c', 1), s('counter', 'c', 2)]],
    ['c:1|c|c:abc|#k:v', [s('counter', 'c', 1, { tags: 'k:v' })]],
    ['c:1|c|@0.5:2|c|@0.25', [s('counter', 'c', 1, { rate: 0.5 }), s('counter', 'c', 2, { rate: 0.25 })]],
    ['c:1| c ', [s('counter', 'c', 1)]],
    ['t:1|ms |@0.5', [s('timer', 't', 1, { rate: 0.5 })]],
    ['c:1e3|c', [s('counter', 'c', 1000, { member: '1e3' })]],
    ['c: 7 |c', [s('counter', 'c', 7, { member: ' 7 ' })]],
    ['api,host=a,env=b:1|c', [s('counter', 'api,host=a,env=b', 1)]],
    ['api#host=a:1|c', [s('counter', 'api#host=a', 1)]],
    ['a[k=v]b:1|c', [s('counter', 'a[k=v]b', 1)]],
    ['my key/x:1|c', [s('counter', 'my key/x', 1)]],
    ['ключ:1|c', [s('counter', 'ключ', 1)]],
  ];
  it.each(rows)('%j', (line, want) => {
    const { sink, lines } = run(line);
    expect(sink.bad).toEqual([]);
    expect(sink.samples).toEqual(want);
    expect(lines).toBe(1);
  });
});

describe('parsePacket: refused lines and parts', () => {
  const rows: [string, Bad['reason'][], Got[]][] = [
    ['foo', ['no_type'], []],
    ['foo:', ['no_type'], []],
    ['foo:1', ['no_type'], []],
    ['foo:1|', ['no_type'], []],
    ['foo:1| ', ['no_type'], []],
    [':1|c', ['empty_key'], []],
    [':', ['empty_key'], []],
    ['x:1|zz', ['unknown_type'], []],
    ['x:1|C', ['unknown_type'], []],
    ['x:1|mss', ['unknown_type'], []],
    ['c:abc|c', ['bad_value'], []],
    ['c:|c', ['bad_value'], []],
    ['c: |c', ['bad_value'], []],
    ['g:|g', ['bad_value'], []],
    ['g:+|g', ['bad_value'], []],
    ['t:x|ms', ['bad_value'], []],
    ['c:1e400|c', ['not_finite'], []],
    ['c:NaN|c', ['not_finite'], []],
    ['c:Infinity|c', ['not_finite'], []],
    ['g:-Infinity|g', ['not_finite'], []],
    ['t:-1|ms', ['negative_timer'], []],
    ['t:-0.5|h', ['negative_timer'], []],
    ['c:1|c|@0', ['bad_sample_rate'], []],
    ['c:1|c|@', ['bad_sample_rate'], []],
    ['c:1|c|@-1', ['bad_sample_rate'], []],
    ['c:1|c|@abc', ['bad_sample_rate'], []],
    ['c:1|c|@1e400', ['bad_sample_rate'], []],
    // below MIN_SAMPLE_RATE (1e-6): 1 / rate could make a counter infinite
    ['c:1|c|@1e-320', ['sample_rate_too_low'], []],
    ['c:1|c|@0.0000009', ['sample_rate_too_low'], []],
    ['t:1|ms|@1e-7', ['sample_rate_too_low'], []],
    ['a:1|c|@1e-9:2|c', ['sample_rate_too_low'], [s('counter', 'a', 2)]],
    ['c:1|c|x', ['bad_field'], []],
    ['c:1|c|', ['bad_field'], []],
    ['c:1|c|c', ['bad_field'], []],
    // a bad part costs only itself
    ['a:1|c:x|c:2|c', ['bad_value'], [s('counter', 'a', 1), s('counter', 'a', 2)]],
    ['a:1:2|s', ['no_type'], [s('set', 'a', 0, { member: '2' })]], // no packed values for sets (the original's reading)
    ['c:1|c|#a:1:2|c', ['bad_field'], []],
    ['a:1|zz:2|c', ['unknown_type'], [s('counter', 'a', 2)]],
    ['a:1|c|@0:2|c', ['bad_sample_rate'], [s('counter', 'a', 2)]],
    ['a:-1|ms:2|ms', ['negative_timer'], [s('timer', 'a', 2)]],
    ['a:1|c:', ['no_type'], [s('counter', 'a', 1)]],
  ];
  it.each(rows)('%j', (line, reasons, want) => {
    const { sink, lines } = run(line);
    expect(sink.bad.map((b) => b.reason)).toEqual(reasons);
    for (const b of sink.bad) expect(b.line).toBe(line);
    expect(sink.samples).toEqual(want);
    expect(lines).toBe(1);
  });
});

describe('parsePacket: packets', () => {
  it('a bad line in the middle costs none of the others', () => {
    const { sink, lines } = run('a:1|c\nb:x|c\nc:2|ms\n:3|g\nd:4|g');
    expect(lines).toBe(5);
    expect(sink.samples.map((x) => [x.type, x.key, x.value])).toEqual([
      ['counter', 'a', 1],
      ['timer', 'c', 2],
      ['gauge', 'd', 4],
    ]);
    expect(sink.bad).toEqual([
      { reason: 'bad_value', line: 'b:x|c' },
      { reason: 'empty_key', line: ':3|g' },
    ]);
  });

  it('skips empty lines without counting them', () => {
    const { sink, lines } = run('\n\na:1|c\n\r\n\nb:2|c\n\n');
    expect(lines).toBe(2);
    expect(sink.samples.map((x) => x.key)).toEqual(['a', 'b']);
    expect(sink.bad).toEqual([]);
  });

  it('returns 0 for an empty packet', () => {
    expect(run('').lines).toBe(0);
    expect(run('\n').lines).toBe(0);
  });

  it('handles \\r\\n line ends on every line', () => {
    const { sink, lines } = run('a:1|c\r\nb:2|g\r\ns:x|s\r\n');
    expect(lines).toBe(3);
    expect(sink.samples.map((x) => [x.key, x.member])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['s', 'x'],
    ]);
  });

  it('only reads buf[start, end)', () => {
    const buf = Buffer.from('zz:9|c\na:1|c\nb:2|c\nyy:8|c');
    const start = buf.indexOf('a:');
    const end = buf.indexOf('yy') - 1;
    const sink = new RecordingSink();
    const lines = parsePacket(buf, start, end, sink, new Sample());
    expect(lines).toBe(2);
    expect(sink.samples.map((x) => x.key)).toEqual(['a', 'b']);
  });

  it('stops the last line at end even without a newline', () => {
    const buf = Buffer.from('a:1|c\nb:2|cXXXX');
    const sink = new RecordingSink();
    parsePacket(buf, 0, buf.length - 4, sink, new Sample());
    expect(sink.samples.map((x) => x.key)).toEqual(['a', 'b']);
    expect(sink.bad).toEqual([]);
  });

  it('resets every field of the reused sample between samples', () => {
    const seen: Sample[] = [];
    const sink: SampleSink = {
      sample: (x) => {
        seen.push(Object.assign(new Sample(), x));
      },
      badLine: (_r: BadLine) => undefined,
      dogCount: () => undefined,
    };
    const buf = Buffer.from('g:+1|g|@0.5|#a:b\nh:2|g');
    parsePacket(buf, 0, buf.length, sink, new Sample());
    expect(seen).toHaveLength(2);
    expect(seen[1]!.gaugeDelta).toBe(false);
    expect(seen[1]!.sampleRate).toBe(1);
    expect(seen[1]!.tagStart).toBe(seen[1]!.tagEnd);
  });

  it('parses a 64 KiB packet of lines', () => {
    const lines: string[] = [];
    for (let i = 0; lines.join('\n').length < 65_000; i++) lines.push(`key${i % 100}:${i}|c`);
    const { sink, lines: n } = run(lines.join('\n'));
    expect(n).toBe(lines.length);
    expect(sink.samples).toHaveLength(lines.length);
    expect(sink.bad).toHaveLength(0);
  });

  it('survives NUL bytes and invalid UTF-8', () => {
    const buf = Buffer.from([0x61, 0x00, 0x3a, 0x31, 0x7c, 0x63, 0x0a, 0xff, 0xfe, 0x3a, 0x00, 0x7c, 0x73, 0x0a, 0x00]);
    const { sink, lines } = run(buf);
    expect(lines).toBe(3);
    expect(sink.samples.map((x) => x.type)).toEqual(['counter', 'set']);
    expect(sink.bad.map((b) => b.reason)).toEqual(['no_type']);
  });
});

describe('parsePacket: the straight path for `key:digits[.digits]|type`', () => {
  it("gives Number()'s value for every decimal of up to 15 digits, as the general path does", () => {
    // (an `@1` field sends the same value through parseLine and parseNumber)
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{1,10}$/),
        fc.option(fc.stringMatching(/^[0-9]{0,8}$/), { nil: undefined }),
        fc.constantFrom('c', 'ms', 'g', 'h'),
        (int, frac, type) => {
          const text = frac === undefined ? int : `${int}.${frac}`;
          const fast = run(`k:${text}|${type}`).sink.samples;
          const slow = run(`k:${text}|${type}|@1`).sink.samples;
          expect(fast.length).toBe(1);
          expect(Object.is(fast[0]!.value, Number(text))).toBe(true);
          expect(fast).toEqual(slow);
        },
      ),
      { seed: 5, numRuns: 3_000 },
    );
  });

  it('rows: what it takes, and what it leaves to the general path', () => {
    const { sink, lines } = run('a:12.5|ms\nb:5.|c\nc:0.001|g\nd:007|c\ne:.5|c\nf:1.|ms|@0.5\ng:1.2.3|c\nh:3|s');
    expect(lines).toBe(8);
    expect(sink.samples.map((x) => [x.key, x.type, x.value, x.rate, x.member])).toEqual([
      ['a', 'timer', 12.5, 1, '12.5'],
      ['b', 'counter', 5, 1, '5.'],
      ['c', 'gauge', 0.001, 1, '0.001'],
      ['d', 'counter', 7, 1, '007'],
      ['e', 'counter', 0.5, 1, '.5'],
      ['f', 'timer', 1, 0.5, '1.'],
      ['h', 'set', 0, 1, '3'],
    ]);
    expect(sink.bad).toEqual([{ reason: 'bad_value', line: 'g:1.2.3|c' }]);
  });
});

describe('parsePacket: DogStatsD tags end at the next field', () => {
  it('gives the bytes up to the next `|` (or the line end) as tags, for every tag length and field position', () => {
    // the tag scan steps four bytes at a time: every length and remainder, with and without a field after
    const bad: string[] = [];
    for (let n = 0; n <= 13; n++) {
      const tags = 'abcdefghijklm'.slice(0, n).replace(/(.)(.)/g, '$1:$2');
      for (const after of ['', '|c:cid', '|T1700000000', '|@0.5', '|card:low|e:x']) {
        for (const end of ['', '\n', '\r\n']) {
          const line = `k:1|c|#${tags}${after}${end}`;
          const sink = new RecordingSink();
          const packet = Buffer.from(`x:2|ms\n${line}${end === '' ? '' : 'y:3|g'}`);
          parsePacket(packet, 0, packet.length, sink, new Sample());
          if (sink.samples.length !== (end === '' ? 2 : 3)) bad.push(`${JSON.stringify(line)}: ${sink.samples.length} samples`);
          const got = sink.samples.find((s) => s.key === 'k');
          const want = { type: 'counter', key: 'k', value: 1, rate: after === '|@0.5' ? 0.5 : 1, tags };
          if (got === undefined || got.tags !== want.tags || got.rate !== want.rate || got.value !== 1) {
            bad.push(`${JSON.stringify(line)} → ${JSON.stringify(got ?? sink.bad)}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('parsePacket: the tag scan reads four bytes at a time and hashes them in the same pass', () => {
  /** Bytes a word-at-a-time test for '|' (0x7c) could confuse with it, or that borrow into the next byte. */
  const NEAR = [0x7b, 0x7d, 0x7e, 0xfc, 0xfd, 0x3c, 0x00, 0x01, 0x80, 0xff, 0x7f, 0x3a];

  /** The samples and DogStatsD counts of one line, with the tag bytes and the tag hash handed over. */
  function tagged(line: Buffer, containerIdTag = false) {
    const got: Array<{ tags: Buffer; tagHash: number }> = [];
    const dog: number[] = [];
    const bad: number[] = [];
    const sink: SampleSink = {
      sample(x: Sample) {
        expect(x.keyHashed).toBe(true);
        // (Sample.keyHash = hashRawKey: the key bytes' hash ^ the tag bytes')
        got.push({
          tags: Buffer.from(x.buf.subarray(x.tagStart, x.tagEnd)),
          tagHash: x.keyHash ^ hashKeyBytes(x.buf, x.keyStart, x.keyEnd),
        });
      },
      badLine(reason: BadLine) {
        bad.push(reason);
      },
      dogCount(what) {
        dog.push(what);
      },
    };
    const s = new Sample();
    s.containerIdTag = containerIdTag;
    parsePacket(line, 0, line.length, sink, s);
    return { got, dog, bad };
  }

  it("ends the tags at a '|' in every byte of a word, next to any byte, and hands over hashTagBytes of them", () => {
    const fails: string[] = [];
    for (let n = 0; n <= 13; n++) {
      for (const near of NEAR) {
        // n tag bytes, all `near` but a letter every third byte; then a field (|T: counted) or the line's end
        const tags = Buffer.alloc(n, near);
        for (let i = 0; i < n; i += 3) tags[i] = 0x61 + i;
        for (const after of ['|T1700000000', '|c:abc', '']) {
          const line = Buffer.concat([Buffer.from('k:1|c|#'), tags, Buffer.from(after), Buffer.from('\nz:1|c')]);
          const { got, dog, bad } = tagged(line);
          const want = after === '' ? 0 : 1;
          if (
            bad.length !== 0 ||
            got.length !== 2 ||
            !got[0]!.tags.equals(tags) ||
            got[0]!.tagHash !== hashTagBytes(tags, 0, n) ||
            dog.length !== want ||
            got[1]!.tagHash !== 0
          ) {
            fails.push(`${n} × 0x${near.toString(16)} then ${JSON.stringify(after)}: ${JSON.stringify({ got, dog, bad })}`);
          }
        }
      }
    }
    expect(fails).toEqual([]);
  });

  it('hashes what the tag bytes become with dogstatsdContainerIdTag (they then span the `|c:` field)', () => {
    for (const line of ['k:1|c|#a:b|c:abc', 'k:1|c|c:abc|#a:bcdefgh', 'k:1|c|c:abcdefgh', 'k:1|c|#a:b']) {
      const { got } = tagged(Buffer.from(line), true);
      expect(got).toHaveLength(1);
      expect(got[0]!.tagHash).toBe(hashTagBytes(got[0]!.tags, 0, got[0]!.tags.length));
    }
  });

  it('the tag hash is murmur3 (x86, 32-bit, seed 0) before its final mix', () => {
    // murmur3's final mix, so that the published test vectors apply
    const fmix = (h: number) => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    const murmur3 = (text: string) => {
      const b = Buffer.from(text);
      return fmix(hashTagBytes(b, 0, b.length));
    };
    expect(murmur3('')).toBe(0);
    expect(murmur3('test')).toBe(0xba6bd213);
    expect(murmur3('Hello, world!')).toBe(0xc0363e43);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });
});
