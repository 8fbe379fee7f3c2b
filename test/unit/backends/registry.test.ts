import { describe, expect, it } from 'vitest';
import { createBackend, knownBackends, registerBackend, validateBackendSections } from '../../../src/backends/registry.js';
import type { Backend } from '../../../src/backends/types.js';
import { config, context } from './fixtures.js';

describe('backend registry', () => {
  it('knows graphite, console and repeater at import', () => {
    expect(knownBackends()).toEqual(expect.arrayContaining(['console', 'graphite', 'repeater']));
    const ctx = context(config({ graphite: { ...config().graphite, host: undefined } }));
    expect(createBackend('graphite', ctx).name).toBe('graphite');
    expect(createBackend('console', ctx).name).toBe('console');
    expect(createBackend('repeater', ctx).name).toBe('repeater');
  });

  it('takes any other name for an npm backend, which fails to start when no module has that name', async () => {
    const b = createBackend('nope-no-such-module', context(config()));
    await expect(b.start()).rejects.toThrow(/not found \(looked in config file directory/);
    const problems = validateBackendSections(config({ backends: ['nope-no-such-module'] }));
    expect(problems.join('\n')).toMatch(
      /"nope-no-such-module" is not a built-in backend \(console, graphite, prometheus, repeater\) nor a module that loads/,
    );
  });

  it('adds a backend with one registerBackend call', () => {
    const fake: Backend = {
      name: 'fake',
      start: async () => {},
      flush: async () => {},
      status: () => [['x', 1]],
      stop: async () => {},
    };
    registerBackend('fake', () => fake);
    expect(knownBackends()).toContain('fake');
    expect(createBackend('fake', context(config()))).toBe(fake);
  });
});
