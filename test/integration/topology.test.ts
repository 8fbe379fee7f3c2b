/**
 * The Graphite cluster recipe end to end, all real processes: clients → 2 tallyd proxies → 3 tallyd
 * aggregators (flushAlignment 'clock', 1 s flushes) → carbon-c-relay (carbon_ch) → 2 carbon-caches,
 * whisper files read back. One topology is shared by the tests, which use disjoint key sets.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCarbon } from './carbon.js';
import { clockPhase, expectQuietFor, pace, statsMap, waitFor, waitForAsync } from './harness.js';
import { quietAdmin, type RunningProxy } from './proxy-harness.js';
import { CHECK_MS, FLUSH_MS, haveRelay, Topology } from './topology.js';

const HashRing = createRequire(import.meta.url)('hashring') as new (
  servers: Record<string, number>,
  algo: string,
  opts: Record<string, unknown>,
) => { get(key: string): string };

const run = haveCarbon() && haveRelay();

/** An admin command; `stats` waits for its END marker a little longer. */
const admin = (port: number, cmd: string): Promise<string> =>
  quietAdmin(port, cmd, (data) => (cmd === 'stats' && !data.endsWith('END\n\n') ? 200 : 30));

/** Sends packets of `perPacket` lines, alternating proxies, paced a little. Returns lines sent per key. */
async function sendCounts(
  proxies: readonly RunningProxy[],
  keys: readonly string[],
  rounds: number,
  perPacket = 25,
): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  let packet: string[] = [];
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const k of keys) {
      packet.push(`${k}:1|c`);
      sent.set(k, (sent.get(k) ?? 0) + 1);
      if (packet.length === perPacket) {
        await proxies[n++ % proxies.length]!.send(packet.join('\n'));
        packet = [];
        if (n % 10 === 0) await pace(2);
      }
    }
  }
  if (packet.length > 0) await proxies[n % proxies.length]!.send(packet.join('\n'));
  return sent;
}

