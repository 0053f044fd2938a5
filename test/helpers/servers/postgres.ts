import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  isExecutable,
  onProcessExit,
  runToEnd,
  sleepSync,
  spawnServer,
  waitUntilReady,
  withFreshPort,
  sharedServer,
} from './server-process.ts';

export interface TestPostgres {
  /** `postgres://koppel@127.0.0.1:<port>/koppel_test`; trust authentication, no password. */
  readonly url: string;
  /**
   * Creates an empty schema with a name not used before in this cluster and returns the name
   * (a lower-case SQL identifier, as `KOPPEL_DATABASE_SCHEMA` requires). Tests isolate by schema
   * instead of wiping tables.
   */
  createSchema(prefix?: string): string;
  /** Stops the cluster and deletes its files; the next `startPostgres()` starts a new one. */
  stop(): Promise<void>;
}

const binDir = process.env.KOPPEL_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const database = 'koppel_test';
const shared = sharedServer(() => start({ durable: false, onStop: () => shared.forget() }));

/**
 * A private PostgreSQL cluster for this test process, shared by every suite that asks (started
 * once, stopped at process exit). `null` when the PostgreSQL 15 binaries are not installed.
 * Durability settings are off: fine for tests, never for a benchmark that reports PostgreSQL figures.
 */
export function startPostgres(): Promise<TestPostgres | null> {
  return shared.get();
}

/**
 * A cluster of its own with PostgreSQL's default durability (fsync, synchronous_commit and
 * full_page_writes on), for benchmarks: a figure measured without fsync says nothing about production.
 */
export function startDurablePostgres(): Promise<TestPostgres | null> {
  return start({ durable: true, onStop: () => undefined });
}

async function start(options: { durable: boolean; onStop: () => void }): Promise<TestPostgres | null> {
  if (!['initdb', 'postgres', 'psql'].every((bin) => isExecutable(join(binDir, bin)))) return null;
  // initdb refuses to run as root, so as root the cluster belongs to the Debian `postgres` user.
  const owner: { uid?: number; gid?: number } = process.getuid?.() === 0 ? postgresUser() : {};
  const dir = mkdtempSync(join(tmpdir(), 'koppel-pg-'));
  const dataDir = join(dir, 'data');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let unregister = onProcessExit(removeDir);
  try {
    chmodSync(dir, 0o700);
    if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid ?? -1);
    const initdb = [
      `--pgdata=${dataDir}`,
      '--username=koppel',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
    ];
    await runToEnd(join(binDir, 'initdb'), [...initdb, '--no-sync', '--no-instructions'], {
      cwd: dir,
      ...owner,
    });
    return await withFreshPort(async (port) => {
      const settings = {
        port,
        listen_addresses: '127.0.0.1',
        unix_socket_directories: dir,
        ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
      };
      const server = spawnServer(
        join(binDir, 'postgres'),
        [`-D${dataDir}`, ...Object.entries(settings).map(([name, value]) => `--${name}=${value}`)],
        { logFile: join(dir, 'postgres.log'), cwd: dir, ...owner },
      );
      unregister();
      unregister = onProcessExit(() => {
        // SIGQUIT is PostgreSQL's immediate shutdown; the files go once the postmaster has let go of them.
        server.child.kill('SIGQUIT');
        for (let i = 0; i < 100 && existsSync(join(dataDir, 'postmaster.pid')); i++) sleepSync(20);
        removeDir();
      });
      const adminUrl = `postgres://koppel@127.0.0.1:${port}/postgres`;
      try {
        await waitUntilReady(server, 'postgres', () => query(adminUrl, 'select 1'));
        await query(adminUrl, `create database ${database}`);
      } catch (error) {
        server.child.kill('SIGKILL');
        await server.exited;
        throw error;
      }
      const url = `postgres://koppel@127.0.0.1:${port}/${database}`;
      let schemas = 0;
      return {
        url,
        createSchema(prefix = 'test') {
          if (!/^[a-z_][a-z0-9_]*$/.test(prefix))
            throw new Error(`schema prefix "${prefix}" must be a lower-case SQL identifier`);
          const name = `${prefix}_${process.pid}_${++schemas}`;
          // Synchronous so a suite can take a schema in a plain expression; psql costs a few ms.
          const psql = spawnSync(join(binDir, 'psql'), ['-Xqd', url, '-c', `create schema ${name}`], {
            encoding: 'utf8',
          });
          if (psql.status !== 0) throw new Error(`create schema ${name} failed: ${psql.stderr}`);
          return name;
        },
        async stop() {
          options.onStop();
          server.child.kill('SIGINT');
          await server.exited;
          unregister();
          removeDir();
        },
      };
    });
  } catch (error) {
    unregister();
    removeDir();
    throw error;
  }
}

async function query(url: string, text: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(text);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postgresUser(): { uid: number; gid: number } {
  const ids = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: ids('-u'), gid: ids('-g') };
  } catch {
    throw new Error('running as root needs the `postgres` user that the Debian postgresql package creates');
  }
}
