/**
 * Populates many distinct keys: tally-blast's pool of 4,096 packets cannot hold a million distinct
 * keys, so this sender walks the keys in order, `<prefix>.c<k>:1|c` or `<prefix>.t<k>:<v>|ms`,
 * packed into packets of `linesPerPacket` lines and paced at `linesPerSec`.
 */
import dgram from 'node:dgram';
import { sleep } from './proc.js';

export interface PopulateOptions {
  port: number;
  prefix: string;
  /** Counter keys c0..c(counters-1), then timer keys t0..t(timers-1). */
  counters: number;
  timers: number;
  linesPerPacket: number;
  linesPerSec: number;
}

export interface PopulateResult {
  packets: number;
  lines: number;
  seconds: number;
}

/** Build every packet up front (so pacing is not disturbed by string building). */
export function buildPopulatePackets(o: Pick<PopulateOptions, 'prefix' | 'counters' | 'timers' | 'linesPerPacket'>): Buffer[] {
  const packets: Buffer[] = [];
  let lines: string[] = [];
  const push = (line: string): void => {
    lines.push(line);
    if (lines.length === o.linesPerPacket) {
      packets.push(Buffer.from(lines.join('\n'), 'latin1'));
      lines = [];
    }
  };
  for (let k = 0; k < o.counters; k++) push(`${o.prefix}.c${k}:1|c`);
  for (let k = 0; k < o.timers; k++) push(`${o.prefix}.t${k}:${(k * 7919) % 1000}|ms`);
  if (lines.length > 0) packets.push(Buffer.from(lines.join('\n'), 'latin1'));
  return packets;
}

/** Send prebuilt packets at `linesPerSec` (computed from the packet count). */
export async function sendPaced(
  port: number,
  packets: readonly Buffer[],
  linesPerPacket: number,
  linesPerSec: number,
): Promise<PopulateResult> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => sock.once('error', rej).connect(port, '127.0.0.1', () => res()));
  sock.on('error', () => undefined); // ECONNREFUSED and the like: counted as loss by the caller
  try {
    sock.setSendBufferSize(4 << 20);
  } catch {
    // a smaller send buffer only paces us more
  }
  const pps = linesPerSec / linesPerPacket;
  const start = performance.now();
  let sent = 0;
  let inFlight = 0;
  while (sent < packets.length) {
    const due = Math.min(packets.length, Math.floor(((performance.now() - start) / 1000) * pps) + 1);
    while (sent < due && inFlight < 256) {
      inFlight++;
      sock.send(packets[sent++]!, () => inFlight--);
    }
    await sleep(1);
  }
  while (inFlight > 0) await sleep(1);
  const seconds = (performance.now() - start) / 1000;
  await new Promise<void>((res) => sock.close(() => res()));
  let lines = 0;
  for (const p of packets) {
    let n = 1;
    for (let i = p.indexOf(10); i !== -1; i = p.indexOf(10, i + 1)) n++;
    lines += n;
  }
  return { packets: packets.length, lines, seconds };
}

export async function populateKeys(o: PopulateOptions): Promise<PopulateResult> {
  return sendPaced(o.port, buildPopulatePackets(o), o.linesPerPacket, o.linesPerSec);
}
