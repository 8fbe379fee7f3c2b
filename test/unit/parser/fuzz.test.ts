import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKeyBytes, hashRawKey, hashTagBytes, parsePacket } from '../../../src/parser/scanner.js';
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
            // the key hash the scanner hands over (Sample.keyHash) is the raw key's hash (key and tag bytes), on every path
            ok &&= x.keyHashed && x.keyHash === hashRawKey(x.buf, x.keyStart, x.keyEnd, x.tagStart, x.tagEnd);
            sink.sample(x);
          },
          badLine: sink.badLine.bind(sink),
          dogCount: sink.dogCount.bind(sink),
        };
        const lines = parsePacket(buf, 0, buf.length, check, s);
        expect(ok).toBe(true);
        expect(lines).toBeLessThanOrEqual(buf.length);
        expect(
          sink.samples.length +
            sink.bad.length +
            sink.dog.filter((d) => d === 'dogstatsd_events' || d === 'dogstatsd_service_checks').length,
        ).toBeGreaterThanOrEqual(lines);
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
          expect(
            sink.samples.length +
              sink.bad.length +
              sink.dog.filter((d) => d === 'dogstatsd_events' || d === 'dogstatsd_service_checks').length,
          ).toBeGreaterThanOrEqual(lines);
        },
      ),
      { seed: 2, numRuns: 10_000 },
    );
  });

  it('always delivers a valid line next to a garbage line in one packet', () => {
    const garbage = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x))));
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

  it('the straight path for `key:digits|type` agrees with the general path', () => {
    // A trailing CR sends a line to the general path (parseLine) and changes nothing else, so each
    // packet is parsed twice, once with `\n` and once with `\r\n` separators, and must give the same.
    const SHAPES = [
      'k:1|c',
      'fl.t12:345|ms',
      'g:7|g',
      's:9|s',
      'h:3|h',
      'a:007|c',
      'b:123456789012345|c',
      'b:1234567890123456|c',
      'd:12.5|ms',
      'e:0.001|g',
      'f:5.|c',
      'x:1.2345678901234|ms',
      'y:1.23456789012345|ms',
      'z:0.1000000000000001|c',
    ];
    const line = fc.oneof(
      fc.constantFrom(...SHAPES),
      fc
        .tuple(
          fc.constantFrom(...SHAPES),
          fc.nat(),
          fc.constantFrom(0x3a, 0x7c, 0x2e, 0x2d, 0x2b, 0x20, 0x63, 0x6d, 0x73, 0x67, 0x40, 0x23, 0x31),
        )
        .map(([l, at, b]) => {
          const i = at % (l.length + 1);
          return l.slice(0, i) + String.fromCharCode(b) + l.slice(i);
        }),
      fc.constantFrom(
        '',
        ':1|c',
        'k:|c',
        'k:1|',
        'k:1|m',
        'k:1|msx',
        'k:1|c|@0.5',
        'k:1|c:2|ms',
        'k:-1|ms',
        'k:1.5|c',
        'k:.5|c',
        'k:.|c',
        'k:1.2.3|c',
        'k:1e3|c',
      ),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 30 }), fc.boolean(), (lines, lastNl) => {
        const tail = lastNl ? '\n' : '';
        const fast = parse(Buffer.from(lines.join('\n') + tail));
        const slow = parse(Buffer.from(lines.map((l) => l + '\r').join('\n') + tail));
        expect(fast.lines).toBe(slow.lines);
        expect(fast.sink.samples).toEqual(slow.sink.samples);
        expect(fast.sink.bad).toEqual(slow.sink.bad);
      }),
      { seed: 4, numRuns: 5_000 },
    );
  });

  it('hands over the tags of any bytes, ended by any field, with their hash, with and without dogstatsdContainerIdTag', () => {
    // tag bytes: anything but LF and '|' (which end them)
    const tagBytes = fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x === 0x7c ? 0x7b : x))));
    const field = fc.constantFrom('', '|T1700000000', '|c:abc123', '|card:low', '|e:it-1', '|@0.5', '|x:y');
    fc.assert(
      fc.property(tagBytes, field, fc.boolean(), fc.boolean(), (tags, after, cidTag, crlf) => {
        const line = Buffer.concat([Buffer.from('k.a:1|ms|#'), tags, Buffer.from(after), Buffer.from(crlf ? '\r\nn:2|c' : '\nn:2|c')]);
        const got: Array<{ tags: Buffer; hash: number }> = [];
        const sink = new RecordingSink();
        const s = new Sample();
        s.containerIdTag = cidTag;
        parsePacket(
          line,
          0,
          line.length,
          {
            sample(x: Sample) {
              got.push({
                tags: Buffer.from(x.buf.subarray(x.tagStart, x.tagEnd)),
                hash: x.keyHash ^ hashKeyBytes(x.buf, x.keyStart, x.keyEnd),
              });
            },
            badLine: sink.badLine.bind(sink),
            dogCount: sink.dogCount.bind(sink),
          },
          s,
        );
        // a CR right before the LF is the line's end, not a tag byte
        const want = !crlf && after === '' && tags.length > 0 && tags[tags.length - 1] === 0x0d ? tags.subarray(0, -1) : tags;
        expect(sink.bad).toEqual([]);
        expect(got).toHaveLength(2);
        for (const g of got) expect(g.hash).toBe(hashTagBytes(g.tags, 0, g.tags.length));
        // (with dogstatsdContainerIdTag the tag bytes span the `|c:` field: canonicalKey reads them apart)
        const spanned = cidTag && after === '|c:abc123' ? Buffer.concat([tags, Buffer.from(after)]) : want;
        expect(got[0]!.tags.equals(spanned)).toBe(true);
        expect(got[1]!.hash).toBe(0);
      }),
      { seed: 5, numRuns: 5_000 },
    );
  });
});
