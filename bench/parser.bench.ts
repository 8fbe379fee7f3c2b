/**
 * Parser benchmark: tallyd's byte scanner against what the original statsd does per packet
 * (`toString().split('\n')`, `split(':')`, regex sanitize, `split('|')`, `Number()`), in one run.
 *
 *   npm run build && node dist/bench/parser.bench.js
 *
 * Workload: 10,000 packets of 25 lines, half `k123:1|c`, half `t45:12.5|ms`, 1,000 distinct keys.
 * Each variant runs 5 times over all packets; the median lines/s is reported. Results are kept
 * alive (summed and printed) so the work cannot be optimised away.
 *
 * Note: the baseline sanitises the key per line (as the original does); tallyd's scanner leaves the
 * key as bytes for the aggregator, which decodes it once per distinct key. The `+ key hash` row adds
 * an FNV-1a hash of the key bytes per sample, a rough stand-in for the aggregator's interning lookup
 * (the scanner now hands its own key hash over in Sample.keyHash). The `→ Aggregator` row is the
 * daemon's whole ingest: parsePacket into an Aggregator (deleteIdleStats on, as the e2e bench runs
 * it), flushed every 1M lines outside the timing, with the loadgen's integer timer values.
 */
import { pathToFileURL } from 'node:url';
import { Aggregator } from '../src/aggregator/aggregator.js';
import { validateConfig } from '../src/config/index.js';
import { parsePacket } from '../src/parser/scanner.js';
import { type BadLine, Sample, type SampleSink } from '../src/parser/types.js';

const PACKETS = 10_000;
const LINES_PER_PACKET = 25;
const KEYS = 1_000;
const RUNS = 5;

export function buildPackets(intTimers = false): Buffer[] {
  const packets: Buffer[] = [];
  let n = 0;
  for (let p = 0; p < PACKETS; p++) {
    const lines: string[] = [];
    for (let l = 0; l < LINES_PER_PACKET; l++, n++) {
      const key = n % KEYS;
      lines.push(n % 2 === 0 ? `k${key}:1|c` : intTimers ? `t${key}:${(n * 7919) % 1000}|ms` : `t${key}:12.5|ms`);
    }
    packets.push(Buffer.from(lines.join('\n')));
  }
  return packets;
}

class CountingSink implements SampleSink {
  samples = 0;
  bad = 0;
  total = 0;
  sample(s: Sample): void {
    this.samples++;
    this.total += s.value / s.sampleRate;
  }
  badLine(_reason: BadLine, _buf: Buffer, _start: number, _end: number): void {
    this.bad++;
  }
  dogCount(): void {}
}

class HashingSink implements SampleSink {
  samples = 0;
  bad = 0;
  hash = 0;
  sample(s: Sample): void {
    const buf = s.buf;
    let h = 0x811c9dc5;
    for (let i = s.keyStart; i < s.keyEnd; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    this.hash = (this.hash + (h >>> 0) + s.value) % 0x7fffffff;
    this.samples++;
  }
  badLine(_reason: BadLine, _buf: Buffer, _start: number, _end: number): void {
    this.bad++;
  }
  dogCount(): void {}
}

/** tallyd: one scan per packet. Returns lines seen. */
function runTallyd(packets: Buffer[], sink: SampleSink): number {
  const s = new Sample();
  let lines = 0;
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    lines += parsePacket(p, 0, p.length, sink, s);
  }
  return lines;
}

