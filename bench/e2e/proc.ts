/**
 * Probes of the Linux /proc files the bench reads: a process's CPU time and memory, the kernel's
 * UDP receive-buffer drops, and small process helpers (free ports, the repository root, a child
 * registry that kills every child on exit). Everything returns null where /proc is not readable.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file that holds package.json (src or dist layout). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the repository root (no package.json above bench/e2e)');
}

let ticks: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK; 100 when unknown). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds used so far by `pid` (all its threads), or null. */
export function cpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / clockTicks() : null;
}

export interface MemoryStatus {
  /** VmRSS: resident now, bytes. */
  rssBytes: number;
  /** VmHWM: peak resident, bytes. */
  peakRssBytes: number;
}

/** VmRSS and VmHWM of `pid`, or null. */
export function memoryStatus(pid: number): MemoryStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  const rssBytes = kib('VmRSS');
  const peakRssBytes = kib('VmHWM');
  return Number.isFinite(rssBytes) ? { rssBytes, peakRssBytes } : null;
}

/** The kernel's UDP receive-buffer drops since boot, all sockets (`RcvbufErrors` of `Udp:` in /proc/net/snmp). */
export function udpRcvbufErrors(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'latin1');
  } catch {
    return null;
  }
  const rows = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (rows.length < 2) return null;
  const names = rows[0]!.trim().split(/\s+/);
  const values = rows[1]!.trim().split(/\s+/);
  const i = names.indexOf('RcvbufErrors');
  return i > 0 ? Number(values[i]) : null;
}

/** net.core.rmem_max in bytes, or null. */
export function rmemMax(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'latin1').trim());
  } catch {
    return null;
  }
}

/** CPU cores used by a process between two calls: CPU seconds / wall seconds. */
export class CpuMeter {
  private cpu0: number | null;
  private wall0: number;

  constructor(private readonly pid: number) {
    this.cpu0 = cpuSeconds(pid);
    this.wall0 = performance.now();
  }

  /** Cores used since construction (or the last reset), or null. */
  cores(): number | null {
    const cpu = cpuSeconds(this.pid);
    const wall = (performance.now() - this.wall0) / 1000;
    if (cpu === null || this.cpu0 === null || wall <= 0) return null;
    return (cpu - this.cpu0) / wall;
  }

  reset(): void {
    this.cpu0 = cpuSeconds(this.pid);
    this.wall0 = performance.now();
  }
}

/** A port that was free a moment ago on 127.0.0.1 (for the original statsd, which cannot report port 0). */
export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'tcp') {
    const srv = net.createServer();
    await new Promise<void>((res, rej) => srv.once('error', rej).listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((res) => srv.close(() => res()));
    return port;
  }
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => sock.once('error', rej).bind(0, '127.0.0.1', () => res()));
  const port = sock.address().port;
  await new Promise<void>((res) => sock.close(() => res()));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every child the bench starts, so that an exit, a signal or a crash never leaves one running. */
const children = new Set<ChildProcess>();

export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killAllChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  }
  children.clear();
}

/** Wait for a child to exit; SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}
