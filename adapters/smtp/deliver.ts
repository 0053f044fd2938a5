import type { Kysely } from 'kysely';
import {
  delivered,
  rejected,
  skipped,
  transient,
  deferred,
  type Attempt,
  type Delivery,
  type Evidence,
  type Outcome,
  type SecretBox,
} from '../../gateway/adapter-kit/index.ts';
import { emailRequestToMail, type EmailRequest } from '../../mappings/mail/email-request-to-mail.ts';
import type { TemplateCatalogue } from '../../mappings/mail/templates.ts';
import { releaseSend, reserveSend } from './sending-limits.ts';
import { getSenderRow } from './senders.ts';
import { getServerRow, openServer } from './servers.ts';
import type { ResolvedSettings } from './settings.ts';
import type { SmtpDatabase } from './tables.ts';
import { classifySmtpError, sendMessage, type TransportPool } from './transport.ts';

export interface DeliverDeps {
  readonly db: Kysely<SmtpDatabase>;
  readonly secrets: SecretBox;
  readonly settings: ResolvedSettings;
  readonly templates: TemplateCatalogue;
  readonly pool: TransportPool;
}

/**
 * One attempt of one e-mail request. Idempotent per delivery: the recipients a server accepted
 * are recorded, and a later attempt (a retry, a replay from the error log) sends only to the
 * others, with the same Message-ID and headers naming every recipient.
 */
export async function deliverMail(deps: DeliverDeps, delivery: Delivery, attempt: Attempt): Promise<Outcome> {
  const request = delivery.message.data as EmailRequest;
  const sender = await getSenderRow(deps.db, request.afzenderId);
  if (sender === undefined)
    return skipped('sender-unknown', `sender ${request.afzenderId} does not exist (any more)`);
  const row = await getServerRow(deps.db, sender.server_id);
  if (row === undefined)
    return skipped('sender-unknown', `the server of sender ${sender.address} does not exist`);
  if (row.archived_at !== null)
    return skipped('server-archived', `mail server "${row.name}" is archived and sends no new mail`);
  if (sender.verified_at === null) {
    return skipped(
      'sender-not-verified',
      `sender ${sender.address} on mail server "${row.name}" has not been verified with its code`,
    );
  }
  const server = openServer(row, deps.secrets);
  const mapped = emailRequestToMail(request, {
    messageId: delivery.message.id,
    sender: { name: sender.name, address: sender.address },
    defaultLanguage: deps.settings.defaultLanguage,
    templates: deps.templates,
    maxAttachmentBytes: deps.settings.maxAttachmentBytes,
  });
  if (!mapped.ok) return skipped(`unmappable:${mapped.unmappable.split(':')[0]}`, mapped.unmappable);
  const message = mapped.value;

  const recipients = [
    ...new Set([...message.to, ...message.cc, ...message.bcc].map((a) => a.address.toLowerCase())),
  ];
  const earlier = await deps.db
    .selectFrom('smtp_accepted_recipients')
    .select('address')
    .where('delivery_id', '=', delivery.id)
    .execute();
  const accepted = new Set(earlier.map((r) => r.address));
  const remaining = recipients.filter((a) => !accepted.has(a));
  const requestEvidence: Evidence['request'] = {
    summary: `${server.name} (${server.host}:${server.port}): MAIL FROM:<${message.from.address}> RCPT TO:<${remaining.join('>,<')}> Message-ID ${message.messageId} Subject "${message.subject}"`,
  };
  if (remaining.length === 0) {
    return delivered({
      request: requestEvidence,
      response: { body: 'every recipient was accepted in an earlier attempt' },
    });
  }

  const now = attempt.now.getTime();
  const reservation = await reserveSend(deps.db, server.id, server.limits, now);
  if (!reservation.ok) {
    attempt.log.info({ serverId: server.id, period: reservation.period }, 'mail_sending_limit_reached');
    return deferred(
      `sending limit of ${reservation.limit} per ${reservation.period} reached on mail server "${server.name}"; waits until ${new Date(reservation.windowEnd).toISOString()}`,
      reservation.windowEnd - now,
      { request: requestEvidence },
    );
  }

  const sent = await sendMessage(deps.pool.get(server), server, message, remaining, attempt.signal);
  if (!sent.ok) {
    await releaseSend(deps.db, server.id, server.limits, now);
    return classifySmtpError(sent.error, requestEvidence);
  }
  const { result } = sent;
  if (result.accepted.length > 0) {
    await deps.db
      .insertInto('smtp_accepted_recipients')
      .values(result.accepted.map((address) => ({ delivery_id: delivery.id, address, accepted_at: now })))
      .onConflict((oc) => oc.columns(['delivery_id', 'address']).doNothing())
      .execute();
  }
  const status = Number(/^\d{3}/.exec(result.response)?.[0] ?? 250);
  if (result.refused.length === 0)
    return delivered({ request: requestEvidence, response: { status, body: result.response } });

  const refusedList = result.refused.map((r) => `${r.address} (${r.reply})`).join('; ');
  const evidence: Evidence = {
    request: requestEvidence,
    response: {
      status: Math.max(...result.refused.map((r) => r.code ?? 550)),
      body: `accepted: ${result.accepted.join(', ')}\nrefused: ${refusedList}`,
    },
  };
  attempt.log.warn(
    { refused: result.refused.map((r) => r.address), accepted: result.accepted.length },
    'mail_recipients_refused',
  );
  // Accepted recipients are recorded above: a retry or replay sends only to the refused ones.
  const permanent = result.refused.some((r) => r.code === undefined || r.code >= 500);
  return permanent
    ? rejected(
        `server refused ${result.refused.length} of ${remaining.length} recipients: ${refusedList}`,
        evidence,
        'smtp-recipients-refused',
      )
    : transient(
        `server deferred ${result.refused.length} of ${remaining.length} recipients: ${refusedList}`,
        evidence,
      );
}
