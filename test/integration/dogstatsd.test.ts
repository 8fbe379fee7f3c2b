/**
 * Current DogStatsD, black-box: a real client from npm (hot-shots, in DogStatsD mode with a container
 * id and a cardinality, so every line carries `|c:` and `|card:` after its tags) and raw datagrams of
 * each protocol version, sent to the spawned daemon over UDP; what a real TCP Graphite listener
 * receives, and what the repeater passes on.
 */
import dgram from 'node:dgram';
import StatsD from 'hot-shots';
import { describe, expect, it } from 'vitest';
import { flushWith, useCleanups, waitFor } from './harness.js';

const { cleanups, setup } = useCleanups();

/** A UDP listener (the repeater's target): every datagram it gets, as text. */
async function udpSink(): Promise<{ port: number; got: string[] }> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { port: sock.address().port, got };
}

describe('DogStatsD from hot-shots (distribution, histogram, tags, event, check)', () => {
  it('stores the metrics under their names and tags, counts events and service checks, and the repeater passes them on', async () => {
    const rep = await udpSink();
    const { g, d } = await setup(
      `, backends: ['./backends/graphite', './backends/repeater'], repeater: [{ host: '127.0.0.1', port: ${rep.port} }], percentThreshold: [90]`,
    );
    const errors: Error[] = [];
    const client = new StatsD({
      host: '127.0.0.1',
      port: d.udpPort,
      datadog: true,
      containerID: 'abc123def456',
      cardinality: 'low',
      globalTags: { service: 'web' },
      includeDatadogTelemetry: false,
      aggregation: false,
      errorHandler: (e: Error) => errors.push(e),
    });
    cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
    const sent = (fn: (cb: (err?: Error) => void) => void): Promise<void> =>
      new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
    await sent((cb) => client.distribution('hs.dist', 12, 1, ['env:prod'], cb));
    await sent((cb) => client.distribution('hs.dist', 30, 1, ['env:prod'], cb));
    await sent((cb) => client.histogram('hs.hist', 7, ['env:prod'], cb));
    await sent((cb) => client.increment('hs.count', 3, ['route:a'], cb));
    await sent((cb) => client.gauge('hs.gauge', 5, ['env:prod'], cb));
    await sent((cb) => client.set('hs.users', 'u1', cb));
    await sent((cb) => client.timing('hs.time', 250, cb));
    await sent((cb) =>
      client.event(
        'Deploy done',
        'v1.2 is live\nall good',
        {
          date_happened: new Date(),
          hostname: 'web-1',
          aggregation_key: 'deploy',
          priority: 'low',
          source_type_name: 'ci',
          alert_type: 'success',
        },
        ['env:prod'],
        cb,
      ),
    );
    await sent((cb) =>
      client.check('db.up', client.CHECKS.OK, { hostname: 'web-1', date_happened: new Date(), message: 'fine | really' }, ['env:prod'], cb),
    );
    expect(errors).toEqual([]);

    const f = await flushWith(g, 'stats_counts.statsd.dogstatsd_events');
    expect(f.get('stats_counts.statsd.dogstatsd_events')).toBe(1);
    expect(f.get('stats_counts.statsd.dogstatsd_service_checks')).toBe(1);
    // every metric line and both others carried `|c:` and `|card:` (the event and the check too)
    expect(f.get('stats_counts.statsd.dogstatsd_container_ids')).toBe(9);
    expect(f.get('stats_counts.statsd.dogstatsd_cardinality')).toBe(9);
    expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(0);
    // names and tags as sent, nothing of the fields in them
    expect(f.get('stats.timers.hs.dist.count;env=prod;service=web')).toBe(2);
    expect(f.get('stats.timers.hs.dist.upper;env=prod;service=web')).toBe(30);
    expect(f.get('stats.timers.hs.hist.sum;env=prod;service=web')).toBe(7);
    expect(f.get('stats_counts.hs.count;route=a;service=web')).toBe(3);
    expect(f.get('stats.gauges.hs.gauge;env=prod;service=web')).toBe(5);
    expect(f.get('stats.sets.hs.users.count;service=web')).toBe(1);
    expect(f.get('stats.timers.hs.time.mean;service=web')).toBe(250);
    for (const path of f.keys()) if (!path.includes('statsd.')) expect(path).not.toMatch(/abc123|=low|card|Deploy|db\.up/);

    // the repeater passed every packet on, the event and the check included
    await waitFor(
      () => rep.got.some((p) => p.startsWith('_e{')) && rep.got.some((p) => p.startsWith('_sc|db.up|0|')),
      10_000,
      'event and check repeated',
    );
  }, 40_000);
});

