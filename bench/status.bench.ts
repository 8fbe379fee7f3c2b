/**
 * What the status page costs ingest. The same steady UDP load (the project's own generator) is sent
 * to daemons that differ only in the status page:
 *   - off:     statusPage.enabled false (the baseline);
 *   - idle:    the page's server on, nobody looking;
 *   - viewing: a client doing what an open page does (GET /api/status every 2 s, /api/keys every 0.5 s);
 *   - with --before <dist>: before-off and before-viewing, the same two on another build (a checkout's
 *     dist/), for an A/B of a change in the same run.
 * The daemons start once and stay up (warmed by a first round that is not counted), so a round is not
 * a start-up. Each round blasts every daemon in turn, in an order rotated per round, and measures its
 * CPU per million lines sent. The report gives every round, the medians, the ratio of the medians to
 * the baseline, and the median of the per-round ratios (each mode against its own build's `off` of the
 * same round: the drift of a shared machine cancels out). Targets: idle within noise, viewing ≤ 1.02 ×.
 *
 *   npm run build && node dist/bench/status.bench.js [--rounds 9] [--seconds 5] [--rate 60000] [--lines 10]
 *     [--before /path/to/other/checkout/dist]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

type Mode = 'off' | 'idle' | 'viewing' | 'before-off' | 'before-viewing';

interface Running {
  child: ChildProcess;
  udp: number;
  status: string | null;
}

async function start(mainJs: string, page: boolean): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-status-bench-'));
  const file = join(dir, 'c.json');
  // no backends: what is measured is ingest (and the page), not a backend's formatting
  writeFileSync(file, JSON.stringify({
    port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000, backends: [],
    udpRecvBuffer: 16 * 1024 * 1024, statusPage: { enabled: page, port: 0 },
  }));
  const child = trackChild(spawn(process.execPath, [mainJs, file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d.length > 100_000 ? '' : d));
  for (let i = 0; i < 300; i++) {
    const line = err.split('\n').find((l) => l.includes('tallyd is up'));
    if (line) {
      const up = JSON.parse(line) as { listeners: string[]; status?: string };
      const udp = up.listeners.find((l) => l.startsWith('udp '))!;
      return { child, udp: Number(udp.slice(udp.lastIndexOf(':') + 1)), status: up.status ?? null };
    }
    await sleep(50);
  }
  throw new Error(`tallyd (${mainJs}) did not start:\n${err}`);
}

/** What an open page does: /api/status every 2 s and a key search every 0.5 s. */
async function viewer(base: string, until: () => boolean): Promise<void> {
  let n = 0;
  while (!until()) {
    if (n % 4 === 0) await (await fetch(base + 'api/status')).arrayBuffer();
    await (await fetch(base + 'api/keys?q=blast.c1')).arrayBuffer();
    n++;
    await sleep(500);
  }
}

/** One blast at a daemon; its CPU ms per million lines sent. */
async function round(blast: string, d: Running, viewing: boolean, o: { seconds: number; rate: number; lines: number }): Promise<number> {
  let done = false;
  // a page that was open before the blast and stays open through it
  if (viewing) await (await fetch(d.status + 'api/status')).arrayBuffer();
  const view = viewing ? viewer(d.status!, () => done) : Promise.resolve();
  await sleep(200);
  const cpu0 = cpuSeconds(d.child.pid!)!;
  const sent = await runBlast(blast, { port: d.udp, rate: o.rate, seconds: o.seconds, lines: o.lines, keys: 1000, mix: 'ct', prefix: 'blast' });
  await sleep(300); // the socket's backlog read
  const cpu = cpuSeconds(d.child.pid!)! - cpu0;
  done = true;
  await view;
  return (cpu / sent.sentLines) * 1e9;
}

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '60000' },
      lines: { type: 'string', default: '10' },
      before: { type: 'string' },
    },
  });
  const o = { seconds: Number(values.seconds), rate: Number(values.rate), lines: Number(values.lines) };
  const root = repoRoot();
  const blast = buildLoadgen(root);
  const here = join(root, 'dist', 'src', 'main.js');
  const before = values.before === undefined ? null : join(resolve(values.before), 'src', 'main.js');
  const modes: Mode[] = before === null ? ['off', 'idle', 'viewing'] : ['off', 'idle', 'viewing', 'before-off', 'before-viewing'];
  const daemons = new Map<Mode, Running>();
  try {
    for (const m of modes) daemons.set(m, await start(m.startsWith('before') ? before! : here, m !== 'off' && m !== 'before-off'));
    const results = Object.fromEntries(modes.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
    const rounds = Number(values.rounds);
    for (let r = -1; r < rounds; r++) {
      // round -1 warms every daemon up (JIT, key tables) and is not counted; then the order rotates
      for (let i = 0; i < modes.length; i++) {
        const m = modes[(i + Math.max(0, r)) % modes.length]!;
        const x = await round(blast, daemons.get(m)!, m.endsWith('viewing'), o);
        if (r >= 0) results[m].push(x);
      }
    }
    const baseOf = (m: Mode): Mode => (m.startsWith('before') ? 'before-off' : 'off');
    const out: string[] = [];
    out.push(`## Status page cost: ${rounds} rounds of ${o.seconds} s at ${o.rate} packets/s × ${o.lines} lines${before === null ? '' : ` (before: ${before})`}`, '');
    out.push('| mode | CPU ms per million lines (median) | all rounds | × baseline (medians) | × baseline (median of per-round ratios) |');
    out.push('|---|---|---|---|---|');
    const paired = (m: Mode): number => med(results[m].map((x, i) => x / results[baseOf(m)][i]!));
    for (const m of modes) {
      const xs = results[m];
      out.push(`| ${m} | ${med(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(med(xs) / med(results[baseOf(m)])).toFixed(3)} | ${paired(m).toFixed(3)} |`);
    }
    const idle = paired('idle');
    const viewing = paired('viewing');
    out.push('', `Verdict (per-round ratios): idle ${idle.toFixed(3)} × (target: within noise, ≤ 1.02), viewing ${viewing.toFixed(3)} × (target ≤ 1.02): ${idle <= 1.02 && viewing <= 1.02 ? 'met' : 'MISSED'}.`);
    if (before !== null) out.push(`Before: viewing ${paired('before-viewing').toFixed(3)} ×; viewing now against viewing before (medians): ${(med(results.viewing) / med(results['before-viewing'])).toFixed(3)} ×.`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    for (const d of daemons.values()) await stopChild(d.child);
  }
}

main().catch((err) => {
  killAllChildren();
  process.stderr.write(`status bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
