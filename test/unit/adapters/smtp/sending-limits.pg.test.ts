import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { openStore, type Store } from '../../../../gateway/store/db.ts';
import { smtpAdapter } from '../../../../adapters/smtp/index.ts';
import { reserveSend } from '../../../../adapters/smtp/sending-limits.ts';
import type { SmtpDatabase } from '../../../../adapters/smtp/tables.ts';
import { startPostgres } from '../../../helpers/servers/postgres.ts';
import { requireServer } from '../../../helpers/servers/require-server.ts';

describe('adapters/smtp/sending-limits on PostgreSQL, two processes', function () {
  this.timeout(60_000);
  const postgres = requireServer('PostgreSQL', startPostgres);
  let stores: Store[] = [];
  after(async () => {
    for (const store of stores) await store.close();
  });

  it('never lets two stores with their own pools exceed a limit together', async () => {
    const schema = postgres().createSchema('smtp_limits');
    stores = [0, 1].map(() =>
      openStore({ databaseUrl: postgres().url, databaseSchema: schema, sqliteFile: ':memory:', poolSize: 5 }),
    );
    await stores[0]!.migrate(new Map([['smtp', smtpAdapter.migrations ?? []]]));
    const at = Date.parse('2025-04-01T10:00:30.000Z');
    const limits = { perMinute: 7, perHour: 100 };
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        reserveSend(stores[i % 2]!.db as unknown as Kysely<SmtpDatabase>, 'srv', limits, at),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 7);
    const rows = await (stores[1]!.db as unknown as Kysely<SmtpDatabase>)
      .selectFrom('smtp_send_counts')
      .select(['period', 'count'])
      .orderBy('period')
      .execute();
    assert.deepEqual(rows, [
      { period: 'hour', count: 7 },
      { period: 'minute', count: 7 },
    ]);
  });
});
