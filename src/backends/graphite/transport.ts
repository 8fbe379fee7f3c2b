/**
 * One delivery to Graphite: connect, write the payload, half-close. One TCP connection per flush,
 * as the original (carbon handles short connections well, and a fresh connection never inherits a
 * half-dead one). Every phase is bounded: `timeoutMs` of inactivity (connecting, or a peer that
 * stops reading so the kernel buffers fill) destroys the socket and rejects.
 *
 * Success means the payload was handed to the kernel and the FIN queued after it ('finish');
 * TCP cannot say more. A replay after a timeout may therefore repeat lines Graphite already got:
 * they carry their original timestamps, so Graphite simply stores the same point again.
 */
import { createConnection } from 'node:net';

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

/** Sends bytes somewhere; resolves with the ms spent writing, rejects on any failure. */
export type SendFn = (payload: Buffer, signal: AbortSignal) => Promise<number>;

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/** Delivers one payload over a new TCP connection. */
export function sendTcp(target: TcpTarget, payload: Buffer, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new GraphiteAbortError());
      return;
    }
    let settled = false;
    let connected = false;
    let writeStart = 0;
    const sock = createConnection({ host: target.host, port: target.port });
    const onAbort = (): void => fail(new GraphiteAbortError());
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      reject(err);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Errors after success (a reset while closing) are of no interest, but must be listened to.
    sock.on('error', (err) => fail(err));
    sock.setTimeout(target.timeoutMs, () => {
      if (settled) sock.destroy(); // delivered, but the peer never closed its side
      else fail(new GraphiteTimeoutError(connected ? 'write' : 'connect', target.timeoutMs));
    });
    sock.once('connect', () => {
      connected = true;
      writeStart = performance.now();
      sock.end(payload, (err?: Error | null) => {
        if (err) return fail(err);
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(Math.round(performance.now() - writeStart));
      });
    });
    // Graphite sends nothing; discard anything so the close handshake can complete.
    sock.resume();
  });
}
