/**
 * Timer figures past the reservoir (issue 10), black-box: 200,000 log-normal values of one timer in
 * one interval over UDP, read from what a TCP Graphite listener receives, against the original's
 * figures computed here on the exact values sent. Once in one process and once through two workers.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/aggregator/reservoir.js';
import {
  type FakeGraphite,
  originalStyleConfig,
  pace,
  type RunningDaemon,
  startDaemon,
  useGraphiteAndDaemon,
  waitFor,
  waitForAsync,
} from './harness.js';
import { httpGet, parseSamples, prometheusPort } from './prometheus-helpers.js';

const env = useGraphiteAndDaemon();
const THRESHOLDS = [50, 90, 95, 99, 99.9, -10];
const N = 200_000;
const LINES_PER_PACKET = 100;
const FLUSH_MS = 4000;

/** N log-normal latencies (σ 0.8) as a client sends them: ms with 3 decimals. */
function latencies(seed: number): { text: string[]; values: Float64Array } {
  const random = seededRandom(seed);
  const values = new Float64Array(N);
  const text: string[] = [];
  for (let i = 0; i < N; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const s = Math.exp(3 + 0.8 * z).toFixed(3);
    values[i] = Number(s);
    text.push(s);
  }
  return { text, values };
}

/** The original's figures (lib/process_metrics.js) from every value, with Graphite's names. */
function original(values: Float64Array): Map<string, number> {
  const v = values.slice().sort();
  const n = v.length;
  const mid = Math.floor(n / 2);
  const out = new Map<string, number>([
    ['median', n % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2],
    ['count', n],
    ['lower', v[0]!],
    ['upper', v[n - 1]!],
  ]);
  let total = 0;
  for (const x of v) total += x;
  out.set('sum', total);
  out.set('mean', total / n);
  for (const p of THRESHOLDS) {
    const num = Math.round((Math.abs(p) / 100) * n);
    const suffix = String(p).replace('.', '_').replace('-', 'top');
    let sum = 0;
    let sq = 0;
    const from = p > 0 ? 0 : n - num;
    for (let i = from; i < from + num; i++) {
      sum += v[i]!;
      sq += v[i]! * v[i]!;
    }
    out.set(`count_${suffix}`, num);
    out.set(`${p > 0 ? 'upper' : 'lower'}_${suffix}`, p > 0 ? v[num - 1]! : v[n - num]!);
    out.set(`sum_${suffix}`, sum);
    out.set(`mean_${suffix}`, sum / num);
    out.set(`sum_squares_${suffix}`, sq);
  }
  return out;
}

/**
 * Sends the values as `key` right after a flush, paced so that nothing is dropped; returns false
 * when the sending took so long that the values may straddle two flushes.
 */
async function sendAfterFlush(d: RunningDaemon, g: FakeGraphite, key: string, text: string[]): Promise<boolean> {
  const flushes = g.byTimestamp().size;
  await waitFor(() => g.byTimestamp().size > flushes, FLUSH_MS * 3, 'a flush');
  const started = Date.now();
  for (let i = 0; i < text.length; i += LINES_PER_PACKET) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(text.length, i + LINES_PER_PACKET); j++) lines.push(`${key}:${text[j]}|ms`);
    await d.send(lines.join('\n'));
    if ((i / LINES_PER_PACKET) % 10 === 9) await pace(2);
  }
  return Date.now() - started < FLUSH_MS / 2;
}

async function check(workers: number): Promise<void> {
  const extra = `, flushInterval: ${FLUSH_MS}, percentThreshold: [${THRESHOLDS.join(', ')}]` + (workers > 1 ? `, workers: ${workers}` : '');
  env.daemon = await startDaemon(originalStyleConfig(env.graphite.port, extra));
  const { text, values } = latencies(workers);
  const want = original(values);
  // (on a loaded machine the sending can straddle a flush: then again with another key)
  for (let attempt = 1; attempt <= 3; attempt++) {
    const key = `lat${attempt}`;
    const inTime = await sendAfterFlush(env.daemon, env.graphite, key, text);
    const flush = await waitFor(
      () => {
        for (const f of env.graphite.byTimestamp().values()) {
          const c = f.get(`stats.timers.${key}.count`);
          if (c !== undefined && c > 0) return f;
        }
        return undefined;
      },
      FLUSH_MS * 3,
      `a flush with ${key}`,
    );
    const count = flush.get(`stats.timers.${key}.count`)!;
    if (count !== N && !inTime) continue;
    expect(count, 'every value arrived, in one flush').toBe(N);
    for (const [field, w] of want) {
      const got = flush.get(`stats.timers.${key}.${field}`);
      expect(got, field).toBeDefined();
      const bound = field.startsWith('sum_squares_')
        ? 0.02
        : /^(count|lower|upper)/.test(field) && !field.startsWith('lower_') && !field.startsWith('upper_')
          ? 0
          : field === 'sum' || field === 'mean'
            ? 1e-9
            : 0.01;
      expect(Math.abs(got! - w) / w, `${field}: ${got} vs ${w}`).toBeLessThanOrEqual(bound);
    }
    return;
  }
  throw new Error('the values straddled a flush three times');
}

describe('timer past its reservoir, over UDP', () => {
  it("200,000 log-normal values in one interval: figures within 1 % of the original's", async () => {
    await check(1);
  }, 90_000);

  it('the same through two workers', async () => {
    await check(2);
  }, 90_000);
});

describe('Prometheus histogram buckets of a timer past its reservoir, over UDP', () => {
  it.each([1, 2])(
    'are exact: counted at ingest (integer ms, ties at the bounds), workers: %i',
    async (workers) => {
      const bounds = [0.005, 0.01, 0.02, 0.025, 0.05];
      env.daemon = await startDaemon(`{
  port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500, reservoirSize: 64, workers: ${workers},
  backends: [ './backends/prometheus' ],
  prometheus: { port: 0, observerType: 'histogram', buckets: [${bounds.join(', ')}] }
}`);
      const port = await prometheusPort(env.daemon);
      const random = seededRandom(21);
      const ints: number[] = [];
      for (let p = 0; p < 100; p++) {
        const lines: string[] = [];
        for (let i = 0; i < 100; i++) {
          const v = Math.round(Math.exp(2.5 + 0.8 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
          ints.push(v);
          lines.push(`ints:${v}|ms`);
        }
        await env.daemon.send(lines.join('\n'));
        if (p % 10 === 9) await pace(2);
      }
      // (the buckets are cumulative: however the values fell into flushes, the totals are exact)
      let s = new Map<string, string>();
      await waitForAsync(
        async () => (s = parseSamples((await httpGet(port, '/metrics')).body)).get('ints_count') === String(ints.length),
        15_000,
        `ints_count to reach ${ints.length}`,
      );
      for (const le of bounds) {
        expect(Number(s.get(`ints_bucket{le="${le}"}`)), String(le)).toBe(ints.filter((v) => v / 1000 <= le).length);
      }
      expect(s.get('ints_bucket{le="+Inf"}')).toBe(String(ints.length));
    },
    60_000,
  );
});
