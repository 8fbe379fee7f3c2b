/**
 * Resilience, black-box (issue 9, items 1-3, "Memory is bounded by bytes"), at a small scale: a key
 * over maxKeyLength is a bad line (UDP and TCP); spellings of one key past keyTableBytes are counted but
 * not stored; long keys past keyTableBytes are dropped and counted; a set keeps at most setMaxMembers
 * members per interval and counts the rest; a store that throws costs one line, never the daemon.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SetStore } from '../../src/aggregator/stores.js';
import { validateConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import type { MetricKey } from '../../src/parser/types.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { FakeGraphite, nextFlush, pace, sum, useCleanups, waitFor } from './harness.js';

const { cleanups, setup } = useCleanups();

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('memory is bounded by bytes', () => {
  it('maxKeyLength: a longer key (or set member) is a bad line, key_too_long, on UDP and TCP; the lines around it are kept', async () => {
    const { g, d } = await setup(`, maxKeyLength: 64
      , servers: [ { server: 'udp', address: '127.0.0.1', port: 0 }, { server: 'tcp', address: '127.0.0.1', port: 0 } ]`);
    const long = 'long.'.padEnd(65, 'k'); // 65 bytes
    const atLimit = 'edge.'.padEnd(64, 'k'); // 64 bytes: accepted
    await d.send(`ok.udp:1|c\n${long}:1|c\n${atLimit}:1|c\nok.udp:2|c\nset.s:${'m'.repeat(65)}|s\nset.s:short|s`);
    // DogStatsD tags count in the length: 40 + 1 + 30 bytes
    await d.send(`dog.${'d'.repeat(36)}:1|c|#${'t'.repeat(30)}\nok.udp:4|c`);
    const sock = net.createConnection(d.tcpPorts[0]!, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise((res) => sock.on('connect', res));
    sock.write(`ok.tcp:1|c\n${long}:5|c\n${long}:6|ms\nok.tcp:2|c\n`);
    sock.end();

    await waitFor(
      () => sum(g.values('stats_counts.ok.tcp')) === 3 && sum(g.values('stats_counts.ok.udp')) === 7,
      10_000,
      'the lines around the long keys',
    );
    await waitFor(() => sum(g.values('stats_counts.statsd.bad_lines_seen')) >= 5, 5000, 'five bad lines');
    await nextFlush(g);
    expect(sum(g.values('stats_counts.statsd.bad_lines_seen'))).toBe(5);
    expect(sum(g.values(`stats_counts.${atLimit}`))).toBe(1);
    expect(g.lines.some((l) => l.path.includes('long.') || l.path.includes('dog.'))).toBe(false);
    expect(sum(g.values('stats.sets.set.s.count'))).toBe(1);
    const warn = d.stderr.find((l) => l.includes('"bad line"'));
    expect(warn).toContain('"reason":"key_too_long"');
    expect(d.proc.exitCode).toBeNull();
  });

  it('keyTableBytes: 20,000 spellings of one key are all counted, the key table stays within its budget and RSS does not grow with them', {
    timeout: 60_000,
  }, async () => {
    const budget = 262_144;
    const { g, d } = await setup(`, maxKeys: 1000, keyTableBytes: ${budget}, maxKeyLength: 4096, flushInterval: 500`);
    await d.send('spell.key:0|c');
    await waitFor(() => g.has('stats.gauges.statsd.key_table_bytes'), 5000, 'a flush');
    await nextFlush(g);
    const before = rssMiB(d.proc.pid!);
    // each spelling: a Librato tag without `=` (dropped), 1,000 bytes: 20 MB of distinct raw keys
    const junk = 'j'.repeat(990);
    const total = 20_000;
    let peak = before;
    for (let i = 0; i < total; i += 20) {
      let p = '';
      for (let j = i; j < i + 20; j++) p += `spell.key#${junk}${j}:1|c\n`;
      await d.send(p);
      if (i % 400 === 0) {
        await pace(15);
        peak = Math.max(peak, rssMiB(d.proc.pid!));
      }
    }
    await waitFor(() => sum(g.values('stats_counts.spell.key')) >= total, 20_000, `${total} counted in spell.key`);
    peak = Math.max(peak, rssMiB(d.proc.pid!));
    expect(sum(g.values('stats_counts.spell.key'))).toBe(total);
    expect(Math.max(...g.values('stats.gauges.statsd.key_table_bytes'))).toBeLessThanOrEqual(budget);
    // 20 MB of spellings, when each is kept, take 40+ MiB; within the budget, a few MiB of garbage at most
    expect(peak - before).toBeLessThan(25);
    await waitFor(() => d.stderr.find((l) => l.includes('cached key spellings reclaimed')), 5000, 'the reclaim warning');
    expect(g.has('stats_counts.statsd.keys_dropped')).toBe(false); // nothing was dropped: only not cached
    expect(d.proc.exitCode).toBeNull();
  });

  it('keyTableBytes: long keys past it are dropped and counted (keys_dropped); existing keys keep counting', {
    timeout: 30_000,
  }, async () => {
    const budget = 262_144;
    const { g, d } = await setup(`, keyTableBytes: ${budget}, maxKeyLength: 8192`);
    await d.send('keep.me:1|c');
    await waitFor(() => g.has('stats_counts.keep.me'), 5000, 'keep.me');
    const pad = 'x'.repeat(4000);
    const n = 200;
    for (let i = 0; i < n; i += 5) {
      let p = '';
      for (let j = i; j < i + 5; j++) p += `big.k${j}.${pad}:1|c\n`;
      await d.send(p);
    }
    await d.send('keep.me:1|c');
    await waitFor(() => sum(g.values('stats_counts.keep.me')) === 2, 10_000, 'keep.me = 2');
    await waitFor(() => g.has('stats_counts.statsd.keys_dropped'), 5000, 'keys_dropped');
    await nextFlush(g);
    const accepted = new Set(g.lines.filter((l) => l.path.startsWith('stats_counts.big.')).map((l) => l.path)).size;
    // each key costs about 2 x 4 KB (its raw bytes + its name): about 30 fit in 256 KiB
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(budget / 8000);
    expect(sum(g.values('stats_counts.statsd.keys_dropped'))).toBe(n - accepted);
    expect(Math.max(...g.values('stats.gauges.statsd.key_table_bytes'))).toBeLessThanOrEqual(budget);
    expect(d.stderr.some((l) => l.includes('keyTableBytes reached'))).toBe(true);
    expect((await d.admin('stats')).includes(`messages.keys_dropped: ${n - accepted}`)).toBe(true);
    expect(d.proc.exitCode).toBeNull();
  });

  it('setMaxMembers: a set keeps at most that many members per interval; the rest are counted in set_members_dropped', {
    timeout: 30_000,
  }, async () => {
    const { g, d } = await setup(', setMaxMembers: 1000, flushInterval: 2000');
    const total = 3000;
    for (let i = 0; i < total; i += 50) {
      let p = '';
      for (let j = i; j < i + 50; j++) p += `users:u${j}|s\n`;
      await d.send(p);
    }
    // every member is unique: what a flush kept + what was dropped = what was sent
    const seen = (): number => sum(g.values('stats.sets.users.count')) + sum(g.values('stats_counts.statsd.set_members_dropped'));
    await waitFor(() => seen() >= total, 10_000, `${total} members kept or dropped`);
    await nextFlush(g);
    expect(seen()).toBe(total);
    for (const v of g.values('stats.sets.users.count')) expect(v).toBeLessThanOrEqual(1000);
    expect(sum(g.values('stats_counts.statsd.set_members_dropped'))).toBeGreaterThanOrEqual(1000);
    expect(d.stderr.some((l) => l.includes('setMaxMembers reached') && l.includes('users'))).toBe(true);
    expect(await d.admin('stats')).toMatch(/messages\.set_members_dropped: [1-9]\d*/);
  });
});

