/**
 * The ring: npm `hashring` built exactly as the original proxy.js builds it (each node as
 * `host:port` with weight 100, md5, replicas 0, `max cache size` = cacheSize), so a tallyd proxy and
 * an original proxy.js place every metric name on the same node. Membership follows the original's
 * health bookkeeping (node_status): a node leaves the ring on the first failed check of a streak and
 * returns on the first good check after one.
 *
 * With flushAlignment 'clock' a change is held until the next wall-clock multiple of flushInterval,
 * the instant the aggregators flush, so a key's interval is never split between two nodes. One
 * exception: a node whose admin port refuses connections has no process behind it, its interval is
 * already lost and it cannot write the key again, so its keys move at once.
 */
import HashRing from 'hashring';
import type { ProxyNode } from './config.js';

/** Why a health check failed: the admin port refused, timed out, errored, or answered not 'up'. */
export type FailReason = 'refused' | 'timeout' | 'error' | 'down';

export interface RingChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export class ProxyRing {
  private readonly ring: HashRing;
  /** The original's node_status: consecutive failed checks (0 = healthy; absent = never checked). */
  private readonly status = new Map<string, number>();
  /** Membership the health checks ask for; the ring follows it (at once, or at a boundary). */
  private readonly wanted: Set<string>;
  private readonly members: Set<string>;
  private readonly indexOf = new Map<string, number>();

  constructor(
    readonly nodes: readonly ProxyNode[],
    cacheSize: number,
    private readonly deferChanges: boolean,
    private readonly onChange: (change: RingChange) => void,
  ) {
    const weights: Record<string, number> = {};
    nodes.forEach((n, i) => {
      weights[n.id] = 100;
      this.indexOf.set(n.id, i);
    });
    this.ring = new HashRing(weights, 'md5', { 'max cache size': cacheSize, replicas: 0 });
    this.wanted = new Set(nodes.map((n) => n.id));
    this.members = new Set(this.wanted);
  }

  /** Node index for a metric name; -1 when no node is in the ring. */
  readonly resolve = (key: string): number => {
    const id = this.ring.get(key);
    return id === undefined ? -1 : this.indexOf.get(id)!;
  };

  /** Ring members in the ring's order (the original's `status` lists ring.servers). */
  memberIds(): string[] {
    return this.ring.servers.map((s) => s.string);
  }

  isMember(id: string): boolean {
    return this.members.has(id);
  }

  /** Changes waiting for the next boundary. */
  pending(): RingChange {
    const added: string[] = [];
    const removed: string[] = [];
    for (const id of this.wanted) if (!this.members.has(id)) added.push(id);
    for (const id of this.members) if (!this.wanted.has(id)) removed.push(id);
    return { added, removed };
  }

  /**
   * The ring the pending changes would make, as a resolver, with the membership it stands for; null
   * when nothing is pending. Used to hold the lines of keys that are about to move (proxy.ts).
   */
  preview(): { resolve: (key: string) => number; target: Set<string> } | null {
    const p = this.pending();
    if (p.added.length === 0 && p.removed.length === 0) return null;
    const target = new Set(this.wanted);
    const weights: Record<string, number> = {};
    for (const n of this.nodes) if (target.has(n.id)) weights[n.id] = 100;
    const next = new HashRing(weights, 'md5', { 'max cache size': 100_000, replicas: 0 });
    return {
      resolve: (key: string): number => {
        const id = next.get(key);
        return id === undefined ? -1 : this.indexOf.get(id)!;
      },
      target,
    };
  }

  /** A good check (markNodeAsHealthy). */
  healthy(id: string): void {
    const s = this.status.get(id);
    if (s !== undefined && s > 0) {
      this.wanted.add(id);
      if (!this.deferChanges) this.apply();
    }
    this.status.set(id, 0);
  }

  /** A failed check (markNodeAsUnhealthy): the first of a streak takes the node out. */
  unhealthy(id: string, reason: FailReason): void {
    const s = (this.status.get(id) ?? 0) + 1;
    this.status.set(id, s);
    if (s < 2) {
      this.wanted.delete(id);
      if (!this.deferChanges || reason === 'refused') this.apply(id);
    } else if (reason === 'refused' && this.members.has(id) && !this.wanted.has(id)) {
      this.apply(id);
    }
  }

  /**
   * Make the ring match the wanted membership (all of it, or only `only`). Returns what changed.
   * Nodes are added in config order, as the original's ring.add of one node at a time would.
   */
  apply(only?: string, target: ReadonlySet<string> = this.wanted): RingChange {
    const removed: string[] = [];
    const added: string[] = [];
    for (const id of [...this.members]) {
      if ((only === undefined || only === id) && !target.has(id)) {
        this.ring.remove(id);
        this.members.delete(id);
        removed.push(id);
      }
    }
    if (only === undefined) {
      for (const n of this.nodes) {
        if (target.has(n.id) && !this.members.has(n.id)) {
          this.ring.add({ [n.id]: 100 });
          this.members.add(n.id);
          added.push(n.id);
        }
      }
    }
    const change = { added, removed };
    if (added.length > 0 || removed.length > 0) this.onChange(change);
    return change;
  }
}
