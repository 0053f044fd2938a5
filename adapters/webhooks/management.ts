import {
  ok,
  problem,
  type ApiRequest,
  type ApiResponse,
  type OperationHandlers,
  type DeliveryFilter,
  type DeliveryView,
} from '../../gateway/adapter-kit/index.ts';
import { canonicalToWebhookEvent } from '../../mappings/webhook-event/canonical-to-webhook-event.ts';
import { ALL_TOPICS, topicOf, typeOfTopic } from '../../mappings/webhook-event/topics.ts';
import type { WebhooksContext } from './context.ts';
import {
  db,
  findRecipient,
  newRecipientRow,
  retryDelaysOf,
  topicsOf,
  type RecipientRow,
  type RecipientsTable,
} from './recipients.ts';
import { topicUrl } from './settings.ts';
import { newSigningSecret } from './standard-webhooks-signature.ts';

/** The skip rule of deliver()'s authorisation re-check; the core records a skip as `<rule>: <detail>`. */
export const NOT_AUTHORISED = 'recipient-not-authorised';
/** Statuses of the webhook log; the core's delivery statuses mapped to what a webhook admin asks. */
export type LogStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'filtered';

const DEFAULT_OVERLAP_SECONDS = 86_400;

/** Handlers for operationIds `webhooks.*` of schemas/openapi/adapters/webhooks.v1.yaml. */
export function createManagement(ctx: WebhooksContext): OperationHandlers {
  return {
    'webhooks.listTopics': async () =>
      ok({
        items: ALL_TOPICS.map((topic) => ({
          topic,
          type: typeOfTopic(topic),
          url: topicUrl(ctx.settings, topic),
        })),
      }),
    'webhooks.listRecipients': (request) => listRecipients(ctx, request),
    'webhooks.createRecipient': (request) => createRecipient(ctx, request),
    'webhooks.getRecipient': (request) =>
      withRecipient(ctx, request, async (row) => ok(await view(ctx, row, true))),
    'webhooks.updateRecipient': (request) => updateRecipient(ctx, request),
    'webhooks.deleteRecipient': (request) => deleteRecipient(ctx, request),
    'webhooks.rotateSecret': (request) => rotateSecret(ctx, request),
    'webhooks.recoverRecipient': (request) => recoverRecipient(ctx, request),
    'webhooks.listLog': (request) => listLog(ctx, request),
    'webhooks.getLogEntry': (request) => getLogEntry(ctx, request),
    'webhooks.resendLogEntry': (request) => resendLogEntry(ctx, request),
  };
}

interface RecipientInput {
  url?: string;
  topics?: string[];
  account?: string;
  description?: string | null;
  protocol?: 'websub' | 'oauth2';
  websub?: { algorithm?: 'sha256' | 'sha1' };
  oauth2?: {
    tokenUrl?: string;
    clientId?: string;
    clientSecret?: string;
    scope?: string | null;
    audience?: string | null;
  };
  standardWebhooks?: boolean;
  retryDelaysMs?: number[] | null;
  enabled?: boolean;
}

async function listRecipients(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  const includeDeleted = flag(request.query['includeDeleted']);
  let query = db(ctx.db)
    .selectFrom('webhooks_recipients')
    .selectAll()
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc');
  if (!includeDeleted) query = query.where('deleted_at', 'is', null);
  const rows = await query.execute();
  const filtered = await filteredTotals(
    ctx,
    rows.map((row) => row.id),
  );
  return ok({ items: rows.map((row) => viewRow(row, filtered.get(row.id) ?? 0)) });
}

