/** Shared by the Prometheus integration tests: find the backend's port, fetch /metrics, parse samples. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningDaemon } from './harness.js';
import { freePort, waitFor, waitForAsync } from './harness.js';

export { freePort } from './harness.js';

/** The port from the backend's 'prometheus: serving …' log line. */
export async function prometheusPort(d: RunningDaemon): Promise<number> {
  return waitFor(
    () => {
      for (const l of d.stderr) {
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as { msg?: string; port?: number };
        if (typeof j.msg === 'string' && j.msg.startsWith('prometheus: serving') && typeof j.port === 'number') return j.port;
      }
      return undefined;
    },
    10_000,
    'the prometheus backend to listen',
  );
}

export function httpGet(port: number, path: string, host = '127.0.0.1'): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: String(res.headers['content-type']) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** Sample lines as `name{labels}` → value. */
export function parseSamples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

/**
 * Scrapes `path` (every 100 ms) until a 200 answer's samples satisfy `pred`; the error names `what`
 * and shows the last answer.
 */
export async function scrapeUntil(
  port: number,
  pred: (s: Map<string, string>) => boolean,
  what: string,
  path = '/metrics',
  timeoutMs = 15_000,
): Promise<{ body: string; s: Map<string, string> }> {
  let last = { status: 0, body: '' };
  return waitForAsync(
    async () => {
      last = await httpGet(port, path).catch(() => ({ status: 0, body: '', contentType: '' }));
      const s = parseSamples(last.body);
      return last.status === 200 && pred(s) ? { body: last.body, s } : undefined;
    },
    timeoutMs,
    what,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last ${path} (${last.status}):\n${last.body.slice(0, 3000)}`);
  });
}

/** One result of Prometheus' query API. */
export interface PromResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** A real Prometheus scraping one tallyd target every `scrape` (e.g. '1s'); the caller stops `proc`. */
export async function startPrometheus(
  target: number,
  scrape: string,
): Promise<{ proc: ChildProcess; log: string[]; query: <T = PromResult>(q: string) => Promise<T[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tallyd-prom-'));
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: ${scrape}, evaluation_interval: 1s }
scrape_configs:
  - job_name: tallyd
    scrape_interval: ${scrape}
    scrape_timeout: ${scrape}
    static_configs: [ { targets: ['127.0.0.1:${target}'] } ]
`,
  );
  const log: string[] = [];
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (c: Buffer) => log.push(c.toString()));
  proc.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  const query = async <T = PromResult>(q: string): Promise<T[]> => {
    const r = await httpGet(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => ({ status: 0, body: '' }));
    if (r.status !== 200) return [];
    return (JSON.parse(r.body) as { data: { result: T[] } }).data.result;
  };
  return { proc, log, query };
}
