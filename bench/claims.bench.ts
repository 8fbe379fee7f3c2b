/**
 * Small measurements behind comments in src/ that no other bench reproduces: each row names the comment
 * it backs. CPU time (or heap bytes), median of alternated rounds in one process.
 *
 *   npm run build && node dist/bench/claims.bench.js [--rounds 9] [--only 1,2,...]
 *
 * Rows:
 *   1. parser/numbers.ts parseNumber's fast path against Number(buf.toString('latin1', ...)) on `12.5`-like values.
 *   2. parser/canonical.ts NO_TAGS: heap bytes per key of 1M key objects, each with its own `[]` against one
 *      shared frozen empty array.
 *   3. aggregator/stores/timer-pools.ts: µs per Float64Array allocation, a reservoir grown 16 → … → 1024
 *      (DEFAULT_RESERVOIR_SIZE) against one taken from a pool.
 *   4. aggregator/exphist-ranks.ts RankReader.load: midpoints stepped by the bucket ratio against one
 *      bucketMidpoint (two `2 **`) per bucket.
 *   5. backends/graphite/outgoing.ts: ms per MiB of writing text into fresh chunks (Buffer.allocUnsafeSlow)
 *      against a chunk reused from a pool (its pages resident).
 *   6. aggregator/keyindex.ts: µs per line of decoding and sanitising a key that sanitises to nothing
 *      (what the nameless-key cache saves per line), at 8, 64 and 512 bytes.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bucketLower, bucketMidpoint, type ExpBucketsData, ExpHistogram, RankReader } from '../src/aggregator/exphist.js';
import { seededRandom } from '../src/aggregator/reservoir.js';
import { sanitizeKey } from '../src/parser/canonical.js';
import { parseNumber } from '../src/parser/numbers.js';

/** Results kept alive so the work is not optimised away. */
let sink = 0;

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, only: { type: 'string' } } });
const rounds = Number(args.rounds);
const only = args.only === undefined ? null : new Set(args.only.split(','));

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Runs each function once per round, order alternating; the median CPU ns of each. */
function alternate(fns: Array<() => void>): number[] {
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < rounds + 1; r++) {
    const order = r % 2 === 0 ? fns.map((_, i) => i) : fns.map((_, i) => fns.length - 1 - i);
    for (const i of order) {
      const t = cpuNs();
      fns[i]!();
      const dt = cpuNs() - t;
      if (r > 0) times[i]!.push(dt); // round 0: warm-up
    }
  }
  return times.map(median);
}

function row(name: string, text: string): void {
  console.log(`${name.padEnd(40)}${text}`);
}

console.log(`claims bench (node ${process.versions.node}), median of ${rounds} rounds`);

// ---------------------------------------------------------------- 1. parseNumber
if (only === null || only.has('1')) {
  const values: string[] = [];
  for (let i = 0; i < 1000; i++) values.push(`${i % 500}.${i % 10}`);
  const buf = Buffer.from(values.join('\n'));
  const starts: number[] = [];
  const ends: number[] = [];
  for (let p = 0; p < buf.length; ) {
    let e = buf.indexOf(0x0a, p);
    if (e < 0) e = buf.length;
    starts.push(p);
    ends.push(e);
    p = e + 1;
  }
  const reps = 500;
  const n = starts.length * reps;
  const [fast, slow] = alternate([
    () => {
      for (let r = 0; r < reps; r++) for (let i = 0; i < starts.length; i++) sink += parseNumber(buf, starts[i]!, ends[i]!);
    },
    () => {
      for (let r = 0; r < reps; r++) for (let i = 0; i < starts.length; i++) sink += Number(buf.toString('latin1', starts[i]!, ends[i]!));
    },
  ]);
  row(
    '1. parseNumber (numbers.ts)',
    `${(fast! / n).toFixed(1)} ns against Number(toString) ${(slow! / n).toFixed(1)} ns per value: ${(slow! / fast!).toFixed(1)}x`,
  );
}

// ---------------------------------------------------------------- 2. NO_TAGS
if (only === null || only.has('2')) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const N = 1_000_000;
  const shared: readonly unknown[] = Object.freeze([]);
  const heapPerKey = (own: boolean): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const keys: Array<{ name: string; tags: readonly unknown[] }> = new Array(N);
    for (let i = 0; i < N; i++) keys[i] = { name: 'k', tags: own ? [] : shared };
    gc();
    const used = process.memoryUsage().heapUsed - before;
    sink += keys.length;
    return used / N;
  };
  const per: number[][] = [[], []];
  for (let r = 0; r < 3; r++) {
    per[0]!.push(heapPerKey(true));
    per[1]!.push(heapPerKey(false));
  }
  const own = median(per[0]!);
  const sh = median(per[1]!);
  row(
    '2. NO_TAGS (canonical.ts)',
    `1M keys: ${own.toFixed(1)} B/key with their own [], ${sh.toFixed(1)} B/key sharing one: ${(own - sh).toFixed(1)} B/key saved`,
  );
}

