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
 * ONLY=<regex> keeps the rows whose name matches (shorter runs).
 *
 * The `parse → Aggregator` rows use deleteIdleStats: every flush deletes the keys, so each round decodes
 * every key once more (the slow path: ~7,000 distinct tagged keys per 100,000 lines). The `keys kept`
 * rows ingest into an aggregator whose keys stay (the default config), warmed before timing: the per-line
 * cost of a known key (parse, key-table look-up, store), what a steady stream of lines costs.
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
const kept = {};
for (const v of ['base', 'new']) {
  const cfg = impls[v].validate({ deleteIdleStats: true }).config;
  aggs[v] = { agg: new impls[v].Aggregator({ config: cfg }), s: new impls[v].Sample() };
  kept[v] = { agg: new impls[v].Aggregator({ config: impls[v].validate({}).config }), s: new impls[v].Sample() };
}
const ingestPk = packets((i) => (i % 2 ? `t${i % 1000}:${(i * 7919) % 1000}|ms` : `k${i % 1000}:1|c`));
const taggedPk = packets((i) => `req.k${i % 1000}:1|c|@0.5|#env:prod,route:a${i % 7}`);
function timeIngest(v, pk = ingestPk, a = aggs) {
  const { agg, s } = a[v];
  const parse = impls[v].parse;
  const t0 = now();
  for (const b of pk) parse(b, 0, b.length, agg, s);
  const ns = (now() - t0) / (pk.length * 25);
  agg.flush(Date.now());
  return ns;
}
const ingest = [
  ['parse → Aggregator (loadgen lines)', ingestPk, aggs],
  ['parse → Aggregator (@rate + #tags)', taggedPk, aggs],
  ['keys kept: fast path', work['fast path (k:1|c, t:12.5|ms)'], kept],
  ['keys kept: @rate + #tags', work['general: @rate + #tags'], kept],
  ['keys kept: #tags only', work['general: #tags only'], kept],
  ['keys kept: @rate, no tags', work['general: @rate, no tags'], kept],
];
// (the kept aggregators see every key before timing: their rows time known keys only)
for (const v of ['base', 'new']) for (const [, pk, a] of ingest) if (a === kept) timeIngest(v, pk, a);
const ONLY = process.env.ONLY === undefined ? null : new RegExp(process.env.ONLY);
const keep = (name) => ONLY === null || ONLY.test(name);
const rows = {
  ...Object.fromEntries(
    Object.keys(work)
      .filter(keep)
      .map((k) => [k, []]),
  ),
  ...Object.fromEntries(ingest.filter(([name]) => keep(name)).map(([name]) => [name, []])),
};
const abs = {};
const ROUNDS = Number(process.env.ROUNDS ?? 15);
for (let r = 0; r < ROUNDS + 2; r++) {
  const order = r % 2 ? ['new', 'base'] : ['base', 'new'];
  for (const [name, pk] of Object.entries(work)) {
    if (!keep(name)) continue;
    const t = {};
    for (const v of order) t[v] = timeParse(v, pk);
    if (r >= 2) {
      rows[name].push(t.new / t.base);
      abs[name] ??= { base: [], new: [] };
      abs[name].base.push(t.base);
      abs[name].new.push(t.new);
    }
  }
  for (const [name, pk, a] of ingest) {
    if (!keep(name)) continue;
    const t = {};
    for (const v of order) t[v] = timeIngest(v, pk, a);
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
