/**
 * The backend registry: the core finds backends by name here and never imports one directly.
 *
 * Adding a backend (e.g. src/backends/prometheus):
 *   1. export a factory `(ctx: BackendContext) => Backend` (see ./types.ts): `name`, `start()`,
 *      `flush(snapshot)` that never mutates the snapshot and never throws for delivery problems,
 *      optional `packet(buf, start, end)` for raw packets, `status()` lines for the admin `stats`
 *      command (`last_*` values in unix seconds), `stop(deadlineMs)` that drains within the deadline;
 *   2. add one line below, e.g. `registerBackend('prometheus', prometheusBackend, validatePrometheusSection);`
 * The config loader normalises names ('./backends/graphite' → 'graphite') before they get here.
 */
import type { TallydConfig } from '../config/types.js';
import type { Backend, BackendContext, BackendFactory } from './types.js';
import { createConsoleBackend } from './console/index.js';
import { createGraphiteBackend } from './graphite/index.js';
import { createRepeaterBackend } from './repeater/index.js';
import { prometheusBackend, validatePrometheusSection } from './prometheus/index.js';

const factories = new Map<string, BackendFactory>();
const sectionValidators = new Map<string, SectionValidator>();

/** Checks a backend's own config section (config.raw[name]); returns problems naming the keys. */
export type SectionValidator = (config: TallydConfig) => string[];

/** Registers (or replaces) the factory for `name`, with an optional validator of its config section. */
export function registerBackend(name: string, factory: BackendFactory, validate?: SectionValidator): void {
  factories.set(name, factory);
  if (validate) sectionValidators.set(name, validate);
}

/**
 * Start-up and --check-config validation of what the core config cannot know: every configured
 * backend exists, and each one's own section is valid. Returns every problem found.
 */
export function validateBackendSections(config: TallydConfig): string[] {
  const problems: string[] = [];
  for (const name of config.backends) {
    if (!factories.has(name)) {
      problems.push(`config key 'backends': unknown backend "${name}" (known backends: ${knownBackends().join(', ')})`);
      continue;
    }
    problems.push(...(sectionValidators.get(name)?.(config) ?? []));
  }
  return problems;
}

/** Builds the backend registered as `name`; throws an Error naming the known ones when there is none. */
export function createBackend(name: string, ctx: BackendContext): Backend {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new Error(`unknown backend "${name}" (known backends: ${knownBackends().join(', ')})`);
  }
  return factory(ctx);
}

/** Registered names, sorted. */
export function knownBackends(): string[] {
  return [...factories.keys()].sort();
}

registerBackend('graphite', (ctx) => createGraphiteBackend(ctx));
registerBackend('console', (ctx) => createConsoleBackend(ctx));
registerBackend('repeater', createRepeaterBackend);
registerBackend('prometheus', prometheusBackend, validatePrometheusSection);
