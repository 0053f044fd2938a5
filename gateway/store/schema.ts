/**
 * The core's tables as Kysely sees them. Times are epoch milliseconds (bigint in PostgreSQL,
 * read back as numbers) so that one query serves both dialects; JSON is stored as text.
 * Adapters keep their own tables, prefixed with the adapter's name.
 */

import type { DeliveryState } from '../adapter-kit/deliveries.ts';

/** The states adapters see in `ctx.deliveries`: one list, the kit's. */
export type DeliveryStatus = DeliveryState;
export type AttemptOutcome = 'delivered' | 'transient' | 'rejected' | 'skipped' | 'internal';
export type ErrorKind = 'rejected' | 'skipped' | 'exhausted' | 'internal' | 'alert';

export interface MessagesTable {
  id: string;
  source: string;
  event_id: string;
  type: string;
  subject: string | null;
  event_time: string | null;
  received_at: number;
  envelope: string;
}

export interface DeliveriesTable {
  id: string;
  message_id: string;
  adapter: string;
  target: string;
  target_label: string | null;
  ordering_key: string | null;
  sequence_key: string | null;
  ordering_position: string;
  sequence: number;
  status: DeliveryStatus;
  attempts: number;
  /** Transient and internal attempts the retry policy has counted since the last replay. */
  failures: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  leased_by: string | null;
  last_outcome: AttemptOutcome | null;
  last_reason: string | null;
  last_status: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** The last sequence number handed out per (adapter, target, sequence key). */
export interface DeliverySequencesTable {
  adapter: string;
  target: string;
  sequence_key: string;
  last: number;
}

export interface AttemptsTable {
  id: string;
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  outcome: AttemptOutcome;
  reason: string | null;
  code: string | null;
  request_summary: string | null;
  request_body: string | null;
  response_status: string | null;
  response_body: string | null;
  next_attempt_at: number | null;
}

export interface ErrorLogTable {
  id: string;
  delivery_id: string;
  message_id: string;
  adapter: string;
  message_type: string;
  kind: ErrorKind;
  code: string | null;
  reason: string;
  partner_status: string | null;
  partner_answer: string | null;
  attempt_number: number;
  created_at: number;
  resolved_at: number | null;
  resolved_note: string | null;
  resolved_by: string | null;
}

export interface AccountsTable {
  id: string;
  client_id: string;
  name: string;
  scopes: string;
  employers: string;
  token_hash: string;
  totp_secret: string;
  last_totp_step: number | null;
  disabled_at: number | null;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface SettingsTable {
  scope: string;
  key: string;
  value: string;
  updated_at: number;
}

export interface JobLeasesTable {
  name: string;
  locked_until: number;
  next_run_at: number;
  last_run_at: number | null;
}

export interface CoreDatabase {
  messages: MessagesTable;
  deliveries: DeliveriesTable;
  delivery_sequences: DeliverySequencesTable;
  attempts: AttemptsTable;
  error_log: ErrorLogTable;
  accounts: AccountsTable;
  signing_keys: SigningKeysTable;
  settings: SettingsTable;
  job_leases: JobLeasesTable;
}
