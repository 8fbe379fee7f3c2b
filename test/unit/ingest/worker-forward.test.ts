/**
 * The packet forwarder of a cluster worker (src/cluster/worker-forward.ts): what it stages comes out
 * of readPacketBatch as it went in (bytes and sender), one message per batch window, and the cap
 * bounds bytes staged plus bytes not yet written out.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  BATCH_BYTES,
  BATCH_WINDOW_MS,
  HEADER_BYTES,
  type PacketBatch,
  PacketForwarder,
  readPacketBatch,
} from '../../../src/cluster/worker-forward.js';

const silent = pino({ level: 'silent' });
/** Past the forwarder's batch window. */
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, BATCH_WINDOW_MS + 30));

interface Got {
  msg: string;
  from: { address: string; family: string; port: number } | undefined;
}

function decode(batch: PacketBatch): Got[] {
  const out: Got[] = [];
  // (a copy: the forwarder reuses its staging buffer once the send returns, as the IPC serialiser copies)
  const buf = Buffer.from(batch.buf);
  const n = readPacketBatch(buf, (b, s, e, f) => {
    out.push({
      msg: b.toString('latin1', s, e),
      from: f === undefined ? undefined : { address: f.address, family: f.family, port: f.port },
    });
  });
  expect(n).toBe(batch.n);
  return out;
}

describe('PacketForwarder', () => {
  it('sends the packets of one window as one batch: bytes and senders as given', async () => {
    const sent: Got[][] = [];
    const f = new PacketForwarder(
      1 << 20,
      (m, done) => {
        sent.push(decode(m));
        done();
      },
      silent,
    );
    const big = Buffer.alloc(70_000, 0x61); // past the first staging size: it grows
    const buf = Buffer.from('xxa:1|cyyb:2|c');
    f.packet(buf, 2, 7, { address: '127.0.0.1', family: 'IPv4', port: 4000 });
    f.packet(buf, 9, 14, { address: 'fe80::1:2', family: 'IPv6', port: 65535 });
    f.packet(buf, 2, 7); // a server module that gave no rinfo
    f.packet(big, 0, big.length, { address: '::ffff:10.0.0.1', family: 'IPv6', port: 1 });
    f.packet(buf, 2, 2, { address: '10.1.2.3', family: 'IPv4', port: 9 }); // empty datagram
    expect(sent).toHaveLength(0);
    await turn();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual([
      { msg: 'a:1|c', from: { address: '127.0.0.1', family: 'IPv4', port: 4000 } },
      { msg: 'b:2|c', from: { address: 'fe80::1:2', family: 'IPv6', port: 65535 } },
      { msg: 'a:1|c', from: undefined },
      { msg: 'a'.repeat(70_000), from: { address: '::ffff:10.0.0.1', family: 'IPv6', port: 1 } },
      { msg: '', from: { address: '10.1.2.3', family: 'IPv4', port: 9 } },
    ]);
    expect(f.forwarded).toBe(5);
    f.packet(buf, 9, 14, { address: '127.0.0.1', family: 'IPv4', port: 5 });
    await turn();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.map((g) => g.msg)).toEqual(['b:2|c']);
  });

  it('drops what does not fit under the cap (staged + not yet written out), and counts it', async () => {
    const pending: Array<() => void> = [];
    const batches: PacketBatch[] = [];
    const f = new PacketForwarder(
      100,
      (m, done) => {
        batches.push({ ...m, buf: Buffer.from(m.buf) });
        pending.push(done);
      },
      silent,
    );
    const from = { address: '127.0.0.1', family: 'IPv4', port: 1 };
    const per = HEADER_BYTES + from.address.length + 20; // 37 bytes a packet
    const p = Buffer.alloc(20, 0x62);
    f.packet(p, 0, 20, from);
    f.packet(p, 0, 20, from);
    f.packet(p, 0, 20, from); // 3 × 37 > 100
    expect(f.dropped).toBe(1);
    expect(f.pendingBytes).toBe(2 * per);
    await turn();
    // sent but not written out: still counted against the cap
    expect(f.pendingBytes).toBe(2 * per);
    f.packet(p, 0, 20, from);
    expect(f.dropped).toBe(2);
    pending.shift()!();
    expect(f.pendingBytes).toBe(0);
    f.packet(p, 0, 20, from);
    f.packet(p, 0, 20, from);
    expect(f.dropped).toBe(2);
    f.packet(Buffer.alloc(200), 0, 200, from); // larger than the cap: never fits
    expect(f.dropped).toBe(3);
    await turn();
    expect(batches.map((b) => b.n)).toEqual([2, 2]);
    expect(f.forwarded).toBe(4);
  });

  it('a batch of BATCH_BYTES goes at once, before its window ends', async () => {
    const ns: number[] = [];
    const f = new PacketForwarder(
      1 << 22,
      (m, done) => {
        ns.push(m.n);
        done();
      },
      silent,
    );
    const p = Buffer.alloc(60_000);
    const n = Math.ceil(BATCH_BYTES / 60_000);
    for (let i = 0; i < n + 1; i++) f.packet(p, 0, p.length);
    expect(ns).toEqual([n]);
    await turn();
    expect(ns).toEqual([n, 1]);
  });

  it('readPacketBatch stops at a truncated record', () => {
    const sent: PacketBatch[] = [];
    const f = new PacketForwarder(
      1 << 16,
      (m, done) => {
        sent.push({ ...m, buf: Buffer.from(m.buf) });
        done();
      },
      silent,
    );
    f.packet(Buffer.from('abc'), 0, 3, { address: '1.2.3.4', family: 'IPv4', port: 7 });
    f.packet(Buffer.from('defg'), 0, 4, { address: '1.2.3.4', family: 'IPv4', port: 7 });
    f.flush();
    const whole = Buffer.from(sent[0]!.buf);
    const seen: string[] = [];
    expect(readPacketBatch(whole.subarray(0, whole.length - 1), (b, s, e) => seen.push(b.toString('latin1', s, e)))).toBe(1);
    expect(seen).toEqual(['abc']);
  });
});