/** The daemon's ingest: parsePacket into an Aggregator; a flush (not timed) every ~1M lines. Returns lines seen. */
function makeIngest(packets: Buffer[]): { run: () => number; agg: Aggregator } {
  const config = { ...validateConfig({ deleteIdleStats: true }).config, servers: [], mgmtPort: 0, backends: [] };
  const agg = new Aggregator({ config });
  const s = new Sample();
  let sinceFlush = 0;
  let now = 0;
  const run = (): number => {
    let lines = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const n = parsePacket(p, 0, p.length, agg, s);
      agg.countPacket(n);
      lines += n;
    }
    sinceFlush += lines;
    return lines;
  };
  const flushIfDue = (): void => {
    if (sinceFlush >= 1_000_000) {
      sinceFlush = 0;
      agg.flush((now += 10_000));
    }
  };
  return {
    run: () => {
      flushIfDue();
      return run();
    },
    agg,
  };
}

/** What the original statsd's handlePacket does per line (validation included), minus aggregation. */
function runBaseline(packets: Buffer[], keep: { total: number; keys: number }): number {
  let lines = 0;
  for (const msg of packets) {
    const data = msg.toString();
    const metrics = data.indexOf('\n') > -1 ? data.split('\n') : [data];
    for (const metric of metrics) {
      if (metric.length === 0) continue;
      lines++;
      const bits = metric.toString().split(':');
      const key = bits
        .shift()!
        .replace(/\s+/g, '_')
        .replace(/\//g, '-')
        .replace(/[^a-zA-Z_\-0-9.;=]/g, '');
      if (bits.length === 0) bits.push('1');
      for (const bit of bits) {
        const fields = bit.split('|');
        if (fields[1] === undefined) continue;
        const value = fields[0]!;
        if (!(value && !Number.isNaN(Number(value)))) continue;
        let rate = 1;
        if (fields[2] && /^@([\d.]+)/.test(fields[2])) rate = Number(fields[2].match(/^@([\d.]+)/)![1]);
        const type = fields[1].trim();
        const n = Number(value);
        if (type === 'ms' && n < 0) continue;
        keep.total += n / rate;
        keep.keys += key.length;
      }
    }
  }
  return lines;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(name: string, fn: () => number): number {
  fn(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    const lines = fn();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((lines * 1e9) / ns);
  }
  const m = median(rates);
  console.log(`${name.padEnd(28)} ${Math.round(m).toLocaleString('en-US').padStart(14)} lines/s (median of ${RUNS})`);
  return m;
}

export function main(): void {
  const packets = buildPackets();
  const totalLines = PACKETS * LINES_PER_PACKET;
  console.log(`parser bench: ${PACKETS} packets x ${LINES_PER_PACKET} lines = ${totalLines} lines, ${KEYS} keys, node ${process.version}`);

  const counting = new CountingSink();
  const hashing = new HashingSink();
  const keep = { total: 0, keys: 0 };
  const heapBefore = process.memoryUsage().heapUsed;
  const tallyd = measure('tallyd parsePacket', () => runTallyd(packets, counting));
  const tallydHash = measure('tallyd parsePacket + key hash', () => runTallyd(packets, hashing));
  const ingest = makeIngest(buildPackets(true));
  const ingestRate = measure('tallyd parsePacket → Aggregator', ingest.run);
  const base = measure('original-style baseline', () => runBaseline(packets, keep));
  const heapAfter = process.memoryUsage().heapUsed;

  console.log(`ratio tallyd / baseline:            ${(tallyd / base).toFixed(2)}x`);
  console.log(`ratio tallyd + key hash / baseline: ${(tallydHash / base).toFixed(2)}x`);
  console.log(`ingest (parse + aggregate, integer timers): ${(1e9 / ingestRate).toFixed(1)} ns per line`);
  console.log(
    `memory: heapUsed ${(heapAfter / 1048576).toFixed(1)} MiB (delta ${((heapAfter - heapBefore) / 1048576).toFixed(1)} MiB), ` +
      `rss ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB`,
  );
  // Keep results alive.
  console.log(
    `checks: samples=${counting.samples} bad=${counting.bad} total=${counting.total} hash=${hashing.hash} ` +
      `baselineTotal=${keep.total} baselineKeyChars=${keep.keys} ingestLines=${ingest.agg.linesReceived}`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
