/**
 * Before/after of the end-to-end bench in the same run (issue 12's "Speed: within 5 %"): runs
 * bench/run.ts (this checkout's bench code and load generator) against two tallyd builds, alternated
 * round by round (A B, then B A, ...: drift of the shared machine's load falls on both alike), and
 * prints, for each figure, the median of each build, the ratio after / before, and whether it is
 * within 5 % (in the direction that matters: slower, bigger or lossier is out).
 *
 *   npm run build
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)
 *   node dist/bench/compare.js --before /tmp/before [--after DIR] [--rounds 2] [--quick] [--only single,multi,flush] [--json FILE]
 *
 * --before and --after take a checkout (or its dist/); --after defaults to this checkout. An A/A run
 * (--before pointing at this checkout) gives the noise floor of each figure on the machine as it is.
 * CPU figures (daemon CPU per line received at the clean knee steps, the flush's own CPU ms) are less
 * sensitive to the other processes on the machine than the knees (zero-loss rates), which are wall-clock.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from './e2e/report.js';
import type { KneeRun } from './e2e/scenarios.js';

const USAGE = `usage: node dist/bench/compare.js --before DIR [--after DIR] [--rounds N] [--quick] [--only LIST] [--json FILE]`;

/** One figure of a run: its value, and whether a higher value is better (knees) or worse (CPU, memory, loss). */
interface Figure {
  name: string;
  higherIsBetter: boolean;
  /** Tolerance on the ratio (5 % by default; loss is judged in points, see LOSS_POINTS). */
  value: number | null;
}

/** Ingest loss during the heavy flush is a percentage near 0: "within" means at most this many points more. */
const LOSS_POINTS = 0.5;
const TOLERANCE = 0.05;

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Daemon CPU ns per line at the clean steps of a knee run (median over those steps). */
function cpuPerLine(run: KneeRun): number | null {
  const xs: number[] = [];
  for (const s of run.result.steps) {
    if (!s.ok || s.cpuCores === null || s.achievedRate <= 0) continue;
    xs.push((s.cpuCores * 1e9) / (s.achievedRate * run.shape.lines));
  }
  return median(xs);
}

function figures(r: Report): Figure[] {
  const out: Figure[] = [];
  for (const scenario of ['single', 'multi'] as const) {
    const runs = r.knees.filter((k) => k.scenario === scenario);
    const bare = runs.find((k) => k.run.who === 'bare')?.run;
    const tallyd = runs.find((k) => k.run.who === 'tallyd')?.run;
    if (tallyd === undefined) continue;
    const lines = tallyd.shape.lines;
    const knee = tallyd.result.knee === null ? null : tallyd.result.knee * lines;
    const bareKnee = bare?.result.knee == null ? null : bare.result.knee * lines;
    const label = scenario === 'single' ? '1-line' : '25-line';
    out.push({ name: `${label} knee, lines/s`, higherIsBetter: true, value: knee });
    out.push({
      name: `${label} knee / bare receiver's (same run)`,
      higherIsBetter: true,
      value: knee === null || bareKnee === null ? null : knee / bareKnee,
    });
    out.push({ name: `${label} daemon CPU per line at clean steps, ns`, higherIsBetter: false, value: cpuPerLine(tallyd) });
  }
  const f = r.flush;
  if (f !== null) {
    const h = f.heavy;
    const cpu = h.processingTimeMs === null || h.calculationTimeMs === null ? null : h.processingTimeMs + h.calculationTimeMs;
    out.push({ name: 'flush CPU (processing_time + calculationtime), ms', higherIsBetter: false, value: cpu });
    out.push({ name: 'flush processing_time (aggregate), ms', higherIsBetter: false, value: h.processingTimeMs });
    out.push({ name: 'flush calculationtime (Graphite payload), ms', higherIsBetter: false, value: h.calculationTimeMs });
    out.push({ name: 'flush duration, tick to last byte, ms', higherIsBetter: false, value: h.tickToLastByteMs });
    out.push({
      name: 'ingest loss across the heavy flush, %',
      higherIsBetter: false,
      value: f.load.sent > 0 ? ((f.load.sent - f.load.received) / f.load.sent) * 100 : null,
    });
    out.push({ name: 'memory per counter key (RSS), bytes', higherIsBetter: false, value: f.bytesPerCounterKey });
    out.push({ name: 'memory per timer key (RSS), bytes', higherIsBetter: false, value: f.bytesPerTimerKey });
  }
  return out;
}

