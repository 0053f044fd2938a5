import type { AttemptsTable, DeliveriesTable, ErrorLogTable, MessagesTable } from '../store/schema.ts';

/** Store rows as the management API shows them: camelCase, ISO times, evidence grouped. */
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

export function attemptView(row: AttemptsTable) {
  return {
    number: row.number,
    startedAt: iso(row.started_at),
    durationMs: row.duration_ms,
    outcome: row.outcome,
    reason: row.reason,
    code: row.code,
    request: row.request_summary === null ? null : { summary: row.request_summary, body: row.request_body },
    response:
      row.response_status === null && row.response_body === null
        ? null
        : { status: row.response_status, body: row.response_body },
    nextAttemptAt: iso(row.next_attempt_at),
  };
}

export function deliveryView(row: DeliveriesTable, attempts?: readonly AttemptsTable[]) {
  return {
    id: row.id,
    messageId: row.message_id,
    adapter: row.adapter,
    target: row.target,
    label: row.target_label,
    status: row.status,
    sequence: row.sequence,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' || row.status === 'retrying' ? iso(row.next_attempt_at) : null,
    lastOutcome: row.last_outcome,
    lastReason: row.last_reason,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    ...(attempts ? { attemptLog: attempts.map(attemptView) } : {}),
  };
}

export function messageView(row: MessagesTable) {
  return {
    id: row.id,
    type: row.type,
    source: row.source,
    eventId: row.event_id,
    subject: row.subject,
    receivedAt: iso(row.received_at),
  };
}

export function errorView(row: ErrorLogTable) {
  return {
    id: row.id,
    adapter: row.adapter,
    kind: row.kind,
    code: row.code,
    reason: row.reason,
    partnerStatus: row.partner_status,
    partnerAnswer: row.partner_answer,
    messageId: row.message_id,
    messageType: row.message_type,
    deliveryId: row.delivery_id,
    attemptNumber: row.attempt_number,
    createdAt: iso(row.created_at),
    resolvedAt: iso(row.resolved_at),
    resolvedNote: row.resolved_note,
    resolvedBy: row.resolved_by,
  };
}

/** Opaque keyset cursor over (time, id), newest first. */
export function encodeCursor(time: number, id: string): string {
  return Buffer.from(`${time}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { time: number; id: string } | null | 'invalid' {
  if (cursor === undefined || cursor === '') return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d+):([0-9a-f-]{36})$/.exec(text);
  return match ? { time: Number(match[1]), id: match[2] as string } : 'invalid';
}
