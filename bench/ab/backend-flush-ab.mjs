/**
 * Same-process A/B of builds of the backends' per-flush work, with A/A controls. WHAT=graphite (the
 * default): the Graphite formatter (backends/graphite/format.ts) formats the snapshot at once;
 * WHAT=prometheus: the Prometheus series store (backends/prometheus/series.ts) folds it into a warm
 * store (every key bound already, as in a steady state).
 *
 * Each argument is a build's dist directory, loaded as its own module instance (give the same build
 * twice through a symlink for an A/A pair). Per round every build runs once, in a random order;
 * reported is, for each pair, the median over rounds of the per-round ratio, in process CPU time, with
 * a full collection before each timing (a Graphite flush allocates ~16 MB of chunks). Give
 * `pad A B A2 B2`: B/A, B2/A2, and the A/A controls A2/A and B2/B (the pad, loaded first, is timed
 * but not compared). The snapshot is made by the last build's aggregator from StatsD lines: 100,000
 * counters (a tenth tagged), 10,000 timers of 10 values, 10,000 gauges and 5,000 sets, about 355,000
 * Graphite lines.
 *
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci) && npm run build
 *   ln -s /tmp/base/dist /tmp/base-pad && ln -s /tmp/base/dist /tmp/base-aa && ln -s $PWD/dist /tmp/new-aa
 *   ROUNDS=41 [WHAT=prometheus] node --expose-gc --max-semi-space-size=64 bench/ab/backend-flush-ab.mjs \
 *     /tmp/base-pad /tmp/base/dist $PWD/dist /tmp/base-aa /tmp/new-aa
 */
const dirs = process.argv.slice(2);
const ROUNDS = Number(process.env.ROUNDS ?? 41);
const WHAT = process.env.WHAT ?? 'graphite';
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

/** One build's work: `run()` once (timed by the caller), `out()` its output for the identity check. */
async function load(dir) {
  if (WHAT === 'prometheus') {
    const { SeriesStore, DEFAULT_BUCKETS, DEFAULT_QUANTILES } = await import(`${dir}/src/backends/prometheus/series.js`);
    const { writeExposition } = await import(`${dir}/src/backends/prometheus/exposition.js`);
    const make = () =>
      new SeriesStore({ quantiles: DEFAULT_QUANTILES, buckets: DEFAULT_BUCKETS, observerType: 'summary', ttlMs: 0, mapper: null });
    const st = make();
    let now = 1_700_000_000_000;
    st.apply(snapshot, now);
    return {
      run: () => st.apply(snapshot, (now += 1000)),
      out: () => {
        const fresh = make();
        fresh.apply(snapshot, 1_700_000_000_000);
        return Buffer.from(writeExposition(fresh.families.values(), fresh.gen));
      },
    };
  }
  const f = await import(`${dir}/src/backends/graphite/format.js`);
  const o = f.graphiteFormatOptions(f.namespaceConfigFrom(config));
  return {
    run: () => {
      sink += f.formatGraphite(snapshot, o, extra).lines;
    },
    // identical bytes (calculationtime is 0 through extra.now)
    out: () => f.formatGraphite(snapshot, o, extra).bytes,
  };
}
const NAMES = ['pad', 'A', 'B', 'A2', 'B2'];
const builds = [];
for (let i = 0; i < dirs.length; i++) builds.push([NAMES[i] ?? `x${i}`, await load(dirs[i])]);

function time(b) {
  globalThis.gc?.(); // collect before, not inside another build's timing
  const t0 = cpuNs();
  b.run();
  return cpuNs() - t0;
}
const bytes = builds.map(([, b]) => b.out());
const same = bytes.every((b) => b.equals(bytes[0]));
for (let w = 0; w < 3; w++) for (const [, b] of builds) time(b);
const ms = Object.fromEntries(builds.map(([n]) => [n, []]));
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
for (let r = 0; r < ROUNDS; r++) {
  // a fresh random order each round: with a fixed rotation each build always ran after the same one,
  // and a build run right after another instance of the same code was ~15 % faster (seen both ways)
  const order = builds.map((b) => [rnd(), b]).sort((x, y) => x[0] - y[0]);
  for (const [, [name, b]] of order) ms[name].push(time(b) / 1e6);
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
console.log(`${WHAT} flush A/B (node ${process.version}): ${bytes[0].length} bytes of output, ${ROUNDS} rounds, CPU time`);
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
