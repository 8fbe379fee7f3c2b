/**
 * Sets: the unique members seen per key this interval, exact up to setMaxMembers (past it a new
 * member is dropped and counted: set_members_dropped). Members are decoded per line: sets are rare,
 * and a member must be kept as a string anyway.
 */
import { BadLine, type MetricKey, MetricType, type Sample } from '../../parser/types.js';
import type { PartialVisitor } from '../merge.js';
import type { Retention } from '../retention.js';
import type { AggregatorSettings } from '../settings.js';
import { SlotIndex } from './slots.js';
import type { CaptureSink, MetricStore, StoreHost } from './types.js';

const EMPTY_SET: Set<string> = new Set();

export class SetStore implements MetricStore {
  readonly type = MetricType.Set;
  readonly name = 'sets';
  readonly idx = new SlotIndex();
  members: Set<string>[] = [];
  private maxKeyLength = 0;
  private maxMembers = 0;

  constructor(private readonly host: StoreHost) {}

  create(key: MetricKey): number {
    const slot = this.idx.alloc(key);
    if (slot < this.members.length) this.members[slot] = new Set();
    else this.members.push(new Set());
    return slot;
  }

  remove(slot: number): number {
    this.members[slot] = EMPTY_SET;
    return this.idx.release(slot);
  }

  findUnindexed(): number {
    return -1;
  }

  add(slot: number, s: Sample): void {
    const len = s.memberEnd - s.memberStart;
    if (len > this.maxKeyLength) {
      this.host.badLine(BadLine.KeyTooLong, s.buf, s.keyStart, s.memberEnd);
      return;
    }
    const member = len > 0 ? s.buf.toString('utf8', s.memberStart, s.memberEnd) : '0';
    const m = this.members[slot]!;
    // exact up to setMaxMembers per interval; past it a new member is dropped and counted
    if (m.size < this.maxMembers) m.add(member);
    else if (!m.has(member)) this.host.membersDropped(this.idx.keys[slot]!.id, 1);
  }

  ingest(slot: number, s: Sample): void {
    this.add(slot, s);
  }

  isActive(slot: number): boolean {
    return this.members[slot]!.size > 0;
  }

  liveValue(slot: number): number {
    return this.members[slot]?.size ?? 0;
  }

  configure(s: AggregatorSettings): void {
    this.maxKeyLength = s.maxKeyLength;
    this.maxMembers = s.setMaxMembers;
  }

  configureAfterClear(): void {}

  capture(into: CaptureSink): void {
    const si = this.idx;
    const keys = new Array<MetricKey>(si.size);
    const counts = new Float64Array(si.size);
    // the interval's member sets themselves (each key gets a new one at the clear): npm backends read members
    const members = new Array<ReadonlySet<string>>(si.size);
    let k = 0;
    for (let s = si.head; s >= 0; s = si.next[s]!) {
      keys[k] = si.keys[s]!;
      members[k] = this.members[s]!;
      counts[k++] = this.members[s]!.size;
    }
    into.setKeys = keys;
    into.setCounts = counts;
    into.setMembers = members;
    into.liveSets = si.size;
  }

  clear(r: Retention): number {
    let stale = 0;
    const del = r.deletesAll(this.type);
    const ttl = r.idleKeyTtl;
    for (let s = this.idx.head; s >= 0; ) {
      const next = this.idx.next[s]!;
      if (del) stale += this.remove(s);
      else if (ttl > 0 && r.expired(this.type, s, this.members[s]!.size > 0)) stale += this.remove(s);
      else if (this.members[s]!.size > 0) this.members[s] = new Set(); // the snapshot keeps the old one
      s = next;
    }
    return stale;
  }

  exportTo(out: PartialVisitor): void {
    for (let s = this.idx.head; s >= 0; s = this.idx.next[s]!) {
      if (this.members[s]!.size > 0) out.set(this.idx.keys[s]!, this.members[s]!);
    }
  }

  /** Primary side: a source's members of the set at `slot`. */
  mergeMembers(slot: number, members: Iterable<string>): void {
    const into = this.members[slot]!;
    const max = this.maxMembers;
    let dropped = 0;
    for (const m of members) {
      if (into.size < max) into.add(m);
      else if (!into.has(m)) dropped++;
    }
    if (dropped > 0) this.host.membersDropped(this.idx.keys[slot]!.id, dropped);
  }

  /** (sets cross the wire as members: see mergeMembers) */
  merge(): void {}
}
