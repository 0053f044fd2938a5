import { sql, type Kysely } from 'kysely';

/** Portable DDL: text ids, bigint epoch-ms times, JSON as text. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('event_time', 'text')
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addUniqueConstraint('messages_source_event_id', ['source', 'event_id'])
    .execute();
  await db.schema.createIndex('messages_received').on('messages').columns(['received_at', 'id']).execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id'))
    .addColumn('adapter', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('target_label', 'text')
    .addColumn('ordering_key', 'text')
    .addColumn('sequence_key', 'text')
    .addColumn('ordering_position', 'text', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('lease_until', 'bigint')
    .addColumn('leased_by', 'text')
    .addColumn('last_outcome', 'text')
    .addColumn('last_reason', 'text')
    .addColumn('last_status', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addUniqueConstraint('deliveries_message_adapter_target', ['message_id', 'adapter', 'target'])
    .execute();
  await db.schema
    .createIndex('deliveries_due')
    .on('deliveries')
    .columns(['adapter', 'status', 'next_attempt_at'])
    .execute();
  // Partial indexes: every index is written on every ingest, so those that serve only some adapters
  // (ordering, sequences) or only finished deliveries (statistics, notices) cover only those rows.
  await db.schema
    .createIndex('deliveries_ordering')
    .on('deliveries')
    .columns(['adapter', 'target', 'ordering_key', 'ordering_position'])
    .where(sql.ref('ordering_key'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_sequence')
    .on('deliveries')
    .columns(['adapter', 'target', 'sequence_key', 'sequence'])
    .where(sql.ref('sequence_key'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('deliveries_finished')
    .on('deliveries')
    .columns(['finished_at'])
    .where(sql.ref('finished_at'), 'is not', null)
    .execute();

  await db.schema
    .createTable('attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('code', 'text')
    .addColumn('request_summary', 'text')
    .addColumn('request_body', 'text')
    .addColumn('response_status', 'text')
    .addColumn('response_body', 'text')
    .addColumn('next_attempt_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('attempts_delivery')
    .on('attempts')
    .columns(['delivery_id', 'number'])
    .execute();

  await db.schema
    .createTable('error_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id'))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('adapter', 'text', (c) => c.notNull())
    .addColumn('message_type', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('partner_status', 'text')
    .addColumn('partner_answer', 'text')
    .addColumn('attempt_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolved_note', 'text')
    .addColumn('resolved_by', 'text')
    .execute();
  await db.schema.createIndex('error_log_created').on('error_log').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('error_log_delivery').on('error_log').columns(['delivery_id']).execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('employers', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('totp_secret', 'text', (c) => c.notNull())
    .addColumn('last_totp_step', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('settings_pk', ['scope', 'key'])
    .execute();

  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('locked_until', 'bigint', (c) => c.notNull())
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .addColumn('last_run_at', 'bigint')
    .execute();
}
