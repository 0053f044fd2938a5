import type { Kysely } from 'kysely';
import type { Limits } from './settings.ts';
import type { SmtpDatabase } from './tables.ts';

export type LimitPeriod = 'minute' | 'hour' | 'day';

const PERIOD_MS: Readonly<Record<LimitPeriod, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const LIMIT_KEY: Readonly<Record<LimitPeriod, keyof Limits>> = {
  minute: 'perMinute',
  hour: 'perHour',
  day: 'perDay',
};

export type Reservation =
  | { readonly ok: true; readonly at: number }
  | { readonly ok: false; readonly period: LimitPeriod; readonly limit: number; readonly windowEnd: number };

export class OverLimit extends Error {
  constructor(readonly refusal: Extract<Reservation, { ok: false }>) {
    super(`over the limit of ${refusal.limit} per ${refusal.period}`);
  }
}

function windowStart(at: number, period: LimitPeriod): number {
  return Math.floor(at / PERIOD_MS[period]) * PERIOD_MS[period];
}

/**
 * Counts one message against every limit of the server, or none when any limit is reached. The
 * counters live in the database and are raised by a conditional update (`count < limit`), so that
 * processes sharing PostgreSQL never exceed a limit together; the row lock of the update orders
 * them. Windows are fixed and UTC-aligned. When several limits are reached, the latest window end
 * is given, since sending before it would only be refused again.
 */
export async function reserveSend(
  db: Kysely<SmtpDatabase>,
  serverId: string,
  limits: Limits,
  at: number,
): Promise<Reservation> {
  const periods = (Object.keys(PERIOD_MS) as LimitPeriod[]).filter((p) => limits[LIMIT_KEY[p]] !== undefined);
  if (periods.length === 0) return { ok: true, at };
  try {
    await db.transaction().execute(async (trx) => {
      let refusal: Extract<Reservation, { ok: false }> | undefined;
      for (const period of periods) {
        const limit = limits[LIMIT_KEY[period]] ?? 0;
        const start = windowStart(at, period);
        await trx
          .insertInto('smtp_send_counts')
          .values({ server_id: serverId, period, window_start: start, count: 0 })
          .onConflict((oc) => oc.columns(['server_id', 'period', 'window_start']).doNothing())
          .execute();
        const result = await trx
          .updateTable('smtp_send_counts')
          .set((eb) => ({ count: eb('count', '+', 1) }))
          .where('server_id', '=', serverId)
          .where('period', '=', period)
          .where('window_start', '=', start)
          .where('count', '<', limit)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) {
          const windowEnd = start + PERIOD_MS[period];
          if (refusal === undefined || windowEnd > refusal.windowEnd)
            refusal = { ok: false, period, limit, windowEnd };
        }
      }
      if (refusal !== undefined) throw new OverLimit(refusal);
    });
  } catch (error) {
    if (error instanceof OverLimit) return error.refusal;
    throw error;
  }
  return { ok: true, at };
}

/** Gives back a reservation for a message the server did not take, so it does not count. */
export async function releaseSend(
  db: Kysely<SmtpDatabase>,
  serverId: string,
  limits: Limits,
  at: number,
): Promise<void> {
  for (const period of Object.keys(PERIOD_MS) as LimitPeriod[]) {
    if (limits[LIMIT_KEY[period]] === undefined) continue;
    await db
      .updateTable('smtp_send_counts')
      .set((eb) => ({ count: eb('count', '-', 1) }))
      .where('server_id', '=', serverId)
      .where('period', '=', period)
      .where('window_start', '=', windowStart(at, period))
      .where('count', '>', 0)
      .execute();
  }
}

/** Messages counted in the current windows, for the management API. */
export async function currentUsage(
  db: Kysely<SmtpDatabase>,
  serverId: string,
  at: number,
): Promise<Record<LimitPeriod, { count: number; windowStart: string; windowEnd: string }>> {
  const usage = {} as Record<LimitPeriod, { count: number; windowStart: string; windowEnd: string }>;
  for (const period of Object.keys(PERIOD_MS) as LimitPeriod[]) {
    const start = windowStart(at, period);
    const row = await db
      .selectFrom('smtp_send_counts')
      .select('count')
      .where('server_id', '=', serverId)
      .where('period', '=', period)
      .where('window_start', '=', start)
      .executeTakeFirst();
    usage[period] = {
      count: row?.count ?? 0,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + PERIOD_MS[period]).toISOString(),
    };
  }
  return usage;
}

/** Removes counters of windows that ended more than a day ago. */
export async function pruneSendCounts(db: Kysely<SmtpDatabase>, at: number): Promise<void> {
  await db
    .deleteFrom('smtp_send_counts')
    .where('window_start', '<', at - 2 * PERIOD_MS.day)
    .execute();
}
