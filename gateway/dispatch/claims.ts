import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Dialect } from '../store/db.ts';
import type { CoreDatabase, DeliveriesTable, MessagesTable } from '../store/schema.ts';

/**
 * What an attempt needs of its delivery, the columns a claim returns. All 21 (`returning *`) made
 * SQLite's claim of 32 deliveries take 220 instead of 91 µs, most of it building row objects.
 */
const CLAIMED_COLUMNS = [
  'id',
  'message_id',
  'adapter',
  'target',
  'ordering_key',
  'sequence',
  'attempts',
  'failures',
] as const satisfies readonly (keyof DeliveriesTable)[];
const RETURNING = sql.raw(CLAIMED_COLUMNS.join(', '));

export type ClaimedRow = Pick<DeliveriesTable, (typeof CLAIMED_COLUMNS)[number]>;

export interface ClaimedDelivery {
  readonly row: ClaimedRow;
  readonly message: MessagesTable;
}

export interface ClaimOptions {
  readonly adapter: string;
  readonly workerId: string;
  readonly nowMs: number;
  readonly leaseMs: number;
}

/**
 * Takes up to `limit` due deliveries of one adapter: pending or retrying ones whose time has come,
 * and active ones whose lease ran out (their worker died). A delivery whose ordering group still
 * has an earlier unfinished delivery is left alone. PostgreSQL skips rows other workers are taking.
 */
export async function claimDue(
  db: Kysely<CoreDatabase>,
  dialect: Dialect,
  options: ClaimOptions & {
    readonly limit: number;
    /**
     * Also take deliveries whose worker's lease ran out (default). Finding those reads every active
     * delivery of the adapter, so a poller that claims on every finished attempt looks only when it polls.
     */
    readonly takeExpired?: boolean;
  },
): Promise<ClaimedDelivery[]> {
  // One branch per status, each read in order from the (adapter, status, next_attempt_at) index and
  // stopped at the limit. An OR of them, or even `status in ('pending', 'retrying')`, makes the
  // database collect and sort every waiting delivery of the adapter first: the whole backlog.
  const waiting = (status: 'pending' | 'retrying') => sql`
    select d.id, d.next_attempt_at as due from deliveries d
    where d.adapter = ${options.adapter} and d.status = ${status} and d.next_attempt_at <= ${options.nowMs}
      and ${notBlocked()}
    order by d.next_attempt_at limit ${options.limit}`;
  const stale = sql`
    select d.id, d.lease_until as due from deliveries d
    where d.adapter = ${options.adapter} and d.status = 'active' and d.lease_until < ${options.nowMs}
      and ${notBlocked()}
    limit ${options.limit}`;
  const claimable = sql`
    select id from (${wrap(dialect, waiting('pending'))} union all ${wrap(dialect, waiting('retrying'))}
      ${options.takeExpired === false ? sql`` : sql`union all ${wrap(dialect, stale)}`}) claimable
    order by due
    limit ${options.limit}`;
  let chosen: RawBuilder<unknown>;
  if (dialect === 'sqlite') {
    // An UPDATE costs SQLite a write transaction even when it changes nothing (70 µs against 2 µs for
    // the SELECT, measured): most claims of a lane that keeps up find nothing, so look first.
    const found = await claimable.execute(db);
    if (found.rows.length === 0) return [];
    chosen = sql.join(found.rows.map((r) => (r as { id: string }).id));
  } else {
    // PostgreSQL locks outside the union (it allows no FOR UPDATE inside one).
    chosen = sql`select id from deliveries where id in (${claimable}) for update skip locked`;
  }
  // The UPDATE re-checks each row, so one that another worker claimed in the meantime is not taken twice.
  return withMessages(
    db,
    dialect,
    sql`
      update deliveries set status = 'active', lease_until = ${options.nowMs + options.leaseMs},
        leased_by = ${options.workerId}, updated_at = ${options.nowMs}
      where id in (${chosen}) and ${isClaimable(options.nowMs)}
      returning ${RETURNING}`,
  );
}