async function createRecipient(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  const input = request.body as RecipientInput;
  const protocol = input.protocol ?? 'websub';
  const invalid = await checkInput(ctx, input, protocol, true);
  if (invalid) return invalid;
  const now = ctx.now().getTime();
  const secret = newSigningSecret();
  const oauth2 = protocol === 'oauth2' ? input.oauth2 : undefined;
  const row = newRecipientRow(
    {
      url: input.url ?? '',
      topics: JSON.stringify(unique(input.topics ?? [])),
      account_client_id: input.account ?? '',
      description: input.description ?? null,
      protocol,
      websub_algorithm: input.websub?.algorithm ?? 'sha256',
      standard_webhooks: input.standardWebhooks ? 1 : 0,
      secret: ctx.secrets.seal(secret),
      origin: 'api',
      oauth2_token_url: oauth2?.tokenUrl ?? null,
      oauth2_client_id: oauth2?.clientId ?? null,
      oauth2_client_secret: oauth2?.clientSecret ? ctx.secrets.seal(oauth2.clientSecret) : null,
      oauth2_scope: oauth2?.scope ?? null,
      oauth2_audience: oauth2?.audience ?? null,
      retry_delays: input.retryDelaysMs ? JSON.stringify(input.retryDelaysMs) : null,
    },
    now,
  );
  await db(ctx.db).insertInto('webhooks_recipients').values(row).execute();
  ctx.log.info({ recipientId: row.id }, 'webhook_recipient_created');
  // The signing secret is shown this once; it is stored sealed and never returned again.
  return ok({ ...viewRow(row, 0), secret }, 201, { location: `/v1/webhooks/recipients/${row.id}` });
}

async function updateRecipient(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  return withRecipient(ctx, request, async (row) => {
    if (row.deleted_at !== null)
      return problem('conflict', 409, `recipient ${row.id} is deleted and cannot be changed`);
    const input = request.body as RecipientInput;
    const invalid = await checkInput(ctx, input, row.protocol, false);
    if (invalid) return invalid;
    const changes: Partial<RecipientsTable> = { updated_at: ctx.now().getTime() };
    if (input.url !== undefined) changes.url = input.url;
    if (input.topics !== undefined) changes.topics = JSON.stringify(unique(input.topics));
    if (input.account !== undefined) changes.account_client_id = input.account;
    if (input.description !== undefined) changes.description = input.description;
    if (input.websub?.algorithm !== undefined) changes.websub_algorithm = input.websub.algorithm;
    if (input.standardWebhooks !== undefined) changes.standard_webhooks = input.standardWebhooks ? 1 : 0;
    if (input.retryDelaysMs !== undefined)
      changes.retry_delays = input.retryDelaysMs === null ? null : JSON.stringify(input.retryDelaysMs);
    if (input.oauth2) {
      if (input.oauth2.tokenUrl !== undefined) changes.oauth2_token_url = input.oauth2.tokenUrl;
      if (input.oauth2.clientId !== undefined) changes.oauth2_client_id = input.oauth2.clientId;
      if (input.oauth2.clientSecret !== undefined)
        changes.oauth2_client_secret = ctx.secrets.seal(input.oauth2.clientSecret);
      if (input.oauth2.scope !== undefined) changes.oauth2_scope = input.oauth2.scope;
      if (input.oauth2.audience !== undefined) changes.oauth2_audience = input.oauth2.audience;
    }
    if (input.enabled === true) Object.assign(changes, { disabled_at: null, disabled_reason: null });
    if (input.enabled === false && row.disabled_at === null) {
      Object.assign(changes, { disabled_at: changes.updated_at, disabled_reason: 'disabled by an admin' });
    }
    await db(ctx.db).updateTable('webhooks_recipients').set(changes).where('id', '=', row.id).execute();
    ctx.tokens.forget(`${row.id}:`);
    const updated = await findRecipient(ctx.db, row.id);
    if (input.enabled === false) await settlePending(ctx, row.id);
    return ok(await view(ctx, updated ?? row, false));
  });
}

async function deleteRecipient(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  return withRecipient(ctx, request, async (row) => {
    if (row.deleted_at === null) {
      const now = ctx.now().getTime();
      await db(ctx.db)
        .updateTable('webhooks_recipients')
        .set({ deleted_at: now, deleted_reason: 'deleted by an admin', updated_at: now })
        .where('id', '=', row.id)
        .execute();
      ctx.tokens.forget(`${row.id}:`);
      ctx.log.info({ recipientId: row.id }, 'webhook_recipient_deleted');
      await settlePending(ctx, row.id);
    }
    return { status: 204 };
  });
}

