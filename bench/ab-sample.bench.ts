/**
 * Two builds' hot paths in one process, alternated and timed in CPU time (process.cpuUsage), which a
 * loaded machine disturbs far less than the wall-clock benches: (1) Aggregator.sample over pre-parsed
 * samples (bench (a) of aggregator.bench: 1,000 keys, half timers); (2) parsePacket → Aggregator on
 * 25-line packets (parser.bench's ingest), through the daemon's packet guard when the build has one.
 *
 *   cp -r dist .tmp/before-dist        (the build before a change; then change, npm run build)
 *   node dist/bench/ab-sample.bench.js --before .tmp/before-dist [--rounds 9]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';

const { values: args } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '9' } } });
if (args.before === undefined) {
  console.error('usage: node dist/bench/ab-sample.bench.js --before <dist of the other build> [--rounds 9]');
  process.exit(2);
}
const rounds = Number(args.rounds);
const builds: Array<[string, string]> = [
  ['before', resolve(args.before)],
  ['after', resolve(import.meta.dirname, '..')],
];

type Run = () => number;
interface Build {
  sample: Run;
  ingest: Run;
}

function cpuNs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) * 1000;
}

const packets: Buffer[] = [];
for (let p = 0; p < 10_000; p++) {
  let t = '';
  for (let l = 0; l < 25; l++) {
    const k = (p * 25 + l) % 1000;
    t += k % 2 === 0 ? `bench.svc${k % 37}.counter${k}:1|c\n` : `bench.svc${k % 37}.timer${k}:${(p + l) % 500}|ms\n`;
  }
  packets.push(Buffer.from(t));
}

// biome-ignore lint/suspicious/noExplicitAny: modules of another build, loaded by path
type Any = any;

async function load(dir: string): Promise<Build> {
  const { Aggregator } = (await import(dir + '/src/aggregator/aggregator.js')) as Any;
  const { validateConfig } = (await import(dir + '/src/config/index.js')) as Any;
  const { seededRandom } = (await import(dir + '/src/aggregator/reservoir.js')) as Any;
  const { parsePacket } = (await import(dir + '/src/parser/scanner.js')) as Any;
  const { MetricType, Sample } = (await import(dir + '/src/parser/types.js')) as Any;
  const guardMod = (await import(dir + '/src/pipeline/guard.js').catch(() => import(dir + '/src/ingest.js')).catch(() => null)) as Any;
  const config = { ...validateConfig({}).config, servers: [], backends: [] };

  // (1) sample()
  const names: string[] = [];
  for (let i = 0; i < 1000; i++) names.push(i % 2 === 1 ? `app.service${i % 17}.latency.${i}` : `app.service${i % 17}.requests.${i}`);
  const buf = Buffer.from(names.join(''));
  const samples: Any[] = [];
  let off = 0;
  for (let i = 0; i < 1000; i++) {
    const s = new Sample();
    s.type = i % 2 === 1 ? MetricType.Timer : MetricType.Counter;
    s.buf = buf;
    s.keyStart = off;
    off += names[i]!.length;
    s.keyEnd = off;
    s.tagStart = s.tagEnd = off;
    samples.push(s);
  }
  const a1 = new Aggregator({ config, random: seededRandom(1) });
  let t1 = 0;
  const sampleRun = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const s = samples[i % 1000];
      s.value = i & 1023;
      a1.sample(s);
    }
    a1.flush(++t1 * 10_000);
  };
  sampleRun(200_000);

  // (2) parse → aggregate
  const a2 = new Aggregator({ config });
  const s2 = new Sample();
  const guard = guardMod === null ? null : new guardMod.PacketGuard(a2, s2, pino({ level: 'silent' }));
  const ingestRun = (): void => {
    if (guard === null) {
      for (const b of packets) a2.countPacket(parsePacket(b, 0, b.length, a2, s2));
    } else {
      for (const b of packets) {
        try {
          guard.begin();
          guard.ingest(b, 0, b.length);
        } catch (err) {
          guard.recover(err, b, 0, b.length);
        }
      }
    }
    a2.flush(++t1 * 10_000);
  };
  ingestRun();
  const N = 3_000_000;
  return {
    sample: () => {
      const c0 = process.cpuUsage();
      sampleRun(N);
      return cpuNs(c0) / N;
    },
    ingest: () => {
      const c0 = process.cpuUsage();
      ingestRun();
      return cpuNs(c0) / (packets.length * 25);
    },
  };
}

const loaded = new Map<string, Build>();
for (const [name, dir] of builds) loaded.set(name, await load(dir));
const median = (xs: number[]): number => xs.slice().sort((p, q) => p - q)[xs.length >> 1]!;
console.log(`A/B in one process, CPU time, ${rounds} alternated rounds; before = ${builds[0]![1]}`);
for (const what of ['sample', 'ingest'] as const) {
  const r: Record<string, number[]> = { before: [], after: [] };
  for (let i = 0; i < rounds; i++) {
    for (const name of i % 2 === 0 ? ['before', 'after'] : ['after', 'before']) r[name]!.push(loaded.get(name)![what]());
  }
  const b = median(r['before']!);
  const a = median(r['after']!);
  const label = what === 'sample' ? 'Aggregator.sample, ns per sample' : 'parsePacket → Aggregator (guarded after), ns per line';
  console.log(`${label.padEnd(56)} before ${b.toFixed(1)}  after ${a.toFixed(1)}  ratio ${(a / b).toFixed(3)}`);
}
