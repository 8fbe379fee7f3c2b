/**
 * The Docker image without a Docker engine (none on CI): what the image runs, run here. Its config
 * (config/docker.js, the Dockerfile's CMD) binds StatsD, admin, Prometheus and the status page on
 * 0.0.0.0 with the status page's token from the environment, the ports it binds are the ones EXPOSEd,
 * and the Dockerfile's own HEALTHCHECK command passes against the running daemon (and fails when
 * nothing answers). Also: one TypeScript build, and a .dockerignore that keeps the host's build out.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import JSON5 from 'json5';
import { afterEach, describe, expect, it } from 'vitest';
import { logRecords, ROOT, type RunningDaemon, startDaemon, statusUrl } from './harness.js';
import { httpGet } from './prometheus-helpers.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerConfigText = readFileSync(join(ROOT, 'config', 'docker.js'), 'utf8');
const dockerConfig = JSON5.parse(dockerConfigText) as {
  port: number;
  address: string;
  mgmt_port: number;
  mgmt_address: string;
  prometheus: { address: string; port: number };
  statusPage: { address: string; port: number; token: string };
};

/** The HEALTHCHECK's CMD, exec form: ["node", "-e", "..."]. */
function healthcheck(): string[] {
  const m = /^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile);
  expect(m, 'a HEALTHCHECK with an exec-form CMD').not.toBeNull();
  return JSON.parse(m![1]!) as string[];
}

let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

describe('Dockerfile and config/docker.js', () => {
  it('EXPOSEs exactly the ports the image config binds, every one on 0.0.0.0, the status page with a token', () => {
    const exposed = (/^EXPOSE (.*)$/m.exec(dockerfile)?.[1] ?? '').split(/\s+/).sort();
    const c = dockerConfig;
    expect(exposed).toEqual([`${c.port}/udp`, `${c.mgmt_port}/tcp`, `${c.prometheus.port}/tcp`, `${c.statusPage.port}/tcp`].sort());
    expect([c.address, c.mgmt_address, c.prometheus.address, c.statusPage.address]).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0']);
    expect(c.statusPage.token).toBe('${ENV:TALLYD_STATUS_TOKEN}');
    expect(/^CMD \["config\/docker\.js"\]$/m.test(dockerfile)).toBe(true);
    // the HEALTHCHECK asks the status page's /health on the port the config gives it
    expect(healthcheck().join(' ')).toContain(`http://127.0.0.1:${c.statusPage.port}/health`);
  });

  it('builds TypeScript once (npm ci runs prepare) and keeps the host build out of the context', () => {
    const runs = dockerfile.split('\n').filter((l) => /^RUN /.test(l) || /^\s+&&/.test(l));
    expect(runs.filter((l) => /\btsc\b|npm run build|npm run prepare/.test(l))).toEqual([]);
    const ci = runs.filter((l) => /npm ci\b/.test(l));
    expect(
      ci.filter((l) => !l.includes('--omit=dev')),
      'one npm ci with the dev dependencies',
    ).toHaveLength(1);
    expect(
      ci.filter((l) => l.includes('--omit=dev')).every((l) => l.includes('--ignore-scripts')),
      'the runtime stage runs no scripts (no second build)',
    ).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toMatch(/^tsc /);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', 'src/native/build']));
  });

  it("runs as the image runs it: reachable on 0.0.0.0, and the Dockerfile's HEALTHCHECK passes", async () => {
    // the image's config with port 0 for each listener (the machine is shared); nothing else changed
    const text = dockerConfigText.replace(/port: \d+/g, 'port: 0').replace(/mgmt_port: \d+/, 'mgmt_port: 0');
    expect(text.match(/port: 0/g)?.length).toBe(4);
    const token = 'docker-test-token-0123456789';
    daemon = await startDaemon(text, [], { TALLYD_STATUS_TOKEN: token });
    const up = logRecords(daemon.stderr.join('\n')).find((r) => r.msg === 'tallyd is up') as unknown as {
      listeners: string[];
      mgmt: string;
    };
    expect(up.listeners).toEqual([`udp 0.0.0.0:${daemon.udpPort}`]);
    expect(up.mgmt).toBe(`0.0.0.0:${daemon.mgmtPort}`);
    const status = new URL(statusUrl(daemon));
    expect(status.hostname).toBe('0.0.0.0');

    const cmd = healthcheck().map((a) => a.replace(`:${dockerConfig.statusPage.port}/`, `:${status.port}/`));
    const ok = spawnSync(cmd[0]!, cmd.slice(1), { timeout: 10_000 });
    expect(ok.status, String(ok.stderr)).toBe(0);
    // the API needs the token off loopback; /health does not (the HEALTHCHECK sends none)
    expect((await httpGet(Number(status.port), '/api/status')).status).toBe(401);
    expect((await httpGet(Number(status.port), `/api/status?token=${token}`)).status).toBe(200);

    await daemon.stop();
    daemon = undefined;
    const down = spawnSync(cmd[0]!, cmd.slice(1), { timeout: 10_000 });
    expect(down.status).toBe(1);
  }, 40_000);

  it('without the token the image refuses to start, naming the variable', () => {
    const env = { ...process.env };
    delete env.TALLYD_STATUS_TOKEN;
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'main.js'), '--check-config', join(ROOT, 'config', 'docker.js')], {
      encoding: 'utf8',
      env,
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TALLYD_STATUS_TOKEN');
  });
});