// ---------------------------------------------------------------- 3. reservoir allocation
if (only === null || only.has('3')) {
  const keys = 2000;
  const pool: Float64Array[] = [];
  for (let i = 0; i < keys; i++) pool.push(new Float64Array(1024));
  let allocs = 0;
  const [grown, pooled] = alternate([
    () => {
      allocs = 0;
      for (let k = 0; k < keys; k++) {
        let a = new Float64Array(16);
        allocs++;
        while (a.length < 1024) {
          const b = new Float64Array(a.length * 2);
          b.set(a);
          a = b;
          allocs++;
        }
        sink += a.length;
      }
    },
    () => {
      for (let k = 0; k < keys; k++) {
        const a = pool[k]!;
        a[0] = k;
        sink += a.length;
      }
    },
  ]);
  row(
    '3. reservoir pool (timer-pools.ts)',
    `${(grown! / allocs / 1000).toFixed(2)} µs per Float64Array allocation (grown 16 → 1024: ${(grown! / keys / 1000).toFixed(1)} µs per timer), pooled ${(pooled! / keys / 1000).toFixed(3)} µs per timer`,
  );
}

// ---------------------------------------------------------------- 4. RankReader.load
if (only === null || only.has('4')) {
  const rnd = seededRandom(7);
  const hists: ExpBucketsData[] = [];
  for (let k = 0; k < 200; k++) {
    const h = new ExpHistogram();
    for (let i = 0; i < 20_000; i++) h.add(Math.exp(rnd() * 8) * (1 + (k % 5)));
    h.trim();
    hists.push(h.data());
  }
  const reader = new RankReader();
  /** The same load, one bucketMidpoint per bucket (what RankReader.load did before stepping). */
  const cum = new Float64Array(1 << 16);
  const rep = new Float64Array(1 << 16);
  const loadEach = (h: ExpBucketsData, min: number, max: number): void => {
    let j = 0;
    let n = 0;
    for (let k = h.neg.length - 1; k >= 0; k--) {
      if (h.neg[k]! === 0) continue;
      n += h.neg[k]!;
      cum[j] = n;
      rep[j++] = Math.min(Math.max(-bucketMidpoint(h.negBase + k, h.scale), min), max);
    }
    n += h.zero;
    for (let k = 0; k < h.pos.length; k++) {
      if (h.pos[k]! === 0) continue;
      n += h.pos[k]!;
      cum[j] = n;
      rep[j++] = Math.min(Math.max(bucketMidpoint(h.posBase + k, h.scale), min), max);
    }
    sink += j;
  };
  const reps = 20;
  const [stepped, each] = alternate([
    () => {
      for (let r = 0; r < reps; r++) for (const h of hists) reader.load(h, 0, Infinity);
      sink += reader.n;
    },
    () => {
      for (let r = 0; r < reps; r++) for (const h of hists) loadEach(h, 0, Infinity);
    },
  ]);
  const loads = reps * hists.length;
  const buckets = hists.reduce((a, h) => a + h.pos.length, 0) / hists.length;
  sink += bucketLower(1, 6);
  row(
    '4. RankReader.load (exphist-ranks)',
    `~${buckets.toFixed(0)} buckets: stepped ${(stepped! / loads / 1000).toFixed(1)} µs against one bucketMidpoint each ${(each! / loads / 1000).toFixed(1)} µs per load: ${(each! / stepped!).toFixed(1)}x`,
  );
}

// ---------------------------------------------------------------- 5. fresh pages
if (only === null || only.has('5')) {
  const MiB = 1 << 20;
  const chunk = 1 << 18;
  const total = 64 * MiB;
  const line = 'app.svc1.requests.12345.count 42 1795421995\n'.repeat(512);
  const reused = Buffer.allocUnsafeSlow(chunk);
  const fill = (b: Buffer): void => {
    let off = 0;
    while (off + line.length <= b.length) off += b.write(line, off, 'latin1');
    sink += off;
  };
  const [fresh, pooled] = alternate([
    () => {
      for (let w = 0; w < total; w += chunk) fill(Buffer.allocUnsafeSlow(chunk));
    },
    () => {
      for (let w = 0; w < total; w += chunk) fill(reused);
    },
  ]);
  const mib = total / MiB;
  row(
    '5. chunk pool (outgoing.ts)',
    `fresh chunks ${(fresh! / mib / 1e6).toFixed(2)} ms/MiB, a reused chunk ${(pooled! / mib / 1e6).toFixed(2)} ms/MiB: fresh pages cost ${((fresh! - pooled!) / mib / 1e6).toFixed(2)} ms/MiB`,
  );
}

// ---------------------------------------------------------------- 6. nameless keys
if (only === null || only.has('6')) {
  const parts: string[] = [];
  for (const len of [8, 64, 512]) {
    const buf = Buffer.from('!'.repeat(len - 2) + '%%');
    const reps = 20_000;
    const [t] = alternate([
      () => {
        for (let r = 0; r < reps; r++) sink += sanitizeKey(buf.toString('latin1', 0, buf.length)).length;
      },
    ]);
    parts.push(`${len} B ${(t! / reps / 1000).toFixed(2)} µs`);
  }
  row('6. nameless key cache (keyindex.ts)', `decode + sanitise per line: ${parts.join(', ')}`);
}

if (sink === 0.5) console.log(sink);
