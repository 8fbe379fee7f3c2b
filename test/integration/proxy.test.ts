/**
 * `tallyd proxy` black-box: the original's proxy config runs unchanged, every key lands on the node
 * the original proxy.js (statsd 0.9.0, run here) picks, datagrams are batched under the MTU without
 * splitting a line, health checks take nodes out and back, the admin commands answer as the original's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adminCommand,
  clockPhase,
  FakeGraphite,
  MAIN,
  originalStyleConfig,
  pace,
  startDaemon,
  waitFor,
  waitForAsync as waitForValue,
} from './harness.js';
import {
  FakeNode,
  nodesConfig,
  type RunningProxy,
  quietAdmin as rawAdmin,
  sendLines,
  startOriginalProxy,
  startTallydProxy,
} from './proxy-harness.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function nodes(n: number): Promise<FakeNode[]> {
  const out: FakeNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = await new FakeNode().start();
    cleanups.push(() => node.close());
    out.push(node);
  }
  return out;
}

/** checkInterval is also the health check's timeout (as the original): short ones flap on a loaded host. */
async function tallydProxy(ns: readonly FakeNode[], extra = '', checkInterval = 1000): Promise<RunningProxy> {
  const p = await startTallydProxy(`{
nodes: [
${nodesConfig(ns)}
],
host: '127.0.0.1',
port: 0,
mgmt_port: 0,
checkInterval: ${checkInterval},
cacheSize: 10000
${extra}
}`);
  cleanups.push(() => p.stop());
  return p;
}

/** The metric name as the original proxy.js takes it: everything before the first ':'. */
const nameOf = (line: string): string => line.split(':')[0]!;

/** key → index of the node that received a line `key:<tagValue>|c`. */
function placement(ns: readonly FakeNode[], marker: string): Map<string, number> {
  const m = new Map<string, number>();
  ns.forEach((n, i) => {
    for (const l of n.lines()) if (l.includes(marker)) m.set(nameOf(l), i);
  });
  return m;
}

function keys(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    // plain, nested, unicode and Graphite-tagged names; DogStatsD tags follow the value
    const name =
      i % 4 === 0 ? `app.req.${i}` : i % 4 === 1 ? `svc${i}.lat.p${i % 7}` : i % 4 === 2 ? `héllo.wörld.${i}` : `cpu;host=h${i};dc=x`;
    out.push(name);
  }
  return out;
}

