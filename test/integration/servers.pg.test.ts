import assert from 'node:assert/strict';
import pg from 'pg';
import { startPostgres } from '../helpers/servers/postgres.ts';
import { requireServer } from '../helpers/servers/require-server.ts';

describe('test server: PostgreSQL', function () {
  const postgres = requireServer('PostgreSQL', startPostgres);
  const clients: pg.Client[] = [];

  async function connect(schema?: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: postgres().url,
      ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    });
    clients.push(client);
    await client.connect();
    return client;
  }

  after(async function () {
    await Promise.all(clients.map((client) => client.end()));
  });

  it('answers select 1 on its own database', async function () {
    const client = await connect();
    const result = await client.query<{ one: number; db: string }>(
      'select 1 as one, current_database() as db',
    );
    assert.deepEqual(result.rows, [{ one: 1, db: new URL(postgres().url).pathname.slice(1) }]);
  });

  it('is shared by every caller in the process', async function () {
    assert.equal(await startPostgres(), postgres());
  });

  it('gives each createSchema call its own empty schema', async function () {
    const first = postgres().createSchema();
    const second = postgres().createSchema('other');
    assert.notEqual(first, second);
    assert.match(second, /^other_/);

    const a = await connect(first);
    const b = await connect(second);
    await a.query('create table item (name text)');
    await a.query(`insert into item values ('only in ${first}')`);
    await b.query('create table item (name text)');

    assert.deepEqual((await a.query('select name from item')).rows, [{ name: `only in ${first}` }]);
    assert.deepEqual((await b.query('select name from item')).rows, []);
  });

  it('refuses a prefix that is not an SQL identifier', function () {
    assert.throws(() => postgres().createSchema('x; drop schema public'), /lower-case SQL identifier/);
  });
});
