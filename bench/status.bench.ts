/**
 * What the status page costs ingest. The same steady UDP load (the project's own generator) is sent
 * to three daemons, in alternating rounds:
 *   - off:     statusPage.enabled false (the baseline);
 *   - idle:    the page's server on, nobody looking;
 *   - viewing: a client doing what an open page does (GET /api/status every 2 s, /api/keys every 0.5 s).
 * Each round measures the daemon's CPU per million lines received; the report gives the medians and
 * their ratios to the baseline (targets: idle within noise, viewing ≤ 1.02 ×).
 *
 *   npm run build && node dist/bench/status.bench.js [--rounds 5] [--seconds 6] [--rate 60000] [--lines 10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

type Mode = 'off' | 'idle' | 'viewing';

interface Running {
  child: ChildProcess;
  udp: number;
  admin: number;
  status: string | null;
}

async function start(root: string, mode: Mode): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-status-bench-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({
    port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000, backends: ['console'],
    udpRecvBuffer: 16 * 1024 * 1024, statusPage: { enabled: mode !== 'off', port: 0 },
  }));
  const child = trackChild(spawn(process.execPath, [join(root, 'dist', 'src', 'main.js'), file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d.length > 100_000 ? '' : d));
  for (let i = 0; i < 300; i++) {
    const line = err.split('\n').find((l) => l.includes('tallyd is up'));
    if (line) {
      const up = JSON.parse(line) as { listeners: string[]; mgmt: string; status?: string };
      const udp = up.listeners.find((l) => l.startsWith('udp '))!;
      return { child, udp: Number(udp.slice(udp.lastIndexOf(':') + 1)), admin: Number(up.mgmt.slice(up.mgmt.lastIndexOf(':') + 1)), status: up.status ?? null };
    }
    await sleep(50);
  }
  throw new Error(`tallyd did not start:\n${err}`);
}

/** What an open page does: /api/status every 2 s and a key search every 0.5 s; returns the requests made. */
async function viewer(base: string, until: () => boolean): Promise<number> {
  let requests = 0;
  let n = 0;
  while (!until()) {
    if (n % 4 === 0) {
      await (await fetch(base + 'api/status')).arrayBuffer();
      requests++;
    }
    await (await fetch(base + 'api/keys?q=blast.c1')).arrayBuffer();
    requests++;
    n++;
    await sleep(500);
  }
  return requests;
}

async function round(root: string, blast: string, mode: Mode, o: { seconds: number; rate: number; lines: number }): Promise<number> {
  const d = await start(root, mode);
  try {
    await sleep(500);
    const cpu0 = cpuSeconds(d.child.pid!)!;
    let done = false;
    const viewing = mode === 'viewing' && d.status !== null ? viewer(d.status, () => done) : Promise.resolve(0);
    if (mode === 'viewing') await (await fetch(d.status + 'api/status')).arrayBuffer();
    const sent = await runBlast(blast, { port: d.udp, rate: o.rate, seconds: o.seconds, lines: o.lines, keys: 1000, mix: 'ct', prefix: 'blast' });
    done = true;
    await viewing;
    await sleep(300);
    const cpu = cpuSeconds(d.child.pid!)! - cpu0;
    return (cpu / sent.sentLines) * 1e6;
  } finally {
    await stopChild(d.child);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '6' },
      rate: { type: 'string', default: '60000' },
      lines: { type: 'string', default: '10' },
    },
  });
  const o = { seconds: Number(values.seconds), rate: Number(values.rate), lines: Number(values.lines) };
  const root = repoRoot();
  const blast = buildLoadgen(root);
  const results: Record<Mode, number[]> = { off: [], idle: [], viewing: [] };
  const modes: Mode[] = ['off', 'idle', 'viewing'];
  for (let r = 0; r < Number(values.rounds); r++) {
    // rotate the order each round, so that drift on the machine does not favour one mode
    for (let i = 0; i < modes.length; i++) {
      const m = modes[(i + r) % modes.length]!;
      results[m].push(await round(root, blast, m, o));
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(results.off);
  const out: string[] = [];
  out.push(`## Status page cost: ${values.rounds} rounds of ${o.seconds} s at ${o.rate} packets/s × ${o.lines} lines`, '');
  out.push('| mode | CPU ms per million lines (median) | all rounds | × baseline |', '|---|---|---|---|');
  for (const m of modes) {
    const xs = results[m];
    out.push(`| ${m} | ${(med(xs) * 1000).toFixed(1)} | ${xs.map((x) => (x * 1000).toFixed(0)).join(', ')} | ${(med(xs) / base).toFixed(3)} |`);
  }
  const idle = med(results.idle) / base;
  const viewing = med(results.viewing) / base;
  out.push('', `Verdict: idle ${idle.toFixed(3)} × (target: within noise, ≤ 1.02), viewing ${viewing.toFixed(3)} × (target ≤ 1.02): ${idle <= 1.02 && viewing <= 1.02 ? 'met' : 'MISSED'}.`);
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  killAllChildren();
  process.stderr.write(`status bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
