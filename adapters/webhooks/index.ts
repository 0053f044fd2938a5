import {
  memoised,
  hours,
  skipped,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterHealth,
  type AdapterInstance,
  type Attempt,
  type CanonicalMessage,
  type Delivery,
  type DeliveryTarget,
  type Outcome,
  type PlanContext,
  type RetryPolicy,
} from '../../gateway/adapter-kit/index.ts';
import { canonicalToWebhookEvent } from '../../mappings/webhook-event/canonical-to-webhook-event.ts';
import { TOPICS, topicOf } from '../../mappings/webhook-event/topics.ts';
import settingsSchema from '../../schemas/adapters/webhooks.settings.schema.json' with { type: 'json' };
import { employerOf, isAuthorisedForSubject, type BoundAccount } from './authorisation.ts';
import type { WebhooksContext } from './context.ts';
import { housekeepingJob } from './housekeeping.ts';
import { createHub } from './hub.ts';
import { createManagement, NOT_AUTHORISED } from './management.ts';
import { migrations } from './migrations/0001-recipients.ts';
import { TokenCache } from './oauth2-token.ts';
import {
  addFilteredCounts,
  db,
  findRecipient,
  liveRecipientsFor,
  retryDelaysOf,
  topicsOf,
  unavailableReason,
  utcDay,
  type RecipientRow,
} from './recipients.ts';
import { resolveSettings, topicUrl, type WebhooksSettings } from './settings.ts';
import { sendWebhook, type SendTarget } from './transport.ts';

/** The schedule the sources ask for: after 1 h, 2 h, 6 h and 24 h, then the delivery has failed. */
export const WEBHOOKS_RETRY: RetryPolicy = {
  delaysMs: [hours(1), hours(2), hours(6), hours(24)],
  afterLast: 'fail',
  jitter: 0.1,
  retryAfter: 'clamp',
};

/** Shown in GET /v1/adapters; a probe that cannot reach a receiver within this counts it down. */
const HEALTH_PROBE_TIMEOUT_MS = 3000;
const HEALTH_PROBE_LIMIT = 10;

export const webhooks: AdapterDefinition<WebhooksSettings> = {
  name: 'webhooks',
  accepts: Object.keys(TOPICS),
  settingsSchema,
  retry: WEBHOOKS_RETRY,
  // One attempt may be a token request, a POST and, after a 401, a second token request and POST.
  attemptTimeoutMs: 60_000,
  migrations,
  create: createWebhooks,
};