/** A set whose add throws: a fault in a store. */
class ThrowingSet extends Set<string> {
  override add(): this {
    throw new Error('injected store fault');
  }
}

describe('nothing on the packet path throws out of the handler', () => {
  it('a store that throws costs its line (counted: internal_error); the daemon keeps the other lines and keeps running', {
    timeout: 30_000,
  }, async () => {
    const g = new FakeGraphite();
    await g.listen();
    cleanups.push(() => g.close());
    const logs: string[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          logs.push(
            ...chunk
              .toString('utf8')
              .split('\n')
              .filter((l) => l.length > 0),
          );
          cb();
        },
      }),
    );
    const { config } = validateConfig({
      port: 0,
      address: '127.0.0.1',
      mgmt_port: 0,
      flushInterval: 500,
      udpReader: 'dgram',
      graphiteHost: '127.0.0.1',
      graphitePort: g.port,
      backends: ['./backends/graphite'],
      automaticConfigReload: false,
    });
    const daemon = new Pipeline(config, log);
    // inject: the set store hands the key `boom` a set that throws
    const store = (daemon as unknown as { aggregator: { sets: SetStore } }).aggregator.sets;
    const create = store.create.bind(store);
    store.create = (key: MetricKey): number => {
      const slot = create(key);
      if (key.id === 'boom') store.members[slot] = new ThrowingSet();
      return slot;
    };
    await daemon.start();
    cleanups.push(() => daemon.stop(1000));
    const sock = dgram.createSocket('udp4');
    cleanups.push(async () => sock.close());
    const send = (p: string): Promise<void> =>
      new Promise((res, rej) => sock.send(p, daemon.ports.udp[0]!, '127.0.0.1', (e) => (e ? rej(e) : res())));

    await send('before:1|c\nboom:x|s\nafter:1|c\nafter:1|c\nboom:y|s\nlast:1|c');
    await send('next:1|c');
    await send('boom:z|s');
    await send('next:1|c');
    await waitFor(() => sum(g.values('stats_counts.next')) === 2, 10_000, 'next = 2');
    expect(sum(g.values('stats_counts.before'))).toBe(1);
    expect(sum(g.values('stats_counts.after'))).toBe(2);
    expect(sum(g.values('stats_counts.last'))).toBe(1);
    await waitFor(() => sum(g.values('stats_counts.statsd.bad_lines_seen')) === 3, 5000, 'three bad lines');
    expect(sum(g.values('stats_counts.statsd.metrics_received'))).toBe(9);
    expect(logs.some((l) => l.includes('"reason":"internal_error"'))).toBe(true);
    const fault = logs.find((l) => l.includes('could not be processed'));
    expect(fault).toBeDefined();
    expect(JSON.parse(fault!).level).toBe(50);
    expect(fault).toContain('injected store fault');
  });
});

