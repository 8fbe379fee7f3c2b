/** Test helpers for the parser: a sink that records what it receives as plain objects. */
import {
  BAD_LINE_REASONS,
  type BadLine,
  DOG_COUNT_NAMES,
  type DogCount,
  METRIC_TYPE_NAMES,
  type Sample,
  type SampleSink,
} from '../../../src/parser/types.js';

export interface Got {
  type: (typeof METRIC_TYPE_NAMES)[number];
  key: string;
  value: number;
  rate: number;
  delta: boolean;
  tags: string;
  member: string;
}

export interface Bad {
  reason: (typeof BAD_LINE_REASONS)[number];
  line: string;
}

export class RecordingSink implements SampleSink {
  samples: Got[] = [];
  bad: Bad[] = [];
  sample(s: Sample): void {
    this.samples.push({
      type: METRIC_TYPE_NAMES[s.type],
      key: s.buf.toString('utf8', s.keyStart, s.keyEnd),
      value: s.value,
      rate: s.sampleRate,
      delta: s.gaugeDelta,
      tags: s.buf.toString('utf8', s.tagStart, s.tagEnd),
      member: s.buf.toString('utf8', s.memberStart, s.memberEnd),
    });
  }
  badLine(reason: BadLine, buf: Buffer, lineStart: number, lineEnd: number): void {
    this.bad.push({ reason: BAD_LINE_REASONS[reason], line: buf.toString('utf8', lineStart, lineEnd) });
  }
  /** DogStatsD counts, by self-metric name, in order. */
  dog: Array<(typeof DOG_COUNT_NAMES)[number]> = [];
  dogCount(what: DogCount): void {
    this.dog.push(DOG_COUNT_NAMES[what]);
  }
}
