/**
 * One delivery to Graphite: connect, write the flush's chunks as they are formatted, half-close. One
 * TCP connection per flush, as the original (carbon handles short connections well, and a fresh
 * connection never inherits a half-dead one). Every phase is bounded: `timeoutMs` of inactivity
 * (connecting, or a peer that stops reading so the kernel buffers fill) destroys the socket and
 * rejects; waiting for the formatter does not count as inactivity.
 *
 * Success means every byte was handed to the kernel and the FIN queued after it ('finish'); TCP
 * cannot say more. On a failure the flush is rewound to its replay tail (the last written MiBs, see
 * outgoing.ts), so a retry may repeat lines Graphite already got: they carry their original
 * timestamps, so Graphite simply stores the same point again.
 */
import { createConnection } from 'node:net';
import { OutgoingFlush } from './outgoing.js';

export class GraphiteTimeoutError extends Error {
  readonly code = 'TALLYD_GRAPHITE_TIMEOUT';
  constructor(phase: 'connect' | 'write', timeoutMs: number) {
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

/** Sends one flush somewhere; resolves with the ms spent writing, rejects on any failure. */
export type SendFn = (flush: OutgoingFlush, signal: AbortSignal) => Promise<number>;

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/**
 * Delivers one flush over a new TCP connection, writing its chunks as the formatter appends them
 * (socket backpressure respected). A Buffer is sent as a complete flush. On failure the flush is
 * rewound (see OutgoingFlush.rewind) so that a retry resends what may not have reached Graphite.
 */
export function sendTcp(target: TcpTarget, payload: OutgoingFlush | Buffer, signal?: AbortSignal): Promise<number> {
  const flush = Buffer.isBuffer(payload) ? OutgoingFlush.of(payload, 0, 0) : payload;
  return new Promise<number>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new GraphiteAbortError());
      return;
    }
    let settled = false;
    let connected = false;
    let ending = false;
    let waiting = false;
    let writeStart = 0;
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
    // Errors after success (a reset while closing) are of no interest, but must be listened to.
    sock.on('error', (err) => fail(err));
    const onTimeout = (): void => {
      if (settled) sock.destroy(); // delivered, but the peer never closed its side
      else fail(new GraphiteTimeoutError(connected ? 'write' : 'connect', target.timeoutMs));
    };
    sock.setTimeout(target.timeoutMs, onTimeout);
    const pump = (): void => {
      waiting = false;
      while (!settled && !ending && !sock.writableNeedDrain) {
        const c = flush.nextChunk();
        if (c === null) {
          if (flush.drained) {
            ending = true;
            sock.setTimeout(target.timeoutMs);
            sock.end((err?: Error | null) => {
              if (err) return fail(err);
              if (settled) return;
              settled = true;
              signal?.removeEventListener('abort', onAbort);
              resolve(Math.round(performance.now() - writeStart));
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
      writeStart = performance.now();
      pump();
    });
    // Graphite sends nothing; discard anything so the close handshake can complete.
    sock.resume();
  });
}
