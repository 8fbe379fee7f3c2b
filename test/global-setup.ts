/**
 * vitest globalSetup: the black-box tests spawn dist/src/main.js, so dist/ must be built from the
 * current src/. `npm test` runs tsc first; `npx vitest run <file>` does not, and an edit not yet
 * built would be tested as the old code. Before any test runs, every src/**\/*.ts is checked against
 * its dist/src/**\/*.js (present, and written no earlier than the source); when one is missing or
 * older, dist/ is rebuilt with `tsc -p tsconfig.json` (about 20 s), and a build that fails stops the
 * run with tsc's message.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The sources under `root`/src whose `root`/dist/src output is missing or older, as paths relative to `root`. */
export function staleSources(root: string): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'build') walk(p);
        continue;
      }
      if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
      const rel = relative(root, p);
      const out = join(root, 'dist', rel.slice(0, -3) + '.js');
      let outMs: number;
      try {
        outMs = statSync(out).mtimeMs;
      } catch {
        stale.push(rel);
        continue;
      }
      if (outMs < statSync(p).mtimeMs) stale.push(rel);
    }
  };
  walk(join(root, 'src'));
  return stale;
}

export default function setup(): void {
  const stale = staleSources(ROOT);
  if (stale.length === 0) return;
  const shown = stale.slice(0, 5).join(', ') + (stale.length > 5 ? ` and ${stale.length - 5} more` : '');
  console.warn(`dist/ is older than ${shown}: rebuilding it (tsc -p tsconfig.json) before the tests`);
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`dist/ is not current and the build failed; fix it and run npm run build:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  const still = staleSources(ROOT);
  if (still.length > 0) throw new Error(`dist/ is still older than ${still.join(', ')} after a build`);
}