/**
 * Deliveries still waiting for a recipient that may no longer receive are made due now: deliver()
 * then ends each as skipped with the rule, instead of leaving it "retrying" until its next slot.
 */
export async function settlePending(
  ctx: Pick<WebhooksContext, 'deliveries' | 'retryDeliveries'>,
  recipientId: string,
): Promise<void> {
  const waiting = await ctx.deliveries.ids({ target: recipientId, states: ['pending', 'retrying'] });
  if (waiting.length > 0) await ctx.retryDeliveries(waiting);
}

async function rotateSecret(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  return withRecipient(ctx, request, async (row) => {
    if (row.deleted_at !== null) return problem('conflict', 409, `recipient ${row.id} is deleted`);
    if (row.origin === 'websub-hub') {
      return problem(
        'conflict',
        409,
        "the secret of a WebSub hub subscription is the subscriber's own; it changes by subscribing again",
      );
    }
    const body = (request.body ?? {}) as { overlapSeconds?: number };
    const overlapMs = (body.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000;
    const now = ctx.now().getTime();
    const secret = newSigningSecret();
    await db(ctx.db)
      .updateTable('webhooks_recipients')
      .set({
        secret: ctx.secrets.seal(secret),
        previous_secret: overlapMs > 0 ? row.secret : null,
        previous_secret_until: overlapMs > 0 ? now + overlapMs : null,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .execute();
    ctx.log.info({ recipientId: row.id }, 'webhook_secret_rotated');
    return ok({ secret, previousValidUntil: overlapMs > 0 ? new Date(now + overlapMs).toISOString() : null });
  });
}

async function recoverRecipient(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  return withRecipient(ctx, request, async (row) => {
    if (row.deleted_at !== null)
      return problem('conflict', 409, `recipient ${row.id} is deleted; nothing is sent to it any more`);
    const since = parseTime(request.query['since']);
    if (since === null)
      return problem('validation-failed', 400, 'since must be a date-time', [
        { pointer: '/query/since', detail: 'required, ISO 8601 date-time' },
      ]);
    const ids = await ctx.deliveries.ids({ target: row.id, states: ['failed'], createdSince: since });
    const resent = ids.length > 0 ? await ctx.retryDeliveries(ids) : 0;
    ctx.log.info({ recipientId: row.id, resent }, 'webhook_recipient_recovered');
    return ok({ resent, deliveryIds: ids }, 202);
  });
}

async function listLog(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  const q = request.query;
  const limit = Math.min(Math.max(Number(single(q['limit']) ?? 50) || 50, 1), 200);
  const cursor = single(q['cursor']);
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  if (after === null)
    return problem('validation-failed', 400, 'cursor is not one this API gave', [
      { pointer: '/query/cursor', detail: 'unknown cursor' },
    ]);
  const since = q['since'] === undefined ? undefined : parseTime(q['since']);
  const until = q['until'] === undefined ? undefined : parseTime(q['until']);
  if (since === null || until === null) {
    return problem('validation-failed', 400, 'since and until must be date-times', [
      { pointer: since === null ? '/query/since' : '/query/until', detail: 'ISO 8601 date-time' },
    ]);
  }
  const recipient = single(q['recipient']);
  const topic = single(q['topic']);
  const status = single(q['status']) as LogStatus | undefined;
  const rows = await ctx.deliveries.list(
    {
      ...(recipient !== undefined ? { target: recipient } : {}),
      ...(topic !== undefined ? { messageType: typeOfTopic(topic) ?? `unknown topic ${topic}` } : {}),
      ...(status !== undefined ? { anyOf: LOG_STATUS_CLAUSES[status] ?? [] } : {}),
      ...(since !== undefined ? { createdFrom: since } : {}),
      ...(until !== undefined ? { createdUntil: until } : {}),
    },
    { ...(after ? { after } : {}), limit: limit + 1 },
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return ok({
    items: page.map((row) => logItem(row)),
    nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
  });
}

/** Log statuses as states of the core's deliveries; a skip for want of authorisation is "filtered". */
const FILTERED = `${NOT_AUTHORISED}:`;
const LOG_STATUS_CLAUSES: Record<LogStatus, DeliveryFilter['anyOf']> = {
  pending: [{ states: ['pending', 'active'] }],
  retrying: [{ states: ['retrying'] }],
  delivered: [{ states: ['delivered'] }],
  filtered: [{ states: ['skipped'], reasonStartsWith: FILTERED }],
  failed: [{ states: ['failed'] }, { states: ['skipped'], reasonNotStartsWith: FILTERED }],
};

async function getLogEntry(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  const delivery = await ctx.deliveries.get(request.params['id'] ?? '');
  if (!delivery) return problem('not-found', 404, `no webhook delivery ${request.params['id']}`);
  return ok({
    ...logItem(delivery),
    attemptLog: delivery.attemptLog.map((a) => ({
      number: a.number,
      startedAt: iso(a.startedAt),
      durationMs: a.durationMs,
      outcome: a.outcome,
      reason: a.reason,
      statusCode: statusCodeOf(a.responseStatus),
      response: a.responseBody,
      nextAttemptAt: a.nextAttemptAt === null ? null : iso(a.nextAttemptAt),
    })),
  });
}

async function resendLogEntry(ctx: WebhooksContext, request: ApiRequest): Promise<ApiResponse> {
  const id = request.params['id'] ?? '';
  const delivery = await ctx.deliveries.get(id);
  if (!delivery) return problem('not-found', 404, `no webhook delivery ${id}`);
  if (delivery.state === 'active') return problem('conflict', 409, `delivery ${id} is being sent right now`);
  const recipient = await findRecipient(ctx.db, delivery.target);
  if (!recipient || recipient.deleted_at !== null) {
    return problem(
      'conflict',
      409,
      `recipient ${delivery.target} is deleted; nothing is sent to it any more`,
    );
  }
  await ctx.retryDeliveries([id]);
  ctx.log.info(
    { deliveryId: id, adapter: 'webhooks', recipientId: recipient.id },
    'webhook_resend_requested',
  );
  return ok({ id, status: 'pending' }, 202);
}

function logItem(delivery: DeliveryView) {
  const { message } = delivery;
  const envelope = message.envelope as { time?: unknown; data?: unknown };
  const mapped = canonicalToWebhookEvent(envelope.data, {
    id: message.id,
    type: message.type,
    ...(typeof envelope.time === 'string' ? { time: envelope.time } : {}),
    receivedAt: iso(message.receivedAt),
  });
  return {
    id: delivery.id,
    messageId: message.id,
    recipientId: delivery.target,
    url: delivery.targetLabel,
    topic: topicOf(message.type) ?? null,
    status: logStatusOf(delivery.state, delivery.lastReason),
    statusCode: statusCodeOf(delivery.lastStatus),
    attempts: delivery.attempts,
    sequence: delivery.sequence,
    reason: delivery.lastReason,
    nextAttemptAt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
    createdAt: iso(delivery.createdAt),
    updatedAt: iso(delivery.updatedAt),
    body: mapped.ok ? mapped.value.body : null,
  };
}

export function logStatusOf(status: string, lastReason: string | null): LogStatus {
  switch (status) {
    case 'retrying':
    case 'delivered':
    case 'failed':
      return status;
    case 'skipped':
      return lastReason?.startsWith(FILTERED) ? 'filtered' : 'failed';
    default:
      return 'pending';
  }
}

function statusCodeOf(value: string | null): number | null {
  return value !== null && /^\d{3}$/.test(value) ? Number(value) : null;
}

async function withRecipient(
  ctx: WebhooksContext,
  request: ApiRequest,
  act: (row: RecipientRow) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const row = await findRecipient(ctx.db, request.params['id'] ?? '');
  return row ? act(row) : problem('not-found', 404, `no webhook recipient ${request.params['id']}`);
}

/** Rules the OpenAPI schema cannot say: the account must exist, oauth2 needs its client. */
async function checkInput(
  ctx: WebhooksContext,
  input: RecipientInput,
  protocol: 'websub' | 'oauth2',
  creating: boolean,
): Promise<ApiResponse | null> {
  const errors: { pointer: string; detail: string }[] = [];
  if (creating && !input.url) errors.push({ pointer: '/body/url', detail: 'required' });
  if (creating && (!input.topics || input.topics.length === 0))
    errors.push({ pointer: '/body/topics', detail: 'at least one topic' });
  for (const [i, topic] of (input.topics ?? []).entries()) {
    if (typeOfTopic(topic) === undefined)
      errors.push({
        pointer: `/body/topics/${i}`,
        detail: `unknown topic ${topic} (GET /v1/webhooks/topics)`,
      });
  }
  if (creating && !input.account) errors.push({ pointer: '/body/account', detail: 'required' });
  if (protocol === 'oauth2' && creating) {
    for (const field of ['tokenUrl', 'clientId', 'clientSecret'] as const) {
      if (!input.oauth2?.[field])
        errors.push({ pointer: `/body/oauth2/${field}`, detail: 'required for protocol oauth2' });
    }
  }
  if (protocol === 'websub' && input.oauth2 !== undefined)
    errors.push({ pointer: '/body/oauth2', detail: 'only for protocol oauth2' });
  if (errors.length > 0) return problem('validation-failed', 400, 'the recipient is not valid', errors);
  if (input.account !== undefined && (await ctx.account(input.account)) === undefined) {
    return problem('webhooks-unknown-account', 422, `no API account with client id ${input.account}`, [
      { pointer: '/body/account', detail: 'no such API account' },
    ]);
  }
  return null;
}

async function view(ctx: WebhooksContext, row: RecipientRow, withDays: boolean) {
  const counts = await db(ctx.db)
    .selectFrom('webhooks_filtered_counts')
    .select(['day', 'count'])
    .where('recipient_id', '=', row.id)
    .orderBy('day', 'desc')
    .limit(31)
    .execute();
  const total = (await filteredTotals(ctx, [row.id])).get(row.id) ?? 0;
  return { ...viewRow(row, total), ...(withDays ? { filteredByDay: counts } : {}) };
}

/** The API form of a recipient. Secrets never appear: not sealed, not opened, not hinted. */
export function viewRow(row: RecipientRow, filteredEvents: number) {
  return {
    id: row.id,
    url: row.url,
    topics: topicsOf(row),
    account: row.account_client_id,
    description: row.description,
    protocol: row.protocol,
    websub: { algorithm: row.websub_algorithm },
    oauth2:
      row.protocol === 'oauth2'
        ? {
            tokenUrl: row.oauth2_token_url,
            clientId: row.oauth2_client_id,
            scope: row.oauth2_scope,
            audience: row.oauth2_audience,
          }
        : null,
    standardWebhooks: row.standard_webhooks === 1,
    retryDelaysMs: retryDelaysOf(row) ?? null,
    origin: row.origin,
    status: row.deleted_at !== null ? 'deleted' : row.disabled_at !== null ? 'disabled' : 'active',
    disabledReason: row.disabled_reason,
    deletedReason: row.deleted_reason,
    leaseExpiresAt: row.lease_expires_at === null ? null : iso(row.lease_expires_at),
    previousSecretValidUntil: row.previous_secret_until === null ? null : iso(row.previous_secret_until),
    filteredEvents,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    deletedAt: row.deleted_at === null ? null : iso(row.deleted_at),
  };
}

async function filteredTotals(ctx: WebhooksContext, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db(ctx.db)
    .selectFrom('webhooks_filtered_counts')
    .select(['recipient_id', (eb) => eb.fn.sum<number>('count').as('total')])
    .where('recipient_id', 'in', ids)
    .groupBy('recipient_id')
    .execute();
  return new Map(rows.map((r) => [r.recipient_id, Number(r.total)]));
}

function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string')
      return { createdAt: value[0], id: value[1] };
  } catch {
    // falls through to the refusal
  }
  return null;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The core coerces query values by the OpenAPI schema, so a boolean may arrive as one. */
function flag(value: unknown): boolean {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return first === true || first === 'true' || first === '1';
}

function parseTime(value: string | string[] | undefined): number | null {
  const text = single(value);
  if (text === undefined) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
