/**
 * The status page's HTTP API, black-box: a spawned daemon, real UDP lines, real HTTP requests.
 * The key search sees a key as soon as its line is read; ingest figures, bad lines and the busiest
 * keys come from the flushes; a token guards everything but /health; nothing but GET/HEAD is served.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { FakeGraphite, pace, startDaemon, statsMap, statusUrl, useGraphiteAndDaemon, waitFor, waitForAsync } from './harness.js';
import { freePort } from './prometheus-helpers.js';

const env = useGraphiteAndDaemon();

interface KeysAnswer {
  keys: Array<{ type: string; id: string; value: number; graphite: string[]; prometheus: string; tags: string[][] }>;
}

describe('status page API', () => {
  it('finds a key as soon as it arrives, with its Graphite and Prometheus names', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 60000,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    const empty = (await (await fetch(base + 'api/keys?q=checkout.latency')).json()) as KeysAnswer;
    expect(empty.keys).toEqual([]);
    const sentAt = Date.now();
    await env.daemon.send('checkout.latency:42|ms|#region:eu\ncheckout.latency.count:1|c');
    const found = await waitForAsync(
      async () => {
        const a = (await (await fetch(base + 'api/keys?q=checkout.latency')).json()) as KeysAnswer;
        return a.keys.length === 2 ? a : undefined;
      },
      1000,
      'the key in the search within 1 s',
    );
    expect(Date.now() - sentAt).toBeLessThan(1000);
    const timer = found.keys.find((k) => k.type === 'timer')!;
    expect(timer.tags).toEqual([['region', 'eu']]);
    expect(timer.value).toBe(1);
    expect(timer.graphite).toContain('stats.timers.checkout.latency.mean;region=eu');
    expect(timer.prometheus).toBe('checkout_latency{region="eu"}');
    const counter = found.keys.find((k) => k.type === 'counter')!;
    expect(counter.graphite).toEqual(['stats.checkout.latency.count', 'stats_counts.checkout.latency.count']);
  });

  it("shows Graphite's state: unreachable with the last error, then connected once carbon listens", async () => {
    const carbon = new FakeGraphite();
    const port = await freePort();
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 300,
      graphiteHost: '127.0.0.1', graphitePort: ${port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    type State = { connected: boolean | null; replaying: boolean; lastError: string | null; lastErrorAt: number | null };
    const graphiteState = async (): Promise<State> => {
      const s = (await (await fetch(base + 'api/status')).json()) as { backends: Array<{ name: string; state: State | null }> };
      return s.backends.find((b) => b.name === 'graphite')!.state!;
    };
    const down = await waitForAsync(
      async () => ((await graphiteState()).connected === false ? graphiteState() : undefined),
      10_000,
      'unreachable',
    );
    expect(down.lastError).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(Date.now() - down.lastErrorAt!).toBeLessThan(10_000);
    await env.daemon.send('state.check:1|c');
    await carbon.listen(port);
    try {
      const up = await waitForAsync(
        async () => ((await graphiteState()).connected === true ? graphiteState() : undefined),
        15_000,
        'connected',
      );
      expect(up.lastError).toContain('ECONNREFUSED'); // the last failure stays shown, with its time
      await waitFor(() => carbon.values('stats_counts.state.check').includes(1), 10_000, 'the queued count delivered');
    } finally {
      await carbon.close();
    }
  });

  it('names a key as the Graphite backend writes it, cleaned where keyNameSanitize: false lets it through', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 1000, keyNameSanitize: false,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    await env.daemon.send('we ird/key!:3|g');
    const found = await waitForAsync(
      async () => {
        const a = (await (await fetch(base + 'api/keys?q=ird')).json()) as KeysAnswer;
        return a.keys.length === 1 ? a : undefined;
      },
      5000,
      'the key in the search',
    );
    await waitForAsync(async () => env.graphite.values(found.keys[0]!.graphite[0]!).length > 0, 5000, 'the status page name in Graphite');
    expect(env.graphite.values(found.keys[0]!.graphite[0]!)).toContain(3);
  });

  it("long-polls the search: a waiting request is answered when a matching key arrives, not for another key's", async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 60000,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    type Answer = KeysAnswer & { cursor: number };
    const first = (await (await fetch(base + 'api/keys?q=orders.placed')).json()) as Answer;
    expect(first.keys).toEqual([]);
    expect(Number.isInteger(first.cursor)).toBe(true);
    // nothing new: the request waits for its whole wait, then answers with the same (empty) list
    const t0 = Date.now();
    const idle = (await (await fetch(`${base}api/keys?q=orders.placed&after=${first.cursor}&wait=600`)).json()) as Answer;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(idle.keys).toEqual([]);
    // a long wait: another key does not end it, a matching one does, at once
    const started = Date.now();
    const waiting = fetch(`${base}api/keys?q=orders.placed&after=${idle.cursor}&wait=5000`).then(async (r) => ({
      a: (await r.json()) as Answer,
      at: Date.now(),
    }));
    await new Promise((r) => setTimeout(r, 300));
    await env.daemon.send('orders.cancelled:1|c');
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    await env.daemon.send('orders.placed:3|c|#shop:eu');
    const { a, at } = await waiting;
    expect(at - sentAt).toBeLessThan(1000);
    expect(at - started).toBeLessThan(4000);
    expect(a.keys.map((k) => k.id)).toEqual(['orders.placed;shop=eu']);
    expect(a.cursor).toBeGreaterThan(idle.cursor);
    // a cursor from before a matching key answers at once
    const t1 = Date.now();
    const again = (await (await fetch(`${base}api/keys?q=orders.placed&after=${idle.cursor}&wait=5000`)).json()) as Answer;
    expect(Date.now() - t1).toBeLessThan(2000);
    expect(again.keys.length).toBe(1);
  });

  it("sends only the history points after ?since=, and the watched key's chart with watchType=&watchId=", async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 200,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    type Status = { historyCap: number; history: { t: number[]; linesPerSec: number[]; liveKeys: number[] } };
    const full = await waitForAsync(
      async () => {
        const s = (await (await fetch(base + 'api/status')).json()) as Status;
        return s.history.t.length >= 3 ? s : undefined;
      },
      10_000,
      'three flushes',
    );
    expect(full.historyCap).toBeGreaterThanOrEqual(60);
    const since = full.history.t[1]!;
    const part = (await (await fetch(`${base}api/status?since=${since}`)).json()) as Status;
    expect(part.history.t.length).toBeGreaterThanOrEqual(1);
    expect(part.history.t.every((t) => t > since)).toBe(true);
    expect(part.history.t.slice(0, full.history.t.length - 2)).toEqual(full.history.t.slice(2));
    expect(part.history.liveKeys.length).toBe(part.history.t.length);
    const none = (await (await fetch(`${base}api/status?since=${Date.now() + 60_000}`)).json()) as Status;
    expect(none.history.t).toEqual([]);
    expect(none.history.linesPerSec).toEqual([]);
    expect(none).not.toHaveProperty('watched');
    // the watched key's chart comes with the status when asked for
    await env.daemon.send('watched.key:4|c');
    type Watched = Status & { watched: { type: string; id: string; t: number[]; v: number[] } };
    const w = await waitForAsync(
      async () => {
        const s = (await (await fetch(`${base}api/status?since=${Date.now()}&watchType=counter&watchId=watched.key`)).json()) as Watched;
        return s.watched.v.includes(4) ? s : undefined;
      },
      10_000,
      "the watched key's flushed value with the status",
    );
    expect(w.watched.type).toBe('counter');
    expect(w.watched.id).toBe('watched.key');
    expect(w.watched.t.length).toBe(w.watched.v.length);
  });

  it('reports ingest, bad lines (with the last offending lines), busiest keys and flush history', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    await fetch(base + 'api/status'); // a page is open: lines per key are sampled from now on
    await env.daemon.send('this is not statsd');
    type Status = {
      ingest: { lines: number; packets: number; linesPerSecByType: { counters: number; timers: number } | null };
      badLines: { byReason: Array<{ reason: string; count: number }>; recent: Array<{ reason: string; line: string }> };
      topKeys: Array<{ type: string; id: string; lines: number }>;
      topKeysSampledMs: number;
      history: { t: number[]; linesPerSec: number[] };
      backends: Array<{ name: string; lines: Array<{ stat: string; value: string }> }>;
    };
    // a steady sender (the busiest keys are counted in a window at the end of each interval: 100 ms of 500)
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await env.daemon!.send('busy.key:1|c\nquiet.key:1|c\nbusy.key:2|c');
        await pace(5);
      }
    })();
    let s: Status;
    try {
      s = await waitForAsync(
        async () => {
          const st = (await (await fetch(base + 'api/status')).json()) as Status;
          return st.topKeys.length >= 2 && st.topKeys[1]!.lines >= 5 ? st : undefined;
        },
        10_000,
        'busiest keys',
      );
    } finally {
      sending = false;
      await sender;
    }
    expect(s.ingest.packets).toBeGreaterThanOrEqual(2);
    // sampled, then scaled to the interval: the two keys keep the 2 : 1 of their lines
    expect(s.topKeys.map((k) => [k.type, k.id])).toEqual([
      ['counter', 'busy.key'],
      ['counter', 'quiet.key'],
    ]);
    expect(Math.abs(s.topKeys[0]!.lines - 2 * s.topKeys[1]!.lines)).toBeLessThanOrEqual(1);
    expect(s.topKeysSampledMs).toBeGreaterThan(0);
    expect(s.topKeysSampledMs).toBeLessThan(500);
    expect(s.ingest.linesPerSecByType!.counters).toBeGreaterThan(0);
    expect(s.ingest.linesPerSecByType!.timers).toBe(0);
    expect(s.badLines.byReason.find((r) => r.reason === 'no_type')!.count).toBe(1);
    expect(s.badLines.recent[0]).toEqual(expect.objectContaining({ reason: 'no_type', line: 'this is not statsd' }));
    expect(s.history.t.length).toBeGreaterThan(0);
    expect(s.history.linesPerSec.some((v) => v > 0)).toBe(true);
    expect(s.backends.map((b) => b.name)).toEqual(['graphite']);
    // a watched key keeps its flushed values
    await fetch(base + 'api/key?type=counter&id=busy.key');
    await waitForAsync(
      async () => {
        const k = (await (await fetch(base + 'api/key?type=counter&id=busy.key')).json()) as { v: number[] };
        return k.v.at(-1) === 0; // an interval with no line of the sender's
      },
      10_000,
      'an idle interval',
    );
    await env.daemon.send('busy.key:5|c');
    const h = await waitForAsync(
      async () => {
        const k = (await (await fetch(base + 'api/key?type=counter&id=busy.key')).json()) as { v: number[] };
        return k.v.includes(5) ? k : undefined;
      },
      10_000,
      "the watched key's flushed value",
    );
    expect(h.v).toContain(5);
  });

  it('with workers: 2, finds a key as soon as a worker reads it, its values added up across the workers', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 60000, workers: 2,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    const senders = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    try {
      const sentAt = Date.now();
      // from several source ports: both workers read some of them
      for (const s of senders) {
        await new Promise<void>((res, rej) =>
          s.send('wk.latency:42|ms|#region:eu\nwk.latency.count:2|c\nwk.gauge:+1|g', env.daemon!.udpPort, '127.0.0.1', (e) =>
            e ? rej(e) : res(),
          ),
        );
      }
      const found = await waitForAsync(
        async () => {
          const a = (await (await fetch(base + 'api/keys?q=wk.')).json()) as KeysAnswer;
          const c = a.keys.find((k) => k.type === 'counter');
          return a.keys.length === 3 && c !== undefined && c.value === 12 ? a : undefined;
        },
        1000,
        "the keys in the search within 1 s, every worker's lines counted",
      );
      expect(Date.now() - sentAt).toBeLessThan(1000);
      const timer = found.keys.find((k) => k.type === 'timer')!;
      expect(timer.tags).toEqual([['region', 'eu']]);
      expect(timer.value).toBe(6);
      expect(timer.prometheus).toBe('wk_latency{region="eu"}');
      expect(found.keys.find((k) => k.type === 'gauge')!.value).toBe(6);
    } finally {
      for (const s of senders) s.close();
    }
  });

  it("with workers: 2, the busiest keys, lines per type and new keys come from the workers' partials", async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500, workers: 2,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { port: 0 } }`);
    const base = statusUrl(env.daemon);
    const port = env.daemon.udpPort;
    type Status = {
      ingest: { linesPerSecByType: { counters: number; gauges: number; timers: number } | null };
      topKeys: Array<{ type: string; id: string; lines: number }>;
      topKeysSampledMs: number;
      history: { newKeys: number[] };
      keys: { created: number };
    };
    await fetch(base + 'api/status'); // a page is open: lines per key are sampled from now on
    // several senders (source ports), so that both workers read lines
    const senders = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        return s;
      }),
    );
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const s = senders[i % senders.length]!;
        await new Promise<void>((res, rej) =>
          s.send('wbusy.key:1|c\nwquiet.key:1|c\nwbusy.key:2|c\nwgauge:3|g', port, '127.0.0.1', (e) => (e ? rej(e) : res())),
        );
        if (i % 4 === 3) await pace(5);
      }
    })();
    let s: Status;
    try {
      s = await waitForAsync(
        async () => {
          const st = (await (await fetch(base + 'api/status')).json()) as Status;
          // (the first window opens when the page first asks, and may span most of an interval: wait for a later one)
          return st.topKeys.length >= 3 && st.topKeys[2]!.lines >= 5 && st.topKeysSampledMs < 250 ? st : undefined;
        },
        15_000,
        'busiest keys with workers',
      );
    } finally {
      sending = false;
      await sender;
      for (const x of senders) x.close();
    }
    // merged by key from both workers, scaled to the interval: the 2 : 1 of their lines kept
    expect(s.topKeys.map((k) => k.id).filter((id) => id !== 'wgauge')).toEqual(['wbusy.key', 'wquiet.key']);
    const busy = s.topKeys.find((k) => k.id === 'wbusy.key')!;
    const quiet = s.topKeys.find((k) => k.id === 'wquiet.key')!;
    expect(Math.abs(busy.lines / quiet.lines - 2)).toBeLessThan(0.05);
    const gauge = s.topKeys.find((k) => k.id === 'wgauge')!;
    expect(gauge.type).toBe('gauge');
    expect(Math.abs(gauge.lines / quiet.lines - 1)).toBeLessThan(0.05);
    expect(s.topKeysSampledMs).toBeGreaterThan(0);
    expect(s.topKeysSampledMs).toBeLessThan(500);
    const byType = s.ingest.linesPerSecByType!;
    expect(byType.counters).toBeGreaterThan(0);
    expect(Math.abs(byType.counters / byType.gauges - 3)).toBeLessThan(0.1);
    expect(byType.timers).toBe(0);
    // the cardinality view: the three keys are new once, in the flush that merged them
    expect(s.keys.created).toBeGreaterThanOrEqual(3);
    expect(s.history.newKeys.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
  });

  it('admin stats counts the packets and lines received', async () => {
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 60000,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'], statusPage: { enabled: false } }`);
    const before = statsMap(await env.daemon.admin('stats'));
    expect(before.get('messages.packets_received')).toBe('0');
    expect(before.get('messages.lines_received')).toBe('0');
    await env.daemon.send('a:1|c\nb:2|ms\nnot statsd');
    await env.daemon.send('c:3|g');
    const after = await waitForAsync(
      async () => {
        const m = statsMap(await env.daemon!.admin('stats'));
        return m.get('messages.packets_received') === '2' ? m : undefined;
      },
      10_000,
      'two packets counted',
    );
    expect(after.get('messages.lines_received')).toBe('4');
    expect(after.get('messages.bad_lines_seen')).toBe('1');
  });

  it('requires its token for the data (not for the page or /health), and serves only GET and HEAD', async () => {
    const token = 'a-long-enough-status-token';
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 60000,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'],
      statusPage: { port: 0, token: '${token}' } }`);
    const base = statusUrl(env.daemon);
    expect((await fetch(base + 'api/status')).status).toBe(401);
    expect((await fetch(base + 'api/keys?q=a')).status).toBe(401);
    expect((await fetch(base + 'api/key?type=counter&id=a')).status).toBe(401);
    expect((await fetch(base)).status).toBe(200);
    expect((await fetch(base + 'api/status', { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    expect((await fetch(base + 'api/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${base}?token=${token}`)).status).toBe(200);
    expect((await fetch(base + 'health')).status).toBe(200);
    expect((await fetch(`${base}api/status?token=${token}`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses to start on a non-loopback address without a token, naming the key', async () => {
    await expect(
      startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, backends: ['console'], statusPage: { address: '0.0.0.0', port: 0 } }`),
    ).rejects.toThrow(/statusPage\.token/);
  });
});