describe('tallyd proxy', () => {
  it("runs the original's exampleProxyConfig.js unchanged (--check-config) and a plain tallyd refuses it by name", () => {
    const require = createRequire(import.meta.url);
    const example = join(dirname(require.resolve('statsd/package.json')), 'exampleProxyConfig.js');
    const out = execFileSync(process.execPath, [MAIN, 'proxy', '--check-config', example], { encoding: 'utf8' });
    expect(out).toContain('configuration OK');
    // printed in the file's own key names
    expect(out).toContain('"port": 8131');
    expect(out).toContain('"mgmt_port": 8126');
    expect(out).not.toContain('mgmtPort');
    let err = '';
    let code = 0;
    try {
      execFileSync(process.execPath, [MAIN, '--check-config', example], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const x = e as { status: number; stderr: string };
      code = x.status;
      err = x.stderr;
    }
    expect(code).toBe(1);
    expect(err).toContain("config key 'nodes'");
    expect(err).toContain('tallyd proxy');
  });

  it('refuses a proxy config with a bad node, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-proxy-bad-'));
    const file = join(dir, 'bad.js');
    writeFileSync(file, "{ nodes: [{host: '127.0.0.1', port: 8127, adminprot: 1}], mtu: 10, checkIntervl: 1000 }");
    let err = '';
    try {
      execFileSync(process.execPath, [MAIN, 'proxy', '--check-config', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = (e as { stderr: string }).stderr;
    }
    expect(err).toContain("config key 'nodes[0].adminport'");
    expect(err).toContain("config key 'mtu'");
    // the misspelt keys in the same run, with what they were meant to be
    expect(err).toContain("unknown config key 'checkIntervl' (ignored; did you mean 'checkInterval'?)");
    expect(err).toContain("unknown config key 'nodes[0].adminprot' (ignored; did you mean 'nodes[0].adminport'?)");
    expect(err).toContain('2 problems, 2 warnings');
  });

  it('places every key on the node the original proxy.js picks, with all nodes up and with one down', async () => {
    const ns = await nodes(3);
    const original = await startOriginalProxy(ns);
    cleanups.push(() => original.stop());
    const ours = await tallydProxy(ns, '', 1000);
    const names = keys(1200);

    const run = async (round: string): Promise<void> => {
      // the original forwards each line as it comes; send it lines one per packet (paced: it reads with a
      // default-sized socket buffer and can drop on a loaded host), ours in packets of 25
      await sendLines(
        original,
        names.map((k, i) => `${k}:${i}|c|#orig${round}`),
        1,
      );
      await sendLines(
        ours,
        names.map((k, i) => `${k}:${i}|c|#ours${round}`),
        25,
      );
      // until both are complete, or stop growing for 500 ms (a UDP drop on a loaded host is not a placement error)
      let last = -1;
      let lastAt = Date.now();
      await waitFor(
        () => {
          const n = placement(ns, `#orig${round}`).size + placement(ns, `#ours${round}`).size;
          if (n !== last) [last, lastAt] = [n, Date.now()];
          return n === 2 * names.length || Date.now() - lastAt >= 500;
        },
        15_000,
        'the placements to complete or stop growing',
      ).catch(() => undefined);
      const a = placement(ns, `#orig${round}`);
      const b = placement(ns, `#ours${round}`);
      expect(a.size).toBeGreaterThan(names.length * 0.9);
      expect(b.size).toBe(names.length);
      let differ = 0;
      for (const k of names) if (a.has(k) && a.get(k) !== b.get(k)) differ++;
      expect(differ).toBe(0);
      // and all three (or two) nodes got some
      expect(new Set(a.values()).size).toBe(round === 'A' ? 3 : 2);
    };
    await run('A');

    // node 1 answers 'health: down': both proxies take it out of the ring
    ns[1]!.health = 'down';
    const ringWithout = (text: string): boolean =>
      !text.includes(`127.0.0.1:${ns[1]!.port} `) && text.includes(`127.0.0.1:${ns[0]!.port} `);
    let oursStatus = '';
    let origStatus = '';
    await waitForValue(
      async () => {
        oursStatus = await rawAdmin(ours.mgmtPort, 'status');
        origStatus = await rawAdmin(original.mgmtPort, 'status');
        return ringWithout(oursStatus) && ringWithout(origStatus);
      },
      10_000,
      'node 1 out of both rings',
    ).catch(() => undefined);
    expect(ringWithout(oursStatus)).toBe(true);
    expect(ringWithout(origStatus)).toBe(true);
    await run('B');
  });

  it('batches lines into datagrams no larger than the MTU, never splitting a line; a longer line goes alone', async () => {
    const ns = await nodes(2);
    const p = await tallydProxy(ns, ', mtu: 200');
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`batch.k${i % 97}.x${'y'.repeat(i % 40)}:${i}|c`);
    const long = `long.${'z'.repeat(300)}:1|c`;
    lines.splice(1500, 0, long);
    await sendLines(p, lines, 25);
    const received = (): string[] => ns.flatMap((n) => n.lines());
    try {
      await waitFor(() => received().length >= lines.length || undefined, 30_000, 'every line forwarded');
    } catch (err) {
      throw new Error(
        `${(err as Error).message}: got ${received().length} of ${lines.length}; proxy stats:\n${await adminCommand(p.mgmtPort, 'stats')}`,
      );
    }
    expect(received().sort()).toEqual([...lines].sort());
    const all = ns.flatMap((n) => n.datagrams);
    const over = all.filter((d) => d.length > 200);
    expect(over.map((d) => d.toString())).toEqual([long]);
    // batched: far fewer datagrams than lines
    expect(all.length).toBeLessThan(lines.length / 4);
    const stats = await adminCommand(p.mgmtPort, 'stats');
    expect(stats).toContain(`proxy.lines_received: ${lines.length}`);
    expect(stats).toContain('proxy.lines_oversize: 1');
  });

  it("takes a node out when its admin port refuses or answers 'health: down', and back when it answers up", async () => {
    const ns = await nodes(3);
    const p = await tallydProxy(ns);
    const member = async (i: number): Promise<boolean> => (await rawAdmin(p.mgmtPort, 'status')).includes(`127.0.0.1:${ns[i]!.port} `);
    expect(await member(0)).toBe(true);
    ns[0]!.health = 'down';
    await waitForAsync(async () => !(await member(0)), 'node 0 out');
    await ns[2]!.closeAdmin();
    await waitForAsync(async () => !(await member(2)), 'node 2 out');
    // lines now go to node 1 only
    await sendLines(p, ['only.one:1|c', 'only.two:1|c', 'only.three:1|c'], 3);
    await waitFor(() => ns[1]!.lines().length === 3 || undefined, 5000, 'lines at node 1');
    ns[0]!.health = 'up';
    await ns[2]!.openAdmin();
    await waitForAsync(async () => (await member(0)) && (await member(2)), 'nodes back');
  });

  it("with flushAlignment 'clock', a node's keys leave and return only at the aggregators' flush boundaries", async () => {
    const ns = await nodes(2);
    const p = await tallydProxy(ns, ", flushInterval: 1000, flushAlignment: 'clock'");
    const names = Array.from({ length: 40 }, (_, i) => `edge.k${i}`);
    const packet = names.map((k) => `${k}:1|c`).join('\n');
    let sending = true;
    const pump = (async () => {
      while (sending) {
        await p.send(packet);
        await pace(10);
      }
    })();
    await waitFor(() => (ns[0]!.datagrams.length > 0 && ns[1]!.datagrams.length > 0) || undefined, 5000, 'traffic at both nodes');
    const onNode0 = new Set(ns[0]!.lines().map(nameOf));
    const member = async (): Promise<boolean> => (await rawAdmin(p.mgmtPort, 'status')).includes(`127.0.0.1:${ns[0]!.port} `);
    const tDown = Date.now();
    ns[0]!.health = 'down';
    await waitForAsync(async () => !(await member()), 'node 0 out');
    // node 0's keys reach node 1 (from the next flush boundary on)
    await waitFor(
      () =>
        ns[1]!.datagrams.some((d) =>
          d
            .toString()
            .split('\n')
            .some((l) => onNode0.has(nameOf(l))),
        ),
      5000,
      "node 0's keys at node 1",
    );
    const tUp = Date.now();
    ns[0]!.health = 'up';
    await waitForAsync(member, 'node 0 back');
    // and come back to node 0 (at the next boundary)
    await waitFor(() => ns[0]!.arrivals.some((t) => t > tUp), 5000, "node 0's keys back at node 0");
    sending = false;
    await pump;
    // node 1 received node 0's keys only in one window, which opened and closed at flush boundaries
    const moved = ns[1]!.datagrams
      .map((d, i) => [d, ns[1]!.arrivals[i]!] as const)
      .filter(([d]) =>
        d
          .toString()
          .split('\n')
          .some((l) => onNode0.has(nameOf(l))),
      )
      .map(([, t]) => t);
    expect(moved.length).toBeGreaterThan(0);
    const first = moved[0]!;
    const last = moved[moved.length - 1]!;
    const backAt = ns[0]!.arrivals.find((t) => t > last)!;
    expect(first).toBeGreaterThan(tDown);
    expect(backAt).toBeGreaterThan(tUp);
    const phase = (t: number): number => t % 1000;
    // the proxy switches 100 ms after the boundary (lines of moving keys are held from 100 ms before it)
    expect(phase(first)).toBeGreaterThanOrEqual(100);
    expect(phase(first)).toBeLessThan(300);
    expect(phase(backAt)).toBeGreaterThanOrEqual(100);
    expect(phase(backAt)).toBeLessThan(300);
    expect(phase(last)).toBeGreaterThan(700);
  });

  it("an aggregator with flushAlignment 'clock' flushes at wall-clock multiples of flushInterval, not startup-relative", async () => {
    const g = new FakeGraphite();
    await g.listen();
    cleanups.push(() => g.close());
    // start 0.7 s into a 3 s period: a startup-relative schedule (startup in whole seconds + k × 3 s) then
    // flushes at ts ≡ 1 or 2 (mod 3); a start-up that took so long that it rounds to ≡ 0 is tried again
    let startupSec = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      await clockPhase(3000, 600, 800);
      const t0 = Date.now();
      const d = await startDaemon(
        originalStyleConfig(g.port, ", flushInterval: 3000, flushAlignment: 'clock'").replace(', flushInterval: 1000\n', ''),
      );
      cleanups.push(() => d.stop());
      const up = JSON.parse(d.stderr.find((l) => l.includes('"tallyd is up"'))!) as { time: number };
      // the daemon takes its startup time between spawning and saying it is up
      if (up.time - t0 < 2000 && Math.round(t0 / 1000) % 3 !== 0 && Math.round(up.time / 1000) % 3 !== 0) {
        startupSec = Math.round(up.time / 1000);
        break;
      }
      await d.stop();
    }
    expect(startupSec % 3).not.toBe(0);
    await waitFor(() => g.lines.length > 0 || undefined, 10_000, 'a flush');
    const ts = g.lines[0]!.ts;
    expect(ts % 3).toBe(0);
  }, 60_000);

  it("takes lines over TCP with server './servers/tcp' (the nodes still get UDP)", async () => {
    const ns = await nodes(2);
    const p = await tallydProxy(ns, ", server: './servers/tcp', tcpMaxLineLength: 100");
    const net = await import('node:net');
    const lines = Array.from({ length: 200 }, (_, i) => `tcp.k${i}:1|c`);
    const tooLong = `tcp.long.${'x'.repeat(120)}:1|c`;
    await new Promise<void>((resolve, reject) => {
      const s = net.createConnection(p.port, '127.0.0.1', () => {
        // split mid-line across writes: lines are reassembled
        const text = [...lines.slice(0, 100), tooLong, ...lines.slice(100)].join('\n') + '\n';
        s.write(text.slice(0, 1001));
        setTimeout(() => s.end(text.slice(1001)), 50); // the rest in a later segment: a scenario, not a wait
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await waitFor(() => ns.flatMap((n) => n.lines()).length >= lines.length || undefined, 10_000, 'lines at the nodes');
    expect(ns.flatMap((n) => n.lines()).sort()).toEqual([...lines].sort());
    expect(await adminCommand(p.mgmtPort, 'stats')).toContain('proxy.tcp_lines_too_long: 1\n');
  });

  it('forkCount 2: two forwarding processes on one port, health shared between them as the original', async () => {
    const ns = await nodes(3);
    const { freePort } = await import('./carbon.js');
    const port = await freePort();
    const q = await startTallydProxy(
      `{ nodes: [ ${nodesConfig(ns)} ], host: '127.0.0.1', port: ${port}, mgmt_port: 0, checkInterval: 1000, forkCount: 2 }`,
    );
    cleanups.push(() => q.stop());
    await waitFor(() => q.stderr.filter((l) => l.includes('"proxy is up"')).length >= 2 || undefined, 15_000, 'both forks up');
    // many senders (source ports): the kernel spreads them over the two sockets
    const dgram = await import('node:dgram');
    const lines: string[] = [];
    for (let s = 0; s < 20; s++) {
      const sock = dgram.createSocket('udp4');
      const batch = Array.from({ length: 50 }, (_, i) => `fork.s${s}.k${i}:1|c`);
      lines.push(...batch);
      await new Promise<void>((r) => sock.send(batch.join('\n'), port, '127.0.0.1', () => r()));
      sock.close();
    }
    await waitFor(() => ns.flatMap((n) => n.lines()).length >= lines.length || undefined, 10_000, 'every line');
    expect(ns.flatMap((n) => n.lines()).sort()).toEqual([...lines].sort());
    expect(await rawAdmin(q.mgmtPort, 'health down')).toBe('health: down\n');
    // shared: both forks answer down (six answers in a row, whichever fork takes each)
    await waitForValue(
      async () => {
        for (let i = 0; i < 6; i++) if ((await rawAdmin(q.mgmtPort, 'health')) !== 'health: down\n') return false;
        return true;
      },
      5000,
      'both forks to answer health: down',
    ).catch(() => undefined);
    for (let i = 0; i < 6; i++) expect(await rawAdmin(q.mgmtPort, 'health')).toBe('health: down\n');
    expect(await q.stop()).toBe(0);
  });

  it('with no node in the ring, drops lines, counts them and says so (at most every 10 s)', async () => {
    const ns = await nodes(2);
    const p = await tallydProxy(ns, ', flushInterval: 500');
    for (const n of ns) await n.closeAdmin();
    await waitForAsync(async () => /nodes: \n/.test(await rawAdmin(p.mgmtPort, 'status')), 'an empty ring');
    await sendLines(p, ['gone.a:1|c', 'gone.b:1|c'], 2);
    await waitFor(() => p.stderr.some((l) => l.includes('no statsd node in the ring')) || undefined, 5000, 'the log line');
    expect(await adminCommand(p.mgmtPort, 'stats')).toContain('proxy.lines_no_node: 2');
    expect(ns.flatMap((n) => n.lines())).toEqual([]);
  });

  it("answers the original proxy's admin commands", async () => {
    const ns = await nodes(2);
    const p = await tallydProxy(ns);
    expect(await rawAdmin(p.mgmtPort, 'help')).toContain('Commands: config, health, status');
    const status = await rawAdmin(p.mgmtPort, 'status');
    expect(status).toMatch(/^uptime: \d+\nnodes: (127\.0\.0\.1:\d+ ){2}\n$/);
    expect(await rawAdmin(p.mgmtPort, 'health')).toBe('health: up\n');
    expect(await rawAdmin(p.mgmtPort, 'health down')).toBe('health: down\n');
    expect(await rawAdmin(p.mgmtPort, 'health')).toBe('health: down\n');
    expect(await rawAdmin(p.mgmtPort, 'config')).toContain('checkInterval: 1000\n');
    expect(await rawAdmin(p.mgmtPort, 'bogus')).toBe('ERROR\n');
  });
});

async function waitForAsync(fn: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitForValue(fn, timeoutMs, what);
}
