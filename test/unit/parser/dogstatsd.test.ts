/**
 * Current DogStatsD datagrams, byte by byte: v1.1 packed values, the v1.2+ fields after the tags
 * (container id, timestamp, external data, cardinality, any other `name:` field), events and service
 * checks. Each row: the line → samples, bad-line reasons, DogStatsD counts. And the canonical key:
 * no field ever reaches a name or a tag, except the container id where dogstatsdContainerIdTag asks.
 */
import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../../../src/parser/canonical.js';
import { parsePacket } from '../../../src/parser/scanner.js';
import { Sample } from '../../../src/parser/types.js';
import { makeAggregator, send } from '../aggregator/helpers.js';
import { type Got, RecordingSink } from './helpers.js';

function run(text: string, containerIdTag = false): RecordingSink {
  const buf = Buffer.from(text, 'utf8');
  const sink = new RecordingSink();
  const s = new Sample();
  s.containerIdTag = containerIdTag;
  expect(parsePacket(buf, 0, buf.length, sink, s)).toBe(text.split('\n').filter((l) => l !== '').length);
  return sink;
}

function s(type: Got['type'], key: string, value: number, more: Partial<Got> = {}): Got {
  return { type, key, value, rate: 1, delta: false, tags: '', member: String(value), ...more };
}

type Row = [line: string, samples: Got[], bad: string[], dog: string[]];

