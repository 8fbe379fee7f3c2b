/**
 * Same-process A/B of builds of the Graphite formatter (backends/graphite/format.ts), with A/A controls:
 * each argument is a build's dist directory, loaded as its own module instance (give the same build
 * twice through a symlink for an A/A pair). Per round every build formats the same snapshot once, in a
 * random order; reported is, for each pair, the median over rounds of the per-round ratio, in process
 * CPU time, with a full collection before each timing (each flush allocates ~16 MB of chunks). Give
 * `pad A B A' B'`: B/A, B'/A', and the A/A controls A'/A and B'/B (the pad, loaded first, is timed
 * but not compared). The snapshot is made by the last build's aggregator from StatsD
 * lines: 100,000 counters (a tenth tagged), 10,000 timers of 10 values, 10,000 gauges and 5,000 sets,
 * about 355,000 Graphite lines.
 *
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci) && npm run build
 *   ln -s /tmp/base/dist /tmp/base-aa && ln -s $PWD/dist /tmp/new-aa
 *   ROUNDS=41 node --expose-gc --max-semi-space-size=64 bench/ab/graphite-format-ab.mjs \
 *     /tmp/base/dist /tmp/base/dist $PWD/dist /tmp/base-aa /tmp/new-aa
 * (the first argument is the pad; the names printed are A, B, A2, B2 for the four after it.)
 */
const dirs = process.argv.slice(2);
const ROUNDS = Number(process.env.ROUNDS ?? 41);
const NAMES = ['pad', 'A', 'B', 'A2', 'B2'];
const builds = [];
for (let i = 0; i < dirs.length; i++) builds.push([NAMES[i] ?? `x${i}`, await import(`${dirs[i]}/src/backends/graphite/format.js`)]);
const newDir = dirs[dirs.length - 1];

const { Aggregator } = await import(`${newDir}/src/aggregator/aggregator.js`);
const { validateConfig } = await import(`${newDir}/src/config/index.js`);
const { parsePacket } = await import(`${newDir}/src/parser/scanner.js`);
const { Sample } = await import(`${newDir}/src/parser/types.js`);
const config = { ...validateConfig({}).config, servers: [], mgmtPort: 0, backends: [], percentThreshold: [90] };
const agg = new Aggregator({ config });
const sample = new Sample();
function send(lines) {
  for (let i = 0; i < lines.length; i += 25) {
    const buf = Buffer.from(lines.slice(i, i + 25).join('\n'));
    agg.countPacket(parsePacket(buf, 0, buf.length, agg, sample));
  }
}
const lines = [];
for (let i = 0; i < 100_000; i++) lines.push(`fleet.host${i % 1000}.c${i}:${i % 7}|c${i % 10 === 0 ? '|#env:prod,az:b' : ''}`);
for (let i = 0; i < 10_000; i++) for (let v = 0; v < 10; v++) lines.push(`fleet.t${i}:${(i * 7 + v * 13) % 500}|ms`);
for (let i = 0; i < 10_000; i++) lines.push(`fleet.g${i}:${i - 5000.5}|g`);
for (let i = 0; i < 5000; i++) lines.push(`fleet.s${i}:m${i % 13}|s`);
send(lines);
const snapshot = agg.flush(1_700_000_000_000);
const extra = { lastException: 0, lastFlush: 0, flushTime: 0, flushLength: 0, now: () => 0 };

function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
let sink = 0;
function time(f) {
  const o = f.graphiteFormatOptions(f.namespaceConfigFrom(config));
  globalThis.gc?.(); // each flush allocates ~16 MB of chunks: collect before, not inside another build's timing
  const t0 = cpuNs();
  const p = f.formatGraphite(snapshot, o, extra);
  const dt = cpuNs() - t0;
  sink += p.lines;
  return dt;
}
// identical bytes (calculationtime is 0 through extra.now)
const bytes = builds.map(([, f]) => f.formatGraphite(snapshot, f.graphiteFormatOptions(f.namespaceConfigFrom(config)), extra).bytes);
const same = bytes.every((b) => b.equals(bytes[0]));
for (let w = 0; w < 3; w++) for (const [, f] of builds) time(f);
const ms = Object.fromEntries(builds.map(([n]) => [n, []]));
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
for (let r = 0; r < ROUNDS; r++) {
  // a fresh random order each round: with a fixed rotation each build always ran after the same one,
  // and a build run right after another instance of the same code was ~15 % faster (seen both ways)
  const order = builds.map((b) => [rnd(), b]).sort((x, y) => x[0] - y[0]);
  for (const [, [name, f]] of order) ms[name].push(time(f) / 1e6);
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
console.log(`graphite format A/B (node ${process.version}): ${bytes[0].length} bytes, ${ROUNDS} rounds, CPU time`);
console.log(`bytes identical across the builds: ${same}`);
console.log(`median ms: ${builds.map(([n]) => `${n} ${median(ms[n]).toFixed(1)}`).join(', ')}`);
const pairs = [
  ['B', 'A'],
  ['B2', 'A2'],
  ['B2', 'A'],
  ['B', 'A2'],
  ['A2', 'A'],
  ['B2', 'B'],
];
for (const [x, y] of pairs) {
  if (!ms[x] || !ms[y]) continue;
  const rs = ms[x].map((v, i) => v / ms[y][i]);
  console.log(`${(x + '/' + y).padEnd(6)} median per-round ratio ${median(rs).toFixed(3)}`);
}
if (sink < 0) console.log(sink);