export async function createWebhooks(ctx: AdapterContext<WebhooksSettings>): Promise<AdapterInstance> {
  const settings = resolveSettings(ctx.settings, ctx.publicUrl);
  const tokens = new TokenCache(ctx.http, settings.tokenRefreshMarginMs, settings.requestTimeoutMs);
  const shared: WebhooksContext = {
    db: ctx.db,
    secrets: ctx.secrets,
    log: ctx.log,
    http: ctx.http,
    settings,
    tokens,
    now: () => ctx.now(),
    retryDeliveries: (ids) => ctx.retryDeliveries(ids),
    deliveries: ctx.deliveries,
    account: (clientId) => ctx.account(clientId),
  };
  const employerPointer = (type: string) => ctx.employerPointer(type);
  const hub = createHub(shared);
  const filtered = new FilteredCounter(shared);
  let health: { at: number; value: AdapterHealth } | undefined;

  const plan = async (message: CanonicalMessage, plan: PlanContext): Promise<readonly DeliveryTarget[]> => {
    const topic = topicOf(message.type);
    if (topic === undefined) return [];
    const at = message.receivedAt.getTime();
    const accounts = new Map<string, BoundAccount | undefined>();
    const targets: DeliveryTarget[] = [];
    const sequenceKey = message.subject ?? employerOf(message, employerPointer);
    const recipients = await memoised(plan.memo, `webhooks:recipients:${topic}:${at}`, () =>
      liveRecipientsFor(plan.db, topic, at),
    );
    for (const row of recipients) {
      if (!accounts.has(row.account_client_id)) {
        const account = await memoised(plan.memo, `webhooks:account:${row.account_client_id}`, () =>
          plan.account(row.account_client_id),
        );
        accounts.set(row.account_client_id, account);
      }
      if (!isAuthorisedForSubject(accounts.get(row.account_client_id), message, employerPointer).ok) {
        filtered.add(row.id, utcDay(at));
        continue;
      }
      targets.push({ target: row.id, label: row.url, ...(sequenceKey !== undefined ? { sequenceKey } : {}) });
    }
    return targets;
  };

  const deliver = async (delivery: Delivery, attempt: Attempt): Promise<Outcome> => {
    const now = attempt.now.getTime();
    const row = await memoised(attempt.memo, `webhooks:recipient:${delivery.target}`, () =>
      findRecipient(ctx.db, delivery.target),
    );
    if (!row) return skipped('recipient-deleted', `recipient ${delivery.target} does not exist`);
    const unavailable = unavailableReason(row, now);
    if (unavailable) return skipped(unavailable.rule, unavailable.detail);
    const message = delivery.message;
    const topic = topicOf(message.type);
    if (topic === undefined || !topicsOf(row).includes(topic)) {
      return skipped(
        'topic-unsubscribed',
        `recipient ${row.id} no longer subscribes to ${topic ?? message.type}`,
      );
    }
    const authorisation = isAuthorisedForSubject(
      await memoised(attempt.memo, `webhooks:account:${row.account_client_id}`, () =>
        ctx.account(row.account_client_id),
      ),
      message,
      employerPointer,
    );
    if (!authorisation.ok) return skipped(NOT_AUTHORISED, authorisation.reason);
    const mapped = canonicalToWebhookEvent(message.data, {
      id: message.id,
      type: message.type,
      ...(message.time !== undefined ? { time: message.time } : {}),
      receivedAt: message.receivedAt.toISOString(),
    });
    if (!mapped.ok) return skipped(`unmappable:${mapped.unmappable}`, mapped.unmappable);
    const result = await sendWebhook(ctx.http, tokens, {
      // Opening the secrets (AES-GCM) once per claim, not once per attempt.
      target: await memoised(attempt.memo, `webhooks:target:${row.id}`, async () =>
        openTarget(shared, row, now),
      ),
      messageId: message.id,
      topic,
      body: mapped.value.body,
      sequence: delivery.sequence,
      hubUrl: settings.hubUrl,
      topicUrl: topicUrl(settings, topic),
      now: attempt.now,
      signal: attempt.signal,
      timeoutMs: settings.requestTimeoutMs,
    });
    if (result.gone) {
      await db(ctx.db)
        .updateTable('webhooks_recipients')
        .set({ disabled_at: now, disabled_reason: 'the receiver answered 410 Gone', updated_at: now })
        .where('id', '=', row.id)
        .where('disabled_at', 'is', null)
        .execute();
      attempt.log.warn({ recipientId: row.id }, 'webhook_recipient_gone');
    }
    return result.outcome;
  };

  const probe = async (): Promise<AdapterHealth> => {
    const rows = await db(ctx.db)
      .selectFrom('webhooks_recipients')
      .select(['id', 'url'])
      .where('deleted_at', 'is', null)
      .where('disabled_at', 'is', null)
      .orderBy('updated_at', 'desc')
      .limit(HEALTH_PROBE_LIMIT)
      .execute();
    if (rows.length === 0) return { ok: true, detail: 'no active recipients' };
    // Any HTTP answer, even 405, means the receiver is reachable; only no answer counts. (GET until
    // the kit's HttpRequest allows HEAD.)
    const answers = await Promise.all(
      rows.map((row) => ctx.http.send({ method: 'GET', url: row.url, timeoutMs: HEALTH_PROBE_TIMEOUT_MS })),
    );
    const down = rows.filter((_, i) => answers[i]?.kind !== 'response');
    return down.length === 0
      ? { ok: true, detail: `${rows.length} recipient(s) reachable` }
      : {
          ok: false,
          detail: `${down.length} of ${rows.length} recipient(s) unreachable: ${down.map((r) => r.id).join(', ')}`,
        };
  };

  return {
    plan,
    deliver,
    retryPolicyFor: async (delivery) => {
      const row = await findRecipient(ctx.db, delivery.target);
      const delaysMs = row ? retryDelaysOf(row) : undefined;
      return delaysMs ? { ...WEBHOOKS_RETRY, delaysMs } : undefined;
    },
    management: createManagement(shared),
    inbound: hub.inbound,
    jobs: [housekeepingJob({ ...shared, runtimeSettings: ctx.runtimeSettings, post: (m) => ctx.post(m) })],
    health: async () => {
      const now = ctx.now().getTime();
      if (health === undefined || now - health.at >= settings.healthCacheMs)
        health = { at: now, value: await probe() };
      return health.value;
    },
    close: async () => {
      await hub.idle();
      await filtered.flush();
      tokens.clear();
    },
  };
}

/** Opens the secrets a delivery needs, and picks the WebSub secret while a rotation overlaps. */
function openTarget(ctx: WebhooksContext, row: RecipientRow, now: number): SendTarget {
  const current = ctx.secrets.open(row.secret);
  const previous =
    row.previous_secret !== null && row.previous_secret_until !== null && row.previous_secret_until > now
      ? ctx.secrets.open(row.previous_secret)
      : undefined;
  // X-Hub-Signature holds one signature: during the overlap it is still made with the previous
  // secret, which the receiver has; the receiver switches to the new one within the overlap.
  const auth: SendTarget['auth'] =
    row.protocol === 'oauth2'
      ? {
          protocol: 'oauth2',
          cacheKey: `${row.id}:${row.updated_at}`,
          client: {
            tokenUrl: row.oauth2_token_url ?? '',
            clientId: row.oauth2_client_id ?? '',
            clientSecret: row.oauth2_client_secret === null ? '' : ctx.secrets.open(row.oauth2_client_secret),
            ...(row.oauth2_scope ? { scope: row.oauth2_scope } : {}),
            ...(row.oauth2_audience ? { audience: row.oauth2_audience } : {}),
          },
        }
      : { protocol: 'websub', algorithm: row.websub_algorithm, secret: previous ?? current };
  return {
    id: row.id,
    url: row.url,
    auth,
    ...(row.standard_webhooks === 1
      ? { standardWebhooksSecrets: previous ? [current, previous] : [current] }
      : {}),
  };
}

/**
 * Counts events the authorisation filter kept back in plan(). plan() must not write (on SQLite it
 * runs inside the ingest transaction), so the counts are written just after the group, on their own
 * (on SQLite the single connection is free again only then).
 */
class FilteredCounter {
  #pending = new Map<string, number>();
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: WebhooksContext) {}

  add(recipientId: string, day: string): void {
    const key = `${recipientId}|${day}`;
    const first = this.#pending.size === 0;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    if (first) setImmediate(() => void this.flush());
  }

  flush(): Promise<void> {
    const counts = this.#pending;
    if (counts.size === 0) return this.#writing;
    this.#pending = new Map();
    this.#writing = this.#writing
      .then(() => addFilteredCounts(this.ctx.db, counts))
      .catch((error: unknown) =>
        this.ctx.log.warn({ err: error, adapter: 'webhooks' }, 'webhook_filtered_count_not_written'),
      );
    return this.#writing;
  }
}
