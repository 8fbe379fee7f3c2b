import { describe, expect, it } from 'vitest';
import {
  escapeLabelValue,
  formatValue,
  isValidLabelName,
  isValidMetricName,
  labelBody,
  sanitizeLabelName,
  sanitizeMetricName,
} from '../../../../src/backends/prometheus/naming.js';

describe('sanitizeMetricName (statsd_exporter defaults)', () => {
  it.each([
    ['web.requests', 'web_requests'],
    ['api-v2.GET /users', 'api_v2_GET__users'],
    ['5xx.count', '_5xx_count'],
    ['already_fine', 'already_fine'],
    ['', '_'],
    ['é.ü', '___'],
  ])('%j → %j', (input, out) => {
    expect(sanitizeMetricName(input)).toBe(out);
    expect(isValidMetricName(sanitizeMetricName(input))).toBe(true);
  });
});

describe('sanitizeLabelName', () => {
  it.each([
    ['host', 'host'],
    ['k8s.pod', 'k8s_pod'],
    ['1zone', '_1zone'],
    ['__name__', '_name__'],
    ['___x', '_x'],
  ])('%j → %j', (input, out) => {
    expect(sanitizeLabelName(input)).toBe(out);
    expect(isValidLabelName(sanitizeLabelName(input))).toBe(true);
  });
});

describe('text format helpers', () => {
  it('escapes label values', () => {
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
  it('formats special values as Go does', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(0.25)).toBe('0.25');
    expect(formatValue(1e21)).toBe('1e+21');
  });
  it('renders a label body', () => {
    expect(labelBody([])).toBe('');
    expect(
      labelBody([
        ['a', 'x'],
        ['b', 'y"'],
      ]),
    ).toBe('a="x",b="y\\""');
  });
});
