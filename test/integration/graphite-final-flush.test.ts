/**
 * The final flush at a stop never collides with the previous one in whisper (issue 9, items 5 and 11),
 * with a real carbon-cache (1 s retention steps: two flushes stamped in the same second keep only one
 * value). tallyd flushes through a transparent TCP proxy that tells the test when a flush arrives; a
 * SIGTERM comes 0.1 s, 0.5 s and 3 s after it. The final point must carry its own timestamp (the end
 * of its interval: previous + flushInterval), every count must be in whisper, and its rate must be per
 * the time the partial interval covered.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Carbon, haveCarbon } from './carbon.js';
import { originalStyleConfig, startDaemon, sum, untilTime, waitFor } from './harness.js';

const available = haveCarbon();
if (!available && process.env.CI)
  throw new Error('carbon-cache/whisper-fetch missing: .ci/run must install graphite-carbon and python3-whisper');

const FLUSH_MS = 5000;

/** Forwards every connection to `target` (half-closes included) and notes when each flush's lines arrive. */
class FlushProxy {
  readonly arrivals: Array<{ at: number; lines: string[] }> = [];
  port = 0;
  private readonly server: net.Server;

  constructor(target: number) {
    this.server = net.createServer({ allowHalfOpen: true }, (c) => {
      const arrival = { at: 0, lines: [] as string[] };
      let pending = '';
      const up = net.createConnection({ port: target, host: '127.0.0.1', allowHalfOpen: true });
      c.on('data', (d: Buffer) => {
        if (arrival.at === 0) {
          arrival.at = Date.now();
          this.arrivals.push(arrival);
        }
        pending += d.toString('utf8');
        const nl = pending.lastIndexOf('\n');
        if (nl >= 0) {
          arrival.lines.push(...pending.slice(0, nl).split('\n'));
          pending = pending.slice(nl + 1);
        }
      });
      c.pipe(up);
      up.pipe(c);
      const kill = (): void => {
        c.destroy();
        up.destroy();
      };
      c.on('error', kill);
      up.on('error', kill);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe.skipIf(!available)('the final flush at a stop, with a real carbon-cache', () => {
  const carbon = new Carbon();

  beforeAll(async () => {
    await carbon.start();
  }, 60_000);

  afterAll(async () => {
    await carbon.stop();
  });

  const cases = [
    { delayMs: 100, workers: 1 },
    { delayMs: 500, workers: 1 },
    { delayMs: 3000, workers: 1 },
    { delayMs: 500, workers: 2 }, // the cluster primary's stop path
  ];
  for (const { delayMs, workers } of cases) {
    it.concurrent(`SIGTERM ${delayMs} ms after a flush (workers: ${workers}): its own timestamp, nothing lost, rate per the time covered`, async () => {
      const name = `final.d${delayMs}.w${workers}.c`;
      const proxy = new FlushProxy(carbon.linePort);
      await proxy.listen();
      const daemon = await startDaemon(originalStyleConfig(proxy.port, `, flushInterval: ${FLUSH_MS}, workers: ${workers}`));
      try {
        const before = 1000;
        const after = 7;
        // right after a first flush, so that the 1000 are all in the next one
        await waitFor(() => proxy.arrivals.length > 0, FLUSH_MS + 10_000, 'a first flush');
        for (let i = 0; i < before / 100; i++) await daemon.send(Array.from({ length: 100 }, () => `${name}:1|c`).join('\n'));
        // the flush that carries them, as it arrives
        const flush = await waitFor(
          () => proxy.arrivals.find((a) => a.lines.some((l) => l.startsWith(`stats_counts.${name} `))),
          FLUSH_MS + 10_000,
          `a flush carrying ${name}`,
        );
        const prevTs = Number(flush.lines.find((l) => l.startsWith(`stats_counts.${name} `))!.split(' ')[2]);
        await daemon.send(Array.from({ length: after }, () => `${name}:1|c`).join('\n'));
        await untilTime(flush.at + delayMs);
        const signalled = Date.now();
        daemon.proc.kill('SIGTERM');
        expect(await daemon.exited).toBe(0);
        const exitedAt = Date.now();
        // the flush was captured before it arrived at the proxy, the final one after the signal
        expect(signalled - flush.at).toBeLessThan(FLUSH_MS - 500); // the final flush is in the same interval

        const from = prevTs - 5;
        const until = (): number => Math.ceil(Date.now() / 1000) + FLUSH_MS / 1000 + 5;
        // carbon writes its cache to whisper in the background: poll until the sum is reached (or time is up)
        let points: Array<[number, number]> = [];
        await waitFor(
          () => sum((points = carbon.fetch(`stats_counts.${name}`, from, until())).map((x) => x[1])) === before + after,
          20_000,
          'the sum in whisper',
          200,
        ).catch(() => undefined);
        expect(sum(points.map((x) => x[1]))).toBe(before + after);
        // the final flush is stamped where its interval would have ended
        expect(points).toEqual([
          [prevTs, before],
          [prevTs + FLUSH_MS / 1000, after],
        ]);
        // its rate is per the time it covered: between the signal and the flush before it (at most
        // the time from that flush's arrival to the daemon's exit)
        const rate = await waitFor(
          () => carbon.fetch(`stats.${name}`, from, until()).find((p) => p[0] === prevTs + FLUSH_MS / 1000)?.[1],
          10_000,
          `stats.${name} of the final flush`,
        );
        const minCoveredS = (signalled - flush.at) / 1000;
        // (a cluster primary reads its clock before collecting the workers' partials, which may take
        // up to 2 s on a loaded machine: its interval boundary comes earlier than the flush's arrival)
        const maxCoveredS = (exitedAt - flush.at) / 1000 + (workers > 1 ? 2.5 : 0.5);
        expect(rate).toBeLessThanOrEqual(after / minCoveredS);
        expect(rate).toBeGreaterThanOrEqual(after / maxCoveredS);
        expect(rate).toBeGreaterThan(after / (FLUSH_MS / 1000));
      } finally {
        if (daemon.proc.exitCode === null) await daemon.stop().catch(() => undefined);
        await proxy.close();
      }
    }, 60_000);
  }
});
