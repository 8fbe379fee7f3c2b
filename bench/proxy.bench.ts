/**
 * The proxy bench: forwarded lines per second at zero loss, `tallyd proxy` against the original
 * statsd 0.9.0 proxy.js (devDependency) in the same run, on the same machine and traffic:
 * statsd-blast (C, sendmmsg) → proxy → 3 statsd nodes (a sink process counting lines, admin ports
 * answering `health: up`). For 1-line and 25-line packets, the offered rate steps up until lines are
 * lost; the knee is the highest rate that lost none (tolerance 0.01 %).
 *
 *   npm run build && node dist/bench/proxy.bench.js [--quick] [--only tallyd|original] [--forks N]
 *
 * --forks N: both proxies with forkCount N, and N generators (each its own source port) at rate/N.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { findKnee, isNoLoss, type KneeResult, type StepOutcome } from './e2e/knee.js';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { CpuMeter, freePort, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

interface Sink {
  nodes: Array<{ port: number; adminport: number }>;
  lines(): Promise<number>;
  child: ChildProcess;
}

async function startSink(root: string): Promise<Sink> {
  const child = trackChild(
    spawn(process.execPath, [join(root, 'dist', 'bench', 'proxy', 'sink.js'), '3'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const rl = createInterface({ input: child.stdout! });
  const waiting: Array<(l: string) => void> = [];
  rl.on('line', (l) => waiting.shift()?.(l));
  const first = await new Promise<string>((r) => waiting.push(r));
  const { nodes } = JSON.parse(first) as { nodes: Sink['nodes'] };
  return {
    nodes,
    child,
    lines: () =>
      new Promise<number>((r) => {
        waiting.push((l) => r((JSON.parse(l) as { lines: number }).lines));
        child.stdin!.write('count\n');
      }),
  };
}

interface Subject {
  name: string;
  pid: number;
  port: number;
  forks: number;
  stop(): Promise<void>;
}

async function startSubject(kind: 'tallyd' | 'original', root: string, sink: Sink, forks: number): Promise<Subject> {
  const port = await freePort('udp');
  const mgmt = await freePort('tcp');
  const dir = mkdtempSync(join(os.tmpdir(), 'proxy-bench-'));
  const file = join(dir, 'proxyConfig.js');
  writeFileSync(
    file,
    `{
nodes: [
${sink.nodes.map((n) => `{host: '127.0.0.1', port: ${n.port}, adminport: ${n.adminport}}`).join(',\n')}
],
address: '127.0.0.1', host: '127.0.0.1', port: ${port}, mgmt_port: ${mgmt}, mgmt_address: '127.0.0.1',
forkCount: ${forks}, checkInterval: 1000, cacheSize: 10000
}`,
  );
  let script: string;
  let args: string[];
  if (kind === 'tallyd') {
    script = join(root, 'dist', 'src', 'main.js');
    args = [script, 'proxy', file];
  } else {
    script = join(dirname(createRequire(import.meta.url).resolve('statsd/package.json')), 'proxy.js');
    args = [script, file];
  }
  const child = trackChild(spawn(process.execPath, args, { cwd: dirname(script), stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!out.includes(kind === 'tallyd' ? 'proxy is up' : 'server is up')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${kind} proxy did not start: ${out}`);
    await sleep(50);
  }
  await sleep(1500); // its first health round is in
  const name = (kind === 'tallyd' ? 'tallyd proxy' : 'statsd 0.9.0 proxy.js') + (forks > 1 ? ` forkCount ${forks}` : '');
  return { name, pid: child.pid!, port, forks, stop: () => stopChild(child) };
}

async function knee(bin: string, sink: Sink, subject: Subject, lines: number, quick: boolean): Promise<KneeResult> {
  const seconds = quick ? 2 : 3;
  const step = async (rate: number): Promise<StepOutcome> => {
    const before = await sink.lines();
    const cpu = new CpuMeter(subject.pid);
    // with forks, one generator per fork: SO_REUSEPORT spreads senders (source ports), not packets
    const gens = Math.max(1, subject.forks);
    const runs = await Promise.all(
      Array.from({ length: gens }, () =>
        runBlast(bin, { port: subject.port, rate: rate / gens, seconds, lines, keys: 1000, mix: 'c', prefix: 'pb' }),
      ),
    );
    const r = { sentLines: runs.reduce((a, x) => a + x.sentLines, 0), packetsPerSec: runs.reduce((a, x) => a + x.packetsPerSec, 0) };
    const cores = subject.forks > 1 ? null : cpu.cores();
    // drained when the count stops moving
    let received = (await sink.lines()) - before;
    for (let i = 0; i < 40; i++) {
      await sleep(100);
      const now = (await sink.lines()) - before;
      if (now === received) break;
      received = now;
    }
    return {
      targetRate: rate,
      achievedRate: r.packetsPerSec,
      sent: r.sentLines,
      received,
      ok: isNoLoss(r.sentLines, received),
      cpuCores: cores,
      kernelDrops: null,
    };
  };
  const start = subject.name.startsWith('tallyd') ? (lines === 1 ? 50_000 : 10_000) : lines === 1 ? 5_000 : 400;
  return findKnee(
    {
      startRate: start,
      factor: quick ? 1.6 : 1.3,
      maxRate: 2_000_000,
      minRate: 50,
      maxSteps: quick ? 10 : 16,
      budgetMs: quick ? 45_000 : 90_000,
      refine: quick ? 1 : 2,
    },
    step,
    (s) => {
      process.stderr.write(
        `  ${subject.name} ${lines}-line: ${Math.round(s.achievedRate)} packets/s → sent ${s.sent} received ${s.received} ${s.ok ? 'ok' : 'LOSS'}${s.cpuCores !== null ? ` cpu ${s.cpuCores.toFixed(2)}` : ''}\n`,
      );
    },
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, forks: { type: 'string' } } });
  const forks = Number(values.forks ?? 0);
  const quick = values.quick === true;
  const root = repoRoot();
  const bin = buildLoadgen(root);
  const kinds = (values.only ?? 'tallyd,original').split(',') as Array<'tallyd' | 'original'>;
  const rows: string[] = [];
  const figures = new Map<string, number>();
  for (const kind of kinds) {
    for (const lines of [1, 25]) {
      const sink = await startSink(root);
      const subject = await startSubject(kind, root, sink, forks);
      try {
        const k = await knee(bin, sink, subject, lines, quick);
        const linesPerSec = (k.knee ?? 0) * lines;
        figures.set(`${kind}-${lines}`, linesPerSec);
        rows.push(
          `| ${subject.name} | ${lines} | ${k.knee === null ? 'none clean' : Math.round(linesPerSec).toLocaleString('en-US')} | ${k.kneeStep?.cpuCores?.toFixed(2) ?? '-'} | ${k.limitedBy} |`,
        );
      } finally {
        await subject.stop();
        sink.child.stdin!.end();
        await stopChild(sink.child, 2000);
      }
    }
  }
  const out = [
    `proxy bench (${quick ? 'quick' : 'full'}), ${new Date().toISOString()}, ${os.cpus().length} cores, node ${process.version}`,
    '',
    '| proxy | lines/packet | forwarded lines/s at zero loss | proxy CPU (cores) | knee limited by |',
    '|---|---|---|---|---|',
    ...rows,
  ];
  for (const lines of [1, 25]) {
    const t = figures.get(`tallyd-${lines}`);
    const o = figures.get(`original-${lines}`);
    if (t !== undefined && o !== undefined && o > 0)
      out.push('', `${lines}-line packets: tallyd proxy / proxy.js = ${(t / o).toFixed(1)} x`);
  }
  const t25 = figures.get('tallyd-25');
  if (t25 !== undefined) out.push(`target ≥ 1,000,000 lines/s on 25-line packets: ${t25 >= 1_000_000 ? 'met' : 'missed'}`);
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => {
    killAllChildren();
    process.exit(0);
  },
  (err) => {
    killAllChildren();
    process.stderr.write(`proxy bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
