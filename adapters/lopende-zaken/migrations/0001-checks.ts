import type { Kysely } from 'kysely';
import type { AdapterMigration } from '../../../gateway/adapter-kit/index.ts';

/**
 * `lopende_zaken_checks`: the reachability verdict that counts for a delivery (rule 3: the first
 * answered check after the change), kept so that a later run never asks again. No BSN is stored.
 */
export const checks: AdapterMigration = {
  name: '0001-checks',
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('lopende_zaken_checks')
      .addColumn('delivery_id', 'text', (c) => c.primaryKey())
      .addColumn('reachable', 'integer', (c) => c.notNull())
      .addColumn('checked_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

export const migrations: readonly AdapterMigration[] = [checks];
