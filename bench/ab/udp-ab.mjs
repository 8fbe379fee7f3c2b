/**
 * Same-run A/B of two builds' whole UDP receive path (reader → parser → aggregator), for changes to the
 * listeners or the native reader: both daemons run side by side (their own dist/ and native addon), and
 * per round each gets the same tally-blast burst, the order alternating; the daemon's CPU time (from
 * /proc) per packet sent is compared, median of per-round ratios. Kernel drops are printed (a round
 * with drops measures less work than it was sent).
 *
 *   npm run build && node bench/ab/udp-ab.mjs /path/to/base/checkout $PWD [rounds] [packets] [pkt/s] [lines per packet] [mix]
 * (mix: the generator's line types, e.g. `c` or `ctgs`; default 1 line of `c`).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseRoot, newRoot] = process.argv.slice(2);
const rounds = Number(process.argv[4] ?? 8);
const packets = Number(process.argv[5] ?? 100_000);
const rate = Number(process.argv[6] ?? 40_000);
const lines = Number(process.argv[7] ?? 1);
const mix = process.argv[8] ?? 'c';
const e2e = (f) => import(pathToFileURL(join(newRoot, 'dist', 'bench', 'e2e', f)).href);
const { startTallyd } = await e2e('daemon.js');
const { buildLoadgen, runBlast } = await e2e('loadgen.js');
const { cpuSeconds, killAllChildren, udpRcvbufErrors, sleep } = await e2e('proc.js');
process.on('exit', () => killAllChildren());

const blast = buildLoadgen(newRoot);
const opts = { graphitePort: 9, flushInterval: 3_600_000, recvBuffer: 32 << 20, deleteIdle: false, extra: { backends: [] } };
const d = { base: await startTallyd(baseRoot, opts), new: await startTallyd(newRoot, opts) };
const per = { base: [], new: [] };
const ratios = [];
for (let r = 0; r < rounds + 1; r++) {
  const order = r % 2 ? ['new', 'base'] : ['base', 'new'];
  const t = {};
  for (const v of order) {
    const drops0 = udpRcvbufErrors();
    const c0 = cpuSeconds(d[v].pid);
    const b = await runBlast(blast, { port: d[v].udpPort, rate, seconds: 60, lines, keys: 1000, mix, prefix: 'ab', packets });
    await sleep(300); // the backlog parsed
    const cpu = cpuSeconds(d[v].pid) - c0;
    const drops = udpRcvbufErrors() - drops0;
    t[v] = (cpu * 1e9) / b.sentPackets;
    if (r > 0) per[v].push(t[v]);
    console.log(
      `round ${r}${r === 0 ? ' (warm-up)' : ''} ${v.padEnd(4)} ${t[v].toFixed(0).padStart(6)} ns CPU per packet, ${b.sentPackets} sent, kernel drops ${drops}`,
    );
  }
  if (r > 0) ratios.push(t.new / t.base);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `median ns CPU per packet: base ${med(per.base).toFixed(0)}, new ${med(per.new).toFixed(0)}; new/base ${med(ratios).toFixed(3)} (per-round ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)})`,
);
await Promise.all([d.base.stop(), d.new.stop()]);
process.exit(0);
