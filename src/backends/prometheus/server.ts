/**
 * The HTTP side: GET/HEAD `path` (default /metrics) serves the exposition, /health answers 200 while
 * the admin health is up and 503 once it is set down; anything else is 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { listenError } from '../../errors.js';
import { CONTENT_TYPE } from './exposition.js';

export interface MetricsServerOptions {
  readonly address: string;
  readonly port: number;
  readonly path: string;
  /** The user series (cached between flushes, in chunks) and the self metrics, in this order. */
  body(): Promise<readonly (Buffer | string)[]>;
  health(): 'up' | 'down';
  readonly log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  readonly address: string;
  readonly url: string;
  /** Serve the metrics at another path from now on (no rebind). */
  setPath(path: string): void;
  close(): Promise<void>;
}

/** Write the chunks in order, waiting for 'drain' whenever the socket's buffer is full, then end. */
function writeParts(res: http.ServerResponse, parts: readonly (Buffer | string)[]): void {
  let i = 0;
  const pump = (): void => {
    while (i < parts.length) {
      if (!res.write(parts[i++]!)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.once('close', () => {
    i = parts.length; // the client went away: stop
    res.off('drain', pump);
  });
  pump();
}

export function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  let metricsPath = opts.path;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === metricsPath) {
      opts.body().then(
        (parts) => {
          let len = 0;
          for (const p of parts) len += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
          res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': len });
          if (req.method === 'HEAD') {
            res.end();
            return;
          }
          writeParts(res, parts);
        },
        (err: unknown) => {
          opts.log.error({ err }, 'cannot render /metrics');
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('error rendering metrics\n');
        },
      );
      return;
    }
    if (path === '/health') {
      const up = opts.health() === 'up';
      res.writeHead(up ? 200 : 503, { 'Content-Type': 'text/plain' }).end(up ? 'up\n' : 'down\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found; metrics are at ${metricsPath}\n`);
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  return new Promise((resolve, reject) => {
    const onListenError = (err: Error): void => reject(listenError('prometheus metrics server', opts.address, opts.port, err));
    server.once('error', onListenError);
    server.listen(opts.port, opts.address, () => {
      server.off('error', onListenError);
      server.on('error', (err) => opts.log.error({ err }, 'metrics server error'));
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        port: addr.port,
        address: addr.address,
        get url() {
          return `http://${host}:${addr.port}${metricsPath}`;
        },
        setPath: (p) => {
          metricsPath = p;
        },
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}
