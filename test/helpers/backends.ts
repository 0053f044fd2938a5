import { randomBytes, randomUUID } from 'node:crypto';
import { startPostgres } from './servers/postgres.ts';
import { startRedis } from './servers/redis.ts';
import { requireServer } from './servers/require-server.ts';

export type BackendName = 'sqlite-embedded' | 'postgres-bullmq';

export interface Backend {
  readonly name: BackendName;
  /**
   * Environment for `startGateway({ env })`. Each call of the accessor is a new namespace (a fresh
   * PostgreSQL schema, a fresh BullMQ prefix); pass the same `env` to gateways that must share
   * one store and one queue. Empty for SQLite: gateways share a store by sharing `dataDir`.
   */
  readonly env: Record<string, string>;
}

export type BackendSuite = (backend: () => Backend) => void;

/**
 * Runs a suite body once per backend, as one suite over all backends (Svix run-tests.sh, BullMQ
 * setConnectionFactory): embedded SQLite with the store as queue, then PostgreSQL + BullMQ on Redis.
 * The second half skips with one line when either server is not installed (fails under
 * `KOPPEL_REQUIRE_SERVERS=1`). Isolation is by namespace, never by wiping.
 */
export function describeEachBackend(title: string, suite: BackendSuite): void {
  describeBackend('sqlite-embedded', title, suite);
  describeBackend('postgres-bullmq', title, suite);
}

/** One backend only, for files whose suffix names the servers they need. */
export function describeBackend(name: BackendName, title: string, suite: BackendSuite): void {
  describe(`${title} [${name}]`, function () {
    if (name === 'sqlite-embedded') {
      suite(() => ({ name, env: {} }));
      return;
    }
    const postgres = requireServer('PostgreSQL', startPostgres);
    const redis = requireServer('Redis', startRedis);
    suite(() => ({
      name,
      env: {
        DATABASE_URL: postgres().url,
        KOPPEL_DATABASE_SCHEMA: postgres().createSchema('backend'),
        REDIS_URL: redis().url,
        KOPPEL_QUEUE_PREFIX: `test-${randomUUID()}`,
        // Processes of one cluster must open each other's sealed secrets (signing keys, TOTP).
        KOPPEL_SECRET_KEY: randomBytes(32).toString('base64'),
      },
    }));
  });
}
