/**
 * The Graphite cluster recipe at a fixed rate: 2 statsd-blast generators → 2 `tallyd proxy` →
 * 3 tallyd aggregators (flushAlignment 'clock', 1 s flushes) → carbon-c-relay (carbon_ch) →
 * 2 carbon-caches. Reports the loss (counter lines sent vs the sum of every whisper point of
 * `stats_counts.<prefix>.c*` across both stores) and the CPU of each tier while the load runs.
 *
 *   npm run build && node dist/bench/proxy-topology.bench.js [--rate LINES_PER_S] [--seconds S]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildLoadgen, runBlast } from './e2e/loadgen.js';
import { CpuMeter, freePort, killAllChildren, repoRoot, sleep, stopChild, trackChild } from './e2e/proc.js';

const FLUSH_MS = 1000;
const LINES_PER_PACKET = 25;

interface Proc {
  child: ChildProcess;
  out: string;
}

function start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = trackChild(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env }));
  const p: Proc = { child, out: '' };
  child.stdout!.on('data', (d: Buffer) => (p.out = (p.out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (p.out = (p.out + d.toString()).slice(-20_000)));
  return p;
}

async function waitOutput(p: Proc, text: string, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!p.out.includes(text)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null || Date.now() > deadline)
      throw new Error(`${what} did not start: ${p.out.slice(-2000)}`);
    await sleep(50);
  }
}

async function startCarbon(): Promise<{ proc: Proc; port: number; whisper: string }> {
  const b = mkdtempSync(join(os.tmpdir(), 'topo-bench-carbon-'));
  const port = await freePort('tcp');
  mkdirSync(join(b, 'conf'));
  mkdirSync(join(b, 'storage'));
  writeFileSync(
    join(b, 'conf', 'carbon.conf'),
    `[cache]
STORAGE_DIR = ${b}/storage/
LOCAL_DATA_DIR = ${b}/storage/whisper/
CONF_DIR = ${b}/conf/
LOG_DIR = ${b}/storage/log/
PID_DIR = ${b}/storage/
DATABASE = whisper
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${await freePort('tcp')}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${await freePort('tcp')}
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = False
WHISPER_AUTOFLUSH = False
ENABLE_TAGS = False
`,
  );
  writeFileSync(join(b, 'conf', 'storage-schemas.conf'), '[default]\npattern = .*\nretentions = 1s:1h\n');
  writeFileSync(join(b, 'conf', 'storage-aggregation.conf'), '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = sum\n');
  const proc = start(
    'carbon-cache',
    [`--config=${b}/conf/carbon.conf`, '--nodaemon', '--logfile=-', `--pidfile=${b}/storage/carbon.pid`, 'start'],
    { ...process.env, GRAPHITE_ROOT: b },
  );
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`carbon-cache did not start: ${proc.out.slice(-2000)}`);
    await sleep(100);
  }
  return { proc, port, whisper: join(b, 'storage', 'whisper') };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createConnection(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}

/** Sum of every point of every whisper file under dir. */
function sumWhisper(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.wsp')) continue;
    const b = readFileSync(join(dir, f));
    if (b.length < 28) continue;
    const offset = b.readUInt32BE(16);
    const points = b.readUInt32BE(24);
    for (let i = 0; i < points && offset + i * 12 + 12 <= b.length; i++) {
      if (b.readUInt32BE(offset + i * 12) !== 0) total += b.readDoubleBE(offset + i * 12 + 4);
    }
  }
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' } } });
  const linesPerSec = Number(values.rate ?? 200_000);
  const seconds = Number(values.seconds ?? 8);
  const root = repoRoot();
  const bin = buildLoadgen(root);
  const main = join(root, 'dist', 'src', 'main.js');
  const dir = mkdtempSync(join(os.tmpdir(), 'topo-bench-'));

  const carbons = await Promise.all([startCarbon(), startCarbon()]);
  const relayPort = await freePort('tcp');
  writeFileSync(
    join(dir, 'relay.conf'),
    `cluster carbons\n  carbon_ch\n${carbons.map((c) => `    127.0.0.1:${c.port}`).join('\n')}\n  ;\nmatch *\n  send to carbons\n  stop\n  ;\n`,
  );
  const relay = start('carbon-c-relay', ['-f', join(dir, 'relay.conf'), '-p', String(relayPort), '-w', '2', '-s']);
  await waitOutput(relay, 'startup sequence complete', 'carbon-c-relay');

  const aggs: Array<{ proc: Proc; port: number; admin: number }> = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort('udp');
    const admin = await freePort('tcp');
    const file = join(dir, `agg${i}.js`);
    writeFileSync(
      file,
      `{ port: ${port}, address: '127.0.0.1', mgmt_port: ${admin}, flushInterval: ${FLUSH_MS}, flushAlignment: 'clock',
      deleteIdleStats: true, graphiteHost: '127.0.0.1', graphitePort: ${relayPort}, backends: ['./backends/graphite'], prefixStats: 'statsd_agg${i}' }`,
    );
    const proc = start(process.execPath, [main, file]);
    aggs.push({ proc, port, admin });
  }
  for (const a of aggs) await waitOutput(a.proc, 'tallyd is up', 'tallyd aggregator');
  const proxyFile = join(dir, 'proxy.js');
  const proxies: Array<{ proc: Proc; port: number }> = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort('udp');
    writeFileSync(
      proxyFile + i,
      `{ nodes: [ ${aggs.map((a) => `{host: '127.0.0.1', port: ${a.port}, adminport: ${a.admin}}`).join(', ')} ],
      host: '127.0.0.1', port: ${port}, mgmt_port: 0, checkInterval: 1000, flushInterval: ${FLUSH_MS}, flushAlignment: 'clock' }`,
    );
    const proc = start(process.execPath, [main, 'proxy', proxyFile + i]);
    proxies.push({ proc, port });
  }
  for (const p of proxies) await waitOutput(p.proc, 'proxy is up', 'tallyd proxy');
  await sleep(1500);

  const tiers: Array<[string, number[]]> = [
    ['tallyd proxy × 2', proxies.map((p) => p.proc.child.pid!)],
    ['tallyd aggregator × 3', aggs.map((a) => a.proc.child.pid!)],
    ['carbon-c-relay', [relay.child.pid!]],
    ['carbon-cache × 2', carbons.map((c) => c.proc.child.pid!)],
  ];
  const meters = tiers.map(([, pids]) => pids.map((pid) => new CpuMeter(pid)));
  const packetsPerGen = linesPerSec / LINES_PER_PACKET / proxies.length;
  const runs = await Promise.all(
    proxies.map((p) =>
      runBlast(bin, { port: p.port, rate: packetsPerGen, seconds, lines: LINES_PER_PACKET, keys: 1000, mix: 'c', prefix: 'tb' }),
    ),
  );
  const cpu = meters.map((ms) => ms.reduce((a, m) => a + (m.cores() ?? 0), 0));
  const sent = runs.reduce((a, r) => a + r.sentCounterLines, 0);
  const achieved = runs.reduce((a, r) => a + r.linesPerSec, 0);

  // every count in whisper: the stores settle within a few flushes
  await sleep(4 * FLUSH_MS);
  let got = -1;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = carbons.reduce((a, c) => a + sumWhisper(join(c.whisper, 'stats_counts', 'tb')), 0);
    if (now === got || Date.now() > deadline) break;
    got = now;
    await sleep(2000);
  }
  const out = [
    `proxy topology bench, ${new Date().toISOString()}, ${os.cpus().length} cores: 2 generators → 2 tallyd proxy → 3 tallyd → carbon-c-relay → 2 carbon-cache`,
    `offered ${Math.round(achieved).toLocaleString('en-US')} lines/s (25-line packets, 1000 counter keys) for ${seconds} s`,
    `counter lines sent ${sent.toLocaleString('en-US')}, in whisper ${got.toLocaleString('en-US')}: loss ${(sent - got).toLocaleString('en-US')} (${((100 * (sent - got)) / sent).toFixed(4)} %)`,
    '',
    '| tier | CPU (cores, sum of its processes) |',
    '|---|---|',
    ...tiers.map(([name], i) => `| ${name} | ${cpu[i]!.toFixed(2)} |`),
  ];
  process.stdout.write(out.join('\n') + '\n');
  for (const p of proxies) await stopChild(p.proc.child, 3000);
  for (const a of aggs) await stopChild(a.proc.child, 3000);
  await stopChild(relay.child, 3000);
  for (const c of carbons) await stopChild(c.proc.child, 3000);
}

main().then(
  () => {
    killAllChildren();
    process.exit(0);
  },
  (err) => {
    killAllChildren();
    process.stderr.write(`proxy topology bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
