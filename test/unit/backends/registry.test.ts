import { describe, expect, it } from 'vitest';
import { createBackend, knownBackends, registerBackend } from '../../../src/backends/registry.js';
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

  it('throws an error naming the known backends for an unknown name', () => {
    expect(() => createBackend('nope', context(config()))).toThrow(/unknown backend "nope".*console, graphite, prometheus, repeater/);
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