describe('the byte bounds with workers (cluster mode)', () => {
  it('workers: 2: a long key is a bad line, set members past the bound are dropped and counted, the rest arrives', {
    timeout: 30_000,
  }, async () => {
    const { g, d } = await setup(', workers: 2, maxKeyLength: 64, setMaxMembers: 100, flushInterval: 2000');
    const long = 'long.'.padEnd(65, 'k');
    for (let i = 0; i < 20; i++) {
      let p = `w.ok:1|c\n${long}:1|c\n`;
      for (let j = 0; j < 25; j++) p += `w.users:u${i * 25 + j}|s\n`;
      await d.send(p);
    }
    await waitFor(() => sum(g.values('stats_counts.w.ok')) === 20, 10_000, 'w.ok = 20');
    const seen = (): number => sum(g.values('stats.sets.w.users.count')) + sum(g.values('stats_counts.statsd.set_members_dropped'));
    await waitFor(
      () => seen() >= 500 && sum(g.values('stats_counts.statsd.bad_lines_seen')) >= 20,
      10_000,
      'members kept or dropped, bad lines',
    );
    await nextFlush(g);
    expect(sum(g.values('stats_counts.statsd.bad_lines_seen'))).toBe(20);
    expect(g.lines.some((l) => l.path.includes('long.'))).toBe(false);
    for (const v of g.values('stats.sets.w.users.count')) expect(v).toBeLessThanOrEqual(100);
    // every member is unique: kept + dropped = sent, whichever worker or merge refused it
    expect(seen()).toBe(500);
    expect(await d.admin('stats')).toContain(`messages.set_members_dropped: ${sum(g.values('stats_counts.statsd.set_members_dropped'))}`);
  });
});
