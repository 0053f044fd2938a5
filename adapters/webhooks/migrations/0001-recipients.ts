import type { Kysely } from 'kysely';
import type { AdapterMigration } from '../../../gateway/adapter-kit/index.ts';

/** Portable DDL (SQLite and PostgreSQL): text ids, bigint epoch-ms times, JSON as text, 0/1 flags. */
export const recipientsMigration: AdapterMigration = {
  name: '0001-recipients',
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('webhooks_recipients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('topics', 'text', (c) => c.notNull())
      .addColumn('account_client_id', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('protocol', 'text', (c) => c.notNull())
      .addColumn('websub_algorithm', 'text', (c) => c.notNull())
      .addColumn('standard_webhooks', 'integer', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('previous_secret', 'text')
      .addColumn('previous_secret_until', 'bigint')
      .addColumn('oauth2_token_url', 'text')
      .addColumn('oauth2_client_id', 'text')
      .addColumn('oauth2_client_secret', 'text')
      .addColumn('oauth2_scope', 'text')
      .addColumn('oauth2_audience', 'text')
      .addColumn('retry_delays', 'text')
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('lease_expires_at', 'bigint')
      .addColumn('disabled_at', 'bigint')
      .addColumn('disabled_reason', 'text')
      .addColumn('deleted_at', 'bigint')
      .addColumn('deleted_reason', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('webhooks_recipients_live')
      .on('webhooks_recipients')
      .columns(['deleted_at', 'created_at'])
      .execute();

    await db.schema
      .createTable('webhooks_filtered_counts')
      .addColumn('recipient_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('webhooks_filtered_counts_pk', ['recipient_id', 'day'])
      .execute();

    await db.schema
      .createTable('webhooks_failure_notices')
      .addColumn('recipient_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('webhooks_failure_notices_pk', ['recipient_id', 'day'])
      .execute();
  },
};

export const migrations: readonly AdapterMigration[] = [recipientsMigration];
