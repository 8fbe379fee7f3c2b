/** promtool from Debian's `prometheus` package: tests using it fail (not skip) on CI when it is missing. */
import { spawnSync } from 'node:child_process';

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Whether tests needing `name` should run; throws on CI (CI=true) when the binary is missing. */
export function requireBinary(name: string): boolean {
  if (hasBinary(name)) return true;
  if (process.env['CI'] === 'true') throw new Error(`${name} is not installed (apt-get install -y --no-install-recommends prometheus)`);
  return false;
}

/** `promtool check metrics` on a text exposition: status 0 clean, 3 lint warnings only, 1 parse error. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
