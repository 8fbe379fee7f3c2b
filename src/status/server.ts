/**
 * The status page's HTTP server (statusPage in the config; 127.0.0.1:8127 by default): the page, its
 * script and uPlot (served from the package, no CDN), the JSON API and /health. Read-only: there are no
 * write actions. On an address other than loopback a token is required (config validation enforces
 * it) for the JSON API, which holds the data; it is accepted as `Authorization: Bearer <token>` or
 * `?token=<token>` (the page passes on the one in its own address). The page, its scripts and /health
 * need none.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { listenError } from '../errors.js';
import type { StatusCollector, TypeName } from './collector.js';
import { PAGE_HTML, PAGE_SCRIPT } from './page.js';
import { stringifyKeyHistory, stringifyKeys, stringifyStatus } from './schema.js';
import { MAX_SEARCH_WAIT_MS } from './waits.js';

export interface StatusServerOptions {
  address: string;
  port: number;
  token: string | undefined;
  health(): 'up' | 'down';
}

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: Buffer;
}

let assets: Map<string, Asset> | null = null;

/** The static files, read once: the page, its script, and uPlot from node_modules. */
function loadAssets(): Map<string, Asset> {
  if (assets !== null) return assets;
  const req = createRequire(import.meta.url);
  const file = (p: string): Buffer => readFileSync(req.resolve(p));
  assets = new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: Buffer.from(PAGE_HTML) }],
    ['/assets/status.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(PAGE_SCRIPT) }],
    ['/assets/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: file('uplot/dist/uPlot.iife.min.js') }],
    ['/assets/uPlot.min.css', { type: 'text/css; charset=utf-8', body: file('uplot/dist/uPlot.min.css') }],
  ]);
  return assets;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A finite number query parameter, or null when absent or not a number. */
function numberParam(url: URL, name: string): number | null {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function tokenOk(req: IncomingMessage, url: URL, token: string): boolean {
  const auth = req.headers.authorization;
  const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function startStatusServer(collector: StatusCollector, o: StatusServerOptions, log: Logger): Promise<StatusServer> {
  const files = loadAssets();
  const send = (res: ServerResponse, code: number, type: string, body: string | Buffer): void => {
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const json = 'application/json; charset=utf-8';
  const server: Server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://status.invalid');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
        return;
      }
      if (url.pathname === '/health') {
        const up = o.health() === 'up';
        send(res, up ? 200 : 503, 'text/plain; charset=utf-8', up ? 'up\n' : 'down\n');
        return;
      }
      // the page and its scripts hold no data: served to anyone who can reach the port
      const asset = files.get(url.pathname);
      if (asset !== undefined) {
        send(res, 200, asset.type, asset.body);
        return;
      }
      if (o.token !== undefined && !tokenOk(req, url, o.token)) {
        send(res, 401, 'text/plain; charset=utf-8', 'a token is required: ?token=... or Authorization: Bearer ...\n');
        return;
      }
      if (url.pathname === '/api/status') {
        collector.markViewed();
        const since = numberParam(url, 'since');
        const body = collector.status(since ?? undefined);
        // the chart of the key the page watches comes with it (one request less)
        const wt = url.searchParams.get('watchType') as TypeName | null;
        const wid = url.searchParams.get('watchId');
        if (wt !== null && collector.names.typeOf(wt) >= 0 && wid !== null && wid !== '' && wid.length <= 10_000)
          body.watched = { type: wt, id: wid, ...collector.keyHistory(wt, wid) };
        send(res, 200, json, stringifyStatus(body));
        return;
      }
      if (url.pathname === '/api/keys') {
        collector.markViewed();
        const q = (url.searchParams.get('q') ?? '').slice(0, 1000);
        const answer = (): void => {
          collector.search(q).then(
            ({ keys, cursor }) => {
              if (!res.destroyed) send(res, 200, json, stringifyKeys({ q, cursor, keys }));
            },
            (err: unknown) => {
              log.warn({ err }, 'status page: search failed');
              if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
            },
          );
        };
        const after = numberParam(url, 'after');
        const wait = Math.min(MAX_SEARCH_WAIT_MS, numberParam(url, 'wait') ?? 0);
        if (after === null || wait <= 0 || q === '') {
          answer();
          return;
        }
        // the long poll: answered when a matching key is bound after the cursor, or when the wait ends
        const gone = new AbortController();
        res.once('close', () => gone.abort());
        collector.waits.wait(q, after, wait, gone.signal).then((stillThere) => {
          if (stillThere && !res.destroyed) answer();
        });
        return;
      }
      if (url.pathname === '/api/key') {
        collector.markViewed();
        const type = url.searchParams.get('type') as TypeName | null;
        const id = url.searchParams.get('id');
        if (type === null || collector.names.typeOf(type) < 0 || id === null || id === '' || id.length > 10_000) {
          send(res, 400, 'text/plain; charset=utf-8', 'expected ?type=counter|timer|gauge|set (or a registered type)&id=<key>\n');
          return;
        }
        send(res, 200, json, stringifyKeyHistory({ type, id, ...collector.keyHistory(type, id) }));
        return;
      }
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    } catch (err) {
      log.warn({ err }, 'status page: request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(listenError('status page', o.address, o.port, err));
    });
    server.listen(o.port, o.address, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.warn({ err }, 'status page: server error'));
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}
