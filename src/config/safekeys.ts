/**
 * Keys that must never reach the code that copies a config: `__proto__` (an assignment `out[key] = v`
 * with it replaces the object's prototype, so its members become hidden settings: issue 9 found
 * `"__proto__": { "mgmt_address": "0.0.0.0" }` putting admin on 0.0.0.0), and `constructor` and
 * `prototype`, which no config key uses and which only serve such tricks. Refused at any depth.
 */

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * One problem per forbidden key anywhere in `value` (own keys of objects, inside arrays too), each
 * naming the key's path, e.g. `config key 'graphite.__proto__': ...`. [] when there is none.
 * `what` starts each message (`config key`, or a mapping file's name).
 */
export function forbiddenKeyProblems(value: unknown, what = 'config key'): string[] {
  const problems: string[] = [];
  walk(value, '', what, problems, 0);
  return problems;
}

/** Deeper than this is not a config: reported, not walked (no stack overflow on a hostile file). */
const MAX_DEPTH = 64;

function walk(value: unknown, path: string, what: string, problems: string[], depth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_DEPTH) {
    problems.push(`${what} '${path}': nested more than ${MAX_DEPTH} levels deep`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}[${i}]`, what, problems, depth + 1);
    return;
  }
  for (const key of Object.getOwnPropertyNames(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) {
      problems.push(`${what} '${at}': '${key}' is not allowed as a key (it could change how the config is read)`);
      continue;
    }
    walk((value as Record<string, unknown>)[key], at, what, problems, depth + 1);
  }
}
