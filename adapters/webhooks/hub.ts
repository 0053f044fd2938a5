import { randomBytes } from 'node:crypto';
import {
  ok,
  problem,
  type ApiRequest,
  type ApiResponse,
  type OperationHandlers,
} from '../../gateway/adapter-kit/index.ts';
import { typeOfTopic } from '../../mappings/webhook-event/topics.ts';
import type { WebhooksContext } from './context.ts';
import { settlePending } from './management.ts';
import { db, newRecipientRow, topicsOf } from './recipients.ts';
import { TOPIC_PATH, topicUrl } from './settings.ts';
import { websubLinks } from './websub-signature.ts';

interface Intent {
  readonly mode: 'subscribe' | 'unsubscribe';
  readonly topic: string;
  readonly callback: string;
  readonly secret?: string;
  readonly leaseSeconds: number;
}

/** WebSub §5.1: longest hub.secret a hub must accept. */
const MAX_SECRET_BYTES = 200;

/**
 * The WebSub hub (W3C WebSub §5–6). A request is answered 202 at once; the subscription counts
 * only after the subscriber echoed our challenge at its callback (verification of intent), so no
 * one can subscribe a URL that did not ask for it. Verifications run in this process; `idle()`
 * resolves when none is running (close() and tests wait on it).
 */
