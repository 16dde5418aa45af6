export * from './schema.ts';
export { loadConfig, readSecret, type LoadConfigOptions, type LoadedConfig } from './load.ts';
