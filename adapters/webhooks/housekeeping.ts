import type { CanonicalMessageInput, PeriodicJob, RuntimeSettings } from '../../gateway/adapter-kit/index.ts';
import type { WebhooksContext } from './context.ts';
import { settlePending } from './management.ts';
import { db, utcDay } from './recipients.ts';

/** Runtime-settings key: failed deliveries finished up to this time (epoch ms) have been noticed. */
const NOTICED_UNTIL = 'failureNoticesCheckedUntil';

export interface HousekeepingDeps extends WebhooksContext {
  readonly runtimeSettings: RuntimeSettings;
  post(message: CanonicalMessageInput): Promise<{ readonly id: string; readonly duplicate: boolean }>;
}

/**
 * Ends hub subscriptions whose lease ran out, and tells the admin about recipients whose
 * deliveries finally failed: once per recipient and UTC day, however many messages failed. Reading
 * the core's finished deliveries (rather than guessing "last attempt" inside deliver()) sees every
 * final failure, whichever retry policy applied and whether it ended exhausted or by a 410.
 */
export function housekeepingJob(deps: HousekeepingDeps): PeriodicJob {
  return {
    name: 'housekeeping',
    intervalMs: async () => deps.settings.housekeepingIntervalMs,
    run: async (now) => {
      await expireLeases(deps, now.getTime());
      await noticeFailures(deps, now.getTime());
    },
  };
}

export async function expireLeases(deps: WebhooksContext, now: number): Promise<void> {
  const expired = await db(deps.db)
    .selectFrom('webhooks_recipients')
    .select('id')
    .where('origin', '=', 'websub-hub')
    .where('deleted_at', 'is', null)
    .where('lease_expires_at', '<=', now)
    .execute();
  for (const { id } of expired) {
    await db(deps.db)
      .updateTable('webhooks_recipients')
      .set({ deleted_at: now, deleted_reason: 'WebSub lease expired', updated_at: now })
      .where('id', '=', id)
      .execute();
    deps.log.info({ recipientId: id }, 'websub_lease_expired');
    await settlePending(deps, id);
  }
}

export async function noticeFailures(deps: HousekeepingDeps, now: number): Promise<void> {
  const from = (await deps.runtimeSettings.get<number>(NOTICED_UNTIL)) ?? 0;
  const failed = await deps.deliveries.failuresByTarget(from, now);
  const day = utcDay(now);
  for (const { target, label: url, failures: count } of failed) {
    const first = await db(deps.db)
      .insertInto('webhooks_failure_notices')
      .values({ recipient_id: target, day, failures: count, created_at: now })
      .onConflict((oc) => oc.columns(['recipient_id', 'day']).doNothing())
      .returning('recipient_id')
      .executeTakeFirst();
    if (!first) {
      await db(deps.db)
        .updateTable('webhooks_failure_notices')
        .set((eb) => ({ failures: eb('failures', '+', count) }))
        .where('recipient_id', '=', target)
        .where('day', '=', day)
        .execute();
      continue;
    }
    deps.log.warn({ adapter: 'webhooks', recipientId: target, failures: count }, 'webhook_recipient_failing');
    const notice = deps.settings.failureNotice;
    if (notice) {
      await deps.post({
        specversion: '1.0',
        id: `webhooks-failure-${target}-${day}`,
        source: notice.source,
        type: 'nl.communicatie.email-verzocht',
        time: new Date(now).toISOString(),
        datacontenttype: 'application/json',
        data: {
          aan: [{ adres: notice.email }],
          afzenderId: notice.senderId,
          taal: notice.language,
          ...noticeText(notice.language, target, url ?? target, count, day),
        },
      });
    }
  }
  await deps.runtimeSettings.set(NOTICED_UNTIL, now);
}

function noticeText(language: 'nld' | 'eng', recipientId: string, url: string, count: number, day: string) {
  const where = `GET /v1/webhooks/log?recipient=${recipientId}&status=failed`;
  return language === 'eng'
    ? {
        onderwerp: `Koppel: webhooks to ${url} failed`,
        tekst: `${count} webhook deliveries to ${url} (recipient ${recipientId}) failed for good on ${day}. Details: ${where}. After fixing the receiver, POST /v1/webhooks/recipients/${recipientId}/recover?since=… sends them again. You get this notice at most once a day per recipient.`,
      }
    : {
        onderwerp: `Koppel: webhooks naar ${url} mislukt`,
        tekst: `${count} webhookaflevering(en) naar ${url} (ontvanger ${recipientId}) zijn op ${day} definitief mislukt. Details: ${where}. Na herstel van de ontvanger verstuurt POST /v1/webhooks/recipients/${recipientId}/recover?since=… ze opnieuw. U krijgt dit bericht hoogstens eens per dag per ontvanger.`,
      };
}