describe('DogStatsD datagrams of each version (raw UDP)', () => {
  // (workers: 2: the counts are made in the ingest workers and merged by the primary)
  it.each([1, 2])(
    'v1.1 packing, v1.2-v1.6 fields and unknown fields never reach a name or tag; each is counted (workers: %i)',
    async (workers) => {
      const { g, d } = await setup(workers > 1 ? `, workers: ${workers}` : '');
      await d.send(
        [
          'cid:1|c|#a:b|c:abc123', // the line: was the key cid;a=bcabc123
          'cid:2|c|#a:b|c:other|card:low',
          'pk:1:2:3|d|#a:b', // v1.1: three values
          'ts:4|g|#a:b|T1700000000', // v1.3: into the current interval
          'ext:1|c|#a:b|e:it-false,cn-web,pu-1', // v1.5
          'nw:1|c|#a:b|zz:future-field', // a newer field
          '_e{5,4}:title|text|#a:b',
          '_sc|svc|2|#a:b|m:down',
          '_e{9,4}:title|text', // bad: lengths
          '_sc|svc|7', // bad: status
        ].join('\n'),
      );
      const f = await flushWith(g, 'stats_counts.cid;a=b');
      expect(f.get('stats_counts.cid;a=b')).toBe(3);
      expect(f.get('stats.timers.pk.count;a=b')).toBe(3);
      expect(f.get('stats.timers.pk.sum;a=b')).toBe(6);
      expect(f.get('stats.gauges.ts;a=b')).toBe(4);
      expect(f.get('stats_counts.ext;a=b')).toBe(1);
      expect(f.get('stats_counts.nw;a=b')).toBe(1);
      for (const path of f.keys())
        if (!path.includes('statsd.')) expect(path).not.toMatch(/abc123|other|=low|card|it-false|future|1700000000/);
      expect(f.get('stats_counts.statsd.dogstatsd_container_ids')).toBe(2);
      expect(f.get('stats_counts.statsd.dogstatsd_cardinality')).toBe(1);
      expect(f.get('stats_counts.statsd.dogstatsd_timestamps')).toBe(1);
      expect(f.get('stats_counts.statsd.dogstatsd_external_data')).toBe(1);
      expect(f.get('stats_counts.statsd.dogstatsd_unknown_fields')).toBe(1);
      expect(f.get('stats_counts.statsd.dogstatsd_events')).toBe(1);
      expect(f.get('stats_counts.statsd.dogstatsd_service_checks')).toBe(1);
      expect(f.get('stats_counts.statsd.bad_lines_seen')).toBe(2);
      expect(f.get('stats_counts.statsd.metrics_received')).toBe(10);
    },
    30_000,
  );

  it('with dogstatsdContainerIdTag the container id is the tag container_id', async () => {
    const { g, d } = await setup(', dogstatsdContainerIdTag: true');
    await d.send('cid:1|c|#a:b|c:abc123\ncid:2|c|c:abc123|#a:b\ncid:4|c|#a:b|c:other\ncid:8|c|#a:b');
    const f = await flushWith(g, 'stats_counts.cid;a=b;container_id=abc123');
    expect(f.get('stats_counts.cid;a=b;container_id=abc123')).toBe(3);
    expect(f.get('stats_counts.cid;a=b;container_id=other')).toBe(4);
    expect(f.get('stats_counts.cid;a=b')).toBe(8);
  }, 30_000);
});
