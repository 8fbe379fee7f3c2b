/**
 * Health checks as the original proxy.js does them: connect to each node's admin port, send
 * `health\r\n`, and the node is healthy when the answer contains 'up'. No answer within
 * checkInterval, a refused connection or any error is a failure. Rounds run at wall-clock multiples
 * of checkInterval, so proxies over the same nodes check at the same instants and reach the same
 * ring (the original runs them every checkInterval from its own start).
 */
import net from 'node:net';
import type { ProxyNode } from './config.js';
import type { FailReason } from './ring.js';

export type CheckResult = { ok: true } | { ok: false; reason: FailReason; detail: string };

/** One health check of one node. Never rejects. */
export function checkNode(node: ProxyNode, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    let answer = '';
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const socket = net.connect({ port: node.adminport, host: node.host }, () => socket.write('health\r\n'));
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout', detail: `no answer in ${timeoutMs} ms` }), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      answer += data;
      if (answer.indexOf('\n') < 0 && answer.length < 64) return;
      // the original: an answer without 'up' is a failure
      finish(answer.indexOf('up') < 0 ? { ok: false, reason: 'down', detail: answer.trim() } : { ok: true });
    });
    socket.on('end', () => {
      if (answer !== '') finish(answer.indexOf('up') < 0 ? { ok: false, reason: 'down', detail: answer.trim() } : { ok: true });
      else finish({ ok: false, reason: 'error', detail: 'closed without an answer' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish({ ok: false, reason: err.code === 'ECONNREFUSED' ? 'refused' : 'error', detail: err.code ?? err.message });
    });
  });
}

/** ms until the next wall-clock multiple of `intervalMs` after `nowMs`. */
export function delayToNextMultiple(nowMs: number, intervalMs: number): number {
  return intervalMs - (nowMs % intervalMs);
}

/** Runs a round of checks now and then at every wall-clock multiple of intervalMs. */
export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly nodes: readonly ProxyNode[],
    private readonly intervalMs: number,
    private readonly onResult: (node: ProxyNode, result: CheckResult) => void,
  ) {}

  /** Resolves when the first round is in. */
  async start(): Promise<void> {
    await this.round();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.round();
        this.schedule();
      },
      delayToNextMultiple(Date.now(), this.intervalMs),
    );
  }

  private async round(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const r = await checkNode(node, this.intervalMs);
        if (!this.stopped) this.onResult(node, r);
      }),
    );
  }
}
