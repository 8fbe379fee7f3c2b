/**
 * The proxy's hot path: each received packet is cut into lines, each line's metric name (the bytes
 * before its first ':', the whole line if it has none, as the original proxy.js takes `split(':')[0]`)
 * is looked up on the ring, and the line is appended to that node's outgoing datagram. A datagram is
 * sent when the next line would take it past the MTU, and every staged datagram at the end of the
 * event-loop turn (setImmediate), so lines wait at most one turn. Lines are never split; a line longer
 * than the MTU goes alone in its own datagram (counted).
 *
 * Per line there is no allocation: the name's bytes are hashed (FNV-1a) in the scan and looked up in
 * a route cache keyed by those bytes; only a miss decodes the name and asks the hashring (md5), so a
 * tallyd proxy places every key where the original's ring would.
 */

/** Node index for a metric name, or -1 when the ring is empty. */
export type Resolve = (key: string) => number;
/** Send `len` bytes of `buf` from `off` to node `node` (the bytes stay untouched until sent). */
export type Emit = (node: number, buf: Buffer, off: number, len: number) => void;

const NL = 0x0a;
const COLON = 0x3a;
/** Bytes of key names kept in the route cache at most (past it the cache starts over, counted). */
export const ROUTE_CACHE_ARENA_BYTES = 8 * 1024 * 1024;
/** Outgoing datagrams are copied into slabs of this size (dgram keeps the bytes until sent). */
const SLAB_BYTES = 1024 * 1024;
/**
 * Lines shorter than this are copied with a loop: below 48 bytes a loop is faster than Buffer.copy
 * (16 bytes about 2.5x, 32 bytes about 1.3x), from 48 bytes on Buffer.copy wins
 * (`node dist/bench/short-copy.bench.js`).
 */
const SHORT_COPY = 48;

export class Router {
  // route cache: open addressing on the name's FNV-1a hash, names' bytes in one arena
  private readonly mask: number;
  private readonly maxEntries: number;
  private readonly slotHash: Int32Array;
  private readonly slotLen: Int32Array;
  private readonly slotOff: Int32Array;
  private readonly slotNode: Int32Array;
  private readonly arena: Buffer;
  private arenaPos = 0;
  private entries = 0;

  // per node: the datagram being filled
  private readonly stages: Buffer[];
  private readonly fill: Int32Array;
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private slabPos = 0;
  private flushPending = false;

  /** Lines routed to each node since start. */
  readonly sent: Float64Array;
  linesIn = 0;
  /** Lines dropped because no node was in the ring. */
  linesNoNode = 0;
  datagramsOut = 0;
  /** Lines longer than the MTU, each sent alone. */
  oversizeLines = 0;
  cacheResets = 0;
  /** Lines held back while their key moved to another node (see beginHold). */
  linesHeld = 0;
  /** Lines that could not be held (holdBytes full) and went to their new node at once. */
  holdOverflow = 0;

  // a ring change in progress: the lines of keys that move wait here (newline-separated, in chunks)
  private holdResolve: Resolve | null = null;
  private holdChunks: Buffer[] = [];
  private holdPos = 0;
  private holdBytes = 0;
  private heldNow = 0;

  constructor(
    nodeCount: number,
    private readonly mtu: number,
    /** Bytes of held lines kept at most during a ring change. */
    private readonly maxHoldBytes: number,
    cacheEntries: number,
    private readonly resolve: Resolve,
    private readonly emit: Emit,
  ) {
    let cap = 1024;
    while (cap < cacheEntries * 2) cap *= 2;
    this.mask = cap - 1;
    this.maxEntries = cap >>> 1;
    this.slotHash = new Int32Array(cap);
    this.slotLen = new Int32Array(cap).fill(-1);
    this.slotOff = new Int32Array(cap);
    this.slotNode = new Int32Array(cap);
    this.arena = Buffer.allocUnsafeSlow(ROUTE_CACHE_ARENA_BYTES);
    this.stages = [];
    for (let i = 0; i < nodeCount; i++) this.stages.push(Buffer.allocUnsafeSlow(mtu));
    this.fill = new Int32Array(nodeCount);
    this.sent = new Float64Array(nodeCount);
  }

  /** Forget every cached route (the ring changed). */
  clearCache(): void {
    this.slotLen.fill(-1);
    this.arenaPos = 0;
    this.entries = 0;
  }

  /** The PacketHandler: route every line of buf[start, end). */
  readonly onPacket = (buf: Buffer, start: number, end: number): void => {
    let i = start;
    while (i < end) {
      const ls = i;
      let h = 0x811c9dc5 | 0;
      let c = buf[i]!;
      while (c !== COLON && c !== NL) {
        h = Math.imul(h ^ c, 0x01000193);
        if (++i === end) break;
        c = buf[i]!;
      }
      const ke = i;
      if (i < end && c === COLON) {
        i++;
        while (i < end && buf[i] !== NL) i++;
      }
      const le = i;
      i++;
      if (le === ls) continue;
      this.linesIn++;
      const node = this.lookup(buf, ls, ke, h);
      if (node < 0) {
        this.linesNoNode++;
        continue;
      }
      if (this.holdResolve !== null && this.holdResolve(buf.toString('utf8', ls, ke)) !== node && this.hold(buf, ls, le)) continue;
      this.sent[node]!++;
      this.append(node, buf, ls, le);
    }
    if (!this.flushPending) {
      this.flushPending = true;
      setImmediate(this.flushAll);
    }
  };

