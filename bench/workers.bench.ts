/**
 * 1 vs 2 ingest workers, in the same run: tallyd (dist/src/main.js) with `workers: 1` (one process)
 * and `workers: 2` (cluster primary + two workers sharing the UDP socket), flooded by tally-blast
 * flat out for a few seconds with 25-line and with single-line packets. Reports the lines the daemon
 * counted (its own statsd.metrics_received, summed over the flushes) per second of load, the loss,
 * and the CPU seconds of each process (does the kernel spread the datagrams over both workers?).
 *
 *   npm run build && node dist/bench/workers.bench.js [--seconds 5] [--rounds 2]
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { cpuSeconds, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

/** A Graphite sink that keeps the sum of each own counter over every flush. */
class OwnCounterSink {
  readonly sums = new Map<string, number>();
  private server: net.Server;
  port = 0;
  constructor() {
    this.server = net.createServer((s) => {
      let pending = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line.startsWith('stats_counts.statsd.')) continue;
          const [path, value] = line.split(' ');
          this.sums.set(path!, (this.sums.get(path!) ?? 0) + Number(value));
        }
      });
      s.on('error', () => undefined);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((res) => this.server.listen(0, '127.0.0.1', () => res()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  reset(): void {
    this.sums.clear();
  }
  get(name: string): number {
    return this.sums.get(`stats_counts.statsd.${name}`) ?? 0;
  }
  close(): Promise<void> {
    return new Promise((res) => this.server.close(() => res()));
  }
}

interface Started {
  pid: number;
  udpPort: number;
  workerPids: number[];
  stop(): Promise<void>;
}

async function startTallyd(workers: number, graphitePort: number): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-workers-bench-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000, graphiteHost: '127.0.0.1', graphitePort,
    backends: ['graphite'], workers, deleteIdleStats: true, logLevel: 'warn',
  }));
  const child = trackChild(spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'main.js'), file, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 15_000;
  let udpPort = 0;
  while (udpPort === 0) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tallyd did not start: ${out.slice(-2000)}`);
    const m = /"listeners":\["udp 127\.0\.0\.1:(\d+)"/.exec(out);
    if (m && out.includes('tallyd is up')) udpPort = Number(m[1]);
    else await sleep(50);
  }
  let workerPids: number[] = [];
  try {
    workerPids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    workerPids = [];
  }
  return {
    pid: child.pid!,
    udpPort,
    workerPids,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Row {
  lines: number;
  workers: number;
  round: number;
  sentLinesPerSec: number;
  countedLinesPerSec: number;
  lossPct: number;
  cpu: string;
}

async function measure(bin: string, sink: OwnCounterSink, workers: number, lines: number, seconds: number, round: number): Promise<Row> {
  const d = await startTallyd(workers, sink.port);
  try {
    await sleep(1500);
    const pids = [d.pid, ...d.workerPids];
    const cpu0 = pids.map((p) => cpuSeconds(p) ?? 0);
    sink.reset();
    const sent = await runBlast(bin, { port: d.udpPort, rate: 0, seconds, lines, keys: 1000, mix: lines === 1 ? 'c' : 'ct', prefix: 'blast' });
    await sleep(2500); // drain the socket buffer, two more flushes
    const cpu = pids.map((p, i) => ((cpuSeconds(p) ?? 0) - cpu0[i]!) / sent.seconds);
    const counted = sink.get('metrics_received');
    return {
      lines,
      workers,
      round,
      sentLinesPerSec: Math.round(sent.sentLines / sent.seconds),
      countedLinesPerSec: Math.round(counted / sent.seconds),
      lossPct: Math.round((1 - counted / sent.sentLines) * 1000) / 10,
      cpu: cpu.map((c, i) => `${i === 0 ? 'main' : 'w' + i} ${c.toFixed(2)}`).join(', '),
    };
  } finally {
    await d.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const bin = buildLoadgen(repoRoot());
  const sink = new OwnCounterSink();
  await sink.listen();
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const lines of [25, 1]) {
        for (const workers of [1, 2]) {
          const row = await measure(bin, sink, workers, lines, seconds, round);
          rows.push(row);
          process.stdout.write(JSON.stringify(row) + '\n');
        }
      }
    }
  } finally {
    await sink.close();
    killAllChildren();
  }
  process.stdout.write('\n| lines/packet | workers | round | sent lines/s | counted lines/s | loss | CPU s per s (process) |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.lines} | ${r.workers} | ${r.round} | ${r.sentLinesPerSec} | ${r.countedLinesPerSec} | ${r.lossPct}% | ${r.cpu} |\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  killAllChildren();
  process.exitCode = 1;
});
