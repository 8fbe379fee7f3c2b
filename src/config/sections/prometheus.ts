/**
 * The top-level `prometheus` key; its section's keys are the backend's (src/backends/prometheus/config.ts).
 */
import { PROMETHEUS_SECTION } from '../../backends/prometheus/config.js';
import { type KeySchema, seeSection } from './types.js';

/** The top level's `prometheus` key. */
export const PROMETHEUS_TOP_KEYS: readonly KeySchema[] = [
  {
    key: 'prometheus',
    field: 'prometheus',
    check: { kind: 'custom' },
    type: 'object',
    defaultDoc: '—',
    reload: 'backends',
    doc: `the prometheus backend's section, ${seeSection(PROMETHEUS_SECTION)}`,
  },
];
