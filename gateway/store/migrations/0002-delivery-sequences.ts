import { sql, type Kysely } from 'kysely';

/**
 * The last sequence number of each (adapter, target, sequence key) in a row of its own. Read from the
 * deliveries instead (the highest stored number), two API processes ingesting for one key at the same
 * instant both read the same number and handed out the numbers after it twice; an upsert of the row
 * takes its lock, so the second waits for the first and counts on from it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('delivery_sequences')
    .addColumn('adapter', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('sequence_key', 'text', (c) => c.notNull())
    .addColumn('last', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('delivery_sequences_pk', ['adapter', 'target', 'sequence_key'])
    .execute();
  await sql`
    insert into delivery_sequences (adapter, target, sequence_key, last)
    select adapter, target, sequence_key, max(sequence) from deliveries
    where sequence_key is not null
    group by adapter, target, sequence_key`.execute(db);
  // It served only the look-up of the highest number: one index entry fewer for every delivery ingested.
  await db.schema.dropIndex('deliveries_sequence').execute();
}
