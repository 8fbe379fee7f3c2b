/**
 * The load generator: tally-blast (C, sendmmsg), the project's own in bench/loadgen/, compiled with
 * `cc -O2` into bench/.build/ at bench start, and a wrapper that runs it once and reads what it sent.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { trackChild } from './proc.js';

export class BenchSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchSetupError';
  }
}

/** Where the generator's source is looked for: $TALLYD_LOADGEN_SRC, else bench/loadgen/tally-blast.c. */
export function loadgenSource(root: string): string {
  return process.env.TALLYD_LOADGEN_SRC ?? resolve(root, 'bench', 'loadgen', 'tally-blast.c');
}

/** Compile tally-blast into bench/.build/ (again only when the source is newer); returns the binary's path. */
export function buildLoadgen(root: string): string {
  const src = loadgenSource(root);
  if (!existsSync(src)) {
    throw new BenchSetupError(`load generator source not found: ${src} (set TALLYD_LOADGEN_SRC)`);
  }
  const cc = process.env.CC ?? 'cc';
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new BenchSetupError(`no C compiler: '${cc}' cannot be run (install one, e.g. apt-get install gcc, or set CC)`);
  }
  const outDir = join(root, 'bench', '.build');
  mkdirSync(outDir, { recursive: true });
  const bin = join(outDir, 'tally-blast');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  try {
    execFileSync(cc, ['-O2', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new BenchSetupError(`compiling ${src} failed:\n${e.stderr?.toString() ?? String(err)}`);
  }
  return bin;
}

export interface BlastOptions {
  port: number;
  /** Packets per second; 0 = flat out. */
  rate: number;
  seconds: number;
  /** Lines per packet. */
  lines: number;
  /** Distinct keys per type. */
  keys: number;
  /** Line types cycled: c, t, g, s. */
  mix: string;
  prefix: string;
  /** Stop after this many packets (tally-blast -n), or at `seconds`, whichever comes first. */
  packets?: number;
}

export interface BlastResult {
  sentPackets: number;
  sentLines: number;
  sentCounterLines: number;
  seconds: number;
  packetsPerSec: number;
  linesPerSec: number;
  sendErrors: number;
}

/** Run tally-blast once against 127.0.0.1 and parse its report. */
export function runBlast(bin: string, o: BlastOptions): Promise<BlastResult> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(o.port),
    '-r',
    String(Math.round(o.rate)),
    '-s',
    String(o.seconds),
    '-l',
    String(o.lines),
    '-k',
    String(o.keys),
    '-m',
    o.mix,
    '-P',
    o.prefix,
  ];
  if (o.packets !== undefined) args.push('-n', String(o.packets));
  return new Promise((resolvePromise, reject) => {
    const child = trackChild(spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    // The generator stops by itself after `seconds`; this is only a guard against a hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 10) * 1000);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    // ('close', not 'exit': the report on stdout may still be unread when the process exits)
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code !== 0) {
        reject(new Error(`tally-blast exited with ${code}: ${err.trim()}`));
        return;
      }
      const v = new Map<string, number>();
      for (const line of out.split('\n')) {
        const sp = line.indexOf(' ');
        if (sp > 0) v.set(line.slice(0, sp), Number(line.slice(sp + 1)));
      }
      const get = (k: string): number => {
        const x = v.get(k);
        if (x === undefined || !Number.isFinite(x)) throw new Error(`tally-blast did not report ${k}: ${out}`);
        return x;
      };
      try {
        resolvePromise({
          sentPackets: get('sent_packets'),
          sentLines: get('sent_lines'),
          sentCounterLines: get('sent_counter_lines'),
          seconds: get('seconds'),
          packetsPerSec: get('packets_per_sec'),
          linesPerSec: get('lines_per_sec'),
          sendErrors: get('send_errors'),
        });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** `cc --version`'s first line, for the report. */
export function compilerVersion(): Promise<string> {
  return new Promise((res) =>
    execFile(process.env.CC ?? 'cc', ['--version'], (err, stdout) => res(err ? 'unknown' : stdout.split('\n')[0]!.trim())),
  );
}
