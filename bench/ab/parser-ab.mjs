/**
 * Same-process A/B of two builds of tallyd's parser and ingest (a base and a branch), for changes too
 * small to see across separate runs on a loaded machine: per round both run back to back (the order
 * alternating), and the median of the per-round ratios new/base is reported. Run it base against base
 * too (an A/A control): its spread is the noise floor.
 *
 *   git worktree add /tmp/base main && (cd /tmp/base && npm ci) && npm run build
 *   ROUNDS=40 node bench/ab/parser-ab.mjs /tmp/base/dist $PWD/dist
 *
 * Times are the process's CPU time (user + system, process.cpuUsage) by default: on a shared machine
 * the wall clock also counts the time the process waits for a core. CLOCK=wall times wall-clock instead.
 */
const [baseDir, newDir] = process.argv.slice(2);
async function load(dir) {
  return {
    parse: (await import(`${dir}/src/parser/scanner.js`)).parsePacket,
    Sample: (await import(`${dir}/src/parser/types.js`)).Sample,
    Aggregator: (await import(`${dir}/src/aggregator/aggregator.js`)).Aggregator,
    validate: (await import(`${dir}/src/config/index.js`)).validateConfig,
  };
}
const impls = { base: await load(baseDir), new: await load(newDir) };
const WALL = process.env.CLOCK === 'wall';
/** Now, in ns: CPU time of this process (default) or the wall clock. */
function now() {
  if (WALL) return Number(process.hrtime.bigint());
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
function packets(f, n = 4000) {
  const out = [];
  for (let p = 0, i = 0; p < n; p++) {
    const l = [];
    for (let j = 0; j < 25; j++, i++) l.push(f(i));
    out.push(Buffer.from(l.join('\n')));
  }
  return out;
}
const work = {
  'fast path (k:1|c, t:12.5|ms)': packets((i) => (i % 2 ? `t${i % 1000}:12.5|ms` : `k${i % 1000}:1|c`)),
  'general: @rate + #tags': packets((i) => `req.k${i % 1000}:1|c|@0.5|#env:prod,route:a${i % 7}`),
  'general: #tags only': packets((i) => `req.k${i % 1000}:${i % 90}|ms|#env:prod,route:a${i % 7},az:eu-west-1b`),
  'general: @rate, no tags': packets((i) => `req.k${i % 1000}:1|c|@0.5`),
  'general: multi-part': packets((i) => `m.k${i % 1000}:1|c:2|ms`),
  'general: sets': packets((i) => `u.k${i % 100}:user${i % 5000}|s`),
};
const sinks = {};
for (const v of ['base', 'new'])
  sinks[v] = {
    n: 0,
    t: 0,
    sample(s) {
      this.n++;
      this.t += s.value + s.tagEnd;
    },
    badLine() {},
    dogCount() {},
  };
function timeParse(v, pk) {
  const { parse, Sample } = impls[v];
  const s = new Sample();
  const sink = sinks[v];
  const t0 = now();
  for (let r = 0; r < 3; r++) for (const b of pk) parse(b, 0, b.length, sink, s);
  return (now() - t0) / (pk.length * 25 * 3);
}
const aggs = {};
for (const v of ['base', 'new']) {
  const cfg = impls[v].validate({ deleteIdleStats: true }).config;
  aggs[v] = { agg: new impls[v].Aggregator({ config: cfg }), s: new impls[v].Sample() };
}
const ingestPk = packets((i) => (i % 2 ? `t${i % 1000}:${(i * 7919) % 1000}|ms` : `k${i % 1000}:1|c`));
const taggedPk = packets((i) => `req.k${i % 1000}:1|c|@0.5|#env:prod,route:a${i % 7}`);
function timeIngest(v, pk = ingestPk) {
  const { agg, s } = aggs[v];
  const parse = impls[v].parse;
  const t0 = now();
  for (const b of pk) parse(b, 0, b.length, agg, s);
  const ns = (now() - t0) / (pk.length * 25);
  agg.flush(Date.now());
  return ns;
}
const rows = {
  ...Object.fromEntries(Object.keys(work).map((k) => [k, []])),
  'parse → Aggregator (loadgen lines)': [],
  'parse → Aggregator (@rate + #tags)': [],
};
const abs = {};
const ROUNDS = Number(process.env.ROUNDS ?? 15);
for (let r = 0; r < ROUNDS + 2; r++) {
  const order = r % 2 ? ['new', 'base'] : ['base', 'new'];
  for (const [name, pk] of Object.entries(work)) {
    const t = {};
    for (const v of order) t[v] = timeParse(v, pk);
    if (r >= 2) {
      rows[name].push(t.new / t.base);
      abs[name] ??= { base: [], new: [] };
      abs[name].base.push(t.base);
      abs[name].new.push(t.new);
    }
  }
  for (const [name, pk] of [
    ['parse → Aggregator (loadgen lines)', ingestPk],
    ['parse → Aggregator (@rate + #tags)', taggedPk],
  ]) {
    const t = {};
    for (const v of order) t[v] = timeIngest(v, pk);
    if (r >= 2) {
      rows[name].push(t.new / t.base);
      abs[name] ??= { base: [], new: [] };
      abs[name].base.push(t.base);
      abs[name].new.push(t.new);
    }
  }
}
const med = (a) => {
  const b = [...a].sort((x, y) => x - y);
  return b[Math.floor(b.length / 2)];
};
console.log(
  `A/B in one process, ${ROUNDS} rounds (2 warm-up rounds dropped); ns per line (${WALL ? 'wall clock' : 'CPU time'}), medians; ratio = median of per-round new/base`,
);
for (const [name, ratios] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(38)} base ${med(abs[name].base).toFixed(1).padStart(7)}  new ${med(abs[name].new).toFixed(1).padStart(7)}  new/base ${med(ratios).toFixed(3)}  (per-round ratios ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)})`,
  );
}
console.log('check', sinks.base.n === sinks.new.n, sinks.base.t === sinks.new.t);
