/**
 * The packet guard's cost (src/pipeline/guard.ts: one try/catch and two stores per packet): 25-line packets
 * (counters and timers, 1,000 keys) into an Aggregator, straight (parsePacket + countPacket, as the
 * handler did before) vs through PacketGuard.begin/ingest inside a try/catch (as the handler does now),
 * alternated in one process, median of the rounds. Timed in CPU time (process.cpuUsage), which a
 * loaded machine disturbs far less than wall time.
 *
 *   npm run build && node dist/bench/guard.bench.js [--rounds 7]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Aggregator } from '../src/aggregator/aggregator.js';
import { validateConfig } from '../src/config/index.js';
import { parsePacket } from '../src/parser/scanner.js';
import { Sample } from '../src/parser/types.js';
import { PacketGuard } from '../src/pipeline/guard.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(args.rounds);

const packets: Buffer[] = [];
for (let p = 0; p < 10_000; p++) {
  let text = '';
  for (let l = 0; l < 25; l++) {
    const k = (p * 25 + l) % 1000;
    text += k % 2 === 0 ? `bench.svc${k % 37}.counter${k}:1|c\n` : `bench.svc${k % 37}.timer${k}:${(p + l) % 500}|ms\n`;
  }
  packets.push(Buffer.from(text));
}
const lines = packets.length * 25;

function agg(): Aggregator {
  return new Aggregator({ config: { ...validateConfig({}).config, servers: [], backends: [] } });
}

function straight(a: Aggregator, s: Sample): number {
  const c0 = process.cpuUsage();
  for (const b of packets) a.countPacket(parsePacket(b, 0, b.length, a, s));
  return cpuNs(c0) / lines;
}

function guarded(g: PacketGuard, b0: Buffer[]): number {
  const c0 = process.cpuUsage();
  for (const b of b0) {
    try {
      g.begin();
      g.ingest(b, 0, b.length);
    } catch (err) {
      g.recover(err, b, 0, b.length);
    }
  }
  return cpuNs(c0) / lines;
}

function cpuNs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) * 1000;
}

const a1 = agg();
const s1 = new Sample();
const a2 = agg();
const s2 = new Sample();
const g = new PacketGuard(a2, s2, pino({ level: 'silent' }));
const r1: number[] = [];
const r2: number[] = [];
for (let i = 0; i < rounds + 1; i++) {
  // (the order alternates: neither side always runs first)
  const x = i % 2 === 0 ? straight(a1, s1) : 0;
  const y = guarded(g, packets);
  const x2 = i % 2 === 1 ? straight(a1, s1) : x;
  if (i > 0) {
    r1.push(x2);
    r2.push(y);
  }
  a1.flush(i * 10_000);
  a2.flush(i * 10_000);
}
const median = (xs: number[]): number => xs.slice().sort((p, q) => p - q)[xs.length >> 1]!;
console.log(`packet guard bench: ${packets.length} packets x 25 lines, ${rounds} rounds, node ${process.version}`);
console.log(`straight (parsePacket + countPacket)      ${median(r1).toFixed(1)} ns per line (median)`);
console.log(`guarded (try { begin; ingest } per packet) ${median(r2).toFixed(1)} ns per line (median)`);
console.log(`ratio guarded / straight                  ${(median(r2) / median(r1)).toFixed(3)}`);
