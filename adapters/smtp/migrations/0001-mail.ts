import type { Kysely } from 'kysely';
import type { AdapterMigration } from '../../../gateway/adapter-kit/index.ts';

/** Servers, senders, sending-limit counters and the recipients each delivery already reached. */
export const mail0001: AdapterMigration = {
  name: '0001-mail',
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('smtp_servers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('port', 'integer', (c) => c.notNull())
      .addColumn('security', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('password_sealed', 'text')
      .addColumn('ca_pem', 'text')
      .addColumn('dkim_domains', 'text', (c) => c.notNull())
      .addColumn('dkim_sealed', 'text')
      .addColumn('limit_per_minute', 'integer')
      .addColumn('limit_per_hour', 'integer')
      .addColumn('limit_per_day', 'integer')
      .addColumn('default_language', 'text')
      .addColumn('configured', 'integer', (c) => c.notNull())
      .addColumn('archived_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('smtp_senders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('server_id', 'text', (c) => c.notNull().references('smtp_servers.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'bigint')
      .addColumn('code_hash', 'text')
      .addColumn('code_salt', 'text')
      .addColumn('code_expires_at', 'bigint')
      .addColumn('code_tries', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('smtp_senders_server_address', ['server_id', 'address'])
      .execute();

    await db.schema
      .createTable('smtp_send_counts')
      .addColumn('server_id', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('smtp_send_counts_pk', ['server_id', 'period', 'window_start'])
      .execute();

    await db.schema
      .createTable('smtp_accepted_recipients')
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('accepted_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('smtp_accepted_recipients_pk', ['delivery_id', 'address'])
      .execute();
  },
};
