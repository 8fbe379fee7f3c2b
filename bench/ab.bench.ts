/**
 * A/B of the daemon's ingest (parsePacket into an Aggregator) between two builds, in one process with
 * interleaved rounds, timed in process CPU time. On a loaded machine the wall-clock benches swing by 2x
 * from one run to the next; alternating A and B rounds in one process, on CPU time, compares like with like.
 *
 *   npm run build
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci)     # or any other built checkout
 *   node dist/bench/ab.bench.js /tmp/base/dist [rounds]
 *
 * Two workloads, 25-line packets over 1,000 keys: parser.bench's (`k:1|c` and integer `|ms`,
 * deleteIdleStats on), and a mixed one (counters with and without `@0.1`, fractional timers, gauge
 * deltas). Prints each build's median lines/s and B / A. Run it several times (several processes):
 * one process's JIT can land 20-30 % off on either build.
 */

import { resolve } from 'node:path';
import { abArgs, importFrom, interleave, runIfMain } from './ab-runner.js';

interface Build {
  Aggregator: new (opts: { config: unknown }) => { flush(now: number): unknown; countPacket(n: number): void };
  validateConfig: (raw: Record<string, unknown>) => { config: Record<string, unknown> };
  parsePacket: (buf: Buffer, start: number, end: number, sink: unknown, s: unknown) => number;
  Sample: new () => unknown;
}

async function load(distDir: string): Promise<Build> {
  const { Aggregator } = await importFrom<Pick<Build, 'Aggregator'>>(distDir, 'src/aggregator/aggregator.js');
  const { validateConfig } = await importFrom<Pick<Build, 'validateConfig'>>(distDir, 'src/config/index.js');
  const { parsePacket } = await importFrom<Pick<Build, 'parsePacket'>>(distDir, 'src/parser/scanner.js');
  const { Sample } = await importFrom<Pick<Build, 'Sample'>>(distDir, 'src/parser/types.js');
  return { Aggregator, validateConfig, parsePacket, Sample };
}

function packets(kind: 'parser' | 'mixed'): Buffer[] {
  const out: Buffer[] = [];
  let n = 0;
  for (let p = 0; p < 4000; p++) {
    const lines: string[] = [];
    for (let l = 0; l < 25; l++, n++) {
      const k = n % 1000;
      if (kind === 'parser') lines.push(n % 2 === 0 ? `k${k}:1|c` : `t${k}:${(n * 7919) % 1000}|ms`);
      else {
        const r = k % 5;
        if (r === 0) lines.push(`app.svc${k % 17}.req.${k}:${(k % 7) + 1}|c`);
        else if (r === 1) lines.push(`app.svc${k % 17}.req.${k}:1|c|@0.1`);
        else if (r === 2) lines.push(`app.svc${k % 17}.lat.${k}:${k % 300}.5|ms`);
        else if (r === 3) lines.push(`app.svc${k % 17}.g.${k}:+${k % 9}|g`);
        else lines.push(`app.svc${k % 17}.lat2.${k}:${k % 50}|ms`);
      }
    }
    out.push(Buffer.from(lines.join('\n')));
  }
  return out;
}

/** One ingest round over `pk`: lines per CPU second. A flush (not timed) every ~1M lines. */
function ingest(b: Build, pk: Buffer[]): () => number {
  const config = { ...b.validateConfig({ deleteIdleStats: true }).config, servers: [], mgmtPort: 0, backends: [] };
  const agg = new b.Aggregator({ config });
  const s = new b.Sample();
  let since = 0;
  let now = 0;
  return () => {
    if (since >= 1_000_000) {
      since = 0;
      agg.flush((now += 10_000));
    }
    const c0 = process.cpuUsage();
    let lines = 0;
    for (let i = 0; i < pk.length; i++) {
      const p = pk[i]!;
      const n = b.parsePacket(p, 0, p.length, agg, s);
      agg.countPacket(n);
      lines += n;
    }
    since += lines;
    const c = process.cpuUsage(c0);
    return lines / ((c.user + c.system) / 1e6);
  };
}

export async function main(): Promise<void> {
  const { baseDir, rounds, newDir } = abArgs('ab.bench.js', 21);
  const A = await load(baseDir);
  const B = await load(newDir);
  console.log(`ingest A/B (node ${process.version}): A = ${resolve(baseDir)}, B = ${resolve(newDir)}, ${rounds} interleaved rounds`);
  for (const kind of ['parser', 'mixed'] as const) {
    const pk = packets(kind);
    const { a: ma, b: mb } = interleave(ingest(A, pk), ingest(B, pk), rounds, 5);
    const f = (x: number): string => Math.round(x).toLocaleString('en-US');
    console.log(`${kind.padEnd(6)}  A ${f(ma)} lines/CPU-s   B ${f(mb)} lines/CPU-s   B / A ${(mb / ma).toFixed(3)}`);
  }
}

runIfMain(import.meta.url, main);
