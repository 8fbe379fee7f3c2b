/**
 * One connection to Graphite: connect, write a flush's chunks as they are formatted (up to a byte
 * limit: one "piece"), half-close, then wait for Graphite to close its side. Every phase is bounded:
 * `timeoutMs` of inactivity (connecting, a peer that stops reading so the kernel buffers fill, or one
 * that does not close after reading) destroys the socket and rejects; waiting for the formatter does
 * not count as inactivity.
 *
 * Success is the peer's orderly close after our end of stream: a plaintext receiver (carbon-cache,
 * carbon-c-relay, go-carbon, …) closes its side once it has read to the end, so it has read every
 * byte. Bytes merely handed to the local kernel prove nothing: a peer that resets, dies or stalls with
 * them unread would lose them silently. A reset, an early close, an error or a timeout rejects, and the
 * flush is rewound (see OutgoingFlush.rewind) so that a retry resends everything that connection
 * carried; lines Graphite may already have carry their original timestamps, so it stores the same
 * point again. Nothing here knows what the bytes mean: any record-framed payload can be sent.
 */
import { createConnection } from 'node:net';
import { OutgoingFlush } from './outgoing.js';

export class GraphiteTimeoutError extends Error {
  readonly code = 'TALLYD_GRAPHITE_TIMEOUT';
  constructor(phase: 'connect' | 'write' | 'close', timeoutMs: number) {
    super(`graphite ${phase} timed out after ${timeoutMs} ms`);
    this.name = 'GraphiteTimeoutError';
  }
}

export class GraphiteAbortError extends Error {
  readonly code = 'TALLYD_GRAPHITE_ABORTED';
  constructor() {
    super('graphite delivery aborted');
    this.name = 'GraphiteAbortError';
  }
}

export class GraphiteEarlyCloseError extends Error {
  readonly code = 'TALLYD_GRAPHITE_EARLY_CLOSE';
  constructor() {
    super('graphite closed the connection before the end of the flush');
    this.name = 'GraphiteEarlyCloseError';
  }
}

/**
 * Sends the next piece of a flush (at most `limit` bytes, whole records) over one connection; resolves
 * with the ms it took once the peer confirmed it, rejects on any failure (the flush is rewound).
 */
export type SendFn = (flush: OutgoingFlush, signal: AbortSignal, limit: number) => Promise<number>;

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/**
 * Delivers the next piece of a flush (at most `limit` bytes) over a new TCP connection, writing its
 * chunks as the formatter appends them (socket backpressure respected), and resolves once the peer has
 * closed its side after our end of stream. A Buffer is sent as a complete flush. On failure the flush
 * is rewound (see OutgoingFlush.rewind) so that a retry resends what may not have reached Graphite.
 */
export function sendTcp(target: TcpTarget, payload: OutgoingFlush | Buffer, signal?: AbortSignal, limit = Infinity): Promise<number> {
  const flush = Buffer.isBuffer(payload) ? OutgoingFlush.of(payload, 0, 0) : payload;
  return new Promise<number>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new GraphiteAbortError());
      return;
    }
    let settled = false;
    let connected = false;
    let ending = false;
    let peerEnded = false;
    let waiting = false;
    const start = performance.now();
    /** Chunks written to the socket whose callback has not come yet (in order). */
    const taken: Buffer[] = [];
    const sock = createConnection({ host: target.host, port: target.port });
    const onAbort = (): void => fail(new GraphiteAbortError());
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      flush.rewind(taken);
      taken.length = 0;
      reject(err);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) => fail(err));
    sock.setTimeout(target.timeoutMs, () =>
      fail(new GraphiteTimeoutError(ending ? 'close' : connected ? 'write' : 'connect', target.timeoutMs)),
    );
    // The peer's end of stream: after ours, the confirmation; before it, the peer gave up reading.
    sock.on('end', () => {
      if (!ending) fail(new GraphiteEarlyCloseError());
      else peerEnded = true;
    });
    sock.on('close', () => {
      if (settled) return;
      if (!peerEnded) {
        fail(new GraphiteEarlyCloseError());
        return;
      }
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const c of taken) flush.wrote(c); // (their callbacks come before the peer's close in practice)
      taken.length = 0;
      resolve(Math.round(performance.now() - start));
    });
    const pump = (): void => {
      waiting = false;
      while (!settled && !ending && !sock.writableNeedDrain) {
        const c = flush.nextChunk(limit);
        if (c === null) {
          if (flush.drained || flush.pieceFull) {
            ending = true;
            sock.setTimeout(target.timeoutMs);
            sock.end((err?: Error | null) => {
              if (err) fail(err);
            });
          } else if (!waiting) {
            // waiting for the formatter: an idle socket is not a stalled peer
            if (taken.length === 0) sock.setTimeout(0);
            waiting = true;
            void flush.whenData().then(pump);
          }
          return;
        }
        sock.setTimeout(target.timeoutMs);
        taken.push(c);
        sock.write(c, (err?: Error | null) => {
          if (err || settled) return;
          taken.shift();
          flush.wrote(c);
        });
      }
    };
    sock.on('drain', pump);
    sock.once('connect', () => {
      connected = true;
      pump();
    });
    // Graphite sends nothing; discard anything so the close handshake can complete.
    sock.resume();
  });
}
