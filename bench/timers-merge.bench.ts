/**
 * The primary's flush CPU with workers (issue 10): merging two workers' partials of 10,000 timers past
 * their reservoirs (histograms at different ranges) and flushing them, this build against TALLYD_BASE
 * (another built tree, e.g. main before the change) and against itself (A/A).
 *
 *   npm run build && TALLYD_BASE=<other built tree> node dist/bench/timers-merge.bench.js [--rounds 7] [--flushes 6]
 *
 * The partials are made once and written to a temporary folder; each measurement is a fresh node
 * process (the tree's own modules only: no JIT state shared with the other side or with the making of
 * the partials) that merges and flushes `--flushes` times on one primary aggregator, as the daemon does
 * at each flush: the first flush (fresh histograms, every key new to the dictionaries) and the median
 * of the others (pooled histograms, known keys) are reported apart. Processes run in rotating order,
 * A, base, A2; the figure is the median of the per-round ratios, CPU time of the merge (mergePartials)
 * and of merge + flush. A full GC before each timed flush.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { seededRandom } from '../src/aggregator/reservoir.js';
import { PartialEncoder } from '../src/cluster/protocol.js';
import { WorkerAggregator } from '../src/cluster/worker.js';
import { validateConfig } from '../src/config/index.js';
import type { TallydConfig } from '../src/config/types.js';
import { MetricType, Sample } from '../src/parser/types.js';
import { repoRoot } from './e2e/proc.js';

const KEYS = 10_000;
const PER_KEY = 1100;

function config(): TallydConfig {
  return { ...validateConfig({}).config, servers: [], mgmtPort: 0, backends: [], logLevel: 'silent', automaticConfigReload: false };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Two workers' first two partials (0: every key new, 1: none new), written to `dir` as w<worker>-<seq>. */
function makePartials(dir: string): void {
  const names = Array.from({ length: KEYS }, (_, i) => `fleet.host${i % 100}.svc.latency.${i}`);
  const keyBuf = Buffer.from(names.join(''));
  const shapes = [(r: () => number) => Math.exp(3 + 0.8 * gauss(r)), (r: () => number) => Math.exp(4 + 1.5 * gauss(r))];
  shapes.forEach((draw, w) => {
    const wa = new WorkerAggregator(config());
    const enc = new PartialEncoder();
    let off = 0;
    const samples = names.map((n) => {
      const s = new Sample();
      s.type = MetricType.Timer;
      s.buf = keyBuf;
      s.keyStart = off;
      off += n.length;
      s.keyEnd = s.tagStart = s.tagEnd = off;
      return s;
    });
    const r = seededRandom(40 + w);
    for (const seq of [0, 1]) {
      for (let v = 0; v < PER_KEY; v++) {
        for (const s of samples) {
          s.value = draw(r);
          wa.sample(s);
        }
      }
      wa.exportTo(enc);
      writeFileSync(join(dir, `w${w}-${seq}`), enc.finish());
    }
  });
}

interface Figures {
  merge: number;
  total: number;
}

