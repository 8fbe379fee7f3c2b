/**
 * Resilience, black-box (issue 4, point 3): SIGHUP and config-file changes reload the configuration
 * without losing the interval's aggregates; an invalid file is refused (the log names the key) and
 * the daemon keeps running on the old configuration.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  FakeGraphite,
  originalStyleConfig,
  type RunningDaemon,
  startDaemon,
  stat,
  useCleanups,
  waitCounters,
  waitFor,
  waitForAsync,
  waitStats,
} from './harness.js';

const { cleanups, setup } = useCleanups();

const logged = (d: RunningDaemon, msg: string): number => d.stderr.filter((l) => l.includes(`"msg":"${msg}`)).length;

async function sendCounts(d: RunningDaemon, key: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) await d.send(Array.from({ length: 10 }, () => `${key}:1|c`).join('\n'));
}

/** Total count of `key` over every flush: stats_counts when sent, else rate × interval (flush_counts false). */
function totalCount(g: FakeGraphite, key: string, intervalS: number): number {
  let total = 0;
  for (const f of g.byTimestamp().values()) {
    const c = f.get(`stats_counts.${key}`);
    if (c !== undefined) total += c;
    else total += Math.round((f.get(`stats.${key}`) ?? 0) * intervalS);
  }
  return total;
}

