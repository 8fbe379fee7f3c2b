/**
 * Loading one of tallyd's compiled addons (src/native/binding.gyp, built by `npm ci` / `npm install`
 * with node-gyp) once per process: the module, or null with the reason (not built, failed to load,
 * not for this platform), for the callers' fallbacks.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Addon<T> {
  /** The compiled module, or null (see {@link Addon.problem}). */
  load(): T | null;
  /** Why {@link Addon.load} returns null; undefined when it loads. */
  problem(): string | undefined;
}

/**
 * `file`: the addon's file name (`udp_recv.node`); `what`: how messages name it; `unsupported`: the
 * reason this platform cannot have it, or undefined.
 */
export function nativeAddon<T>(file: string, what: string, unsupported: string | undefined): Addon<T> {
  let cached: T | null | undefined;
  let loadError: string | undefined;
  const load = (): T | null => {
    if (cached !== undefined) return cached;
    cached = null;
    if (unsupported !== undefined) {
      loadError = unsupported;
      return null;
    }
    // from dist/src/native/addon.js (built) or src/native/addon.ts (tests run from source)
    const here = dirname(fileURLToPath(import.meta.url));
    const addon = join('src', 'native', 'build', 'Release', file);
    const candidates = [join(here, '..', '..', '..', addon), join(here, '..', '..', addon)];
    const found = candidates.find((f) => existsSync(f));
    if (found === undefined) {
      loadError = `${what} not built (${candidates[0]}); run npm install with a C compiler`;
      return null;
    }
    try {
      cached = createRequire(import.meta.url)(found) as T;
    } catch (err) {
      loadError = `${what} failed to load: ${(err as Error).message}`;
    }
    return cached;
  };
  return {
    load,
    problem: () => {
      load();
      return cached === null ? loadError : undefined;
    },
  };
}
