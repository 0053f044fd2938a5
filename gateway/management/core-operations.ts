import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { ApiRequest, ApiResponse, OperationHandlers } from '../adapter-kit/api.ts';
import { ok, problem } from '../adapter-kit/api.ts';
import { completeProblem } from '../http/problem.ts';
import type { RetryPolicy } from '../adapter-kit/retry-policy.ts';
import type { CanonicalValidator } from '../ingest/canonical-validator.ts';
import type { Ingest, IngestResult } from '../ingest/post-message.ts';
import type { LoadedAdapter } from '../registry.ts';
import type { CoreDatabase, ErrorKind } from '../store/schema.ts';
import type { DueDelivery } from '../dispatch/dispatcher.ts';
import { replayDeliveries } from './replay.ts';
import { powerOfTwoSlices } from '../store/bulk.ts';
import { decodeCursor, deliveryView, encodeCursor, errorView, messageView } from './views.ts';

export interface CoreOperationDeps {
  readonly db: Kysely<CoreDatabase>;
  readonly ingest: Ingest;
  readonly validator: CanonicalValidator;
  readonly adapters: () => readonly LoadedAdapter[];
  readonly now: () => Date;
  readonly wake: (deliveries: readonly DueDelivery[]) => void;
  readonly setRetryPolicy: (adapter: string, policy: RetryPolicy | undefined) => Promise<void>;
  readonly onIngested: (type: string) => void;
}

const MAX_BATCH = 500;

