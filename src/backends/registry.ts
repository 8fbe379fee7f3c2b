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
 * Any other name is an npm backend or a backend file, loaded through the original's interface (./plugin).
 */
import type { BackendView } from '../config/load.js';
import type { TallydConfig } from '../config/types.js';
import { createConsoleBackend } from './console/index.js';
import { createGraphiteBackend } from './graphite/index.js';
import { createPluginBackend, describePlugin } from './plugin/index.js';
import { prometheusBackend, validatePrometheusSection } from './prometheus/index.js';
import { createRepeaterBackend } from './repeater/index.js';
import type { Backend, BackendCapabilities, BackendContext, BackendFactory } from './types.js';

const factories = new Map<string, BackendFactory>();
const sectionValidators = new Map<string, SectionValidator>();
const capabilities = new Map<string, BackendCapabilities>();
const NO_CAPABILITIES: BackendCapabilities = Object.freeze({});

/** Checks a backend's own config section (config.raw[name]); returns problems naming the keys. */
export type SectionValidator = (config: BackendView) => string[];

/**
 * Registers (or replaces) the factory for `name`, with an optional validator of its config section and
 * what the pipeline must know of it (./types.ts BackendCapabilities).
 */
export function registerBackend(name: string, factory: BackendFactory, validate?: SectionValidator, caps?: BackendCapabilities): void {
  factories.set(name, factory);
  if (validate) sectionValidators.set(name, validate);
  if (caps) capabilities.set(name, Object.freeze({ ...caps }));
  else capabilities.delete(name);
}

/** The capabilities `name` was registered with (none for npm backends and backend files). */
export function backendCapabilities(name: string): BackendCapabilities {
  return capabilities.get(name) ?? NO_CAPABILITIES;
}

/**
 * Start-up and --check-config validation of what the core config cannot know: every configured
 * backend exists, and each one's own section is valid. Returns every problem found.
 */
export function validateBackendSections(config: BackendView): string[] {
  const problems: string[] = [];
  for (const name of config.backends) {
    if (!factories.has(name)) {
      // not built in: an npm backend or a backend file (the original's require(name)), see ./plugin
      const found = describePlugin(name, config.configFile);
      if (!found.ok) {
        problems.push(
          `config key 'backends': "${name}" is not a built-in backend (${knownBackends().join(', ')}) nor a module that loads: ${found.text}`,
        );
      }
      continue;
    }
    problems.push(...(sectionValidators.get(name)?.(config) ?? []));
  }
  return problems;
}

/** Builds the backend registered as `name`; throws an Error naming the known ones when there is none. */
export function createBackend(name: string, ctx: BackendContext): Backend {
  const factory = factories.get(name);
  // not built in: loaded as the original loads it (src/backends/plugin); start() fails when it cannot be
  return factory === undefined ? createPluginBackend(name, ctx) : factory(ctx);
}

/** --check-config: one line per configured backend or server module that is not built in, saying where it was found. */
export function describePluginBackends(config: TallydConfig): string[] {
  const lines = config.backends.filter((name) => !factories.has(name)).map((name) => describePlugin(name, config.configFile).text);
  for (const s of config.servers) if (s.module !== undefined) lines.push(describePlugin(s.module, config.configFile, 'server module').text);
  return lines;
}

/** Registered names, sorted. */
export function knownBackends(): string[] {
  return [...factories.keys()].sort();
}

registerBackend('graphite', (ctx) => createGraphiteBackend(ctx), undefined, { drainsAfterReplace: true });
registerBackend('console', (ctx) => createConsoleBackend(ctx));
registerBackend('repeater', createRepeaterBackend, undefined, { wantsPackets: true });
registerBackend('prometheus', prometheusBackend, validatePrometheusSection);
