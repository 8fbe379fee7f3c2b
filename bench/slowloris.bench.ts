/**
 * Slowloris cost (issue 9, item 13): TCP peers that trickle a long line a few bytes at a time.
 *
 *   npm run build && node dist/bench/slowloris.bench.js [--seconds 10] [--connections 20] [--main other/dist/src/main.js]
 *
 * 1. In process: LineFramer against the framer it replaced (kept below as the baseline: it
 *    re-concatenated its pending buffer on every chunk), one 64 KiB line fed in 1-byte chunks.
 * 2. End to end: the built daemon (or `--main`, e.g. an older build) with one TCP server; N
 *    connections each trickle 60 KB lines one byte per write, ~27 KB/s in total, for the given time
 *    (the repro: 20 connections, 45 s). Prints the daemon's
 *    CPU seconds (utime + stime from /proc/<pid>/stat) over the trickle, and the same daemon's CPU
 *    over as long a quiet period (the floor).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LineFramer } from '../src/listeners/tcp.js';
import type { PacketHandler } from '../src/listeners/types.js';

const NL = 0x0a;

/** The framer before the fix (src/listeners/tcp.ts at 87efa74), as the baseline. */
class ConcatFramer {
  private pending: Buffer | null = null;
  private discarding = false;
  constructor(
    private readonly max: number,
    private readonly onLines: PacketHandler,
    private readonly onTooLong: () => void,
  ) {}
  push(chunk: Buffer): void {
    let pos = 0;
    if (this.discarding) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) return;
      this.discarding = false;
      pos = nl + 1;
    }
    if (this.pending !== null) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.append(chunk, pos, chunk.length);
        return;
      }
      const line = Buffer.concat([this.pending, chunk.subarray(pos, nl + 1)]);
      this.pending = null;
      if (line.length - 1 > this.max) this.onTooLong();
      else this.onLines(line, 0, line.length);
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= pos) {
      this.onLines(chunk, pos, last + 1);
      pos = last + 1;
    }
    if (pos < chunk.length) this.append(chunk, pos, chunk.length);
  }
  private append(chunk: Buffer, start: number, end: number): void {
    const have = this.pending === null ? 0 : this.pending.length;
    if (have + (end - start) > this.max) {
      this.pending = null;
      this.discarding = true;
      this.onTooLong();
      return;
    }
    const part = Buffer.from(chunk.subarray(start, end));
    this.pending = this.pending === null ? part : Buffer.concat([this.pending, part]);
  }
}

function inProcess(): void {
  const LINE = 65_000;
  const bytes = Buffer.from('x'.repeat(LINE - 5) + ':1|c\n');
  for (const [name, make] of [
    ['baseline (concat per chunk)', (on: PacketHandler) => new ConcatFramer(65_536, on, () => undefined)],
    ['LineFramer (growing buffer)', (on: PacketHandler) => new LineFramer(65_536, on, () => undefined)],
  ] as const) {
    let got = 0;
    const f = make((_b, s, e) => {
      got += e - s;
    });
    const t0 = process.cpuUsage();
    for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1));
    const cpu = process.cpuUsage(t0);
    const ms = (cpu.user + cpu.system) / 1000;
    console.log(`${name.padEnd(30)} one ${LINE}-byte line in 1-byte chunks: ${ms.toFixed(1)} CPU ms (${got} bytes delivered)`);
  }
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of the whole line: 11 and 12 after the comm
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function endToEnd(main: string, seconds: number, connections: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-slowloris-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      servers: [{ server: 'tcp', address: '127.0.0.1', port: 0 }],
      mgmt_port: 0,
      backends: ['console'],
      flushInterval: 10_000,
      logLevel: 'warn',
      tcpIdleTimeout: 0,
    }),
  );
  const proc = spawn(process.execPath, [main, cfg, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const port = await new Promise<number>((res, rej) => {
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /"listeners":\["tcp [^"]*:(\d+)"/.exec(err);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', (c) => rej(new Error(`daemon exited ${c}: ${err}`)));
  });
  try {
    const pid = proc.pid!;
    const quiet0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const quiet = cpuSeconds(pid) - quiet0;

    const socks = await Promise.all(
      Array.from(
        { length: connections },
        () =>
          new Promise<net.Socket>((res) => {
            const s = net.createConnection(port, '127.0.0.1', () => res(s));
            s.setNoDelay(true); // each write its own segment, as a byte-at-a-time sender's
            s.on('error', () => undefined);
          }),
      ),
    );
    const line = 'x'.repeat(60_000 - 5) + ':1|c\n';
    // ~27 KB/s in total: every 10 ms, each connection sends its next few bytes
    const perTick = Math.max(1, Math.round(27_000 / 100 / connections));
    const pos = new Array<number>(connections).fill(0);
    let sent = 0;
    const t0 = cpuSeconds(pid);
    const timer = setInterval(() => {
      for (let c = 0; c < connections; c++) {
        for (let k = 0; k < perTick; k++) {
          socks[c]!.write(line[pos[c]!]!);
          sent++;
          pos[c] = pos[c]! + 1 >= line.length ? 0 : pos[c]! + 1;
        }
      }
    }, 10);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    clearInterval(timer);
    const busy = cpuSeconds(pid) - t0;
    for (const s of socks) s.destroy();
    console.log(`${main}`);
    console.log(
      `  ${connections} connections trickling ${(sent / seconds / 1000).toFixed(1)} KB/s for ${seconds} s: ${busy.toFixed(2)} CPU s`,
    );
    console.log(`  quiet for ${seconds} s (floor):                                   ${quiet.toFixed(2)} CPU s`);
  } finally {
    proc.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '20' },
      main: { type: 'string', multiple: true },
    },
  });
  inProcess();
  const mains = values.main ?? [join(import.meta.dirname, '..', 'src', 'main.js')];
  for (const m of mains) await endToEnd(m, Number(values.seconds), Number(values.connections));
}

void main();