/** Handlers of the operations in ingest.v1.yaml and management.v1.yaml that concern messages, errors and adapters. */
export function coreOperations(deps: CoreOperationDeps): OperationHandlers {
  const { db } = deps;

  const accepted = (result: Extract<IngestResult, { ok: true }>) => ({
    id: result.id,
    status: 202,
    duplicate: result.duplicate,
    deliveries: result.deliveries.map((d) => ({
      id: d.id,
      adapter: d.adapter,
      target: d.target,
      label: d.label,
      status: d.status,
    })),
  });

  const refused = (result: Extract<IngestResult, { ok: false }>): ApiResponse =>
    result.status === 422
      ? problem('unknown-message-type', 422, result.errors[0]?.detail ?? 'unknown type', result.errors)
      : problem('validation-failed', 400, 'The message is not valid; nothing was stored.', result.errors);

  async function loadDeliveries(messageIds: readonly string[]) {
    const deliveries = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('message_id', 'in', messageIds)
      .orderBy('created_at')
      .execute();
    const attempts =
      deliveries.length === 0
        ? []
        : await db
            .selectFrom('attempts')
            .selectAll()
            .where(
              'delivery_id',
              'in',
              deliveries.map((d) => d.id),
            )
            .orderBy('number')
            .execute();
    return deliveries.map((d) =>
      deliveryView(
        d,
        attempts.filter((a) => a.delivery_id === d.id),
      ),
    );
  }

  async function messageDetail(id: string) {
    const message = await db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    if (!message) return undefined;
    return {
      ...messageView(message),
      event: JSON.parse(message.envelope) as unknown,
      deliveries: await loadDeliveries([id]),
    };
  }

  const errorFilter = (input: Record<string, unknown>) => {
    let query = db.selectFrom('error_log');
    if (typeof input.adapter === 'string') query = query.where('adapter', '=', input.adapter);
    if (typeof input.kind === 'string') query = query.where('kind', '=', input.kind as ErrorKind);
    if (typeof input.messageType === 'string') query = query.where('message_type', '=', input.messageType);
    if (typeof input.since === 'string') query = query.where('created_at', '>=', Date.parse(input.since));
    if (typeof input.until === 'string') query = query.where('created_at', '<', Date.parse(input.until));
    if (input.resolved === true || input.resolved === 'true')
      query = query.where('resolved_at', 'is not', null);
    if (input.resolved === false || input.resolved === 'false')
      query = query.where('resolved_at', 'is', null);
    if (typeof input.q === 'string' && input.q !== '') {
      const like = `%${input.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(reason)`, 'like', sql`${like} escape '\\'`),
          eb(sql`lower(coalesce(code, ''))`, 'like', sql`${like} escape '\\'`),
          eb(sql`lower(coalesce(partner_answer, ''))`, 'like', sql`${like} escape '\\'`),
        ]),
      );
    }
    return query;
  };

  const limitOf = (request: ApiRequest): number => Number(request.query.limit ?? 50);

  const adapterView = async (adapter: LoadedAdapter) => {
    const counts = await db
      .selectFrom('deliveries')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('adapter', '=', adapter.name)
      .groupBy('status')
      .execute();
    const count = (...statuses: string[]) =>
      counts.filter((c) => statuses.includes(c.status)).reduce((s, c) => s + Number(c.n), 0);
    const health = await adapter.instance
      .health()
      .catch((error: unknown) => ({ ok: false, detail: (error as Error).message }));
    return {
      name: adapter.name,
      accepts: [...adapter.accepts],
      dispatch: adapter.periodic ? 'periodic' : 'continuous',
      retryPolicy: adapter.retryPolicy(),
      retryPolicySource: adapter.retryPolicySource(),
      health,
      counts: {
        pending: count('pending', 'retrying', 'active'),
        delivered: count('delivered'),
        failed: count('failed'),
        skipped: count('skipped'),
      },
    };
  };

  const findAdapter = (name: string | undefined) => deps.adapters().find((a) => a.name === name);

  return {
    'messages.post': async (request) => {
      const result = await deps.ingest.post(request.body);
      if (!result.ok) return refused(result);
      if (!result.duplicate) deps.onIngested(String((request.body as { type: string }).type));
      return ok(accepted(result), 202, { location: `/v1/messages/${result.id}` });
    },

    'messages.postBatch': async (request) => {
      if (!Array.isArray(request.body)) {
        return problem('validation-failed', 400, 'A batch is a JSON array of CloudEvents.', [
          { pointer: '/body', detail: 'must be an array' },
        ]);
      }
      if (request.body.length > MAX_BATCH)
        return problem(
          'payload-too-large',
          413,
          `A batch holds at most ${MAX_BATCH} events, not ${request.body.length}.`,
        );
      const results = await deps.ingest.postMany(request.body);
      let acceptedCount = 0;
      const items = results.map((result, index) => {
        if (result.ok) {
          acceptedCount++;
          if (!result.duplicate)
            deps.onIngested(String((request.body as Array<{ type: string }>)[index]?.type));
          return accepted(result);
        }
        // Each item is a whole RFC 9457 problem (type URI, title), as the app makes of a single answer.
        const answer = completeProblem(refused(result)).body as Record<string, unknown>;
        return { ...answer, index };
      });
      return ok({ accepted: acceptedCount, rejected: results.length - acceptedCount, results: items }, 207);
    },

    'messages.get': async (request) => {
      const detail = await messageDetail(request.params.id ?? '');
      return detail ? ok(detail) : problem('not-found', 404, 'No message with this id.');
    },

    'messages.list': async (request) => {
      const cursor = decodeCursor(request.query.cursor as string | undefined);
      if (cursor === 'invalid') return invalidCursor();
      const q = request.query;
      let query = db.selectFrom('messages').selectAll();
      if (typeof q.type === 'string') query = query.where('type', '=', q.type);
      if (typeof q.source === 'string') query = query.where('source', '=', q.source);
      if (typeof q.eventId === 'string') query = query.where('event_id', '=', q.eventId);
      if (typeof q.since === 'string') query = query.where('received_at', '>=', Date.parse(q.since));
      if (typeof q.until === 'string') query = query.where('received_at', '<', Date.parse(q.until));
      if (typeof q.status === 'string') {
        const status = q.status;
        query = query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('deliveries')
              .select('deliveries.id')
              .whereRef('deliveries.message_id', '=', 'messages.id')
              .where('deliveries.status', '=', status as never),
          ),
        );
      }
      const limit = limitOf(request);
      const { page, nextCursor } = await newestFirst(query, 'received_at', cursor, limit);
      const counts =
        page.length === 0
          ? []
          : await db
              .selectFrom('deliveries')
              .select(['message_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
              .where(
                'message_id',
                'in',
                page.map((m) => m.id),
              )
              .groupBy(['message_id', 'status'])
              .execute();
      return ok({
        items: page.map((m) => ({
          ...messageView(m),
          deliveries: Object.fromEntries(
            counts.filter((c) => c.message_id === m.id).map((c) => [c.status, Number(c.n)]),
          ),
        })),
        nextCursor,
      });
    },

    'deliveries.get': async (request) => {
      const row = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('id', '=', request.params.id ?? '')
        .executeTakeFirst();
      if (!row) return problem('not-found', 404, 'No delivery with this id.');
      const attempts = await db
        .selectFrom('attempts')
        .selectAll()
        .where('delivery_id', '=', row.id)
        .orderBy('number')
        .execute();
      return ok(deliveryView(row, attempts));
    },

    'errors.list': async (request) => {
      const cursor = decodeCursor(request.query.cursor as string | undefined);
      if (cursor === 'invalid') return invalidCursor();
      const { page, nextCursor } = await newestFirst(
        errorFilter(request.query).selectAll(),
        'created_at',
        cursor,
        limitOf(request),
      );
      return ok({
        items: page.map(errorView),
        nextCursor,
      });
    },

    'errors.get': async (request) => {
      const entry = await db
        .selectFrom('error_log')
        .selectAll()
        .where('id', '=', request.params.id ?? '')
        .executeTakeFirst();
      if (!entry) return problem('not-found', 404, 'No error-log entry with this id.');
      const message = await messageDetail(entry.message_id);
      const delivery = message?.deliveries.find((d) => d.id === entry.delivery_id);
      return ok({ ...errorView(entry), message, delivery });
    },

    'errors.retry': async (request) => {
      const entry = await db
        .selectFrom('error_log')
        .selectAll()
        .where('id', '=', request.params.id ?? '')
        .executeTakeFirst();
      if (!entry) return problem('not-found', 404, 'No error-log entry with this id.');
      const nowMs = deps.now().getTime();
      const due = await replayDeliveries(db, [entry.delivery_id], nowMs);
      if (due.length === 0)
        return problem('conflict', 409, 'The delivery is delivered or in flight; there is nothing to retry.');
      await markRetried(db, [entry.id], request.principal?.clientId ?? 'unknown', nowMs);
      deps.wake(due);
      const row = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('id', '=', entry.delivery_id)
        .executeTakeFirstOrThrow();
      return ok(deliveryView(row), 202);
    },

    'errors.retryMany': async (request) => {
      const body = request.body as Record<string, unknown>;
      const entries = await errorFilter(body)
        .select(['id', 'delivery_id'])
        .where('resolved_at', 'is', null)
        .execute();
      if (body.dryRun === true) return ok({ matched: entries.length, retried: 0 });
      const nowMs = deps.now().getTime();
      const due = await replayDeliveries(db, [...new Set(entries.map((e) => e.delivery_id))], nowMs);
      const dueIds = new Set(due.map((d) => d.id));
      await markRetried(
        db,
        entries.filter((e) => dueIds.has(e.delivery_id)).map((e) => e.id),
        request.principal?.clientId ?? 'unknown',
        nowMs,
      );
      deps.wake(due);
      return ok({ matched: entries.length, retried: due.length });
    },

    'errors.resolve': async (request) => {
      const id = request.params.id ?? '';
      const entry = await db.selectFrom('error_log').selectAll().where('id', '=', id).executeTakeFirst();
      if (!entry) return problem('not-found', 404, 'No error-log entry with this id.');
      if (entry.resolved_at !== null) return problem('conflict', 409, 'The entry is already resolved.');
      const updated = await db
        .updateTable('error_log')
        .set({
          resolved_at: deps.now().getTime(),
          resolved_note: (request.body as { note: string }).note,
          resolved_by: request.principal?.clientId ?? null,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return ok(errorView(updated));
    },

    'adapters.list': async () => ok({ items: await Promise.all(deps.adapters().map(adapterView)) }),

    'adapters.get': async (request) => {
      const adapter = findAdapter(request.params.name);
      return adapter ? ok(await adapterView(adapter)) : problem('not-found', 404, 'No such adapter.');
    },

    'adapters.putRetryPolicy': async (request) => {
      const adapter = findAdapter(request.params.name);
      if (!adapter) return problem('not-found', 404, 'No such adapter.');
      const body = request.body as RetryPolicy;
      await deps.setRetryPolicy(adapter.name, {
        delaysMs: body.delaysMs,
        afterLast: body.afterLast,
        jitter: body.jitter ?? 0,
        retryAfter: body.retryAfter ?? 'clamp',
      });
      return ok(await adapterView(adapter));
    },

    'adapters.deleteRetryPolicy': async (request) => {
      const adapter = findAdapter(request.params.name);
      if (!adapter) return problem('not-found', 404, 'No such adapter.');
      await deps.setRetryPolicy(adapter.name, undefined);
      return ok(await adapterView(adapter));
    },

    'stats.hourly': async (request) => {
      const hours = Number(request.query.hours ?? 24);
      const hourMs = 3_600_000;
      const end = Math.floor(deps.now().getTime() / hourMs) * hourMs + hourMs;
      const start = end - hours * hourMs;
      let query = db
        .selectFrom('deliveries')
        // A literal, not a parameter: better-sqlite3 binds numbers as REAL, which made every row its own bucket.
        .select([
          sql<number>`(finished_at / ${sql.lit(hourMs)})`.as('bucket'),
          'status',
          (eb) => eb.fn.countAll<number>().as('n'),
        ])
        .where('finished_at', '>=', start)
        .where('finished_at', '<', end);
      if (typeof request.query.adapter === 'string')
        query = query.where('adapter', '=', request.query.adapter);
      const rows = await query.groupBy([sql`(finished_at / ${sql.lit(hourMs)})`, 'status']).execute();
      const items = Array.from({ length: hours }, (_, i) => {
        const bucket = start / hourMs + i;
        const n = (status: string) =>
          Number(rows.find((r) => Math.floor(Number(r.bucket)) === bucket && r.status === status)?.n ?? 0);
        return {
          hour: new Date(bucket * hourMs).toISOString(),
          delivered: n('delivered'),
          failed: n('failed'),
          skipped: n('skipped'),
        };
      });
      return ok({ items });
    },

    'schemas.list': async () =>
      ok({
        items: [
          { type: 'envelope', schema: '/v1/schemas/envelope' },
          ...deps.validator.types.map((type) => ({ type, schema: `/v1/schemas/${type}` })),
        ],
      }),

    'schemas.get': async (request) => {
      const schema = deps.validator.schemaOf(request.params.type ?? '');
      return schema
        ? ok(schema, 200, { 'content-type': 'application/schema+json' })
        : problem('not-found', 404, 'No canonical type of this name.');
    },
  };
}

function invalidCursor(): ApiResponse {
  return problem('validation-failed', 400, 'The cursor is not one this API gave.', [
    { pointer: '/query/cursor', detail: 'is not a valid cursor' },
  ]);
}

async function markRetried(
  db: Kysely<CoreDatabase>,
  ids: readonly string[],
  by: string,
  nowMs: number,
): Promise<void> {
  for (const slice of powerOfTwoSlices(ids)) {
    await db
      .updateTable('error_log')
      .set({ resolved_at: nowMs, resolved_note: 'retried', resolved_by: by })
      .where('id', 'in', slice)
      .where('resolved_at', 'is', null)
      .execute();
  }
}

/**
 * One page of a newest-first list and the keyset cursor of the next: rows older than the cursor's
 * (time, id), so that pages neither repeat nor skip rows while new ones arrive.
 */
async function newestFirst<
  Row extends { id: string } & Record<Column, number>,
  Column extends 'received_at' | 'created_at',
>(
  query: SelectQueryBuilder<CoreDatabase, any, Row>,
  column: Column,
  cursor: { time: number; id: string } | null,
  limit: number,
): Promise<{ page: Row[]; nextCursor: string | null }> {
  let paged = query;
  if (cursor) {
    const time = sql.ref(column);
    paged = paged.where((eb) =>
      eb.or([
        eb(time, '<', cursor.time),
        eb.and([eb(time, '=', cursor.time), eb(sql.ref('id'), '<', cursor.id)]),
      ]),
    );
  }
  const rows = await paged
    .orderBy(sql.ref(column), 'desc')
    .orderBy(sql.ref('id'), 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    page,
    nextCursor: rows.length > limit && last ? encodeCursor(Number(last[column]), last.id) : null,
  };
}
