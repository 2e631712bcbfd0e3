// Finding, reading and settling the configuration. Precedence, lowest first: built-in defaults (appliance
// or development), the config file, then $LETTERBOX_DATA_DIR. The result is validated and deep-frozen.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { applianceDefaults, developmentDefaults } from './defaults.js';
import type { Config } from './schema.js';
import { isPlainObject, validateConfig } from './validate.js';

/** Read when neither --config nor $LETTERBOX_CONFIG names a file, and only if it exists. */
export const SYSTEM_CONFIG_FILE = '/etc/letterbox/config.json';

export interface LoadConfigOptions {
  /** `--config FILE`; relative to `cwd`. */
  file?: string;
  /** Start from the development defaults (`serve --dev`). */
  dev?: boolean;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to process.cwd(). */
  cwd?: string;
  /** Stands in for SYSTEM_CONFIG_FILE, so tests do not depend on the machine they run on. */
  systemFile?: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = chooseFile(opts, env, cwd);
  const fromFile = file === undefined ? {} : readConfigFile(file);

  // A relative dataDir means "next to the file that says so", wherever the process was started from.
  const dataDirBase = file !== undefined && Object.hasOwn(fromFile, 'dataDir') ? path.dirname(file) : cwd;
  const config = buildConfig(fromFile, { dev: opts.dev, dataDirBase });

  // The file is validated whole first, so a mistake in it is not hidden by the override.
  const envDataDir = env.LETTERBOX_DATA_DIR;
  if (envDataDir === undefined || envDataDir === '') return config;
  return deepFreeze({ ...config, dataDir: path.resolve(cwd, envDataDir) });
}

/**
 * Merges `overrides` (any subset of Config, as parsed from JSON) over the chosen defaults, validates,
 * makes dataDir absolute against `dataDirBase` and deep-freezes. Also handy for tests that need a Config.
 */
export function buildConfig(overrides: unknown, opts: { dev?: boolean | undefined; dataDirBase?: string } = {}): Config {
  if (!isPlainObject(overrides)) throw new ConfigError('config', 'must be an object');
  const defaults = opts.dev ? developmentDefaults() : applianceDefaults();
  const config = validateConfig(mergeOver(defaults, overrides));
  return deepFreeze({ ...config, dataDir: path.resolve(opts.dataDirBase ?? process.cwd(), config.dataDir) });
}

function chooseFile(opts: LoadConfigOptions, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  // An empty value counts as unset, as shells make it easy to produce one by accident.
  const named = opts.file || env.LETTERBOX_CONFIG;
  if (named) return path.resolve(cwd, named);
  const systemFile = opts.systemFile ?? SYSTEM_CONFIG_FILE;
  return fs.existsSync(systemFile) ? systemFile : undefined;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError('config', `${file}: no such file`);
    throw new ConfigError('config', `${file}: cannot read: ${code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    // Editors on some systems save a byte-order mark, which JSON.parse rejects.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError('config', `${file}: invalid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError('config', `${file}: the top level must be a JSON object`);
  return parsed;
}

/**
 * Objects merge key by key; anything else (lists included) replaces the default whole. Keys the defaults
 * lack are copied through so validation can name them. defineProperty keeps a JSON key `__proto__` an
 * ordinary property instead of letting it set the prototype.
 */
function mergeOver(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = {};
  for (const source of [base, override]) {
    for (const [key, value] of Object.entries(source)) {
      const previous = Object.hasOwn(merged, key) ? merged[key] : undefined;
      const mergedValue = source === override ? mergeOver(previous, value) : value;
      Object.defineProperty(merged, key, { value: mergedValue, enumerable: true, writable: true, configurable: true });
    }
  }
  return merged;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
