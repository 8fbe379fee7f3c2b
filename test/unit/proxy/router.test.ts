import { describe, expect, it } from 'vitest';
import { Router } from '../../../src/proxy/router.js';

interface Sent {
  node: number;
  payload: string;
}

/** A router over `nodes` nodes whose resolver is `place`; records every datagram (flushed at once). */
function router(nodes: number, place: (key: string) => number, mtu = 1432, cacheEntries = 1024, holdBytes = 1 << 20) {
  const sent: Sent[] = [];
  const keysResolved: string[] = [];
  const r = new Router(
    nodes,
    mtu,
    holdBytes,
    cacheEntries,
    (k) => {
      keysResolved.push(k);
      return place(k);
    },
    (node, buf, off, len) => sent.push({ node, payload: buf.toString('utf8', off, off + len) }),
  );
  const feed = (text: string | Buffer): void => {
    const b = typeof text === 'string' ? Buffer.from(text) : text;
    r.onPacket(b, 0, b.length);
    r.flushAll();
  };
  const lines = (): Array<[number, string]> => sent.flatMap((s) => s.payload.split('\n').map((l) => [s.node, l] as [number, string]));
  return { r, sent, feed, lines, keysResolved };
}

describe('proxy Router', () => {
  it("takes the metric name as the original's split(':')[0] and skips empty lines only", () => {
    const { feed, keysResolved, lines } = router(2, () => 0);
    feed('a.b:1|c\n\nno-colon-line\nc.d:2|ms|@0.1|#t:v\n:5|c\nx;tag=1:3|g\r\ntail\n');
    expect(keysResolved).toEqual(['a.b', 'no-colon-line', 'c.d', '', 'x;tag=1', 'tail']);
    expect(lines().map(([, l]) => l)).toEqual(['a.b:1|c', 'no-colon-line', 'c.d:2|ms|@0.1|#t:v', ':5|c', 'x;tag=1:3|g\r', 'tail']);
  });

  it('asks the ring once per name (route cache), by bytes, including names that differ only in length or UTF-8', () => {
    const { feed, keysResolved } = router(3, (k) => k.length % 3);
    for (let i = 0; i < 3; i++) feed('a:1|c\nab:1|c\nhéllo:1|c\na:2|c');
    expect(keysResolved).toEqual(['a', 'ab', 'héllo']);
  });

  it('sends each line to its node, packed under the MTU, never splitting a line; a longer line goes alone', () => {
    const { feed, sent, lines } = router(2, (k) => (k.startsWith('n1') ? 1 : 0), 40);
    const input: string[] = [];
    for (let i = 0; i < 30; i++) input.push(`n${i % 2}.k${i}:${i}|c`);
    const long = `n0.${'x'.repeat(60)}:1|c`;
    input.splice(10, 0, long);
    feed(input.join('\n'));
    for (const s of sent) if (s.payload !== long) expect(Buffer.byteLength(s.payload)).toBeLessThanOrEqual(40);
    expect(sent.filter((s) => s.payload === long)).toHaveLength(1);
    expect(
      lines()
        .map(([, l]) => l)
        .sort(),
    ).toEqual([...input].sort());
    for (const [node, l] of lines()) expect(node).toBe(l.startsWith('n1') ? 1 : 0);
  });

  it('drops and counts lines when the ring is empty', () => {
    const { r, feed, sent } = router(1, () => -1);
    feed('a:1|c\nb:1|c');
    expect(sent).toHaveLength(0);
    expect(r.linesNoNode).toBe(2);
    expect(r.linesIn).toBe(2);
  });

  it('starts the route cache over when it is full, and still routes right', () => {
    const { r, feed, lines } = router(4, (k) => Number(k.slice(1)) % 4, 1432, 16);
    const input = Array.from({ length: 5000 }, (_, i) => `k${i}:1|c`);
    for (let i = 0; i < input.length; i += 50) feed(input.slice(i, i + 50).join('\n'));
    expect(r.cacheResets).toBeGreaterThan(0);
    for (const [node, l] of lines()) expect(node).toBe(Number(l.slice(1, l.indexOf(':'))) % 4);
  });

  it('holds the lines of keys that move during a ring change and sends them to the new node after it', () => {
    let moved = false;
    const { r, feed, lines } = router(2, (k) => (moved && k === 'mover' ? 1 : 0));
    feed('mover:1|c\nstay:1|c');
    r.beginHold((k) => (k === 'mover' ? 1 : 0));
    feed('mover:2|c\nstay:2|c\nmover:3|c');
    expect(lines()).toEqual([
      [0, 'mover:1|c'],
      [0, 'stay:1|c'],
      [0, 'stay:2|c'],
    ]);
    moved = true;
    r.clearCache();
    r.endHold();
    r.flushAll();
    expect(lines().slice(3)).toEqual([
      [1, 'mover:2|c'],
      [1, 'mover:3|c'],
    ]);
    expect(r.linesHeld).toBe(2);
    expect(r.linesIn).toBe(5);
    expect([...r.sent]).toEqual([3, 2]);
  });

  it('past its bound, a held line goes to its current node and is counted', () => {
    const { r, feed, lines } = router(2, () => 0, 1432, 1024, 12);
    r.beginHold(() => 1);
    feed('aaaa:1|c\nbbbb:1|c');
    expect(r.linesHeld).toBe(1);
    expect(r.holdOverflow).toBe(1);
    expect(lines()).toEqual([[0, 'bbbb:1|c']]);
  });

  it('never throws on arbitrary bytes, and every non-empty line goes out once', () => {
    const { feed, lines } = router(3, (k) => k.length % 3);
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    let expected = 0;
    for (let p = 0; p < 200; p++) {
      const b = Buffer.alloc(1 + (rnd() % 300));
      for (let i = 0; i < b.length; i++) b[i] = rnd() % 4 === 0 ? [0x0a, 0x3a, 0x7c][rnd() % 3]! : rnd() % 256;
      expected += b
        .toString('latin1')
        .split('\n')
        .filter((l) => l !== '').length;
      feed(b);
    }
    expect(lines().length).toBe(expected);
  });
});