export function createHub(ctx: WebhooksContext): { inbound: OperationHandlers; idle(): Promise<void> } {
  const running = new Set<Promise<void>>();

  const request = async (req: ApiRequest): Promise<ApiResponse> => {
    const hub = ctx.settings.hub;
    if (!hub.enabled || hub.accountClientId === undefined) {
      return problem('webhooks-hub-disabled', 404, 'this Koppel does not accept WebSub subscriptions');
    }
    const parsed = parseIntent(req.body, ctx);
    if ('errors' in parsed)
      return problem('validation-failed', 400, 'the subscription request is not valid', parsed.errors);
    const verification = verify(ctx, parsed, hub.accountClientId).catch((error: unknown) => {
      ctx.log.error({ err: error, adapter: 'webhooks' }, 'websub_verification_crashed');
    });
    running.add(verification);
    void verification.finally(() => running.delete(verification));
    return { status: 202 };
  };

  const discover = async (req: ApiRequest): Promise<ApiResponse> => {
    const topic = req.params['topic'] ?? '';
    const type = typeOfTopic(topic);
    if (type === undefined) return problem('not-found', 404, `no webhook topic ${topic}`);
    return ok({ topic, type }, 200, {
      link: websubLinks(ctx.settings.hubUrl, topicUrl(ctx.settings, topic)),
    });
  };

  return {
    inbound: { 'webhooks.hub': request, 'webhooks.discoverTopic': discover },
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

function parseIntent(
  body: unknown,
  ctx: WebhooksContext,
): Intent | { errors: { pointer: string; detail: string }[] } {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (key: string): string | undefined =>
    typeof form[key] === 'string' ? (form[key] as string) : undefined;
  const errors: { pointer: string; detail: string }[] = [];
  const mode = text('hub.mode');
  if (mode !== 'subscribe' && mode !== 'unsubscribe')
    errors.push({ pointer: '/body/hub.mode', detail: 'subscribe or unsubscribe' });
  const topic = topicFromParam(text('hub.topic') ?? '', ctx);
  if (topic === undefined)
    errors.push({ pointer: '/body/hub.topic', detail: 'a topic URL or name from GET /v1/webhooks/topics' });
  const callback = text('hub.callback') ?? '';
  if (!/^https?:\/\//i.test(callback) || !URL.canParse(callback))
    errors.push({ pointer: '/body/hub.callback', detail: 'an absolute http(s) URL' });
  const secret = text('hub.secret');
  // WebSub lets a subscriber omit the secret; Koppel does not, as its events carry personal data.
  if (mode === 'subscribe' && (secret === undefined || secret === ''))
    errors.push({ pointer: '/body/hub.secret', detail: 'required: Koppel signs every event' });
  if (secret !== undefined && Buffer.byteLength(secret) > MAX_SECRET_BYTES)
    errors.push({ pointer: '/body/hub.secret', detail: `at most ${MAX_SECRET_BYTES} bytes` });
  const leaseText = text('hub.lease_seconds');
  if (leaseText !== undefined && !/^\d+$/.test(leaseText))
    errors.push({ pointer: '/body/hub.lease_seconds', detail: 'a whole number of seconds' });
  if (errors.length > 0 || topic === undefined || (mode !== 'subscribe' && mode !== 'unsubscribe'))
    return { errors };
  const { defaultLeaseSeconds, minLeaseSeconds, maxLeaseSeconds } = ctx.settings.hub;
  const asked = leaseText === undefined ? defaultLeaseSeconds : Number(leaseText);
  return {
    mode,
    topic,
    callback,
    ...(secret !== undefined ? { secret } : {}),
    leaseSeconds: Math.min(Math.max(asked, minLeaseSeconds), maxLeaseSeconds),
  };
}

/** `hub.topic` is the topic URL we publish in `Link: rel="self"`; a bare topic name is accepted too. */
function topicFromParam(value: string, ctx: WebhooksContext): string | undefined {
  const prefix = ctx.settings.publicUrl + TOPIC_PATH;
  const name = value.startsWith(prefix) ? decodeURIComponent(value.slice(prefix.length)) : value;
  return typeOfTopic(name) === undefined ? undefined : name;
}

async function verify(ctx: WebhooksContext, intent: Intent, accountClientId: string): Promise<void> {
  const challenge = randomBytes(24).toString('base64url');
  const url = new URL(intent.callback);
  url.searchParams.set('hub.mode', intent.mode);
  url.searchParams.set('hub.topic', topicUrl(ctx.settings, intent.topic));
  url.searchParams.set('hub.challenge', challenge);
  if (intent.mode === 'subscribe') url.searchParams.set('hub.lease_seconds', String(intent.leaseSeconds));
  const answer = await ctx.http.send({
    method: 'GET',
    url: url.toString(),
    timeoutMs: ctx.settings.requestTimeoutMs,
  });
  const where = { callback: new URL(intent.callback).origin, topic: intent.topic, mode: intent.mode };
  if (
    answer.kind !== 'response' ||
    answer.status < 200 ||
    answer.status >= 300 ||
    answer.body.trim() !== challenge
  ) {
    const why =
      answer.kind === 'response'
        ? `HTTP ${answer.status}${answer.status < 300 ? ', challenge not echoed' : ''}`
        : answer.message;
    ctx.log.info({ ...where, reason: why }, 'websub_intent_not_verified');
    return;
  }
  const now = ctx.now().getTime();
  const existing = (
    await db(ctx.db)
      .selectFrom('webhooks_recipients')
      .selectAll()
      .where('origin', '=', 'websub-hub')
      .where('url', '=', intent.callback)
      .where('deleted_at', 'is', null)
      .execute()
  ).find((row) => topicsOf(row).includes(intent.topic));

  if (intent.mode === 'unsubscribe') {
    if (existing) {
      await db(ctx.db)
        .updateTable('webhooks_recipients')
        .set({ deleted_at: now, deleted_reason: 'unsubscribed at the WebSub hub', updated_at: now })
        .where('id', '=', existing.id)
        .execute();
      await settlePending(ctx, existing.id);
    }
    ctx.log.info({ ...where, recipientId: existing?.id }, 'websub_unsubscribed');
    return;
  }

  const leaseExpiresAt = now + intent.leaseSeconds * 1000;
  const secret = ctx.secrets.seal(intent.secret ?? '');
  if (existing) {
    await db(ctx.db)
      .updateTable('webhooks_recipients')
      .set({
        secret,
        lease_expires_at: leaseExpiresAt,
        disabled_at: null,
        disabled_reason: null,
        updated_at: now,
      })
      .where('id', '=', existing.id)
      .execute();
    ctx.log.info({ ...where, recipientId: existing.id }, 'websub_subscription_renewed');
    return;
  }
  const row = newRecipientRow(
    {
      url: intent.callback,
      topics: JSON.stringify([intent.topic]),
      account_client_id: accountClientId,
      description: 'subscribed at the WebSub hub',
      protocol: 'websub',
      websub_algorithm: 'sha256',
      standard_webhooks: 0,
      secret,
      origin: 'websub-hub',
      lease_expires_at: leaseExpiresAt,
    },
    now,
  );
  await db(ctx.db).insertInto('webhooks_recipients').values(row).execute();
  ctx.log.info({ ...where, recipientId: row.id }, 'websub_subscribed');
}
