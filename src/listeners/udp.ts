/**
 * UDP listener: every datagram handed over as is, as a byte range the parser works on in place and
 * keeps nothing of. By default the native reader (./native.ts: recvmmsg batches into one reused
 * buffer); Node's dgram (a fresh Buffer per datagram) where that is not available or not wanted.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/types.js';
import { listenError } from '../errors.js';
import { loadNativeReader, nativeReaderProblem, startNativeUdpListener } from './native.js';
import type { Listener, PacketHandler } from './types.js';

export interface UdpListener extends Listener {
  /** SO_RCVBUF as granted by the kernel (Linux reports twice the usable size). */
  readonly recvBufferBytes: number;
}

/**
 * A UDP listener: the native recvmmsg reader (./native.ts) unless `reader` is 'dgram' or the addon is
 * not available here (then dgram, and one INFO line says why).
 */
export async function startUdpListener(
  cfg: ServerConfig,
  onPacket: PacketHandler,
  log: Logger,
  reader: 'native' | 'dgram' = 'native',
  /** SO_REUSEPORT on the native socket: each cluster worker binds its own socket on the same port. */
  reusePort = false,
): Promise<UdpListener> {
  if (reader === 'native') {
    const native = loadNativeReader();
    if (native !== null) return startNativeUdpListener(native, cfg, onPacket, log, reusePort);
    log.info({ reason: nativeReaderProblem() }, 'native UDP reader not available: using dgram');
  }
  return startDgramListener(cfg, onPacket, log);
}

/** Node's dgram: a fresh Buffer per datagram. */
export function startDgramListener(cfg: ServerConfig, onPacket: PacketHandler, log: Logger): Promise<UdpListener> {
  const type = cfg.addressIpv6 ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, reuseAddr: false });
  return new Promise((resolve, reject) => {
    const onStartError = (err: Error): void => {
      socket.close();
      reject(listenError('udp listener', cfg.address, cfg.port, err));
    };
    socket.once('error', onStartError);
    socket.on('message', (msg, rinfo) => onPacket(msg, 0, msg.length, rinfo));
    socket.bind(cfg.port, cfg.address, () => {
      socket.off('error', onStartError);
      socket.on('error', (err) => log.error({ err }, 'udp socket error'));
      let granted = 0;
      try {
        socket.setRecvBufferSize(cfg.recvBufferBytes);
      } catch (err) {
        log.warn({ err, requested: cfg.recvBufferBytes }, 'could not set the UDP receive buffer size');
      }
      try {
        granted = socket.getRecvBufferSize();
      } catch {
        granted = 0;
      }
      const addr = socket.address();
      const description = `udp ${addr.address}:${addr.port}`;
      const level = granted > 0 && granted < cfg.recvBufferBytes ? 'warn' : 'info';
      log[level](
        { requested: cfg.recvBufferBytes, granted, hint: level === 'warn' ? 'raise net.core.rmem_max' : undefined },
        `listening on ${description} (dgram)`,
      );
      resolve({
        kind: 'udp',
        description,
        port: addr.port,
        recvBufferBytes: granted,
        close: () => new Promise<void>((res) => socket.close(() => res())),
      });
    });
  });
}

/**
 * Kernel drops for the UDP sockets bound to `ports` (the `drops` column of /proc/net/udp and
 * /proc/net/udp6), or null where those files cannot be read (not Linux).
 */
export function readUdpDrops(ports: readonly number[]): number | null {
  if (ports.length === 0) return null;
  let total = 0;
  let readAny = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    readAny = true;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]!.trim().split(/\s+/);
      if (cols.length < 13) continue;
      const local = cols[1]!;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (ports.includes(port)) total += Number(cols[cols.length - 1]) || 0;
    }
  }
  return readAny ? total : null;
}
