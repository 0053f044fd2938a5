import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import schema from '../../schemas/config/koppel.config.schema.json' with { type: 'json' };
import { parseDelayList } from '../adapter-kit/retry-policy.ts';

/** The process configuration after validation: what the rest of the gateway reads. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly role: 'all' | 'api' | 'worker';
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly databaseSchema?: string;
  readonly databasePoolSize: number;
  readonly redisUrl?: string;
  readonly queuePrefix: string;
  readonly secretKey?: string;
  readonly logLevel: string;
  readonly errorLogFile: string;
  readonly outboundAllow: readonly string[];
  readonly tokenTtlSeconds: number;
  /** `undefined`: every adapter in the registry. */
  readonly adapters?: readonly string[];
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  readonly leaseMs: number;
  readonly sweepIntervalMs: number;
  readonly shutdownGraceMs: number;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly ingestBufferBytes: number;
  readonly publicUrl: string;
  /** Adapter name → delays from KOPPEL_RETRY_<NAME>. */
  readonly retryOverrides: ReadonlyMap<string, { delaysMs: number[]; repeatLast: boolean }>;
  /** Adapter name → raw settings (file, then KOPPEL_SETTINGS_<NAME>); validated later by the adapter's schema. */
  readonly adapterSettings: ReadonlyMap<string, unknown>;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Exit code for a configuration error (sysexits EX_CONFIG), as Svix and others use. */
export const EXIT_CONFIG = 78;

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** Reads the environment, validates it against the config schema and reports every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, unknown> = {};
  const known = new Set(Object.keys(schema.properties));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (known.has(name) || name.startsWith('KOPPEL_')) picked[name] = value;
  }
  const problems: string[] = [];
  if (!validate(picked)) {
    for (const error of validate.errors ?? []) {
      const name = error.instancePath.replace(/^\//, '');
      if (error.keyword === 'additionalProperties') {
        problems.push(
          `${String(error.params.additionalProperty)} is not a Koppel variable (see the README's configuration table)`,
        );
      } else {
        problems.push(`${name} ${error.message ?? 'is invalid'}`);
      }
    }
  }

  const retryOverrides = new Map<string, { delaysMs: number[]; repeatLast: boolean }>();
  const adapterSettings = new Map<string, unknown>();
  const configFile = picked.KOPPEL_CONFIG_FILE as string | undefined;
  if (configFile !== undefined) {
    try {
      const parsed = YAML.parse(readFileSync(configFile, 'utf8')) as { adapters?: unknown } | null;
      const adapters = parsed?.adapters;
      if (
        adapters !== undefined &&
        (adapters === null || typeof adapters !== 'object' || Array.isArray(adapters))
      ) {
        problems.push(
          `KOPPEL_CONFIG_FILE ${configFile}: adapters must be a mapping of adapter name to settings`,
        );
      } else {
        for (const [name, settings] of Object.entries(adapters ?? {})) adapterSettings.set(name, settings);
      }
    } catch (error) {
      problems.push(`KOPPEL_CONFIG_FILE ${configFile}: ${(error as Error).message}`);
    }
  }
  for (const [name, value] of Object.entries(picked)) {
    const retry = /^KOPPEL_RETRY_([A-Z0-9_]+)$/.exec(name);
    if (retry?.[1]) {
      const parsed = parseDelayList(String(value));
      if ('error' in parsed) problems.push(`${name}: ${parsed.error}`);
      else retryOverrides.set(adapterName(retry[1]), parsed);
    }
    const settings = /^KOPPEL_SETTINGS_([A-Z0-9_]+)$/.exec(name);
    if (settings?.[1]) {
      try {
        adapterSettings.set(adapterName(settings[1]), JSON.parse(String(value)));
      } catch (error) {
        problems.push(`${name} is not valid JSON: ${(error as Error).message}`);
      }
    }
  }
  if (picked.DATABASE_URL !== undefined && picked.KOPPEL_SECRET_KEY === undefined) {
    // Each machine would otherwise make its own key file, and secrets sealed on one could not be opened on another.
    problems.push(
      'KOPPEL_SECRET_KEY is required with DATABASE_URL (generate one with: openssl rand -base64 32)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = resolve(picked.KOPPEL_DATA_DIR as string);
  const port = picked.PORT as number;
  const host = picked.HOST as string;
  return {
    port,
    host,
    role: picked.KOPPEL_ROLE as Config['role'],
    dataDir,
    ...optional('databaseUrl', picked.DATABASE_URL as string | undefined),
    ...optional('databaseSchema', picked.KOPPEL_DATABASE_SCHEMA as string | undefined),
    databasePoolSize: picked.KOPPEL_DATABASE_POOL_SIZE as number,
    ...optional('redisUrl', picked.REDIS_URL as string | undefined),
    queuePrefix: picked.KOPPEL_QUEUE_PREFIX as string,
    ...optional('secretKey', picked.KOPPEL_SECRET_KEY as string | undefined),
    logLevel: picked.KOPPEL_LOG_LEVEL as string,
    errorLogFile: (picked.KOPPEL_ERROR_LOG_FILE as string | undefined) ?? join(dataDir, 'error-log.jsonl'),
    outboundAllow: String(picked.KOPPEL_OUTBOUND_ALLOW)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    tokenTtlSeconds: picked.KOPPEL_TOKEN_TTL_SECONDS as number,
    ...optional(
      'adapters',
      picked.KOPPEL_ADAPTERS === undefined
        ? undefined
        : String(picked.KOPPEL_ADAPTERS)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    ),
    concurrency: picked.KOPPEL_CONCURRENCY as number,
    pollIntervalMs: picked.KOPPEL_POLL_INTERVAL_MS as number,
    leaseMs: picked.KOPPEL_LEASE_MS as number,
    sweepIntervalMs: picked.KOPPEL_SWEEP_INTERVAL_MS as number,
    shutdownGraceMs: picked.KOPPEL_SHUTDOWN_GRACE_MS as number,
    maxMessageBytes: picked.KOPPEL_MAX_MESSAGE_BYTES as number,
    maxBatchBytes: picked.KOPPEL_MAX_BATCH_BYTES as number,
    ingestBufferBytes: picked.KOPPEL_INGEST_BUFFER_BYTES as number,
    publicUrl:
      (picked.KOPPEL_PUBLIC_URL as string | undefined) ??
      `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    retryOverrides,
    adapterSettings,
  };
}

/** `LOPENDE_ZAKEN` → `lopende-zaken`. */
function adapterName(envPart: string): string {
  return envPart.toLowerCase().replace(/_/g, '-');
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: Exclude<V, undefined> } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: Exclude<V, undefined> };
}