/** In a child: `flushes` merges + flushes of the partials in `dir` with the modules of the tree `tree`. */
async function child(tree: string, dir: string, flushes: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const load = async (f: string) => (await import(pathToFileURL(join(tree, 'dist', 'src', f)).href)) as Record<string, unknown>;
  const { Aggregator } = await load('aggregator/aggregator.js');
  const { mergePartials, SourceTotals } = await load('aggregator/merge.js');
  const { decodePartial, PartialDictionary } = await load('cluster/protocol.js');
  // (a tree without it merges as before)
  const skim = (await load('cluster/partial-skim.js').catch(() => ({}) as Record<string, unknown>)).skimTimerRanges as
    | ((bufs: Buffer[], dict: unknown, into: unknown) => void)
    | undefined;
  type Agg = { flush(now: number): { timers: unknown[] } };
  type Dict = { nextSeq: number };
  const Agg = Aggregator as unknown as new (o: { config: TallydConfig }) => Agg;
  const primary = new Agg({ config: config() });
  const bufs = [0, 1].map((w) => [0, 1].map((seq) => readFileSync(join(dir, `w${w}-${seq}`))));
  const views = bufs.map(() => ({ dict: new (PartialDictionary as new () => Dict)(), totals: new (SourceTotals as new () => object)() }));
  const merge = mergePartials as (agg: Agg, sources: unknown[]) => void;
  const decode = decodePartial as (buf: Buffer, dict: Dict, v: unknown) => void;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const out: Figures[] = [];
  let sink = 0;
  for (let k = 0; k < flushes; k++) {
    const sources = bufs.map((pair, w) => {
      const v = views[w]!;
      // the first partial once; then the second one again and again (its sequence number expected again)
      const buf = v.dict.nextSeq === 0 ? pair[0]! : pair[1]!;
      if (v.dict.nextSeq > 0) v.dict.nextSeq = 1;
      return {
        totals: v.totals,
        feed: (x: unknown) => decode(buf, v.dict, x),
        ranges: skim === undefined ? undefined : (r: unknown) => skim([buf], v.dict, r),
      };
    });
    gc();
    gc();
    const t0 = cpuMs();
    merge(primary, sources);
    const t1 = cpuMs();
    sink += primary.flush(1000 * (k + 1)).timers.length;
    out.push({ merge: t1 - t0, total: cpuMs() - t0 });
  }
  process.stdout.write(`${JSON.stringify({ out, sink })}\n`);
}

const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const fmt = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  const base = process.env.TALLYD_BASE;
  if (base === undefined || base === '') throw new Error('set TALLYD_BASE to another built tree');
  const rounds = arg('--rounds', 7);
  const flushes = arg('--flushes', 6);
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-merge-'));
  try {
    makePartials(dir);
    const trees = { a: repoRoot(), base, a2: repoRoot() };
    type Name = keyof typeof trees;
    const order: Name[] = ['a', 'base', 'a2'];
    const first: Record<Name, Figures[]> = { a: [], base: [], a2: [] };
    const pooled: Record<Name, Figures[]> = { a: [], base: [], a2: [] };
    const self = new URL(import.meta.url).pathname;
    for (let k = 0; k < rounds; k++) {
      for (let j = 0; j < 3; j++) {
        const n = order[(k + j) % 3]!;
        const r = spawnSync(process.execPath, [self, '--child', trees[n], dir, String(flushes)], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
        const { out } = JSON.parse(r.stdout) as { out: Figures[] };
        first[n].push(out[0]!);
        const rest = out.slice(1);
        pooled[n].push({ merge: med(rest.map((f) => f.merge)), total: med(rest.map((f) => f.total)) });
      }
    }
    const ratio = (set: Record<Name, Figures[]>, x: Name, y: Name, f: keyof Figures) => med(set[x].map((r, k) => r[f] / set[y][k]![f]));
    const line = (label: string, set: Record<Name, Figures[]>) => {
      const m = (n: Name, f: keyof Figures) => fmt(med(set[n].map((r) => r[f])));
      console.log(
        `  ${label}: merge ${m('a', 'merge')} ms vs base ${m('base', 'merge')} (A2 ${m('a2', 'merge')}), ratio ${ratio(set, 'a', 'base', 'merge').toFixed(3)} (A/A ${ratio(set, 'a', 'a2', 'merge').toFixed(3)}); ` +
          `merge + flush ${m('a', 'total')} vs ${m('base', 'total')} (A2 ${m('a2', 'total')}), ratio ${ratio(set, 'a', 'base', 'total').toFixed(3)} (A/A ${ratio(set, 'a', 'a2', 'total').toFixed(3)})`,
      );
    };
    console.log(
      `workers merge on the primary: 2 workers × ${KEYS.toLocaleString('en-US')} timers past the reservoir (${PER_KEY} values each), CPU ms, medians over ${rounds} rounds (${flushes} flushes per process)`,
    );
    line('first flush (fresh histograms, new keys)', first);
    line('later flushes (pooled histograms)', pooled);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
