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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { listenError } from '../errors.js';
import type { ServerConfig } from '../config/types.js';
import type { PacketHandler } from './types.js';
import type { UdpListener } from './udp.js';

/** Datagrams per recvmmsg call (and per call into JavaScript) at most. */
export const SLOTS = 64;
/** One slot holds the largest UDP payload over IPv4 (65,507 bytes). */
export const SLOT_BYTES = 65_536;

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
  ): [handle: unknown, port: number, granted: number];
  close(handle: unknown): void;
}

let cached: NativeReader | null | undefined;
let loadError: string | undefined;

/** The compiled addon, or null (see {@link nativeReaderProblem} for why). */
export function loadNativeReader(): NativeReader | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.platform !== 'linux') {
    loadError = `recvmmsg reader is Linux only (platform ${process.platform})`;
    return null;
  }
  // from dist/src/listeners/native.js (built) or src/listeners/native.ts (tests run from source)
  const here = dirname(fileURLToPath(import.meta.url));
  const addon = join('src', 'native', 'build', 'Release', 'udp_recv.node');
  const candidates = [join(here, '..', '..', '..', addon), join(here, '..', '..', addon)];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    loadError = `addon not built (${candidates[0]}); run npm install with a C compiler`;
    return null;
  }
  try {
    cached = createRequire(import.meta.url)(file) as NativeReader;
  } catch (err) {
    loadError = `addon failed to load: ${(err as Error).message}`;
  }
  return cached;
}

/** Why {@link loadNativeReader} returned null. */
export function nativeReaderProblem(): string | undefined {
  loadNativeReader();
  return loadError;
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
  const onBatch = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const start = i * SLOT_BYTES;
      onPacket(buffer, start, start + lengths[i]!);
    }
  };
  let opened: [unknown, number, number];
  try {
    opened = native.open(family, address, cfg.port, cfg.recvBufferBytes, buffer, lengths, SLOT_BYTES, onBatch, reusePort);
  } catch (err) {
    throw listenError('udp listener', address, cfg.port, err);
  }
  const [handle, port, granted] = opened;
  const description = `udp ${address}:${port}`;
  const level = granted > 0 && granted < cfg.recvBufferBytes ? 'warn' : 'info';
  log[level](
    { requested: cfg.recvBufferBytes, granted, reader: 'native', reusePort, hint: level === 'warn' ? 'raise net.core.rmem_max' : undefined },
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