  /**
   * A ring change is near: until endHold, a line whose key `next` places elsewhere than the current
   * ring is held instead of sent. Neither node then gets that key near the boundary, so the old node
   * flushes its interval without it and the new node gets it once the ring has changed.
   */
  beginHold(next: Resolve): void {
    this.holdResolve = next;
  }

  /** The ring has changed (clearCache was called): route the held lines, now to their new nodes. */
  endHold(): void {
    this.holdResolve = null;
    const chunks = this.holdChunks;
    const last = this.holdPos;
    this.holdChunks = [];
    this.holdPos = 0;
    this.holdBytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const end = i === chunks.length - 1 ? last : c.length;
      this.onPacket(c, 0, end);
    }
    this.linesIn -= this.heldNow; // counted when they first came in
    this.heldNow = 0;
  }

  private hold(buf: Buffer, ls: number, le: number): boolean {
    const need = le - ls + 1;
    if (this.holdBytes + need > this.maxHoldBytes) {
      this.holdOverflow++;
      return false;
    }
    let c = this.holdChunks[this.holdChunks.length - 1];
    if (c === undefined || this.holdPos + need > c.length) {
      // a chunk's unused tail is filled with newlines (empty lines are skipped on release)
      if (c !== undefined) c.fill(NL, this.holdPos);
      c = Buffer.allocUnsafe(Math.max(256 * 1024, need));
      this.holdChunks.push(c);
      this.holdPos = 0;
    }
    buf.copy(c, this.holdPos, ls, le);
    c[this.holdPos + need - 1] = NL;
    this.holdPos += need;
    this.holdBytes += need;
    this.linesHeld++;
    this.heldNow++;
    return true;
  }

  private lookup(buf: Buffer, ks: number, ke: number, h: number): number {
    const len = ke - ks;
    const mask = this.mask;
    const slotLen = this.slotLen;
    let s = h & mask;
    for (;;) {
      const l = slotLen[s]!;
      if (l === -1) break;
      if (l === len && this.slotHash[s] === h) {
        const arena = this.arena;
        let j = this.slotOff[s]!;
        let k = ks;
        while (k < ke && arena[j] === buf[k]) {
          j++;
          k++;
        }
        if (k === ke) return this.slotNode[s]!;
      }
      s = (s + 1) & mask;
    }
    // miss: the original's ring decides (md5 of the decoded name)
    const node = this.resolve(buf.toString('utf8', ks, ke));
    if (node < 0) return node;
    if (this.entries >= this.maxEntries || this.arenaPos + len > this.arena.length) {
      this.cacheResets++;
      this.clearCache();
      s = h & mask;
    }
    while (slotLen[s] !== -1) s = (s + 1) & mask;
    buf.copy(this.arena, this.arenaPos, ks, ke);
    slotLen[s] = len;
    this.slotHash[s] = h;
    this.slotOff[s] = this.arenaPos;
    this.slotNode[s] = node;
    this.arenaPos += len;
    this.entries++;
    return node;
  }

  private append(node: number, buf: Buffer, ls: number, le: number): void {
    const len = le - ls;
    let f = this.fill[node]!;
    if (f !== 0 && f + 1 + len > this.mtu) {
      this.sendStage(node, f);
      f = 0;
    }
    if (len > this.mtu) {
      // never split a line: it goes alone, over the MTU (the kernel fragments it)
      this.oversizeLines++;
      this.out(node, buf, ls, len);
      return;
    }
    const stage = this.stages[node]!;
    if (f !== 0) stage[f++] = NL;
    if (len < SHORT_COPY) {
      for (let k = ls; k < le; k++) stage[f++] = buf[k]!;
    } else {
      buf.copy(stage, f, ls, le);
      f += len;
    }
    this.fill[node] = f;
  }

  private sendStage(node: number, len: number): void {
    this.fill[node] = 0;
    this.out(node, this.stages[node]!, 0, len);
  }

  /** Copy into the slab (dgram holds the bytes until the send completes) and emit. */
  private out(node: number, src: Buffer, off: number, len: number): void {
    if (this.slabPos + len > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, len));
      this.slabPos = 0;
    }
    const at = this.slabPos;
    src.copy(this.slab, at, off, off + len);
    this.slabPos += len;
    this.datagramsOut++;
    this.emit(node, this.slab, at, len);
  }

  /** Send every staged datagram. */
  readonly flushAll = (): void => {
    this.flushPending = false;
    const fill = this.fill;
    for (let n = 0; n < fill.length; n++) {
      const f = fill[n]!;
      if (f !== 0) this.sendStage(n, f);
    }
  };
}
