/** The aggregator: samples in, snapshots out. */
export { Aggregator, MSG_CLOCK_MS, type AggregatorOptions, type AdminMetricType } from './aggregator.js';
export { KeyTable } from './keytable.js';
export { reservoirValues, growReservoir, seededRandom, EMPTY_RESERVOIR } from './reservoir.js';
export {
  thresholdSuffix,
  compileThresholds,
  compileHistograms,
  binName,
  binIndex,
  type Threshold,
  type CompiledHistogram,
} from './percentiles.js';
export type * from './snapshot.js';
