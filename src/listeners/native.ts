/**
 * The native UDP reader (src/native/udp_recv.c): recvmmsg(2) into one preallocated buffer of
 * SLOTS × SLOT_BYTES, one call into JavaScript per batch of up to SLOTS datagrams. Each datagram is
 * handed to the PacketHandler as a range of that buffer, which is reused for the next batch: a
 * handler must not keep the buffer past its call (the parser copies what it keeps; the repeater copies
 * before its asynchronous send).
 *
 * Measured reason (`npm run bench -- --only single`: the single-line knee against a bare dgram
 * receiver; a recorded run in bench/RESULTS.md): Node's dgram allocates a Buffer and an rinfo object per datagram
 * and enters JavaScript once per datagram; that work, and the GC its per-packet external memory
 * triggers, is most of what the daemon spends on small packets.
 *
 * Built by `npm ci` / `npm install` (node-gyp, src/native/binding.gyp); where it is not built or not
 * supported (not Linux), {@link loadNativeReader} returns null and the dgram listener is used.
 */
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/types.js';
import { listenError } from '../errors.js';
import { nativeAddon } from '../native/addon.js';
import type { PacketHandler, PacketSender } from './types.js';
import type { UdpListener } from './udp.js';

/** Datagrams per recvmmsg call (and per call into JavaScript) at most. */
export const SLOTS = 64;
/** One slot holds the largest UDP payload over IPv4 (65,507 bytes). */
export const SLOT_BYTES = 65_536;
/** Bytes per sender address slot (ADDR_BYTES in udp_recv.c: a struct sockaddr_in6, or a sockaddr_in in it). */
export const ADDR_BYTES = 28;

const AF_INET6 = 10;
/** sa_family is in host byte order. */
const HOST_LE = os.endianness() === 'LE';

/**
 * The sender of the datagram in slot `slot`, decoded from the struct sockaddr the kernel wrote only
 * when read (one object per listener, reused: nothing is allocated per packet unless a packet hook
 * asks for the address).
 */
export class SlotSender implements PacketSender {
  slot = 0;
  constructor(private readonly addrs: Buffer) {}

  private get at(): number {
    return this.slot * ADDR_BYTES;
  }
  private get v6(): boolean {
    const o = this.at;
    return (HOST_LE ? this.addrs.readUInt16LE(o) : this.addrs.readUInt16BE(o)) === AF_INET6;
  }
  get family(): string {
    return this.v6 ? 'IPv6' : 'IPv4';
  }
  /** sin_port / sin6_port, in network order at offset 2 of either struct. */
  get port(): number {
    return this.addrs.readUInt16BE(this.at + 2);
  }
  get address(): string {
    const o = this.at;
    const a = this.addrs;
    if (!this.v6) return `${a[o + 4]}.${a[o + 5]}.${a[o + 6]}.${a[o + 7]}`;
    const groups: number[] = [];
    for (let k = 0; k < 8; k++) groups.push(a.readUInt16BE(o + 8 + 2 * k));
    return formatIpv6(groups);
  }
}

/** An IPv6 address as Node's dgram gives it: lower-case hex, the longest run of two or more zero groups as `::`, IPv4-mapped as `::ffff:a.b.c.d`. */
export function formatIpv6(g: readonly number[]): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  }
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

interface NativeReader {
  open(
    family: 4 | 6,
    address: string,
    port: number,
    rcvbuf: number,
    buffer: Buffer,
    lengths: Int32Array,
    slotBytes: number,
    onBatch: (count: number) => void,
    reusePort: boolean,
    addrs?: Buffer,
  ): [handle: unknown, port: number, granted: number];
  close(handle: unknown): void;
}

const reader = nativeAddon<NativeReader>(
  'udp_recv.node',
  'addon',
  process.platform !== 'linux' ? `recvmmsg reader is Linux only (platform ${process.platform})` : undefined,
);

/** The compiled addon, or null (see {@link nativeReaderProblem} for why). */
export function loadNativeReader(): NativeReader | null {
  return reader.load();
}

/** Why {@link loadNativeReader} returned null. */
export function nativeReaderProblem(): string | undefined {
  return reader.problem();
}

/** A UDP listener on the native reader. Resolves the address first (the addon binds numeric ones). */
export async function startNativeUdpListener(
  native: NativeReader,
  cfg: ServerConfig,
  onPacket: PacketHandler,
  log: Logger,
  reusePort = false,
): Promise<UdpListener> {
  const family = cfg.addressIpv6 ? 6 : 4;
  const { address } = await lookup(cfg.address, { family });
  const buffer = Buffer.allocUnsafeSlow(SLOTS * SLOT_BYTES);
  const lengths = new Int32Array(SLOTS);
  const addrs = Buffer.alloc(SLOTS * ADDR_BYTES);
  const from = new SlotSender(addrs);
  const onBatch = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const start = i * SLOT_BYTES;
      from.slot = i;
      onPacket(buffer, start, start + lengths[i]!, from);
    }
  };
  let opened: [unknown, number, number];
  try {
    opened = native.open(family, address, cfg.port, cfg.recvBufferBytes, buffer, lengths, SLOT_BYTES, onBatch, reusePort, addrs);
  } catch (err) {
    throw listenError('udp listener', address, cfg.port, err);
  }
  const [handle, port, granted] = opened;
  const description = `udp ${address}:${port}`;
  const level = granted > 0 && granted < cfg.recvBufferBytes ? 'warn' : 'info';
  log[level](
    {
      requested: cfg.recvBufferBytes,
      granted,
      reader: 'native',
      reusePort,
      hint: level === 'warn' ? 'raise net.core.rmem_max' : undefined,
    },
    `listening on ${description}`,
  );
  let closed = false;
  return {
    kind: 'udp',
    description,
    port,
    recvBufferBytes: granted,
    close: async () => {
      if (closed) return;
      closed = true;
      native.close(handle);
    },
  };
}
