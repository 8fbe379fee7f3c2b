/**
 * Canonical id → slot without a Map: ids are resolved through the byte key table (a raw entry
 * whose bytes are the id, else a canonical entry). Aliases, merges, deletions and a keyNameSanitize
 * change must all land on one slot per id.
 */
import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../../../src/parser/canonical.js';
import { counter, makeAggregator, send, testConfig } from './helpers.js';

const key = (raw: string) => canonicalKey(raw, '', true);

describe('aggregator id lookup', () => {
  it('tag spellings and orders of one key share one counter', () => {
    const agg = makeAggregator();
    send(agg, 'req,b=2,a=1:1|c\nreq#a=1,b=2:2|c\nreq:3|c|#b:2,a:1\nreq[a=1,b=2]:4|c');
    expect(agg.liveKeys().counters).toBe(4); // 3 own + 1
    const s = agg.flush(0);
    expect(counter(s, 'req;a=1;b=2')).toBe(10);
  });

  it('a sanitised alias shares the clean key, in either order', () => {
    const agg = makeAggregator();
    send(agg, 'a b:1|c\na_b:2|c\nc_d:3|c\nc d:4|c');
    expect(agg.liveKeys().counters).toBe(5);
    const s = agg.flush(0);
    expect(counter(s, 'a_b')).toBe(3);
    expect(counter(s, 'c_d')).toBe(7);
  });

  it('merged keys find the slots of raw lines and the other way round', () => {
    const agg = makeAggregator();
    send(agg, 'x:1|c\ny,t=1:1|c');
    agg.mergeCounter(key('x'), 5);
    agg.mergeCounter(key('y,t=1'), 2);
    agg.mergeCounter(key('z#t=2'), 7);
    send(agg, 'z:1|c|#t:2\nz,t=2:1|c');
    expect(agg.liveKeys().counters).toBe(6);
    const s = agg.flush(0);
    expect(counter(s, 'x')).toBe(6);
    expect(counter(s, 'y;t=1')).toBe(3);
    expect(counter(s, 'z;t=2')).toBe(9);
  });

  it('admin delete by a tagged id; the key comes back from any spelling', () => {
    const agg = makeAggregator();
    send(agg, 'req,b=2,a=1:1|c');
    expect(agg.deleteKeys('counters', ['req;a=1;b=2'])).toEqual(['deleted: req;a=1;b=2']);
    expect(agg.deleteKeys('counters', ['req;a=1;b=2'])).toEqual(['metric req;a=1;b=2 not found']);
    send(agg, 'req#b=2,a=1:5|c\nreq,b=2,a=1:1|c');
    expect(agg.liveKeys().counters).toBe(4);
    expect(counter(agg.flush(0), 'req;a=1;b=2')).toBe(6);
  });

  it('a key deleted at a flush, re-created by a merge, is found by its old raw spellings', () => {
    const agg = makeAggregator({ deleteCounters: true });
    send(agg, 'y,t=1:1|c\nplain:1|c');
    agg.flush(0);
    expect(agg.liveKeys().counters).toBe(3);
    agg.mergeCounter(key('y,t=1'), 2);
    agg.mergeCounter(key('plain'), 2);
    send(agg, 'y,t=1:3|c\nplain:3|c');
    expect(agg.liveKeys().counters).toBe(5);
    const s = agg.flush(1000);
    expect(counter(s, 'y;t=1')).toBe(5);
    expect(counter(s, 'plain')).toBe(5);
  });

  it('after a keyNameSanitize change, live keys are still found by id', () => {
    const agg = makeAggregator();
    send(agg, 'q,t=1:1|c\nclean:1|c');
    agg.reconfigure(testConfig({ keyNameSanitize: false }));
    agg.flush(0);
    agg.mergeCounter(key('q,t=1'), 2);
    send(agg, 'q#t=1:1|c\nclean:1|c');
    expect(agg.deleteKeys('counters', ['clean'])).toEqual(['deleted: clean']);
    expect(agg.liveKeys().counters).toBe(4);
    expect(counter(agg.flush(1000), 'q;t=1')).toBe(3);
  });

  it("lines for the daemon's own counter names add to the own counters", () => {
    const agg = makeAggregator();
    send(agg, 'statsd.bad_lines_seen:5|c');
    expect(agg.liveKeys().counters).toBe(3);
    expect(counter(agg.flush(0), 'statsd.bad_lines_seen')).toBe(5);
  });
});
