import { relative } from 'node:path';

/**
 * Starts a system server for the enclosing `describe` in a `before` hook and returns an accessor
 * for it. When the starter returns `null` (the server is not installed) the whole suite is
 * skipped with one line saying so, unless `KOPPEL_REQUIRE_SERVERS=1` (set by `.ci/run`), which
 * turns the skip into a failure, so a CI machine missing a server cannot pass by skipping.
 *
 * Call it directly inside `describe`, not inside a hook; use the accessor in tests and later
 * hooks. The servers are shared per process and stop at exit, so there is no `after` to write.
 *
 * @example
 * ```ts
 * import { startPostgres } from '../helpers/servers/postgres.ts';
 * import { requireServer } from '../helpers/servers/require-server.ts';
 *
 * describe('store on PostgreSQL', function () {
 *   const postgres = requireServer('PostgreSQL', startPostgres);
 *
 *   it('migrates a fresh schema', async function () {
 *     const store = openStore({ databaseUrl: postgres().url, databaseSchema: postgres().createSchema(), sqliteFile: ':memory:' });
 *     // …
 *   });
 * });
 * ```
 */
export function requireServer<T>(name: string, starter: () => Promise<T | null>): () => T {
  let server: T | null = null;
  before(async function () {
    // Only the first suite of a run pays for start-up (initdb takes seconds on a busy machine).
    this.timeout(120_000);
    server = await starter();
    if (server !== null) return;
    const file = this.test?.file ? relative(process.cwd(), this.test.file) : 'this suite';
    const hint = 'scripts/install-test-servers.sh installs it';
    if (process.env.KOPPEL_REQUIRE_SERVERS === '1') {
      throw new Error(`${file}: ${name} is not installed and KOPPEL_REQUIRE_SERVERS=1 requires it (${hint})`);
    }
    console.log(`skipping ${file}: ${name} is not installed (${hint})`);
    this.skip();
  });
  return () => {
    if (server === null)
      throw new Error(`${name} is not started yet: use the accessor in a test or a later hook`);
    return server;
  };
}
