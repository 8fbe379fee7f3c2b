/** Shared by the Prometheus integration tests: find the backend's port, fetch /metrics, parse samples. */
import http from 'node:http';
import net from 'node:net';
import type { RunningDaemon } from './harness.js';
import { waitFor, waitForAsync } from './harness.js';

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

/** A port that was free a moment ago (for servers that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
