import { sql, type Kysely } from 'kysely';
import type { AdapterDeliveries, DeliveryFilter, DeliveryView } from '../adapter-kit/deliveries.ts';
import type { CoreDatabase, DeliveriesTable, MessagesTable } from '../store/schema.ts';

type Joined = DeliveriesTable & Pick<MessagesTable, 'type' | 'envelope' | 'received_at'>;

/** The core's side of `AdapterContext.deliveries`: every query is limited to `adapter`'s deliveries. */
export function adapterDeliveries(db: Kysely<CoreDatabase>, adapter: string): AdapterDeliveries {
  const joined = () => joinedDeliveries(db, adapter);

  return {
    async ids({ target, states, createdSince }) {
      if (states.length === 0) return [];
      let query = db
        .selectFrom('deliveries')
        .select('id')
        .where('adapter', '=', adapter)
        .where('target', '=', target)
        .where('status', 'in', [...states]);
      if (createdSince !== undefined) query = query.where('created_at', '>=', createdSince);
      const rows = await query.orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
      return rows.map((r) => r.id);
    },

    async list(filter, { after, limit }) {
      let query = withFilter(joined(), filter);
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('deliveries.created_at', '<', after.createdAt),
            eb.and([eb('deliveries.created_at', '=', after.createdAt), eb('deliveries.id', '<', after.id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('deliveries.created_at', 'desc')
        .orderBy('deliveries.id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(view);
    },

    async get(id) {
      const row = await joined().where('deliveries.id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const attempts = await db
        .selectFrom('attempts')
        .selectAll()
        .where('delivery_id', '=', id)
        .orderBy('number', 'asc')
        .execute();
      return {
        ...view(row),
        attemptLog: attempts.map((a) => ({
          number: a.number,
          startedAt: a.started_at,
          durationMs: a.duration_ms,
          outcome: a.outcome,
          reason: a.reason,
          responseStatus: a.response_status,
          responseBody: a.response_body,
          nextAttemptAt: a.next_attempt_at,
        })),
      };
    },

    async failuresByTarget(afterMs, untilMs) {
      const rows = await db
        .selectFrom('deliveries')
        .select(['target', 'target_label', (eb) => eb.fn.countAll<number>().as('failures')])
        .where('adapter', '=', adapter)
        .where('status', '=', 'failed')
        .where('finished_at', '>', afterMs)
        .where('finished_at', '<=', untilMs)
        .groupBy(['target', 'target_label'])
        .execute();
      return rows.map((r) => ({ target: r.target, label: r.target_label, failures: Number(r.failures) }));
    },
  };
}

function joinedDeliveries(db: Kysely<CoreDatabase>, adapter: string) {
  return db
    .selectFrom('deliveries')
    .innerJoin('messages', 'messages.id', 'deliveries.message_id')
    .selectAll('deliveries')
    .select(['messages.type', 'messages.envelope', 'messages.received_at'])
    .where('deliveries.adapter', '=', adapter);
}

type JoinedQuery = ReturnType<typeof joinedDeliveries>;

function withFilter(query: JoinedQuery, filter: DeliveryFilter): JoinedQuery {
  let q = query;
  if (filter.target !== undefined) q = q.where('deliveries.target', '=', filter.target);
  if (filter.messageType !== undefined) q = q.where('messages.type', '=', filter.messageType);
  if (filter.createdFrom !== undefined) q = q.where('deliveries.created_at', '>=', filter.createdFrom);
  if (filter.createdUntil !== undefined) q = q.where('deliveries.created_at', '<', filter.createdUntil);
  const clauses = filter.anyOf;
  if (clauses === undefined) return q;
  return q.where((eb) =>
    eb.or(
      clauses.map((clause) => {
        const parts = [eb('deliveries.status', 'in', [...clause.states])];
        // A prefix compared as text, not with LIKE: no wildcard in a reason can match more.
        const startOfReason = (prefix: string) =>
          sql<string>`substr(coalesce(deliveries.last_reason, ''), 1, ${sql.lit(prefix.length)})`;
        if (clause.reasonStartsWith !== undefined)
          parts.push(eb(startOfReason(clause.reasonStartsWith), '=', clause.reasonStartsWith));
        if (clause.reasonNotStartsWith !== undefined)
          parts.push(eb(startOfReason(clause.reasonNotStartsWith), '<>', clause.reasonNotStartsWith));
        return eb.and(parts);
      }),
    ),
  );
}

function view(row: Joined): DeliveryView {
  return {
    id: row.id,
    target: row.target,
    targetLabel: row.target_label,
    sequence: row.sequence,
    state: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastReason: row.last_reason,
    lastStatus: row.last_status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    message: {
      id: row.message_id,
      type: row.type,
      receivedAt: row.received_at,
      envelope: JSON.parse(row.envelope) as Record<string, unknown>,
    },
  };
}
