import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import type { CoreDatabase } from './schema.ts';
import { isSystemError } from '../system-errors.ts';
import * as core0001 from './migrations/0001-core.ts';
import * as core0002 from './migrations/0002-delivery-sequences.ts';
import type { AdapterMigration } from '../adapter-kit/index.ts';
import { startBackgroundCheckpoint } from './background-checkpoint.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<CoreDatabase>;
  readonly dialect: Dialect;
  /** Applies core and adapter migrations not yet applied; safe to run from several processes at once. */
  migrate(adapterMigrations: ReadonlyMap<string, readonly AdapterMigration[]>): Promise<string[]>;
  /** `true` when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `postgres://…` selects PostgreSQL; otherwise `sqliteFile` is used. */
  readonly databaseUrl?: string;
  /** PostgreSQL schema to use (created when missing); tests isolate by schema. */
  readonly databaseSchema?: string;
  readonly sqliteFile: string;
  readonly poolSize?: number;
  /**
   * PostgreSQL ended an idle connection (a restart, a failover, pg_terminate_backend). The pool drops
   * it and opens a new one when needed; a process warning when not given.
   */
  readonly onConnectionLost?: (error: Error) => void;
}

/**
 * An error that says the store cannot be reached or is busy for now, not that the request or Koppel is
 * wrong: the network (ECONNREFUSED, ECONNRESET …), PostgreSQL's connection exceptions (class 08),
 * its shutting down or starting (57P01–57P03) and too many connections (53300), SQLite's lock held
 * by another connection past busy_timeout (SQLITE_BUSY).
 */
export function isStoreUnavailable(error: unknown): boolean {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  return (
    isSystemError(error) ||
    code.startsWith('08') ||
    /^57P0[123]$/.test(code) ||
    code === '53300' ||
    code.startsWith('SQLITE_BUSY')
  );
}

export function openStore(options: StoreOptions): Store {
  return options.databaseUrl ? openPostgres(options) : openSqlite(options.sqliteFile);
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * A file still in rollback-journal mode on which another process holds a write transaction (another
 * gateway or `koppel migrate` opening it at the same moment) answers the switch to WAL with SQLITE_BUSY
 * at once: SQLite skips the busy handler where waiting could deadlock. Tried again, within the busy timeout.
 */
function switchToWal(database: Database.Database): void {
  const until = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      database.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw error;
      // Synchronous, as every SQLite call here is: the store is being opened, nothing else runs yet.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new Database(file);
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  switchToWal(database);
  // NORMAL in WAL mode: a commit survives a process crash; only an OS crash may lose the last commits.
  database.pragma('synchronous = NORMAL');
  // The background checkpoint keeps the WAL short; this only bounds it (about 80 MB) should that stop.
  database.pragma('wal_autocheckpoint = 20000');
  const checkpoint =
    file === ':memory:'
      ? undefined
      : startBackgroundCheckpoint(file, CHECKPOINT_EVERY_MS, (message) =>
          process.emitWarning(`SQLite background checkpoint: ${message}`),
        );
  const db = new Kysely<CoreDatabase>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
  return {
    db,
    dialect: 'sqlite',
    migrate: async (adapterMigrations) => {
      // Kysely takes no migration lock on SQLite. A write transaction around the whole run makes a
      // second process wait (busy_timeout) and then find the migrations applied.
      database.exec('begin immediate');
      try {
        const applied = await runMigrations(db, adapterMigrations);
        database.exec('commit');
        return applied;
      } catch (error) {
        if (database.inTransaction) database.exec('rollback');
        throw error;
      }
    },
    ping: async () => {
      try {
        database.prepare('select 1').get();
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await db.destroy();
      await checkpoint?.stop();
    },
  };
}

// Small, frequent checkpoints: the checkpoint's fsync of the WAL stalls the main thread's appends to it
// for as long as it takes, and a checkpoint every 250 ms made ingest's p99 23-26 ms against 14-19 ms at
// 50 ms (BENCH_ONLY=sqlite-single, two runs each). A checkpoint with nothing to do costs nothing.
const CHECKPOINT_EVERY_MS = 50;
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; compiling SQL is a measurable share of each request on SQLite.
 * Kysely's driver runs one query at a time per connection, so a prepared statement can be reused.
 */
function withStatementCache(database: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  return new Proxy(database, {
    get(target, property, receiver) {
      if (property !== 'prepare') {
        const value: unknown = Reflect.get(target, property, receiver);
        // Native methods need the real database as `this`, not the proxy.
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (sqlText: string) => {
        let statement = cache.get(sqlText);
        if (statement === undefined) {
          statement = target.prepare(sqlText);
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
          cache.set(sqlText, statement);
        }
        return statement;
      };
    },
  });
}

function openPostgres(options: StoreOptions): Store {
  // Loaded only for PostgreSQL, so that the embedded default does not carry it; CommonJS, hence require.
  const { Pool, types } = createRequire(import.meta.url)('pg') as typeof pg;
  // node-pg returns int8 as strings to be safe beyond 2^53; our epoch-ms values are far below that.
  types.setTypeParser(20, (value) => Number(value));
  const schema = options.databaseSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`KOPPEL_DATABASE_SCHEMA "${schema}" must be a lower-case SQL identifier`);
  }
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 10,
    // Set when the connection starts, so that no query can run before it (a SET after connecting could fail unseen).
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // Without a listener, the pool's 'error' event (an idle connection ended by the server) ends the process.
  pool.on(
    'error',
    options.onConnectionLost ??
      ((error) => process.emitWarning(`PostgreSQL connection lost: ${error.message}`)),
  );
  const db = new Kysely<CoreDatabase>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    migrate: async (adapterMigrations) => {
      if (schema !== undefined) {
        // Two processes starting at once both pass "if not exists"; the loser's unique violation is harmless.
        await sql`create schema if not exists ${sql.id(schema)}`
          .execute(db)
          .catch((error: { code?: string }) => {
            if (error.code !== '23505' && error.code !== '42P06') throw error;
          });
      }
      return runMigrations(db, adapterMigrations, schema);
    },
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}

async function runMigrations(
  db: Kysely<any>,
  adapterMigrations: ReadonlyMap<string, readonly AdapterMigration[]>,
  schema?: string,
): Promise<string[]> {
  const migrations: Record<string, Migration> = {
    'core/0001-core': core0001,
    'core/0002-delivery-sequences': core0002,
  };
  for (const [adapter, list] of adapterMigrations) {
    for (const migration of list) migrations[`${adapter}/${migration.name}`] = { up: (d) => migration.up(d) };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'koppel_migrations',
    migrationLockTableName: 'koppel_migrations_lock',
    // Adapters are added over time; their migrations sort between the core's by name.
    allowUnorderedMigrations: true,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