describe.skipIf(!run)('Graphite cluster topology: 2 proxies → 3 aggregators → carbon-c-relay → 2 carbon-caches', () => {
  const topo = new Topology();

  beforeAll(async () => {
    await topo.start({ carbons: 2, aggregators: 3, proxies: 2 });
  }, 60_000);

  afterAll(async () => {
    await topo.stop();
  }, 30_000);

  const counted = (keys: readonly string[]): Map<string, number> => new Map(keys.map((k) => [k, topo.total(`stats_counts.${k}`)]));

  it('N counts over many keys arrive exactly once across both carbon stores', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `topo.once.k${i}`);
    const sent = await sendCounts(topo.proxies, keys, 10);
    const want = [...sent.values()].reduce((a, b) => a + b, 0);
    await waitFor(
      () => {
        let got = 0;
        for (const k of keys) got += topo.total(`stats_counts.${k}`);
        return got >= want || undefined;
      },
      20_000,
      'every count in whisper',
    );
    await expectQuietFor(FLUSH_MS * 1.5); // no count arrives twice
    for (const k of keys) {
      expect(topo.total(`stats_counts.${k}`), k).toBe(sent.get(k));
      expect(topo.stores(`stats_counts.${k}`), k).toBe(1);
    }
  });

  it("a timer's percentiles are computed on one aggregator and equal the single-node figures", async () => {
    const values = Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
    // all in one interval: start 200 ms after a flush boundary
    await clockPhase(FLUSH_MS, 200, 400);
    for (let i = 0; i < values.length; i += 20) {
      const chunk = values.slice(i, i + 20);
      await topo.proxies[(i / 20) % 2]!.send(chunk.map((v) => `topo.timer.viaproxy:${v}|ms`).join('\n'));
      // the same values straight to one aggregator: the single-node figures
      await topo.aggregators[0]!.daemon!.send(chunk.map((v) => `topo.timer.single:${v}|ms`).join('\n'));
    }
    const fields = ['count', 'lower', 'upper', 'mean', 'median', 'sum', 'std', 'upper_90', 'mean_90', 'sum_90', 'count_90'];
    await waitFor(
      () =>
        fields.every(
          (f) => topo.total(`stats.timers.topo.timer.viaproxy.${f}`) !== 0 && topo.total(`stats.timers.topo.timer.single.${f}`) !== 0,
        ) || undefined,
      20_000,
      'timer figures in whisper',
    );
    await expectQuietFor(FLUSH_MS); // no figure from a second aggregator
    for (const f of fields) {
      expect(topo.stores(`stats.timers.topo.timer.viaproxy.${f}`)).toBe(1);
      expect(topo.total(`stats.timers.topo.timer.viaproxy.${f}`), f).toBe(topo.total(`stats.timers.topo.timer.single.${f}`));
    }
    expect(topo.total('stats.timers.topo.timer.viaproxy.count')).toBe(200);
    expect(topo.total('stats.timers.topo.timer.viaproxy.upper_90')).toBe(180);
  });

  it('an aggregator killed mid-run loses at most what the proxies count; the others lose nothing; the ring heals within checkInterval; its return splits no interval', async () => {
    const killed = 1;
    const killedId = topo.nodeId(killed);
    const ring = new HashRing(Object.fromEntries(topo.aggregators.map((_, i) => [topo.nodeId(i), 100])), 'md5', { replicas: 0 });
    const keys = Array.from({ length: 60 }, (_, i) => `topo.kill.k${i}`);
    const back = Array.from({ length: 60 }, (_, i) => `topo.back.k${i}`);
    const onKilled = new Set(keys.filter((k) => ring.get(k) === killedId));
    const backMoves = back.filter((k) => ring.get(k) === killedId);
    expect(onKilled.size).toBeGreaterThan(0);
    expect(backMoves.length).toBeGreaterThan(0);

    const sent = new Map<string, number>();
    const sentBack = new Map<string, number>();
    let phase = 'kill' as 'kill' | 'back' | 'stop';
    let rounds = 0;
    const pump = (async () => {
      while (phase !== 'stop') {
        const add = await sendCounts(topo.proxies, phase === 'kill' ? keys : back, 1, 30);
        const into = phase === 'kill' ? sent : sentBack;
        for (const [k, v] of add) into.set(k, (into.get(k) ?? 0) + v);
        rounds++;
        await pace(20);
      }
    })();
    /** Until the pump has sent `n` more rounds (every key of the phase once a round). */
    const moreRounds = (n: number): Promise<boolean> => {
      const want = rounds + n;
      return waitFor(() => rounds >= want, 20_000, `${n} rounds sent`);
    };
    const lostBefore = await Promise.all(
      topo.proxies.map(async (p) => Number(statsMap(await admin(p.mgmtPort, 'stats')).get('proxy.lines_lost'))),
    );

    // kill it half-way through an interval, with traffic before
    await moreRounds(20);
    await clockPhase(FLUSH_MS, 400, 600);
    const tKill = Date.now();
    topo.aggregators[killed]!.daemon!.proc.kill('SIGKILL');
    const inRing = async (p: RunningProxy): Promise<boolean> => (await admin(p.mgmtPort, 'status')).includes(killedId + ' ');
    const healedAt: number[] = [];
    for (const p of topo.proxies) {
      await waitForAsync(async () => !(await inRing(p)), 10_000, 'the ring to heal');
      healedAt.push(Date.now() - tKill);
    }
    // a refused admin port leaves at the next check: within one checkInterval (plus the polls and a loaded host)
    for (const h of healedAt) expect(h).toBeLessThan(CHECK_MS + 700);

    // traffic on other keys that flows while it comes back: some of them move to it at a boundary
    await moreRounds(20);
    phase = 'back';
    await moreRounds(20);
    await topo.startAggregator(killed);
    const rejoinedAt: number[] = [];
    for (const p of topo.proxies) {
      await waitForAsync(() => inRing(p), 10_000, 'the node to rejoin');
      rejoinedAt.push(Date.now());
    }
    // both proxies reach the same ring within one checkInterval
    expect(Math.abs(rejoinedAt[0]! - rejoinedAt[1]!)).toBeLessThan(CHECK_MS);
    // traffic to the returned node across a flush boundary
    const rejoinedInterval = Math.floor(Date.now() / FLUSH_MS);
    await waitFor(() => Math.floor(Date.now() / FLUSH_MS) > rejoinedInterval, FLUSH_MS * 3, 'a flush boundary after the rejoin');
    await moreRounds(20);
    phase = 'stop';
    await pump;

    const lost = (
      await Promise.all(topo.proxies.map(async (p) => Number(statsMap(await admin(p.mgmtPort, 'stats')).get('proxy.lines_lost'))))
    ).reduce((a, b, i) => a + b - lostBefore[i]!, 0);
    const wantBack = [...sentBack.values()].reduce((a, b) => a + b, 0);
    await waitFor(
      () => {
        let got = 0;
        for (const v of counted(back).values()) got += v;
        return got >= wantBack || undefined;
      },
      20_000,
      'the rejoin phase in whisper',
    );
    await expectQuietFor(FLUSH_MS * 1.5); // no count arrives twice
    const got = counted(keys);
    let missing = 0;
    for (const k of keys) {
      if (onKilled.has(k)) {
        missing += sent.get(k)! - got.get(k)!;
        expect(got.get(k)!).toBeLessThanOrEqual(sent.get(k)!);
      } else {
        expect(got.get(k), `${k} (not on the killed node)`).toBe(sent.get(k));
      }
    }
    expect(missing).toBeGreaterThan(0);
    expect(missing).toBeLessThanOrEqual(lost);
    // the node's return moved keys at a boundary: not one whisper point written twice
    const gotBack = counted(back);
    for (const k of back) expect(gotBack.get(k), k).toBe(sentBack.get(k));
  });

  it('a proxy restart loses only the datagrams in flight', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `topo.restart.k${i}`);
    const proxyStats = async (): Promise<Map<string, string>> => statsMap(await admin(topo.proxies[0]!.mgmtPort, 'stats'));
    const received0 = Number((await proxyStats()).get('proxy.lines_received'));
    const sent1 = await sendCounts([topo.proxies[0]!], keys, 4);
    // read by the proxy: nothing in flight
    await waitForAsync(
      async () => Number((await proxyStats()).get('proxy.lines_received')) >= received0 + keys.length * 4,
      10_000,
      'the proxy to read them',
    );
    const p = await topo.restartProxy(0);
    const sent2 = await sendCounts([p], keys, 4);
    await waitFor(
      () => keys.every((k) => topo.total(`stats_counts.${k}`) >= sent1.get(k)! + sent2.get(k)!) || undefined,
      20_000,
      'every count',
    );
    await expectQuietFor(FLUSH_MS); // no count arrives twice
    for (const k of keys) expect(topo.total(`stats_counts.${k}`), k).toBe(sent1.get(k)! + sent2.get(k)!);
  });
});
