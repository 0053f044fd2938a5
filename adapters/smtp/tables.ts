/** The smtp adapter's tables as Kysely sees them (times in epoch ms, JSON as text). */
export interface SmtpServersTable {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  security: string;
  username: string | null;
  password_sealed: string | null;
  ca_pem: string | null;
  /** JSON `[{ domain, selector }]`: what the API may show of the DKIM keys. */
  dkim_domains: string;
  /** Sealed JSON `[{ domain, selector, privateKeyPem }]`. */
  dkim_sealed: string | null;
  limit_per_minute: number | null;
  limit_per_hour: number | null;
  limit_per_day: number | null;
  default_language: string | null;
  /** 1 for the server from configuration (id `default`), which the API does not change. */
  configured: number;
  archived_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SmtpSendersTable {
  id: string;
  server_id: string;
  name: string;
  /** Lower-cased. */
  address: string;
  verified_at: number | null;
  code_hash: string | null;
  code_salt: string | null;
  code_expires_at: number | null;
  code_tries: number;
  created_at: number;
  updated_at: number;
}

export interface SmtpSendCountsTable {
  server_id: string;
  period: string;
  window_start: number;
  count: number;
}

export interface SmtpAcceptedRecipientsTable {
  delivery_id: string;
  address: string;
  accepted_at: number;
}

export interface SmtpDatabase {
  smtp_servers: SmtpServersTable;
  smtp_senders: SmtpSendersTable;
  smtp_send_counts: SmtpSendCountsTable;
  smtp_accepted_recipients: SmtpAcceptedRecipientsTable;
}