/** Takes those of the named deliveries that are due (BullMQ hands out ids; the store stays the judge). */
export async function claimByIds(
  db: Kysely<CoreDatabase>,
  dialect: Dialect,
  options: ClaimOptions & { readonly deliveryIds: readonly string[] },
): Promise<ClaimedDelivery[]> {
  if (options.deliveryIds.length === 0) return [];
  const ids = sql.join(options.deliveryIds);
  // The ids must drive this statement through the primary key. Planning from stale statistics (a table
  // that grew faster than autovacuum analysed it), PostgreSQL read the whole waiting range of
  // deliveries_due instead: 3.4 ms for 32 ids among 15,000 waiting deliveries (EXPLAIN ANALYZE), 7.8 ms
  // a claim in the bench. `adapter || ''` is a test that no index serves, so the primary key is the only
  // way in. The conditions are on the updated row itself, so PostgreSQL re-checks them should another
  // worker have changed it meanwhile.
  return withMessages(
    db,
    dialect,
    sql`
      update deliveries as d set status = 'active', lease_until = ${options.nowMs + options.leaseMs},
        leased_by = ${options.workerId}, updated_at = ${options.nowMs}
      where d.id in (${ids}) and d.adapter || '' = ${options.adapter}
        and ${isClaimable(options.nowMs, 'd.')}
        and ${notBlocked()}
      returning ${RETURNING}`,
  );
}

/** Due and waiting, or held by a worker whose lease ran out. */
function isClaimable(nowMs: number, alias: '' | 'd.' = '') {
  const column = (name: string) => sql.raw(`${alias}${name}`);
  return sql`((${column('status')} in ('pending', 'retrying') and ${column('next_attempt_at')} <= ${nowMs})
    or (${column('status')} = 'active' and ${column('lease_until')} < ${nowMs}))`;
}

/** SQLite takes ORDER BY and LIMIT in a union member only inside a subquery. */
function wrap(dialect: Dialect, query: ReturnType<typeof sql>) {
  return dialect === 'sqlite' ? sql`select * from (${query})` : sql`(${query})`;
}

function notBlocked() {
  return sql`(d.ordering_key is null or not exists (
    select 1 from deliveries e
    where e.adapter = d.adapter and e.target = d.target and e.ordering_key = d.ordering_key
      and e.ordering_position < d.ordering_position
      and e.status in ('pending', 'retrying', 'active')))`;
}

/**
 * Runs the claiming UPDATE and reads the claimed deliveries' messages. On PostgreSQL both in one round
 * trip (the UPDATE as a CTE); SQLite has no UPDATE in a CTE and no round trip to save.
 */
async function withMessages(
  db: Kysely<CoreDatabase>,
  dialect: Dialect,
  update: RawBuilder<unknown>,
): Promise<ClaimedDelivery[]> {
  if (dialect === 'postgres') {
    const result = await sql<ClaimedRow & { message: MessagesTable }>`
      with claimed as (${update})
      select claimed.*, to_jsonb(m) as message from claimed join messages m on m.id = claimed.message_id`.execute(
      db,
    );
    return result.rows.map(({ message, ...row }) => ({ row, message }));
  }
  const rows = (await update.execute(db)).rows as ClaimedRow[];
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.message_id))];
  const messages = await db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(messages.map((m) => [m.id, m]));
  return rows.flatMap((row) => {
    const message = byId.get(row.message_id);
    return message ? [{ row, message }] : [];
  });
}

/** The next waiting delivery of an ordering group, to wake once its predecessor is finished. */
export async function nextInOrderingGroup(
  db: Kysely<CoreDatabase>,
  row: Pick<DeliveriesTable, 'adapter' | 'target' | 'ordering_key'>,
): Promise<{ id: string; next_attempt_at: number | null } | undefined> {
  if (row.ordering_key === null) return undefined;
  return db
    .selectFrom('deliveries')
    .select(['id', 'next_attempt_at'])
    .where('adapter', '=', row.adapter)
    .where('target', '=', row.target)
    .where('ordering_key', '=', row.ordering_key)
    .where('status', 'in', ['pending', 'retrying'])
    .orderBy('ordering_position')
    .limit(1)
    .executeTakeFirst();
}
