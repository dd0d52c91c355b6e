/** The configuration: file schema, presets, secrets and the resolved Config. */
export * from './types.js';
export {
  configSchema,
  PRESET_NAMES,
  LOG_LEVELS,
  KEYPAD_KEYS,
  type FileConfig,
  type FileSerialSettings,
  type DeepPartial,
  type PresetName,
  type LogLevel,
} from './schema.js';
export { PRESETS, type ProviderPreset } from './presets.js';
export {
  readExternalSecrets,
  envSecrets,
  SECRET_SOURCES,
  type ExternalSecrets,
  type FoundSecret,
  type SecretName,
} from './secrets.js';
export {
  loadConfig,
  resolveConfig,
  readConfigFile,
  discoverConfigFile,
  validateFileConfig,
  defaultStorePath,
  ConfigError,
  BUILTIN_FILE_CONFIG,
  DEFAULT_LK_KEYMAP,
  DEFAULT_CONFIG_FILE,
  DEFAULT_SERIAL,
  type LoadOptions,
  type ResolveOptions,
} from './load.js';
