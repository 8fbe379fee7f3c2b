/**
 * Prometheus label values are kept as sent (issue 13, point 4), as statsd_exporter keeps them:
 * escaped in the exposition, never rewritten, also with keyNameSanitize false. Label names follow
 * the Prometheus rules; Graphite keeps its sanitised tags. Real UDP in, real /metrics and a real
 * TCP listener out, promtool on the exposition.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../unit/backends/prometheus/promtool.js';
import { flushWith, startDaemon, useGraphiteAndDaemon, waitForAsync } from './harness.js';
import { httpGet, prometheusPort } from './prometheus-helpers.js';

describe('prometheus label values kept as sent', () => {
  const env = useGraphiteAndDaemon();

  it.each([
    [true, 1],
    [false, 1],
    [true, 2], // cluster workers: keys travel to the primary and are rebuilt there
  ])(
    'keyNameSanitize %s, workers %i: values verbatim (escaped) in /metrics, sanitised in Graphite, promtool clean',
    async (sanitize, workers) => {
      env.daemon = await startDaemon(`{
      port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 300, statusPage: { enabled: false },
      keyNameSanitize: ${sanitize}, workers: ${workers},
      backends: ['graphite', 'prometheus'], graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port},
      prometheus: { port: 0 }
    }`);
      const port = await prometheusPort(env.daemon);
      // DogStatsD values with /, @, spaces, quotes, backslashes (a literal backslash-n: a real newline
      // ends the line in the protocol), ':' after the first, and UTF-8; an Influx tag with a space
      const line =
        'api.hits:1|c|#route:/api/users,email:a@b.com,msg:hello  world,q:say "hi",path:C:\\dir\\n,city:Zürich,lang:日本語,my-tag:x';
      await env.daemon.send(`${line}\ncpu,host=web 01:2|c`);
      const expected = [
        'api_hits{city="Zürich",email="a@b.com",lang="日本語",msg="hello  world",my_tag="x",path="C:\\\\dir\\\\n",q="say \\"hi\\"",route="/api/users"} 1',
        'cpu{host="web 01"} 2',
      ];
      const body = await waitForAsync(
        async () => {
          const r = await httpGet(port, '/metrics');
          return expected.every((e) => r.body.includes(`\n${e}\n`)) ? r.body : undefined;
        },
        10_000,
        `the labelled series in /metrics`,
      );
      for (const e of expected) expect(body).toContain(`\n${e}\n`);
      // Graphite keeps today's sanitising (a value that sanitises to '' is left out)
      const flush = await flushWith(
        env.graphite,
        'stats_counts.api.hits;city=Zrich;email=ab.com;msg=hello_world;my-tag=x;path=Cdirn;q=say_hi;route=-api-users',
      );
      expect(flush.get('stats_counts.api.hits;city=Zrich;email=ab.com;msg=hello_world;my-tag=x;path=Cdirn;q=say_hi;route=-api-users')).toBe(
        1,
      );
      if (!requireBinary('promtool')) return; // (CI=true makes a missing promtool fail)
      const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
      expect([0, 3], r.stdout + r.stderr).toContain(r.status); // 3: lint warnings only
      expect(r.stdout + r.stderr).not.toMatch(/error/i);
    },
  );
});