describe('DogStatsD metric lines', () => {
  const rows: Row[] = [
    // v1.1 packed values: one sample per value, same type and fields
    ['k:1:2:3|d', [s('timer', 'k', 1), s('timer', 'k', 2), s('timer', 'k', 3)], [], []],
    ['k:1:2|c|@0.5|#a:b', [s('counter', 'k', 1, { rate: 0.5, tags: 'a:b' }), s('counter', 'k', 2, { rate: 0.5, tags: 'a:b' })], [], []],
    ['k:1.5:-2|g', [s('gauge', 'k', 1.5, { member: '1.5' }), s('gauge', 'k', -2, { delta: true })], [], []],
    ['k:10:20|ms|#env:prod', [s('timer', 'k', 10, { tags: 'env:prod' }), s('timer', 'k', 20, { tags: 'env:prod' })], [], []],
    ['k:1:x:3|h', [s('timer', 'k', 1), s('timer', 'k', 3)], ['bad_value'], []],
    ['k:1::3|c', [s('counter', 'k', 1), s('counter', 'k', 3)], ['bad_value'], []],
    ['k:1:-2|ms', [s('timer', 'k', 1)], ['negative_timer'], []],
    // packed values then the original's next part
    ['k:1:2|c:3|ms', [s('counter', 'k', 1), s('counter', 'k', 2), s('timer', 'k', 3)], [], []],
    // the original's multi-part form is unchanged: every part has its `|type`
    ['k:1|c:2|ms', [s('counter', 'k', 1), s('timer', 'k', 2)], [], []],
    // sets are never packed (a set member may hold ':'): the original's reading
    ['k:a:b|s', [s('set', 'k', 0, { member: 'b' })], ['no_type'], []],
    // no `|type` anywhere: as before
    ['k:1:2', [], ['no_type', 'no_type'], []],
    ['k:1:2|zz', [], ['no_type', 'unknown_type'], []],
    // v1.2/v1.4 container id: skipped, counted, never in the key or the tags
    ['cid:1|c|#a:b|c:abc123', [s('counter', 'cid', 1, { tags: 'a:b' })], [], ['dogstatsd_container_ids']],
    ['cid:1|c|c:abc123|#a:b', [s('counter', 'cid', 1, { tags: 'a:b' })], [], ['dogstatsd_container_ids']],
    ['cid:1|c|c:ci-abc,in-42', [s('counter', 'cid', 1)], [], ['dogstatsd_container_ids']],
    // v1.3 timestamp: accepted (the value goes to the current interval), counted
    ['ts:5|g|T1656581400', [s('gauge', 'ts', 5)], [], ['dogstatsd_timestamps']],
    ['ts:5|g|#a:b|T1656581400|c:x', [s('gauge', 'ts', 5, { tags: 'a:b' })], [], ['dogstatsd_timestamps', 'dogstatsd_container_ids']],
    ['ts:5|g|Tsoon', [], ['bad_field'], []],
    ['ts:5|g|T', [], ['bad_field'], []],
    // v1.5 external data, v1.6 cardinality
    ['e:1|c|#a:b|e:it-false,cn-web,pu-123', [s('counter', 'e', 1, { tags: 'a:b' })], [], ['dogstatsd_external_data']],
    ['card:1|c|#a:b|card:low', [s('counter', 'card', 1, { tags: 'a:b' })], [], ['dogstatsd_cardinality']],
    // every field at once, in the order the official clients write them
    [
      'all:1:2|d|@0.5|#env:prod,az:b|T1700000000|c:ci-1|e:it-true|card:high',
      [s('timer', 'all', 1, { rate: 0.5, tags: 'env:prod,az:b' }), s('timer', 'all', 2, { rate: 0.5, tags: 'env:prod,az:b' })],
      [],
      ['dogstatsd_timestamps', 'dogstatsd_container_ids', 'dogstatsd_external_data', 'dogstatsd_cardinality'],
    ],
    // any other `name:` field: skipped and counted
    ['u:1|c|#a:b|zz:whatever:x', [s('counter', 'u', 1, { tags: 'a:b' })], [], ['dogstatsd_unknown_fields']],
    ['u:1|c|x:1', [s('counter', 'u', 1)], [], ['dogstatsd_unknown_fields']],
    // not a field: still bad
    ['u:1|c|Zz:1', [], ['bad_field', 'no_type'], []],
    ['u:1|c|:1', [], ['bad_field', 'no_type'], []],
    ['u:1|c|', [], ['bad_field'], []],
  ];
  it.each(rows)('%j', (line, samples, bad, dog) => {
    const sink = run(line);
    expect(sink.samples).toEqual(samples);
    expect(sink.bad.map((b) => b.reason)).toEqual(bad);
    expect(sink.dog).toEqual(dog);
  });

  it('a container id joins the tag bytes only with containerIdTag, and canonicalKey reads it as container_id', () => {
    const on = (line: string): string => {
      const sink = run(line, true);
      expect(sink.samples).toHaveLength(1);
      return sink.samples[0]!.tags;
    };
    expect(on('k:1|c|#a:b|c:abc123')).toBe('a:b|c:abc123');
    expect(on('k:1|c|c:abc123|#a:b')).toBe('|c:abc123|#a:b');
    expect(on('k:1|c|c:abc123')).toBe('|c:abc123');
    expect(on('k:1|c|#a:b|T1700000000|c:abc123')).toBe('a:b|T1700000000|c:abc123');
    expect(on('k:1|c|#a:b')).toBe('a:b');
    expect(run('k:1|c|#a:b|c:abc123', false).samples[0]!.tags).toBe('a:b');
    for (const tags of ['a:b|c:abc123', '|c:abc123|#a:b', 'a:b|T1700000000|c:abc123']) {
      expect(canonicalKey('k', tags, true).id).toBe('k;a=b;container_id=abc123');
    }
    expect(canonicalKey('k', '|c:abc123', true).id).toBe('k;container_id=abc123');
  });

  it("the issue's lines reach the aggregator with their names and tags intact", () => {
    const agg = makeAggregator();
    send(agg, 'cid:1|c|#a:b|c:abc123\ncid:2|c|#a:b|c:other\nk:1:2:3|d\ncard:1|c|#a:b|card:low\ne:1|c|e:ext');
    const snap = agg.flush(1_700_000_000_000);
    const ids = snap.counters.keys.map((k) => k.id);
    expect(ids).toContain('cid;a=b');
    expect(snap.counters.counts[ids.indexOf('cid;a=b')]).toBe(3);
    expect(ids).toContain('card;a=b');
    expect(ids).toContain('e');
    expect(ids.some((id) => !id.startsWith('statsd.') && (id.includes('abc123') || id.includes('low') || id.includes('ext')))).toBe(false);
    const t = snap.timers.find((x) => x.key.id === 'k')!;
    expect([t.n, t.sum, t.lower, t.upper]).toEqual([3, 6, 1, 3]);
    expect(agg.badLinesSeen).toBe(0);
    const own = (n: string): number | undefined => snap.counters.counts[ids.indexOf(`statsd.${n}`)];
    expect(own('dogstatsd_container_ids')).toBe(2);
    expect(own('dogstatsd_cardinality')).toBe(1);
    expect(own('dogstatsd_external_data')).toBe(1);
    expect(ids).not.toContain('statsd.dogstatsd_timestamps'); // created at its first count only
  });

  it('with dogstatsdContainerIdTag the container id is a tag: one series per container', () => {
    const agg = makeAggregator({ dogstatsdContainerIdTag: true });
    const buf = Buffer.from('cid:1|c|#a:b|c:abc123\ncid:2|c|c:abc123|#a:b\ncid:4|c|#a:b|c:other\ncid:8|c|#a:b');
    const sample = new Sample();
    sample.containerIdTag = true;
    parsePacket(buf, 0, buf.length, agg, sample);
    const snap = agg.flush(1_700_000_000_000);
    const ids = snap.counters.keys.map((k) => k.id);
    expect(snap.counters.counts[ids.indexOf('cid;a=b;container_id=abc123')]).toBe(3);
    expect(snap.counters.counts[ids.indexOf('cid;a=b;container_id=other')]).toBe(4);
    expect(snap.counters.counts[ids.indexOf('cid;a=b')]).toBe(8);
  });

  it('a long line of packed or untyped values is parsed in linear time', () => {
    const many = 'k:' + '1:'.repeat(30_000) + '1|c';
    const none = 'k:' + '1:'.repeat(30_000) + '1';
    const set = 'k:' + 'a:'.repeat(30_000) + 'a|s' + 's'.repeat(30_000);
    // (a sink that only counts: the recording one copies the whole line per bad part)
    let samples = 0;
    let bad = 0;
    const sink = { sample: () => void samples++, badLine: () => void bad++, dogCount: () => undefined };
    const parse = (line: string): [number, number] => {
      samples = bad = 0;
      const buf = Buffer.from(line);
      parsePacket(buf, 0, buf.length, sink, new Sample());
      return [samples, bad];
    };
    const t0 = performance.now();
    expect(parse(many)).toEqual([30_001, 0]);
    expect(parse(none)).toEqual([0, 30_001]);
    expect(parse(set)).toEqual([0, 30_001]); // (the type `sss…` is unknown)
    // quadratic would be ~10^9 byte reads (seconds); linear is a few ms
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe('DogStatsD events and service checks', () => {
  const rows: Row[] = [
    ['_e{5,4}:title|text', [], [], ['dogstatsd_events']],
    ['_e{5,0}:title|', [], [], ['dogstatsd_events']],
    ['_e{5,9}:ti|le|te|xt:\\\\n|d:1700000000|h:web-1|k:agg|p:low|s:src|t:warning|#env:prod,x', [], [], ['dogstatsd_events']],
    ['_e{2,2}:hé|ok', [], ['bad_event'], []], // lengths are bytes: é is 2
    [
      '_e{3,2}:hé|ok|c:ci-1|e:ext|card:low|zz:new',
      [],
      [],
      ['dogstatsd_container_ids', 'dogstatsd_external_data', 'dogstatsd_cardinality', 'dogstatsd_unknown_fields', 'dogstatsd_events'],
    ],
    ['_e{0,4}:|text', [], ['bad_event'], []], // empty title
    ['_e{5,4}:title|textmore', [], ['bad_event'], []], // text longer than said
    ['_e{5,4}:title|tex', [], ['bad_event'], []], // shorter
    ['_e{6,4}:title|text', [], ['bad_event'], []],
    ['_e{5,4}:titleXtext', [], ['bad_event'], []],
    ['_e{5,4:title|text', [], ['bad_event'], []],
    ['_e{a,4}:title|text', [], ['bad_event'], []],
    ['_e{5}:title|text', [], ['bad_event'], []],
    ['_e{5,4}title|text', [], ['bad_event'], []],
    ['_e{99999999999,4}:title|text', [], ['bad_event'], []],
    ['_e{', [], ['bad_event'], []],
    ['_e{5,4}:title|text|p:urgent', [], ['bad_event_field'], []],
    ['_e{5,4}:title|text|t:fatal', [], ['bad_event_field'], []],
    ['_e{5,4}:title|text|d:soon', [], ['bad_event_field'], []],
    ['_e{5,4}:title|text|', [], ['bad_event_field'], []],
    ['_e{5,4}:title|text|junk', [], ['bad_event_field'], []],
    ['_sc|db.up|0', [], [], ['dogstatsd_service_checks']],
    [
      '_sc|db.up|3|d:1700000000|h:web-1|#env:prod|c:ci-1|m:all good | really',
      [],
      [],
      ['dogstatsd_container_ids', 'dogstatsd_service_checks'],
    ],
    ['_sc|db.up|2|m:', [], [], ['dogstatsd_service_checks']],
    ['_sc|db.up|1|card:low|zz:1', [], [], ['dogstatsd_cardinality', 'dogstatsd_unknown_fields', 'dogstatsd_service_checks']],
    ['_sc||0', [], ['bad_service_check'], []],
    ['_sc|db.up', [], ['bad_service_check'], []],
    ['_sc|db.up|', [], ['bad_service_check'], []],
    ['_sc|db.up|4', [], ['bad_service_check'], []],
    ['_sc|db.up|01', [], ['bad_service_check'], []],
    ['_sc|db.up|ok', [], ['bad_service_check'], []],
    ['_sc|db.up|0|d:x', [], ['bad_service_check_field'], []],
    ['_sc|db.up|0|', [], ['bad_service_check_field'], []],
    ['_sc|db.up|0|what', [], ['bad_service_check_field'], []],
    // other lines starting with `_` are metric lines
    ['_sc:1|c', [s('counter', '_sc', 1)], [], []],
    ['_e:1|c', [s('counter', '_e', 1)], [], []],
    ['_private:1|c', [s('counter', '_private', 1)], [], []],
    ['_:2|ms', [s('timer', '_', 2)], [], []],
  ];
  it.each(rows)('%j', (line, samples, bad, dog) => {
    const sink = run(line);
    expect(sink.samples).toEqual(samples);
    expect(sink.bad.map((b) => b.reason)).toEqual(bad);
    expect(sink.dog).toEqual(dog);
  });

  it('an event whose title is digits and text a type is not read as a metric (fast path)', () => {
    const sink = run('_e{2,1}:12|c\n_sc|n|0|m:5|c\na:1|c');
    expect(sink.samples).toEqual([s('counter', 'a', 1)]);
    expect(sink.dog).toEqual(['dogstatsd_events', 'dogstatsd_service_checks']);
  });
});
