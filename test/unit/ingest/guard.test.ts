/**
 * The packet guard (src/pipeline/guard.ts): a fault costs the line it happened on, never the lines before it
 * (not handled twice) nor after it; the packet is counted once, with all its lines.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BAD_LINE_REASONS, type BadLine, Sample } from '../../../src/parser/types.js';
import { type IngestSink, PacketGuard } from '../../../src/pipeline/guard.js';

/** Records what it is given; throws on the keys (or bad lines) it is told to. */
class Recorder implements IngestSink {
  readonly samples: string[] = [];
  readonly bad: Array<[string, string]> = [];
  readonly packets: number[] = [];
  lastBadLineStart = -1;
  constructor(
    private readonly throwOnKey: string,
    private readonly throwOnBad = false,
  ) {}
  sample(s: Sample): void {
    const key = s.buf.toString('utf8', s.keyStart, s.keyEnd);
    if (key === this.throwOnKey) throw new Error('injected');
    this.samples.push(key + '=' + s.value);
  }
  dogCount(): void {}
  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    this.lastBadLineStart = lineStart;
    if (this.throwOnBad && BAD_LINE_REASONS[reason] !== 'internal_error') throw new Error('injected in badLine');
    this.bad.push([BAD_LINE_REASONS[reason], buf.toString('utf8', lineStart, lineEnd)]);
  }
  countPacket(lines: number): void {
    this.packets.push(lines);
  }
}

function run(sink: Recorder, text: string, before?: () => void): PacketGuard {
  const guard = new PacketGuard(sink, new Sample(), pino({ level: 'silent' }));
  const buf = Buffer.from(text);
  try {
    guard.begin();
    before?.();
    guard.ingest(buf, 0, buf.length);
  } catch (err) {
    guard.recover(err, buf, 0, buf.length);
  }
  return guard;
}

describe('PacketGuard', () => {
  it('a throwing sample costs its line: the lines before and after are handled once each', () => {
    const r = new Recorder('boom');
    const g = run(r, 'a:1|c\nb:2|c\nboom:3|c\nc:4|c\r\nboom:5|ms\nd:6|c');
    expect(r.samples).toEqual(['a=1', 'b=2', 'c=4', 'd=6']);
    expect(r.bad).toEqual([
      ['internal_error', 'boom:3|c'],
      ['internal_error', 'boom:5|ms'],
    ]);
    expect(r.packets).toEqual([6]);
    expect(g.faults).toBe(2);
  });

  it('a fault on the last line, and on a line of the general path (fields, tags)', () => {
    const r = new Recorder('boom');
    run(r, 'a:1|c|@0.5\nboom:2|c|#t:v');
    expect(r.samples).toEqual(['a=1']);
    expect(r.bad).toEqual([['internal_error', 'boom:2|c|#t:v']]);
    expect(r.packets).toEqual([2]);
  });

  it("a fault in badLine (a bad line's handling) costs that line only", () => {
    const r = new Recorder('', true);
    run(r, 'a:1|c\nnot a line\nb:2|c');
    expect(r.samples).toEqual(['a=1', 'b=2']);
    expect(r.bad).toEqual([['internal_error', 'not a line']]);
    expect(r.packets).toEqual([3]);
  });

  it('a fault before parsing (a packet hook) costs no line: the whole packet is parsed', () => {
    const r = new Recorder('');
    const g = run(r, 'a:1|c\nb:2|c', () => {
      throw new Error('hook failed');
    });
    expect(r.samples).toEqual(['a=1', 'b=2']);
    expect(r.bad).toEqual([]);
    expect(r.packets).toEqual([2]);
    expect(g.faults).toBe(1);
  });

  it('a position left by an earlier packet in the same buffer is not taken for this one', () => {
    const r = new Recorder('');
    const guard = new PacketGuard(r, new Sample(), pino({ level: 'silent' }));
    // one buffer reused for each packet (as the native reader's batch buffer)
    const buf = Buffer.from('a:1|c\nb:1|c');
    const packet = (before?: () => void): void => {
      try {
        guard.begin();
        before?.();
        guard.ingest(buf, 0, buf.length);
      } catch (err) {
        guard.recover(err, buf, 0, buf.length);
      }
    };
    packet();
    buf.write('c:1|c\nd:1|c');
    packet(() => {
      throw new Error('hook failed'); // before parsing: the sample still points at `b`'s line of the last packet
    });
    expect(r.samples).toEqual(['a=1', 'b=1', 'c=1', 'd=1']);
    expect(r.bad).toEqual([]);
    expect(r.packets).toEqual([2, 2]);
  });
});