describe('reload', () => {
  it('SIGHUP applies a valid config (flush_counts false) and keeps the counts sent before it', async () => {
    const { g, d } = await setup(', flushInterval: 2000, automaticConfigReload: false');
    await sendCounts(d, 'pre.c', 100);
    await waitCounters(d, "'pre.c': 100");
    writeFileSync(d.configFile, originalStyleConfig(g.port, ', flushInterval: 2000, automaticConfigReload: false, flush_counts: false'));
    d.proc.kill('SIGHUP');
    await waitFor(() => logged(d, 'config reloaded') === 1, 5000, 'config reloaded log');
    await sendCounts(d, 'post.c', 50);
    await waitFor(() => totalCount(g, 'pre.c', 2) === 100 && totalCount(g, 'post.c', 2) === 50, 10_000, 'every count delivered');
    expect(g.has('stats_counts.post.c')).toBe(false); // the new setting took effect
    expect(g.has('stats.post.c')).toBe(true);
    expect(d.proc.exitCode).toBeNull();
  });

  it('SIGHUP with an invalid config is refused, naming the key; the old config stays', async () => {
    const { g, d } = await setup(', automaticConfigReload: false');
    await sendCounts(d, 'before.c', 20);
    writeFileSync(d.configFile, originalStyleConfig(g.port, ", automaticConfigReload: false, flush_counts: false, flushInterval: 'soon'"));
    d.proc.kill('SIGHUP');
    await waitFor(() => d.stderr.find((l) => l.includes('config reload refused')), 5000, 'refusal log');
    const refusal = JSON.parse(d.stderr.find((l) => l.includes('config reload refused'))!) as { level: number; msg: string };
    expect(refusal.msg).toContain("'flushInterval'");
    expect(refusal.level).toBe(50);
    await sendCounts(d, 'after.c', 30);
    // still running, still on the old config: counts flushed as stats_counts
    await waitFor(() => totalCount(g, 'after.c', 1) === 30 && totalCount(g, 'before.c', 1) === 20, 10_000, 'counts delivered');
    expect(g.has('stats_counts.after.c')).toBe(true);
    expect(await d.admin('health')).toBe('health: up\n');
    expect(logged(d, 'config reloaded')).toBe(0);
  });

  it('a reload that rebuilds the graphite backend during an outage loses none of its queued flushes', async () => {
    const g1 = new FakeGraphite();
    const port = await g1.listen();
    await g1.close();
    const d = await startDaemon(originalStyleConfig(port, ', automaticConfigReload: false, graphite: { timeoutMs: 400 }'));
    cleanups.push(() => d.stop());
    await sendCounts(d, 'queued.c', 50);
    // wait (bounded) until two flushes are queued in the old backend
    const queued = stat(
      await waitStats(d, (s) => stat(s, 'graphite.queued_flushes') >= 2, 'two flushes queued', 10_000),
      'graphite.queued_flushes',
    );
    expect(queued).toBeGreaterThanOrEqual(2);
    writeFileSync(d.configFile, originalStyleConfig(port, ', automaticConfigReload: false, graphite: { timeoutMs: 450 }'));
    d.proc.kill('SIGHUP');
    await waitFor(() => d.stderr.some((l) => l.includes('"msg":"config reloaded"') && l.includes('backends')), 5000, 'backends rebuilt');
    await sendCounts(d, 'queued.c', 30);
    // and these in a flush queued by the new backend
    const q0 = stat(await waitStats(d, () => true, 'stats'), 'graphite.queued_flushes');
    await waitStats(d, (s) => stat(s, 'graphite.queued_flushes') > q0, 'a flush queued after the rebuild');
    const g2 = new FakeGraphite();
    await g2.listen(port);
    cleanups.push(() => g2.close());
    await waitFor(() => totalCount(g2, 'queued.c', 1) === 80, 20_000, 'every queued count delivered');
    const stamps = g2.lines.filter((l) => l.path === 'stats_counts.queued.c').map((l) => l.ts);
    expect(new Set(stamps).size).toBe(stamps.length);
  });

  it('a reload of keys only the pipeline reads (maxKeys, reservoirSize, statusPage, log) keeps the backends: the Graphite queue stays', async () => {
    // Graphite is down: undelivered flushes pile up in the graphite backend's queue
    const g1 = new FakeGraphite();
    const port = await g1.listen();
    await g1.close();
    const base = ', automaticConfigReload: false, graphite: { timeoutMs: 400 }';
    const d = await startDaemon(originalStyleConfig(port, base));
    cleanups.push(() => d.stop());
    await sendCounts(d, 'kept.c', 20);
    const queuedFlushes = async (): Promise<number> => Number(/graphite\.queued_flushes: (\d+)/.exec(await d.admin('stats'))?.[1]);
    const before = await waitForAsync(
      async () => {
        const n = await queuedFlushes();
        return n >= 2 ? n : undefined;
      },
      10_000,
      'two queued flushes',
      100,
    );
    expect(before).toBeGreaterThanOrEqual(2);
    writeFileSync(
      d.configFile,
      originalStyleConfig(
        port,
        `${base}, maxKeys: 100000, reservoirSize: 64, statusPage: { enabled: false }, log: { application: 'tallyd-test' }`,
      ),
    );
    d.proc.kill('SIGHUP');
    const line = await waitFor(() => d.stderr.find((l) => l.includes('"msg":"config reloaded"')), 5000, 'config reloaded');
    const { changed } = JSON.parse(line) as { changed: string[] };
    expect(changed).toContain('statusPage');
    expect(changed).not.toContain('backends');
    // the same backend: its queue was not handed to a retiring one (a new backend starts at 0)
    expect(await queuedFlushes()).toBeGreaterThanOrEqual(before);
  });

  it("a reload that changes Graphite's target rebuilds the graphite backend: the next flushes go to the new one", async () => {
    const { g, d } = await setup(', automaticConfigReload: false');
    await sendCounts(d, 'first.c', 10);
    await waitFor(() => totalCount(g, 'first.c', 1) === 10, 10_000, 'first counts at the first Graphite');
    const g2 = new FakeGraphite();
    const port2 = await g2.listen();
    cleanups.push(() => g2.close());
    writeFileSync(d.configFile, originalStyleConfig(port2, ', automaticConfigReload: false'));
    d.proc.kill('SIGHUP');
    const line = await waitFor(() => d.stderr.find((l) => l.includes('"msg":"config reloaded"')), 5000, 'config reloaded');
    expect((JSON.parse(line) as { changed: string[] }).changed).toContain('backends');
    await sendCounts(d, 'second.c', 10);
    await waitFor(() => totalCount(g2, 'second.c', 1) === 10, 10_000, 'later counts at the new Graphite');
    expect(g.has('stats_counts.second.c')).toBe(false);
  });

  it('listeners are rebuilt only where their settings changed', async () => {
    const udp = "{ server: 'udp', address: '127.0.0.1', port: 0 }";
    const { g, d } = await setup(`, automaticConfigReload: false, servers: [ ${udp} ]`);
    writeFileSync(
      d.configFile,
      originalStyleConfig(g.port, `, automaticConfigReload: false, servers: [ ${udp}, { server: 'tcp', address: '127.0.0.1', port: 0 } ]`),
    );
    d.proc.kill('SIGHUP');
    const line = await waitFor(() => d.stderr.find((l) => l.includes('"msg":"listeners changed"')), 5000, 'listeners changed');
    const info = JSON.parse(line) as { closed: string[]; listeners: string[] };
    expect(info.closed).toEqual([]); // the UDP listener was kept: same port
    expect(info.listeners[0]).toBe(`udp 127.0.0.1:${d.udpPort}`);
    const tcp = Number(info.listeners[1]!.slice(info.listeners[1]!.lastIndexOf(':') + 1));
    await d.send('kept.udp:1|c');
    await new Promise<void>((res, rej) => {
      const s = net.createConnection(tcp, '127.0.0.1', () => s.end('new.tcp:2|c\n', () => res()));
      s.on('error', rej);
    });
    await waitFor(() => g.has('stats_counts.kept.udp') && g.has('stats_counts.new.tcp'), 5000, 'both listeners deliver');
  });

  it('a change of the config file is applied by itself (automaticConfigReload): the flush timer is re-armed', async () => {
    const { g, d } = await setup(', flushInterval: 3000');
    await sendCounts(d, 'file.c', 40);
    await waitCounters(d, "'file.c': 40");
    writeFileSync(d.configFile, originalStyleConfig(g.port, ', flushInterval: 1000, flush_counts: false'));
    await waitFor(() => logged(d, 'config reloaded') >= 1, 5000, 'config reloaded log');
    const reloadedAt = Math.floor(Date.now() / 1000);
    await sendCounts(d, 'file2.c', 10);
    await waitFor(() => g.has('stats.file2.c'), 5000, 'a flush after the reload');
    await waitFor(() => [...g.byTimestamp().keys()].filter((t) => t > reloadedAt + 1).length >= 2, 10_000, 'two flushes after the reload');
    expect(totalCount(g, 'file.c', 1)).toBe(40);
    // flushes now come every second
    const stamps = [...g.byTimestamp().keys()].filter((t) => t > reloadedAt + 1).sort((a, b) => a - b);
    expect(stamps.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 1]!).toBe(1);
    expect(g.has('stats_counts.file2.c')).toBe(false);
  });
});
