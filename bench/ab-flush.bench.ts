/**
 * A/B of the aggregator's flush CPU and memory per key between two builds (the companion of ab.bench.ts,
 * which compares ingest). Flush: one process, both builds loaded, alternated rounds timed in process CPU
 * time, each round a flush (capture + compute) of 100k keys of the four types (half counters, a quarter
 * timers of 10 values, gauges and sets). Memory: each build in fresh child processes (alternated), the
 * heap + array buffers held by 200k live keys of each type after a flush, per key.
 *
 *   npm run build
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci)     # or any other built checkout
 *   node dist/bench/ab-flush.bench.js /tmp/base/dist [rounds] [new dist dir] [keys]
 *
 * `keys` (default 100000) sets the flushed key count; below 100k, each round sums the CPU of
 * 100k / keys flushes (so a small flush's fixed costs are timed over enough work to be read).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { abArgs, importFrom, interleave, median, runIfMain } from './ab-runner.js';

// biome-ignore lint/suspicious/noExplicitAny: modules of another build, loaded by path
type Any = any;

interface Build {
  Aggregator: new (opts: Any) => Any;
  config: Any;
  Sample: new () => Any;
  MetricType: Record<string, number>;
}

async function load(dir: string): Promise<Build> {
  const { Aggregator } = await importFrom<Any>(dir, 'src/aggregator/aggregator.js');
  const { validateConfig } = await importFrom<Any>(dir, 'src/config/index.js');
  const { Sample, MetricType } = await importFrom<Any>(dir, 'src/parser/types.js');
  const config = { ...validateConfig({}).config, servers: [], mgmtPort: 0, backends: [] };
  return { Aggregator, config, Sample, MetricType };
}

/** Samples for `n` keys per type pattern: `kinds[i % kinds.length]` gives key i's type. */
function samples(b: Build, n: number, kinds: number[]): Any[] {
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(`fleet.host${i % 1000}.m${i}`);
  const buf = Buffer.from(names.join(''));
  const out: Any[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const s = new b.Sample();
    s.type = kinds[i % kinds.length];
    s.buf = buf;
    s.keyStart = off;
    off += names[i]!.length;
    s.keyEnd = off;
    s.tagStart = s.tagEnd = off;
    s.memberStart = s.keyStart;
    s.memberEnd = s.keyStart + 4;
    out.push(s);
  }
  return out;
}

/** One round: fill the interval (not timed), then flush it (timed: CPU ms); repeated `reps` times, summed. */
function flushRound(b: Build, keys: number, reps: number): () => number {
  const T = b.MetricType;
  const agg = new b.Aggregator({ config: b.config });
  const ss = samples(b, keys, [T.Counter!, T.Timer!, T.Counter!, T.Gauge!, T.Counter!, T.Set!, T.Counter!, T.Timer!]);
  let now = 0;
  return () => {
    let us = 0;
    for (let r = 0; r < reps; r++) {
      for (let v = 0; v < 10; v++) {
        for (const s of ss) {
          if (v > 0 && s.type !== T.Timer) continue;
          s.value = v * 3.5 + 1;
          agg.sample(s);
        }
      }
      const c0 = process.cpuUsage();
      const snap = agg.flush((now += 10_000));
      const c = process.cpuUsage(c0);
      if (snap.counters.length === 0) throw new Error('empty flush');
      us += c.user + c.system;
    }
    return us / 1000;
  };
}

/** Child process: bytes per live key of `type` (200k keys, after a flush). */
async function memoryChild(dir: string, type: string): Promise<void> {
  const b = await load(dir);
  const gc = (globalThis as Any).gc as () => void;
  const ss = samples(b, 200_000, [b.MetricType[type]!]);
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const agg = new b.Aggregator({ config: b.config });
  agg.flush(0);
  const before = used();
  for (const s of ss) {
    s.value = 1;
    agg.sample(s);
  }
  agg.flush(10_000);
  const after = used();
  if (agg.liveKeys()[type === 'Counter' ? 'counters' : type === 'Timer' ? 'timers' : type === 'Gauge' ? 'gauges' : 'sets'] < ss.length)
    throw new Error('keys not live');
  console.log(JSON.stringify((after - before) / ss.length));
}

export async function main(): Promise<void> {
  if (process.argv[2] === '--memory-child') return memoryChild(process.argv[3]!, process.argv[4]!);
  const { baseDir, rounds, newDir, rest } = abArgs('ab-flush.bench.js', 15);
  const keys = Number(rest[0] ?? 100_000);
  const reps = Math.max(1, Math.round(100_000 / keys));
  console.log(`flush and memory A/B (node ${process.version}): A = ${resolve(baseDir)}, B = ${resolve(newDir)}`);
  const a = flushRound(await load(baseDir), keys, reps);
  const b = flushRound(await load(newDir), keys, reps);
  const { a: ma, b: mb } = interleave(a, b, rounds, 3);
  const what = reps === 1 ? `flush of ${keys} keys (mixed)` : `${reps} flushes of ${keys} keys (mixed), summed`;
  console.log(`${what}, CPU ms   A ${ma.toFixed(1)}   B ${mb.toFixed(1)}   B / A ${(mb / ma).toFixed(3)}   (${rounds} rounds)`);
  if (process.env.TALLYD_AB_FLUSH_ONLY === '1') return;
  const self = resolve(import.meta.filename);
  for (const type of ['Counter', 'Timer', 'Gauge', 'Set']) {
    const run = (dir: string): number =>
      Number(execFileSync(process.execPath, ['--expose-gc', self, '--memory-child', dir, type], { encoding: 'utf8' }).trim());
    const xa: number[] = [];
    const xb: number[] = [];
    for (let i = 0; i < 3; i++) {
      xa.push(run(baseDir));
      xb.push(run(newDir));
    }
    const pa = median(xa);
    const pb = median(xb);
    console.log(
      `memory per ${type.toLowerCase()} key (200k), bytes   A ${pa.toFixed(0)}   B ${pb.toFixed(0)}   B / A ${(pb / pa).toFixed(3)}`,
    );
  }
}

runIfMain(import.meta.url, main);
