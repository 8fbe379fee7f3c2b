/**
 * Where a plug-in module (an npm backend, a local backend file, a server module) is found. The original
 * calls `require(name)` from its own stats.js; tallyd looks, in order:
 *   1. absolute paths as given; `./` and `../` paths from the config file's directory (the working
 *      directory when there is no file);
 *   2. bare names (`statsd-influxdb-backend`) in node_modules from the config file's directory upwards,
 *   3. then in tallyd's own installation (its node_modules),
 *   4. then in each directory of NODE_PATH.
 * Off the hot path: called at start-up and by --check-config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type PluginSource = 'path' | 'config file directory' | "tallyd's installation" | 'NODE_PATH';

export interface PluginLocation {
  /** As written in the config. */
  readonly spec: string;
  /** The module file that will be loaded. */
  readonly file: string;
  readonly from: PluginSource;
}

/** tallyd's package root: the first directory upwards from this file holding a package.json named tallyd. */
export function tallydRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'tallyd') return dir;
      } catch {
        // not ours: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The directory relative plug-in paths and bare names are looked up from. */
export function configBaseDir(configFile: string | undefined): string {
  return configFile === undefined ? process.cwd() : dirname(resolve(configFile));
}

/** node_modules directories searched from `dir` upwards (as Node's resolution walks them). */
function nodeModulesUpwards(dir: string): string[] {
  const out: string[] = [];
  let d = resolve(dir);
  for (;;) {
    if (!d.endsWith(`${sep}node_modules`)) out.push(join(d, 'node_modules'));
    const up = dirname(d);
    if (up === d) return out;
    d = up;
  }
}

function tryResolve(request: string, from: string): string | undefined {
  try {
    return createRequire(join(from, 'noop.js')).resolve(request);
  } catch {
    return undefined;
  }
}

/** Resolves `spec` for a config file at `configFile`; throws an Error saying where it looked. */
export function resolvePlugin(spec: string, configFile: string | undefined): PluginLocation {
  const base = configBaseDir(configFile);
  if (isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
    const target = isAbsolute(spec) ? spec : resolve(base, spec);
    const file = tryResolve(target, base);
    if (file === undefined) throw new Error(`no module at ${target}`);
    return { spec, file, from: 'path' };
  }
  const looked: string[] = [];
  // bare names: each step accepts only what it found in its own node_modules (Node would also look in
  // global folders, which NODE_PATH stands for here)
  const steps: Array<[PluginSource, string]> = [
    ['config file directory', base],
    ["tallyd's installation", tallydRoot()],
  ];
  for (const [from, dir] of steps) {
    const dirs = nodeModulesUpwards(dir);
    looked.push(`${from}: node_modules from ${dir} upwards`);
    const file = tryResolve(spec, dir);
    if (file !== undefined && dirs.some((d) => file.startsWith(d + sep))) return { spec, file, from };
  }
  const nodePath = (process.env.NODE_PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of nodePath) {
    const file = tryResolve(join(resolve(dir), spec), dir);
    if (file !== undefined) return { spec, file, from: 'NODE_PATH' };
  }
  looked.push(nodePath.length === 0 ? 'NODE_PATH: not set' : `NODE_PATH: ${nodePath.join(delimiter)}`);
  throw new Error(`not found (looked in ${looked.join('; ')})`);
}

/** Loads a resolved module file: require() (CommonJS, as the original), import() for an ES module. */
export async function loadModule(file: string): Promise<Record<string, unknown>> {
  const require = createRequire(import.meta.url);
  try {
    return require(file) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw err;
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
}

/** A module's exported function `name` (also under an ES module's default export). */
export function exportedFunction(mod: Record<string, unknown>, name: string): ((...args: unknown[]) => unknown) | undefined {
  const f = typeof mod[name] === 'function' ? mod[name] : (mod.default as Record<string, unknown> | undefined)?.[name];
  return typeof f === 'function' ? (f as (...args: unknown[]) => unknown) : undefined;
}
