/** Configuration: load (original-style files, JSON) → validate (every problem at once) → freeze. */
export {
  buildConfig,
  describeConfig,
  EMBEDDED_DEFAULT_CONFIG,
  expandPlaceholders,
  parseConfigText,
  readConfigFile,
  readConfigFileAsync,
  writeConfigLines,
  type ConfigOverrides,
  type PlaceholderContext,
} from './load.js';
export { normaliseBackendName, normaliseServerName, validateConfig, type ValidationResult } from './validate.js';
export * from './defaults.js';
export { backendsNeedRebuild, changedBackendKeys, SECTIONS, type KeySchema, type ReloadEffect, type SectionSchema } from './schema.js';
export type * from './types.js';
