/**
 * docs/reference.md lists every line the admin `stats` command answers (issue 13: every self-metric
 * in one place), checked against a real daemon with every built-in backend and a failing npm backend,
 * so that a new line cannot go undocumented.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, type RunningDaemon, startDaemon, waitStats } from './harness.js';

let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** The names in the first column of the reference's "Admin `stats` lines" table. */
function documentedStatsLines(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'reference.md'), 'utf8');
  const start = doc.indexOf('### Admin `stats` lines');
  expect(start, 'the section in docs/reference.md').toBeGreaterThan(-1);
  const names = new Set<string>();
  for (const line of doc.slice(start).split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of line.slice(1, line.indexOf('|', 1)).matchAll(/`([^`]+)`/g)) names.add(m[1]!);
  }
  return names;
}

describe('docs/reference.md: admin stats lines', () => {
  it('documents every line of a daemon with every built-in backend and a failing npm backend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tallyd-refadmin-'));
    const plugin = join(dir, 'failing.cjs');
    writeFileSync(plugin, "exports.init = (t, c, events) => { events.on('flush', () => { throw new Error('x'); }); return true; };\n");
    daemon = await startDaemon(`{
      port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 200, statusPage: { enabled: false },
      backends: ['graphite', 'prometheus', 'repeater', 'console', ${JSON.stringify(plugin)}],
      graphiteHost: '127.0.0.1', graphitePort: 1, prometheus: { port: 0 },
      repeater: [{ host: '127.0.0.1', port: 1 }], repeaterProtocol: 'tcp'
    }`);
    await daemon.send('a:1|c');
    const lines = await waitStats(daemon, (s) => [...s.keys()].some((k) => k.includes('plugin_failures_flush')), 'a plug-in failure line');
    const generic = (name: string): string => (name.startsWith(`${plugin}.plugin_failures_`) ? '<backend>.plugin_failures_<kind>' : name);
    const documented = documentedStatsLines();
    expect(lines.size).toBeGreaterThan(30);
    expect([...lines.keys()].map(generic).filter((n) => !documented.has(n))).toEqual([]);
  }, 30_000);
});
