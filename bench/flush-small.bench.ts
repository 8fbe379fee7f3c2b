/**
 * A small key count flushed often, under ingest load, in a standalone daemon: two builds side by side
 * in time (alternated rounds, A B then B A). Each round starts one daemon (flushInterval 1 s by default),
 * offers 25-line packets (half counters, half timers, `--keys` keys of each type) at `--rate` lines/s
 * for `--seconds`, and reads from the bench's Graphite sink each flush's own figures: processing_time
 * (the flush's CPU ms on the event loop: capture + compute slices + hand-off) and the Graphite
 * backend's calculationtime; plus the daemon's CPU per line received and how often it logged "the
 * previous flush is still being computed". Medians over the flushes of a round, then over rounds.
 *
 *   npm run build
 *   node dist/bench/flush-small.bench.js --before /tmp/before [--after DIR] [--rounds 4] [--seconds 20] [--keys 1000] [--rate 200000] [--interval 1000]
 */
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startTallyd } from './e2e/daemon.js';
import { GraphiteSink } from './e2e/graphite-sink.js';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { CpuMeter, killAllChildren, repoRoot, sleep } from './e2e/proc.js';

const WARNING = 'previous flush is still being computed';

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const checkout = (p: string): string => (basename(resolve(p)) === 'dist' ? dirname(resolve(p)) : resolve(p));
const f = (v: number | null, d = 2): string => (v === null ? '?' : v.toFixed(d));

interface Round {
  processingMs: number | null;
  processingMaxMs: number | null;
  calculationMs: number | null;
  flushes: number;
  warnings: number;
  cpuNsPerLine: number | null;
  loss: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      after: { type: 'string' },
      rounds: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '20' },
      keys: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '200000' },
      interval: { type: 'string', default: '1000' },
    },
  });
  if (values.before === undefined)
    throw new Error(
      'usage: node dist/bench/flush-small.bench.js --before DIR [--after DIR] [--rounds N] [--seconds S] [--keys K] [--rate LINES/S] [--interval MS]',
    );
  const root = repoRoot();
  const builds = { A: checkout(values.before), B: checkout(values.after ?? root) };
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const keys = Number(values.keys);
  const rate = Number(values.rate);
  const interval = Number(values.interval);
  const blastBin = buildLoadgen(root);
  const sink = new GraphiteSink();
  await sink.listen();
  const results: { A: Round[]; B: Round[] } = { A: [], B: [] };
  console.log(
    `flush of ${2 * keys} keys (${keys} counters + ${keys} timers) every ${interval} ms under ${rate} lines/s, ${seconds} s per round, ${rounds} rounds`,
  );
  console.log(`A = ${builds.A}\nB = ${builds.B}`);
  try {
    for (let i = 0; i < rounds; i++) {
      for (const who of i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
        const d = await startTallyd(builds[who], {
          graphitePort: sink.port,
          flushInterval: interval,
          recvBuffer: 32 * 1024 * 1024,
          deleteIdle: false,
        });
        d.countLines(WARNING);
        try {
          // one flush first (the keys' creation is not what is measured), then the measured window
          // (its own prefix: what it sent is not counted as received in the measured window)
          await runBlast(blastBin, {
            port: d.udpPort,
            rate: rate / 25,
            seconds: Math.max(2, (2 * interval) / 1000),
            lines: 25,
            mix: 'ct',
            keys,
            prefix: 'fw',
          });
          const warn0 = d.countLines(WARNING);
          sink.forgetOld(0);
          const since = Date.now();
          const meter = new CpuMeter(d.pid);
          const b = await runBlast(blastBin, { port: d.udpPort, rate: rate / 25, seconds, lines: 25, mix: 'ct', keys, prefix: 'fs' });
          const cores = meter.cores();
          const end = Date.now();
          await sleep(interval * 2 + 500);
          const proc: number[] = [];
          const calc: number[] = [];
          let flushes = 0;
          let received = 0;
          for (const rec of sink.flushes) {
            if (!rec.ended || rec.acceptedAt < since + interval || rec.acceptedAt > end) continue; // whole intervals under load
            const p = sink.parse(rec);
            flushes++;
            const pt = p.internal.get('stats.statsd.processing_time');
            const ct = p.internal.get('stats.statsd.graphiteStats.calculationtime');
            if (pt !== undefined) proc.push(pt);
            if (ct !== undefined) calc.push(ct);
          }
          for (const rec of sink.flushes)
            if (rec.ended && rec.acceptedAt >= since) received += sink.parse(rec).byPrefix.get('fs')?.counterSum ?? 0;
          const r: Round = {
            processingMs: median(proc),
            processingMaxMs: proc.length === 0 ? null : Math.max(...proc),
            calculationMs: median(calc),
            flushes,
            warnings: d.countLines(WARNING) - warn0,
            cpuNsPerLine: cores === null || b.linesPerSec <= 0 ? null : (cores * 1e9) / b.linesPerSec,
            loss: b.sentCounterLines > 0 ? (b.sentCounterLines - received) / b.sentCounterLines : 0,
          };
          results[who].push(r);
          console.log(
            `  round ${i + 1} ${who}: processing_time median ${f(r.processingMs)} ms (max ${f(r.processingMaxMs)}), calculationtime ${f(r.calculationMs)} ms, ` +
              `${r.flushes} flushes, ${r.warnings} '${WARNING}' warnings, ${f(r.cpuNsPerLine, 0)} ns CPU/line, ${b.linesPerSec.toFixed(0)} lines/s sent, loss ~${(r.loss * 100).toFixed(2)} %`,
          );
        } finally {
          await d.stop();
          sink.forgetOld(0);
        }
      }
    }
  } finally {
    await sink.close();
  }
  const row = (name: string, pick: (r: Round) => number | null, d = 2): string => {
    const a = median(results.A.map(pick).filter((v): v is number => v !== null));
    const b = median(results.B.map(pick).filter((v): v is number => v !== null));
    return `| ${name} | ${f(a, d)} | ${f(b, d)} | ${a === null || b === null || a === 0 ? '?' : (b / a).toFixed(3)} |`;
  };
  console.log('\n| figure (median of rounds) | A (before) | B (after) | B / A |\n| --- | --- | --- | --- |');
  console.log(row('processing_time per flush, ms (median)', (r) => r.processingMs));
  console.log(row('processing_time per flush, ms (max)', (r) => r.processingMaxMs));
  console.log(row('graphite calculationtime per flush, ms', (r) => r.calculationMs));
  console.log(row("'still being computed' warnings per round", (r) => r.warnings, 0));
  console.log(row('daemon CPU per line sent, ns', (r) => r.cpuNsPerLine, 0));
}

main().then(
  () => {
    killAllChildren();
    process.exit(0);
  },
  (err: unknown) => {
    killAllChildren();
    console.error(err);
    process.exit(1);
  },
);
