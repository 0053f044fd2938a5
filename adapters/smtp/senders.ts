import type { Kysely, Selectable } from 'kysely';
import type { SmtpDatabase, SmtpSendersTable } from './tables.ts';

export type SenderRow = Selectable<SmtpSendersTable>;

export function senderView(row: SenderRow): Record<string, unknown> {
  return {
    id: row.id,
    serverId: row.server_id,
    name: row.name,
    address: row.address,
    from: formatFrom(row.name, row.address),
    status: row.verified_at === null ? 'pending' : 'verified',
    verifiedAt: row.verified_at === null ? null : new Date(Number(row.verified_at)).toISOString(),
    codeExpiresAt: row.code_expires_at === null ? null : new Date(Number(row.code_expires_at)).toISOString(),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

/** `Name <address>`, quoted when the name holds characters that RFC 5322 does not allow bare. */
export function formatFrom(name: string, address: string): string {
  const safe = /[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : name;
  return `${safe} <${address}>`;
}

export async function getSenderRow(db: Kysely<SmtpDatabase>, id: string): Promise<SenderRow | undefined> {
  return db.selectFrom('smtp_senders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listSenderRows(db: Kysely<SmtpDatabase>, serverId: string): Promise<SenderRow[]> {
  return db
    .selectFrom('smtp_senders')
    .selectAll()
    .where('server_id', '=', serverId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