/** Run bench/run.js once against the build in `daemonRoot`; its report. */
function runOnce(daemonRoot: string, pass: string[], tag: string, logDir: string): Promise<Report> {
  const json = join(logDir, `${tag}.json`);
  const args = [join(import.meta.dirname, 'run.js'), '--daemon-root', daemonRoot, '--json', json, ...pass];
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      for (const l of d.split('\n')) if (l.length > 0) process.stderr.write(`[${tag}] ${l}\n`);
    });
    child.once('exit', (code) => {
      writeFileSync(join(logDir, `${tag}.md`), out);
      if (code !== 0) return rej(new Error(`run.js for ${tag} exited with ${code}:\n${out.slice(-2000)}`));
      process.stderr.write(`[${tag}] done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      res(JSON.parse(readFileSync(json, 'utf8')) as Report);
    });
  });
}

/** A checkout given as itself or as its dist/. */
const checkout = (p: string): string => (basename(resolve(p)) === 'dist' ? dirname(resolve(p)) : resolve(p));

function fmt(v: number | null): string {
  if (v === null) return '?';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      after: { type: 'string' },
      rounds: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: 'single,multi,flush' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || values.before === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const before = checkout(values.before);
  const after = checkout(values.after ?? resolve(import.meta.dirname, '..', '..'));
  const rounds = Number(values.rounds);
  const pass = ['--only', values.only!, ...(values.quick ? ['--quick'] : [])];
  const logDir = mkdtempSync(join(tmpdir(), 'tallyd-compare-'));
  process.stderr.write(
    `compare: A (before) = ${before}, B (after) = ${after}, ${rounds} rounds, run.js ${pass.join(' ')}; logs in ${logDir}\n`,
  );
  const reports: { A: Report[]; B: Report[] } = { A: [], B: [] };
  const started = new Date();
  for (let i = 0; i < rounds; i++) {
    const order: ('A' | 'B')[] = i % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const who of order) reports[who].push(await runOnce(who === 'A' ? before : after, pass, `${who}${i + 1}`, logDir));
  }
  const fa = reports.A.map(figures);
  const fb = reports.B.map(figures);
  const names = fa[0]?.map((f) => f.name) ?? [];
  const rows: string[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const [i, name] of names.entries()) {
    const higher = fa[0]![i]!.higherIsBetter;
    const xs = fa.map((f) => f[i]?.value ?? null).filter((v): v is number => v !== null);
    const ys = fb.map((f) => f[i]?.value ?? null).filter((v): v is number => v !== null);
    const a = median(xs);
    const b = median(ys);
    const ratio = a === null || b === null || a === 0 ? null : b / a;
    let within: string;
    if (a === null || b === null) within = '?';
    else if (name.includes('loss')) within = b - a <= LOSS_POINTS ? 'yes' : `NO (+${(b - a).toFixed(2)} points)`;
    else if (ratio === null) within = '?';
    else within = (higher ? ratio >= 1 - TOLERANCE : ratio <= 1 + TOLERANCE) ? 'yes' : 'NO';
    rows.push([name, fmt(a), fmt(b), ratio === null ? '?' : ratio.toFixed(3), within, xs.map(fmt).join(' / '), ys.map(fmt).join(' / ')]);
    out.push({ name, higherIsBetter: higher, before: xs, after: ys, medianBefore: a, medianAfter: b, ratio, within });
  }
  const head = ['figure', 'before', 'after', 'after / before', 'within 5 %?', 'before runs', 'after runs'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  console.log(
    `\nbefore = ${before}\nafter  = ${after}\n${rounds} rounds (A B, B A, ...), medians; run.js ${pass.join(' ')}; started ${started.toISOString()}, ended ${new Date().toISOString()}\n`,
  );
  console.log([line(head), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...rows.map(line)].join('\n'));
  console.log(
    `\n"within 5 %" is judged in the direction that matters (knees may rise, CPU/time/memory may fall); the loss across the flush, a percentage near 0, within ${LOSS_POINTS} points.`,
  );
  if (values.json !== undefined)
    writeFileSync(values.json, JSON.stringify({ before, after, rounds, pass, figures: out, reports }, null, 2) + '\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`compare: failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  },
);
