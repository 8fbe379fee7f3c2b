import { describe, expect, it } from 'vitest';
import { validatePrometheusConfig } from '../../../src/backends/prometheus/index.js';
import { closestKey, editDistance } from '../../../src/config/suggest.js';

describe('did you mean', () => {
  it.each([
    ['flushInterval', 'flushInterval', 0],
    ['flushIntreval', 'flushInterval', 1], // a swap of neighbours is one edit
    ['flushIntervl', 'flushInterval', 1],
    ['fluhsIntervall', 'flushInterval', 2],
    ['port', 'host', 2],
    ['', 'abc', 3],
  ])('editDistance(%s, %s) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('suggests the closest key within 2 edits (1 for short keys), or a case/_/- variant', () => {
    const known = ['flushInterval', 'mgmt_port', 'port', 'address', 'percentThreshold'];
    expect(closestKey('flushIntreval', known)).toBe('flushInterval');
    expect(closestKey('FLUSHINTERVAL', known)).toBe('flushInterval');
    expect(closestKey('mgmtPort', known)).toBe('mgmt_port');
    expect(closestKey('prot', known)).toBe('port');
    expect(closestKey('host', known)).toBeUndefined(); // 2 edits from port, but a 4-letter key allows 1
    expect(closestKey('percentile', known)).toBeUndefined();
    expect(closestKey('port', known)).toBeUndefined(); // known: nothing to suggest
  });

  it('in the prometheus section too', () => {
    expect(validatePrometheusConfig({ portt: 9102 })).toEqual([
      "config key 'prometheus.portt': unknown key (did you mean 'prometheus.port'?)",
    ]);
    expect(validatePrometheusConfig({ zzz: 1 })[0]).toMatch(/^config key 'prometheus.zzz': unknown key \(known: address, port, /);
  });
});
