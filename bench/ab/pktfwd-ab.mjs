/**
 * What the workers' packet forwarding for npm backends' `packet` events costs (src/cluster/worker-forward.ts),
 * same-run A/B, `workers: 2`, native reader on a fixed port (each worker its own SO_REUSEPORT socket),
 * an npm backend configured in every daemon:
 *   base  the base checkout, the plug-in without a 'packet' listener;
 *   off   this checkout, the same plug-in (the workers forward nothing): must cost what base costs;
 *   off2  a second daemon like `off` (the A/A control: the spread of two identical daemons);
 *   on    this checkout, the plug-in with a 'packet' listener that counts packets and bytes: the cost of forwarding.
 * Per round each daemon gets the same tally-blast bursts (two senders, so both workers read), the order
 * rotating; the CPU time of the whole daemon (primary + workers, /proc) per packet sent is compared, median
 * of per-round ratios. The `on` daemon's plug-in reports what it got (checked against what was sent).
 *
 *   npm run build && node bench/ab/pktfwd-ab.mjs /path/to/base/checkout $PWD [rounds] [packets per sender] [pkt/s per sender] [lines/packet]
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseRoot, newRoot] = process.argv.slice(2);
const rounds = Number(process.argv[4] ?? 6);
const packets = Number(process.argv[5] ?? 50_000);
const rate = Number(process.argv[6] ?? 20_000);
const lines = Number(process.argv[7] ?? 1);
const e2e = (f) => import(pathToFileURL(join(newRoot, 'dist', 'bench', 'e2e', f)).href);
const { startTallyd } = await e2e('daemon.js');
const { buildLoadgen, runBlast } = await e2e('loadgen.js');
const { cpuSeconds, freePort, killAllChildren, udpRcvbufErrors, sleep } = await e2e('proc.js');
process.on('exit', () => killAllChildren());

const dir = mkdtempSync(join(tmpdir(), 'tallyd-pktfwd-ab-'));
const plugin = join(dir, 'pktbench.cjs');
writeFileSync(
  plugin,
  `'use strict';
exports.init = function (startupTime, config, events) {
  let packets = 0, bytes = 0;
  if (config.pktbench && config.pktbench.listen) events.on('packet', function (msg, rinfo) { packets++; bytes += rinfo.size; });
  events.on('status', function (cb) { cb(null, 'pktbench', 'packets', packets); cb(null, 'pktbench', 'bytes', bytes); });
  return true;
};
`,
);

/** The daemon's process and its descendants (the workers). */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i];
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {}
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {}
    }
  }
  return out;
}
const cpuOf = (pids) => pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);

function admin(port, cmd) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(port, '127.0.0.1');
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      data += d;
      if (data.includes('END')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', reject);
    s.on('connect', () => s.write(`${cmd}\n`));
  });
}
const statOf = (text, name) => Number(text.match(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)`, 'm'))?.[1] ?? NaN);

const blast = buildLoadgen(newRoot);
const variants = [
  ['base', baseRoot, false],
  ['off', newRoot, false],
  ['off2', newRoot, false],
  ['on', newRoot, true],
];
const d = {};
for (const [name, root, listen] of variants) {
  const port = await freePort('udp');
  const mgmt = await freePort('tcp');
  d[name] = await startTallyd(root, {
    graphitePort: 9,
    flushInterval: 3_600_000,
    recvBuffer: 32 << 20,
    deleteIdle: false,
    extra: {
      workers: 2,
      mgmt_port: mgmt,
      statusPage: { enabled: false },
      servers: [{ server: 'udp', address: '127.0.0.1', port }],
      backends: [plugin],
      pktbench: { listen },
    },
  });
  d[name].mgmt = mgmt;
  d[name].pids = tree(d[name].pid);
  console.log(`${name}: pid ${d[name].pid}, ${d[name].pids.length} processes, udp ${d[name].udpPort}`);
}
await sleep(1000);

const per = Object.fromEntries(variants.map(([n]) => [n, []]));
const ratios = { off: [], off2: [], on: [] };
let sentOn = 0;
for (let r = 0; r < rounds + 1; r++) {
  const order = variants.map(([n]) => n);
  for (let k = 0; k < r % order.length; k++) order.push(order.shift());
  const t = {};
  for (const v of order) {
    const drops0 = udpRcvbufErrors();
    const c0 = cpuOf(d[v].pids);
    const p0 = cpuSeconds(d[v].pid) ?? 0;
    const bs = await Promise.all(
      [0, 1].map(() => runBlast(blast, { port: d[v].udpPort, rate, seconds: 60, lines, keys: 1000, mix: 'c', prefix: 'ab', packets })),
    );
    await sleep(500); // the backlog read (and forwarded)
    const cpu = cpuOf(d[v].pids) - c0;
    const prim = (cpuSeconds(d[v].pid) ?? 0) - p0;
    const drops = udpRcvbufErrors() - drops0;
    const sent = bs[0].sentPackets + bs[1].sentPackets;
    if (v === 'on') sentOn += sent;
    t[v] = (cpu * 1e9) / sent;
    if (r > 0) per[v].push(t[v]);
    console.log(
      `round ${r}${r === 0 ? ' (warm-up)' : ''} ${v.padEnd(4)} ${t[v].toFixed(0).padStart(6)} ns CPU per packet (all processes; primary ${((prim * 1e9) / sent).toFixed(0)}), ${sent} sent, kernel drops ${drops}`,
    );
  }
  if (r > 0) for (const v of ['off', 'off2', 'on']) ratios[v].push(t[v] / t.base);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const v of ['off', 'off2', 'on']) {
  console.log(
    `${v.padEnd(4)}/base: median ${med(ratios[v]).toFixed(3)} (per-round ${Math.min(...ratios[v]).toFixed(2)}..${Math.max(...ratios[v]).toFixed(2)}); median ns/packet ${med(per[v]).toFixed(0)} vs base ${med(per.base).toFixed(0)}`,
  );
}
const s = await admin(d.on.mgmt, 'stats');
console.log(
  `on: plug-in got ${statOf(s, 'pktbench.packets')} packets of ${sentOn} sent; messages.packets_forwarded ${statOf(s, 'messages.packets_forwarded')}, packets_forward_dropped ${statOf(s, 'messages.packets_forward_dropped')}, packets_received ${statOf(s, 'messages.packets_received')} (merged at flushes: none in this run)`,
);
const so = await admin(d.off.mgmt, 'stats');
console.log(
  `off: messages.packets_forwarded ${statOf(so, 'messages.packets_forwarded')}, pktbench.packets ${statOf(so, 'pktbench.packets')}`,
);
await Promise.all(Object.values(d).map((x) => x.stop()));
process.exit(0);
