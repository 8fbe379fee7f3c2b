/**
 * Prometheus backend benchmarks, at 100k live series.
 *
 *   npm run build && node dist/bench/prometheus.bench.js [--skip-daemon] [--only-scrape]
 *
 * (a) render: fold a 100k-series snapshot (70k tagged counters, 20k gauges, 10k timers as
 *     summaries) into the store and write the exposition, vs the same series in a prom-client
 *     Registry (labelled Counter/Gauge/Summary, `registry.metrics()`): the baseline that decides
 *     whether writing our own exposition was worth it.
 * (b) scrape: the backend's HTTP server with those series, a flush every second (so the text is
 *     re-rendered each second), hammered by autocannon for 10 s: requests/s and p99 latency.
 * (c) ingest under scraping: the built daemon (dist/src/main.js) with 100k live series, UDP sent at
 *     a fixed rate for 10 s, once without scrapes and once with a scrape every second; loss is
 *     1 − lines counted by the daemon / lines sent (tallyd_lines_received_total).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import { CounterColumns, type CounterStat, type GaugeStat, type Snapshot, type TimerStat } from '../src/aggregator/snapshot.js';
import { renderExposition } from '../src/backends/prometheus/exposition.js';
import { createPrometheusBackend, prometheusSection } from '../src/backends/prometheus/index.js';
import { DEFAULT_BUCKETS, DEFAULT_QUANTILES, SeriesStore } from '../src/backends/prometheus/series.js';
import type { BackendContext } from '../src/backends/types.js';
import type { TallydConfig } from '../src/config/types.js';
import type { MetricKey, Tag } from '../src/parser/types.js';
import { nextTurn } from '../src/pipeline/scheduler.js';

let sink = 0;

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  errors: number;
  non2xx: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  workers?: number;
}) => Promise<AutocannonResult>;
const N_COUNTERS = 70_000;
const N_GAUGES = 20_000;
const N_TIMERS = 10_000;

function key(name: string, tags: Tag[]): MetricKey {
  const graphiteTags = tags.map(([k, v]) => `;${k}=${v}`).join('');
  return { name, tags, graphiteTags, id: name + graphiteTags };
}

function buildSnapshot(round: number): Snapshot {
  const counters: CounterStat[] = [];
  const gauges: GaugeStat[] = [];
  const timers: TimerStat[] = [];
  for (let i = 0; i < N_COUNTERS; i++) {
    counters.push({
      key: key(`app.requests.c${i % 7000}`, [
        ['host', `h${i % 10}`],
        ['route', `/r${Math.floor(i / 7000)}`],
      ]),
      count: 1 + (i % 5),
      rate: 1,
    });
  }
  for (let i = 0; i < N_GAUGES; i++) gauges.push({ key: key(`app.queue.g${i}`, []), value: (i * 7 + round) % 1000, updated: true });
  for (let i = 0; i < N_TIMERS; i++) {
    const samples = Float64Array.from({ length: 10 }, (_, j) => j * 10 + (i % 10));
    timers.push({
      key: key(`app.latency.t${i}`, [['svc', `s${i % 20}`]]),
      n: 10,
      count: 10,
      countPs: 10,
      lower: samples[0]!,
      upper: samples[9]!,
      sum: samples.reduce((a, b) => a + b, 0),
      sumSquares: 0,
      mean: 0,
      median: 0,
      std: 0,
      percentiles: [],
      histogram: null,
      samples,
      exact: true,
    });
  }
  return {
    timestamp: 1_700_000_000 + round,
    intervalMs: 1000,
    counters: CounterColumns.from(counters, 1000),
    timers,
    gauges,
    sets: [],
    internal: { processingTimeMs: 0, liveCounters: N_COUNTERS, liveTimers: N_TIMERS, liveGauges: N_GAUGES, liveSets: 0 },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(n: number, d = 1): string {
  return n.toFixed(d).padStart(9);
}

async function benchRender(): Promise<void> {
  console.log('(a) render 100k series (70k counters, 20k gauges, 10k summaries): median of 5');
  const snaps = [buildSnapshot(0), buildSnapshot(1)];
  const store = new SeriesStore({
    quantiles: DEFAULT_QUANTILES,
    buckets: DEFAULT_BUCKETS,
    observerType: 'summary',
    ttlMs: 3_600_000,
    mapper: null,
  });
  store.apply(snaps[0]!, 0); // first sight: resolve every key
  const applyMs: number[] = [];
  const renderMs: number[] = [];
  let bytes = 0;
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    store.apply(snaps[r % 2]!, (r + 1) * 1000);
    applyMs.push(performance.now() - t);
    t = performance.now();
    const rendered = renderExposition(store.families, store.gen);
    renderMs.push(performance.now() - t);
    bytes = rendered.bytes;
    sink += rendered.chunks.length;
  }
  // The same over a budget of half the text: exact sizes, the largest series left out, then written.
  const budgetMs: number[] = [];
  let kept = 0;
  for (let r = 0; r < 5; r++) {
    store.apply(snaps[r % 2]!, (r + 6) * 1000);
    const t = performance.now();
    const rendered = renderExposition(store.families, store.gen, Math.floor(bytes / 2));
    budgetMs.push(performance.now() - t);
    kept = rendered.series;
    sink += rendered.bytes;
  }

  // Baseline: prom-client, one labelled metric per family, values set per flush.
  const reg = new Registry();
  const families = new Map<string, Counter<string> | Gauge<string> | Summary<string>>();
  const snap = snaps[0]!;
  const promApply = (s: Snapshot): void => {
    for (const c of s.counters) {
      const name = c.key.name.replace(/[^a-zA-Z0-9_]/g, '_');
      let m = families.get(name) as Counter<string> | undefined;
      if (!m) families.set(name, (m = new Counter({ name, help: 'h', labelNames: ['host', 'route'], registers: [reg] })));
      m.inc({ host: c.key.tags[0]![1], route: c.key.tags[1]![1] }, c.count);
    }
    for (const g of s.gauges) {
      const name = g.key.name.replace(/[^a-zA-Z0-9_]/g, '_');
      let m = families.get(name) as Gauge<string> | undefined;
      if (!m) families.set(name, (m = new Gauge({ name, help: 'h', registers: [reg] })));
      m.set(g.value);
    }
    for (const t of s.timers) {
      const name = t.key.name.replace(/[^a-zA-Z0-9_]/g, '_');
      let m = families.get(name) as Summary<string> | undefined;
      if (!m)
        families.set(name, (m = new Summary({ name, help: 'h', labelNames: ['svc'], percentiles: [0.5, 0.9, 0.99], registers: [reg] })));
      for (const v of t.samples) m.observe({ svc: t.key.tags[0]![1] }, v / 1000);
    }
  };
  promApply(snap);
  const pcApply: number[] = [];
  const pcRender: number[] = [];
  let pcBytes = 0;
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    promApply(snaps[r % 2]!);
    pcApply.push(performance.now() - t);
    t = performance.now();
    const text = await reg.metrics();
    pcRender.push(performance.now() - t);
    pcBytes = Buffer.byteLength(text);
    sink += text.length;
  }
  console.log('                          apply ms   render ms     bytes');
  console.log(`  tallyd store+writer ${fmt(median(applyMs))} ${fmt(median(renderMs))} ${String(bytes).padStart(10)}`);
  console.log(`  prom-client registry${fmt(median(pcApply))} ${fmt(median(pcRender))} ${String(pcBytes).padStart(10)}`);
  console.log(`  tallyd, budget = half the text: render ${median(budgetMs).toFixed(1)} ms, ${kept} of 100000 series kept`);
  console.log(`  heap used after both: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

function ctxFor(prometheus: Record<string, unknown>): BackendContext {
  return {
    config: { prefixStats: 'statsd', prometheus: prometheusSection(prometheus), raw: { prometheus } } as unknown as TallydConfig,
    log: pino({ level: 'silent' }),
    startupTime: 0,
    yieldToIngest: nextTurn,
    health: () => 'up',
    selfStats: () => ({
      packetsReceived: 0,
      linesReceived: 0,
      badLinesByReason: {},
      lastFlushDurationMs: 0,
      flushes: 0,
      liveKeys: { counters: 0, timers: 0, gauges: 0, sets: 0 },
      udpReceiveErrors: null,
      keysDropped: 0,
      setMembersDropped: 0,
      keyTableBytes: 0,
    }),
  };
}

async function benchScrape(): Promise<void> {
  console.log(
    '\n(b) scrape /metrics with 100k series, a flush (re-render) every second; autocannon 10 s, 4 connections in 2 worker threads',
  );
  const backend = createPrometheusBackend(ctxFor({ port: 0 }));
  await backend.start();
  const snaps = [buildSnapshot(0), buildSnapshot(1)];
  let round = 0;
  await backend.flush(snaps[0]!);
  const timer = setInterval(() => void backend.flush(snaps[++round % 2]!), 1000);
  const result = await autocannon({ url: `http://127.0.0.1:${backend.port}/metrics`, connections: 4, duration: 10, workers: 2 });
  clearInterval(timer);
  await backend.stop();
  console.log(
    `  requests/s ${result.requests.average.toFixed(1)}, latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
      `throughput ${(result.throughput.average / 2 ** 20).toFixed(1)} MiB/s, errors ${result.errors + result.non2xx}`,
  );
  sink += result.requests.total;
}

async function scrapeText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
}

function sampleValue(text: string, name: string): number {
  const i = text.indexOf('\n' + name + ' ');
  if (i < 0) return NaN;
  return Number(text.slice(i + name.length + 2, text.indexOf('\n', i + 1)));
}

async function benchIngest(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const main = join(here, '..', 'src', 'main.js');
  console.log('\n(c) UDP ingest while scraping (built daemon, 100k live series, 10 s at ~100k lines/s)');
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-prom-bench-'));
  const cfg = join(dir, 'config.js');
  writeFileSync(
    cfg,
    `{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000, backends: ['prometheus'], prometheus: { port: 0 } }`,
  );
  const proc = spawn(process.execPath, [main, cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let udpPort = 0;
  let promPort = 0;
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const to = setTimeout(() => reject(new Error('daemon did not start')), 15_000);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{')) continue;
        const j = JSON.parse(line) as { msg?: string; port?: number; listeners?: string[] };
        if (j.msg?.startsWith('prometheus: serving')) promPort = j.port!;
        if (j.msg === 'tallyd is up') {
          const u = j.listeners!.find((l) => l.startsWith('udp '))!;
          udpPort = Number(u.slice(u.lastIndexOf(':') + 1));
        }
      }
      if (udpPort && promPort) {
        clearTimeout(to);
        resolve();
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  const sock = dgram.createSocket('udp4');
  const send = (b: Buffer): Promise<void> => new Promise((res) => sock.send(b, udpPort, '127.0.0.1', () => res()));
  // 100k live series: 100k distinct counters, 50 lines per packet
  for (let i = 0; i < 100_000; i += 50) {
    let p = '';
    for (let j = i; j < i + 50; j++) p += `bench.series.k${j}:1|c|#shard:s${j % 16}\n`;
    await send(Buffer.from(p));
  }
  await new Promise((r) => setTimeout(r, 2500));

  const run = async (scrape: boolean): Promise<void> => {
    const before = sampleValue(await scrapeText(promPort), 'tallyd_lines_received_total');
    const packet = Buffer.from(Array.from({ length: 25 }, (_, j) => `bench.load.k${j}:1|c`).join('\n'));
    const perTick = 40; // packets per 10 ms → 4,000 packets/s × 25 lines = 100k lines/s
    let sent = 0;
    const scrapeMs: number[] = [];
    const scraper = scrape
      ? setInterval(() => {
          const t = performance.now();
          void scrapeText(promPort).then((txt) => {
            scrapeMs.push(performance.now() - t);
            sink += txt.length;
          });
        }, 1000)
      : null;
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const tick = Date.now();
      for (let i = 0; i < perTick; i++) sock.send(packet, udpPort, '127.0.0.1');
      sent += perTick * 25;
      await new Promise((r) => setTimeout(r, Math.max(0, 10 - (Date.now() - tick))));
    }
    if (scraper) clearInterval(scraper);
    await new Promise((r) => setTimeout(r, 2500));
    const text = await scrapeText(promPort);
    const got = sampleValue(text, 'tallyd_lines_received_total') - before;
    const drops = sampleValue(text, 'tallyd_udp_receive_errors_total');
    console.log(
      `  ${scrape ? 'scrape every 1 s' : 'no scrapes      '}: sent ${sent}, counted ${got}, loss ${(100 * (1 - got / sent)).toFixed(2)}%` +
        `, kernel drops (cumulative) ${drops}${scrapeMs.length ? `, scrape ms median ${median(scrapeMs).toFixed(0)} max ${Math.max(...scrapeMs).toFixed(0)}` : ''}`,
    );
  };
  await run(false);
  await run(true);
  sock.close();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

async function main(): Promise<void> {
  if (!process.argv.includes('--only-scrape')) await benchRender();
  await benchScrape();
  if (!process.argv.includes('--skip-daemon')) await benchIngest();
  console.log(`\n(sink ${sink})`);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
