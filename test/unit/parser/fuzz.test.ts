import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePacket } from '../../../src/parser/scanner.js';
import { Sample } from '../../../src/parser/types.js';
import { RecordingSink } from './helpers.js';

const VALID_LINES = [
  'foo:1|c',
  'a:1|c:2|c',
  't:12.5|ms|@0.5',
  'g:+3|g|#env:prod,host:a',
  's:member|s',
  'h:5|h|c:abc|T123',
  'api,host=a:1|c',
];

/** Bytes that matter to the grammar, plus anything else. */
const interesting = fc.oneof(
  fc.constantFrom(0x3a, 0x7c, 0x40, 0x23, 0x0a, 0x0d, 0x2b, 0x2d, 0x2e, 0x65, 0x63, 0x00, 0xff, 0x20),
  fc.integer({ min: 0, max: 255 }),
);

function parse(buf: Buffer): { sink: RecordingSink; lines: number } {
  const sink = new RecordingSink();
  const lines = parsePacket(buf, 0, buf.length, sink, new Sample());
  return { sink, lines };
}

describe('parsePacket fuzz', () => {
  it('never throws on random bytes, and reports sane offsets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const sink = new RecordingSink();
        const s = new Sample();
        let ok = true;
        const check = {
          sample(x: Sample) {
            ok &&= x.keyStart < x.keyEnd && x.keyEnd <= buf.length && x.tagStart <= x.tagEnd && x.tagEnd <= buf.length;
            ok &&= Number.isFinite(x.value) && x.sampleRate > 0 && Number.isFinite(x.sampleRate);
            sink.sample(x);
          },
          badLine: sink.badLine.bind(sink),
        };
        const lines = parsePacket(buf, 0, buf.length, check, s);
        expect(ok).toBe(true);
        expect(lines).toBeLessThanOrEqual(buf.length);
        expect(sink.samples.length + sink.bad.length).toBeGreaterThanOrEqual(lines);
      }),
      { seed: 1, numRuns: 5_000 },
    );
  });

  it('never throws on valid lines mutated one byte at a time', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID_LINES),
        fc.nat(),
        interesting,
        fc.constantFrom('replace', 'insert', 'delete'),
        (line, at, byte, op) => {
          const src = Buffer.from(line);
          const i = at % src.length;
          let buf: Buffer;
          if (op === 'replace') {
            buf = Buffer.from(src);
            buf[i] = byte;
          } else if (op === 'insert') {
            buf = Buffer.concat([src.subarray(0, i), Buffer.from([byte]), src.subarray(i)]);
          } else {
            buf = Buffer.concat([src.subarray(0, i), src.subarray(i + 1)]);
          }
          const { sink, lines } = parse(buf);
          // every delivered sample is finite, and every non-empty line yields at least one outcome
          for (const x of sink.samples) expect(Number.isFinite(x.value)).toBe(true);
          expect(sink.samples.length + sink.bad.length).toBeGreaterThanOrEqual(lines);
        },
      ),
      { seed: 2, numRuns: 10_000 },
    );
  });

  it('always delivers a valid line next to a garbage line in one packet', () => {
    const garbage = fc
      .uint8Array({ maxLength: 200 })
      .map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x))));
    fc.assert(
      fc.property(garbage, fc.boolean(), fc.boolean(), (junk, junkFirst, crlf) => {
        const nl = Buffer.from(crlf ? '\r\n' : '\n');
        const good = Buffer.from('good.metric:42|c|@0.5');
        const buf = junkFirst ? Buffer.concat([junk, nl, good]) : Buffer.concat([good, nl, junk]);
        const { sink } = parse(buf);
        const found = sink.samples.filter((x) => x.key === 'good.metric' && x.value === 42 && x.rate === 0.5);
        expect(found.length).toBeGreaterThanOrEqual(1);
      }),
      { seed: 3, numRuns: 5_000 },
    );
  });
});
