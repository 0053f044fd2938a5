import { execFileSync } from 'node:child_process';
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
} from '../test/helpers/servers/server-process.ts';

export interface BenchPostgres {
  readonly url: string;
  /** A new empty schema for one gateway under test. */
  createSchema(prefix: string): Promise<string>;
  stop(): Promise<void>;
}

const binDir = process.env.KOPPEL_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A private PostgreSQL 15 cluster with PostgreSQL's default durability (fsync, synchronous_commit,
 * full_page_writes on), because a figure measured without fsync says nothing about production. The
 * test helper turns all three off for speed, so the bench cannot use it. `null` when not installed.
 */
export async function startDurablePostgres(): Promise<BenchPostgres | null> {
  if (!['initdb', 'postgres'].every((bin) => isExecutable(join(binDir, bin)))) return null;
  // initdb refuses to run as root; then the cluster belongs to the Debian `postgres` user.
  const owner = process.getuid?.() === 0 ? { uid: userId('-u'), gid: userId('-g') } : {};
  const dir = mkdtempSync(join(tmpdir(), 'koppel-bench-pg-'));
  const dataDir = join(dir, 'data');
  chmodSync(dir, 0o700);
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid ?? -1);
  let unregister = onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  await runToEnd(
    join(binDir, 'initdb'),
    [
      `--pgdata=${dataDir}`,
      '--username=koppel',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-instructions',
    ],
    { cwd: dir, ...owner },
  );
  return withFreshPort(async (port) => {
    const server = spawnServer(
      join(binDir, 'postgres'),
      [`-D${dataDir}`, `--port=${port}`, '--listen_addresses=127.0.0.1', `--unix_socket_directories=${dir}`],
      {
        logFile: join(dir, 'postgres.log'),
        cwd: dir,
        ...owner,
      },
    );
    unregister();
    unregister = onProcessExit(() => {
      server.child.kill('SIGQUIT');
      for (let i = 0; i < 100 && existsSync(join(dataDir, 'postmaster.pid')); i++) sleepSync(20);
      rmSync(dir, { recursive: true, force: true });
    });
    const url = `postgres://koppel@127.0.0.1:${port}/postgres`;
    await waitUntilReady(server, 'postgres', () => query(url, 'select 1'));
    let schemas = 0;
    return {
      url,
      async createSchema(prefix) {
        const name = `${prefix}_${++schemas}`;
        await query(url, `create schema ${name}`);
        return name;
      },
      async stop() {
        server.child.kill('SIGINT');
        await server.exited;
        unregister();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

async function query(url: string, text: string): Promise<true> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(text);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function userId(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}
