import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { ProxyNode } from '../../../src/proxy/config.js';
import { ProxyRing, type RingChange } from '../../../src/proxy/ring.js';

const HashRing = createRequire(import.meta.url)('hashring') as new (
  s: Record<string, number>,
  a: string,
  o: Record<string, unknown>,
) => { get(k: string): string };

const nodes: ProxyNode[] = [8127, 8129, 8131].map((port) => ({ host: '10.0.0.1', port, adminport: port + 1, id: `10.0.0.1:${port}` }));
const keys = Array.from({ length: 500 }, (_, i) => `svc.metric.${i}`);

function make(defer: boolean): { ring: ProxyRing; changes: RingChange[] } {
  const changes: RingChange[] = [];
  return { ring: new ProxyRing(nodes, 10000, defer, (c) => changes.push(c)), changes };
}

describe('proxy ring', () => {
  it("places keys as proxy.js's hashring (weight 100, md5, replicas 0), with all nodes and after one leaves", () => {
    const { ring } = make(false);
    const orig = new HashRing(Object.fromEntries(nodes.map((n) => [n.id, 100])), 'md5', { 'max cache size': 10000, replicas: 0 });
    for (const k of keys) expect(nodes[ring.resolve(k)]!.id).toBe(orig.get(k));
    ring.unhealthy(nodes[1]!.id, 'down');
    const two = new HashRing({ [nodes[0]!.id]: 100, [nodes[2]!.id]: 100 }, 'md5', { replicas: 0 });
    for (const k of keys) expect(nodes[ring.resolve(k)]!.id).toBe(two.get(k));
  });

  it('as the original: the first failure of a streak takes a node out, the first good check after one brings it back', () => {
    const { ring, changes } = make(false);
    ring.healthy(nodes[0]!.id);
    expect(changes).toHaveLength(0);
    ring.unhealthy(nodes[0]!.id, 'timeout');
    ring.unhealthy(nodes[0]!.id, 'timeout');
    expect(changes).toEqual([{ added: [], removed: [nodes[0]!.id] }]);
    ring.healthy(nodes[0]!.id);
    expect(changes[1]).toEqual({ added: [nodes[0]!.id], removed: [] });
    expect(ring.memberIds()).toHaveLength(3);
  });

  it('deferred (flushAlignment clock): changes wait for apply(), except a refused admin port', () => {
    const { ring, changes } = make(true);
    ring.unhealthy(nodes[0]!.id, 'down');
    expect(changes).toHaveLength(0);
    expect(ring.pending()).toEqual({ added: [], removed: [nodes[0]!.id] });
    const next = ring.preview()!;
    expect(next.target.has(nodes[0]!.id)).toBe(false);
    ring.apply(undefined, next.target);
    expect(changes).toEqual([{ added: [], removed: [nodes[0]!.id] }]);
    ring.unhealthy(nodes[2]!.id, 'refused');
    expect(changes[1]).toEqual({ added: [], removed: [nodes[2]!.id] });
    ring.healthy(nodes[0]!.id);
    expect(ring.isMember(nodes[0]!.id)).toBe(false);
    ring.apply();
    expect(ring.isMember(nodes[0]!.id)).toBe(true);
    // the preview placed keys where the ring now does
    expect(ring.preview()).toBeNull();
  });
});
