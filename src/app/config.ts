// How a process finds its data, database and ports: defaults < config file < environment < flags.
// Settings an admin changes at run time (update source, products, schedule…) live in the database;
// this is only what a process needs before it can open the database.
import { readFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const BootConfigSchema = z
  .object({
    data: z.string().min(1),
    database: z.string().min(1).optional(),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    httpsPort: z.number().int().min(0).max(65535),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    logLevel: LogLevel,
  })
  .strict();

export type BootConfig = z.infer<typeof BootConfigSchema>;

export const DEFAULTS: BootConfig = {
  data: './data',
  host: '0.0.0.0',
  port: 8530,
  httpsPort: 8531,
  logLevel: 'info',
};

/** Environment variable for each key; every flag has one. */
export const ENVIRONMENT: Readonly<Record<keyof BootConfig, string>> = {
  data: 'OPENWSUS_DATA',
  database: 'OPENWSUS_DATABASE',
  host: 'OPENWSUS_HOST',
  port: 'OPENWSUS_PORT',
  httpsPort: 'OPENWSUS_HTTPS_PORT',
  tlsCert: 'OPENWSUS_TLS_CERT',
  tlsKey: 'OPENWSUS_TLS_KEY',
  logLevel: 'OPENWSUS_LOG_LEVEL',
};

const NUMERIC = new Set<keyof BootConfig>(['port', 'httpsPort']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  /** Values given as command-line flags (undefined = not given). */
  flags?: Partial<Record<keyof BootConfig, string | number | undefined>>;
  /** Path of a JSON config file; else `OPENWSUS_CONFIG`, else `<data>/openwsus.json` if it exists. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Partial<Record<keyof BootConfig, string>> {
  const out: Partial<Record<keyof BootConfig, string>> = {};
  for (const [key, name] of Object.entries(ENVIRONMENT) as [keyof BootConfig, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(error as Error).message}`);
  }
}

function coerce(key: keyof BootConfig, value: unknown, origin: string): unknown {
  if (!NUMERIC.has(key) || typeof value !== 'string') return value;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConfigError(`${origin}: ${key} must be a whole number, got "${value}"`);
  return n;
}

export function loadBootConfig(sources: ConfigSources = {}): BootConfig {
  const env = sources.env ?? process.env;
  const fromEnv = fromEnvironment(env);
  const flags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, v]) => v !== undefined));
  const dataDir = String(flags.data ?? fromEnv.data ?? DEFAULTS.data);
  const filePath = sources.configFile ?? env.OPENWSUS_CONFIG ?? join(dataDir, 'openwsus.json');
  const explicitFile = sources.configFile !== undefined || env.OPENWSUS_CONFIG !== undefined;
  const fromFile = explicitFile || existsSync(filePath) ? readConfigFile(filePath) : {};

  const merged: Record<string, unknown> = { ...DEFAULTS };
  for (const [layer, origin] of [
    [fromFile, `config file ${filePath}`],
    [fromEnv, 'environment'],
    [flags, 'command line'],
  ] as const) {
    for (const [key, value] of Object.entries(layer)) {
      if (!(key in ENVIRONMENT)) {
        throw new ConfigError(`${origin}: unknown setting "${key}" (known: ${Object.keys(ENVIRONMENT).join(', ')})`);
      }
      merged[key] = coerce(key as keyof BootConfig, value, origin);
    }
  }
  const parsed = BootConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  return { ...parsed.data, data: resolve(parsed.data.data) };
}

/** Where a data directory keeps its parts. */
export function dataPaths(dataDir: string): { database: string; content: string } {
  return { database: join(dataDir, 'openwsus.db'), content: join(dataDir, 'content') };
}
