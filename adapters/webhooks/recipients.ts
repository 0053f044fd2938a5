import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { WebSubAlgorithm } from './websub-signature.ts';

/**
 * The adapter's tables. Secrets are stored sealed (`ctx.secrets.seal`) and opened only to sign
 * or to fetch a token. A deleted recipient keeps its row (the overview and its delivery log
 * still show it); `deleted_at` is what stops deliveries.
 */
export interface RecipientsTable {
  id: string;
  url: string;
  /** JSON array of topic names. */
  topics: string;
  account_client_id: string;
  description: string | null;
  protocol: Protocol;
  websub_algorithm: WebSubAlgorithm;
  standard_webhooks: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  oauth2_token_url: string | null;
  oauth2_client_id: string | null;
  oauth2_client_secret: string | null;
  oauth2_scope: string | null;
  oauth2_audience: string | null;
  /** JSON array of delays in ms, or null for the adapter's policy. */
  retry_delays: string | null;
  origin: Origin;
  lease_expires_at: number | null;
  disabled_at: number | null;
  disabled_reason: string | null;
  deleted_at: number | null;
  deleted_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** What a new recipient is given; everything else starts empty (no rotation, not disabled, not deleted). */
export type NewRecipient = Pick<
  RecipientsTable,
  | 'url'
  | 'topics'
  | 'account_client_id'
  | 'description'
  | 'protocol'
  | 'websub_algorithm'
  | 'standard_webhooks'
  | 'secret'
  | 'origin'
> &
  Partial<
    Pick<
      RecipientsTable,
      | 'oauth2_token_url'
      | 'oauth2_client_id'
      | 'oauth2_client_secret'
      | 'oauth2_scope'
      | 'oauth2_audience'
      | 'retry_delays'
      | 'lease_expires_at'
    >
  >;

/** The row of a recipient made now, by an admin or by a hub subscription. */
export function newRecipientRow(fields: NewRecipient, now: number): RecipientsTable {
  return {
    id: randomUUID(),
    previous_secret: null,
    previous_secret_until: null,
    oauth2_token_url: null,
    oauth2_client_id: null,
    oauth2_client_secret: null,
    oauth2_scope: null,
    oauth2_audience: null,
    retry_delays: null,
    lease_expires_at: null,
    disabled_at: null,
    disabled_reason: null,
    deleted_at: null,
    deleted_reason: null,
    created_at: now,
    updated_at: now,
    ...fields,
  };
}

export interface FilteredCountsTable {
  recipient_id: string;
  day: string;
  count: number;
}

export interface FailureNoticesTable {
  recipient_id: string;
  day: string;
  failures: number;
  created_at: number;
}

/** The adapter's own tables; the core's are reached through AdapterContext (deliveries, account). */
export interface WebhooksDatabase {
  webhooks_recipients: RecipientsTable;
  webhooks_filtered_counts: FilteredCountsTable;
  webhooks_failure_notices: FailureNoticesTable;
}

export type Protocol = 'websub' | 'oauth2';
/** `api`: made by an admin; `websub-hub`: a subscriber subscribed itself at /websub/hub. */
export type Origin = 'api' | 'websub-hub';
export type RecipientRow = RecipientsTable;

export const db = (any: Kysely<any>): Kysely<WebhooksDatabase> => any as Kysely<WebhooksDatabase>;

export function topicsOf(row: Pick<RecipientRow, 'topics'>): string[] {
  return JSON.parse(row.topics) as string[];
}

export function retryDelaysOf(row: Pick<RecipientRow, 'retry_delays'>): number[] | undefined {
  return row.retry_delays === null ? undefined : (JSON.parse(row.retry_delays) as number[]);
}

export async function findRecipient(store: Kysely<any>, id: string): Promise<RecipientRow | undefined> {
  return db(store).selectFrom('webhooks_recipients').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Recipients that may get an event of `topic` at `at`: not deleted, not disabled, lease (hub
 * subscriptions) not run out. Topics are filtered here rather than in SQL because they are a JSON
 * array, and the number of recipients is small next to the number of events.
 */
export async function liveRecipientsFor(
  store: Kysely<any>,
  topic: string,
  at: number,
): Promise<RecipientRow[]> {
  const rows = await db(store)
    .selectFrom('webhooks_recipients')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where('disabled_at', 'is', null)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '>', at)]))
    .execute();
  return rows.filter((row) => topicsOf(row).includes(topic));
}

/** Why a recipient may not receive anything now, or null when it may. */
export function unavailableReason(row: RecipientRow, at: number): { rule: string; detail: string } | null {
  if (row.deleted_at !== null)
    return {
      rule: 'recipient-deleted',
      detail: `recipient ${row.id} was deleted${row.deleted_reason ? ` (${row.deleted_reason})` : ''}`,
    };
  if (row.disabled_at !== null)
    return {
      rule: 'recipient-disabled',
      detail: `recipient ${row.id} is disabled: ${row.disabled_reason ?? 'by an admin'}`,
    };
  if (row.lease_expires_at !== null && row.lease_expires_at <= at)
    return { rule: 'subscription-expired', detail: `the WebSub lease of recipient ${row.id} ran out` };
  return null;
}

export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Adds to the per-recipient, per-day count of events the authorisation filter kept back at ingest. */
export async function addFilteredCounts(
  store: Kysely<any>,
  counts: ReadonlyMap<string, number>,
): Promise<void> {
  for (const [key, count] of counts) {
    const [recipientId = '', day = ''] = key.split('|');
    await db(store)
      .insertInto('webhooks_filtered_counts')
      .values({ recipient_id: recipientId, day, count })
      .onConflict((oc) =>
        oc.columns(['recipient_id', 'day']).doUpdateSet((eb) => ({
          count: eb('webhooks_filtered_counts.count', '+', eb.ref('excluded.count')),
        })),
      )
      .execute();
  }
}
