import type { Kysely } from 'kysely';
import type { CoreDatabase } from '../store/schema.ts';
import { powerOfTwoSlices } from '../store/bulk.ts';
import type { DueDelivery } from '../dispatch/dispatcher.ts';

/**
 * Makes finished or waiting deliveries due now: a new attempt of the same delivery, never a second
 * delivery, so receivers see the same message id again. Delivered and in-flight ones are left alone.
 * Returns the deliveries to wake.
 */
export async function replayDeliveries(
  db: Kysely<CoreDatabase>,
  ids: readonly string[],
  nowMs: number,
): Promise<DueDelivery[]> {
  const due: DueDelivery[] = [];
  for (const slice of powerOfTwoSlices(ids)) {
    const rows = await db
      .updateTable('deliveries')
      // A replay starts the retry schedule afresh: the admin has fixed (or accepted) the cause.
      .set({ status: 'retrying', next_attempt_at: nowMs, failures: 0, finished_at: null, updated_at: nowMs })
      .where('id', 'in', slice)
      .where('status', 'in', ['failed', 'skipped', 'retrying', 'pending'])
      .returning(['id', 'adapter'])
      .execute();
    for (const row of rows) due.push({ id: row.id, adapter: row.adapter, dueAt: nowMs });
  }
  return due;
}
