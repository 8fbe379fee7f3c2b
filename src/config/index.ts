/** Configuration: load (original-style files, JSON) → validate (every problem at once) → freeze. */

export * from './defaults.js';
export { describeEffectiveConfig, effectiveConfigObject } from './effective.js';
export {
  buildConfig,
  type ConfigOverrides,
  describeConfig,
  EMBEDDED_DEFAULT_CONFIG,
  expandPlaceholders,
  type PlaceholderContext,
  parseConfigText,
  readConfigFile,
  readConfigFileAsync,
  writeConfigLines,
} from './load.js';
export { backendsNeedRebuild, changedBackendKeys, type KeySchema, type ReloadEffect, SECTIONS, type SectionSchema } from './schema.js';
export type * from './types.js';
export { normaliseBackendName, normaliseServerName, type ValidationResult, validateConfig } from './validate.js';
