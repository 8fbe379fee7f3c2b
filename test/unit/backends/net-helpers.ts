/** Real sockets on 127.0.0.1 for the backend tests. */
import { createServer, type Server, type Socket } from 'node:net';

/** A TCP sink: records the bytes of every connection once the peer has closed it. */
export interface Sink {
  readonly port: number;
  readonly received: Buffer[];
  close(): Promise<void>;
}

export function startSink(port = 0, opts: { stall?: boolean } = {}): Promise<Sink> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: opts.stall === true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    if (opts.stall) return; // accepts, never reads
    const parts: Buffer[] = [];
    sock.on('data', (b: Buffer) => parts.push(b));
    sock.on('end', () => {
      received.push(Buffer.concat(parts));
      sock.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr !== null ? addr.port : port,
        received,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
