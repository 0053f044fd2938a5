import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import {
  ok,
  problem,
  type ApiRequest,
  type ApiResponse,
  type OperationHandlers,
  type SecretBox,
} from '../../gateway/adapter-kit/index.ts';
import { emailRequestToMail } from '../../mappings/mail/email-request-to-mail.ts';
import type { TemplateCatalogue } from '../../mappings/mail/templates.ts';
import { checkCode, newCode, storeCode } from './sender-verification.ts';
import { currentUsage, releaseSend, reserveSend } from './sending-limits.ts';
import { getSenderRow, listSenderRows, senderView, type SenderRow } from './senders.ts';
import { SERVER_TYPES } from './server-types.ts';
import {
  buildServerRow,
  getServerRow,
  listServerRows,
  openServer,
  serverView,
  type MailServer,
  type ServerInput,
  type ServerRow,
} from './servers.ts';
import type { ResolvedSettings } from './settings.ts';
import type { SmtpDatabase } from './tables.ts';
import { classifySmtpError, sendMessage, type TransportPool } from './transport.ts';

export interface ManagementDeps {
  readonly db: Kysely<SmtpDatabase>;
  readonly secrets: SecretBox;
  readonly settings: ResolvedSettings;
  readonly templates: TemplateCatalogue;
  readonly pool: TransportPool;
  readonly log: Logger;
  now(): Date;
  /** The HMAC key of sender codes (see sender-verification.ts). */
  pepper(): Promise<Buffer>;
}

const VERIFICATION_TEMPLATE = 'sender-verification';

/** Handlers for the operationIds `smtp.*` of schemas/openapi/adapters/smtp.v1.yaml. */
export function managementHandlers(deps: ManagementDeps): OperationHandlers {
  const { db, secrets } = deps;

  async function serverOr404(request: ApiRequest): Promise<ServerRow | ApiResponse> {
    const row = await getServerRow(db, request.params.id ?? '');
    return row ?? problem('not-found', 404, `no mail server ${request.params.id}`);
  }

  async function senderOr404(request: ApiRequest): Promise<SenderRow | ApiResponse> {
    const row = await getSenderRow(db, request.params.senderId ?? '');
    if (row === undefined || row.server_id !== request.params.id) {
      return problem(
        'not-found',
        404,
        `no sender ${request.params.senderId} on mail server ${request.params.id}`,
      );
    }
    return row;
  }

  /** `?test=true`: the server must answer, offer TLS and accept the credentials before it is stored. */
  async function testBeforeStoring(request: ApiRequest, row: ServerRow): Promise<ApiResponse | undefined> {
    if (String(request.query.test) !== 'true') return undefined;
    const tested = await deps.pool.test(openServer(row, secrets));
    if (tested.ok) return undefined;
    const outcome = classifySmtpError(tested.error);
    const reason =
      outcome.kind === 'rejected' || outcome.kind === 'transient'
        ? outcome.reason
        : (tested.error.message ?? 'failed');
    if (outcome.kind === 'rejected' && outcome.code === 'smtp-no-tls') {
      return problem('mail-server-tls-required', 400, `A mail server without TLS is refused: ${reason}`, [
        { pointer: '/body/security', detail: reason },
      ]);
    }
    return problem(
      'mail-server-test-failed',
      422,
      `The connection test failed, nothing was stored: ${reason}`,
    );
  }

  function invalid(errors: { pointer: string; detail: string }[]): ApiResponse {
    const tls = errors.find((e) => e.pointer === '/body/security');
    return tls
      ? problem(
          'mail-server-tls-required',
          400,
          'A mail server without TLS is refused: set security to starttls or tls.',
          errors,
        )
      : problem('validation-failed', 400, 'The mail server is not complete.', errors);
  }

  async function mailCode(
    server: MailServer,
    sender: SenderRow,
    code: string,
  ): Promise<{ sent: true } | { sent: false; reason: string }> {
    const mapped = emailRequestToMail(
      {
        aan: [{ adres: sender.address, naam: sender.name }],
        afzenderId: sender.id,
        taal: server.defaultLanguage ?? deps.settings.defaultLanguage,
        sjabloon: {
          naam: VERIFICATION_TEMPLATE,
          variabelen: {
            naam: sender.name,
            adres: sender.address,
            code,
            geldigMinuten: deps.settings.codeTtlMs / 60_000,
            server: server.name,
          },
        },
      },
      {
        messageId: randomUUID(),
        sender: { name: sender.name, address: sender.address },
        defaultLanguage: deps.settings.defaultLanguage,
        templates: deps.templates,
        maxAttachmentBytes: 0,
      },
    );
    if (!mapped.ok) return { sent: false, reason: mapped.unmappable };
    const at = deps.now().getTime();
    const reservation = await reserveSend(db, server.id, server.limits, at);
    if (!reservation.ok) {
      return {
        sent: false,
        reason: `sending limit of ${reservation.limit} per ${reservation.period} reached until ${new Date(reservation.windowEnd).toISOString()}`,
      };
    }
    const sent = await sendMessage(
      deps.pool.get(server),
      server,
      mapped.value,
      [sender.address],
      AbortSignal.timeout(deps.settings.connectionTimeoutMs * 4),
    );
    if (sent.ok && sent.result.refused.length === 0) {
      // The admin's trace of a code sent; the code itself stays out of the log.
      deps.log.info({ serverId: server.id, senderId: sender.id }, 'mail_sender_code_sent');
      return { sent: true };
    }
    let reason = sent.ok ? `refused: ${sent.result.refused.map((r) => r.reply).join('; ')}` : '';
    if (!sent.ok) {
      await releaseSend(db, server.id, server.limits, at);
      const outcome = classifySmtpError(sent.error);
      reason = 'reason' in outcome ? outcome.reason : outcome.kind;
    }
    deps.log.warn({ serverId: server.id, senderId: sender.id, reason }, 'mail_sender_code_not_sent');
    return { sent: false, reason };
  }

  async function issueCode(
    server: ServerRow,
    sender: SenderRow,
  ): Promise<{ row: SenderRow; codeMail: { sent: boolean; reason?: string } }> {
    const code = newCode();
    const now = deps.now().getTime();
    const stored = storeCode(await deps.pepper(), code, now, deps.settings.codeTtlMs);
    await db
      .updateTable('smtp_senders')
      .set({
        code_hash: stored.hash,
        code_salt: stored.salt,
        code_expires_at: stored.expiresAt,
        code_tries: 0,
        updated_at: now,
      })
      .where('id', '=', sender.id)
      .execute();
    const codeMail = await mailCode(openServer(server, secrets), sender, code);
    return { row: (await getSenderRow(db, sender.id)) ?? sender, codeMail };
  }

  return {
    'smtp.listServerTypes': async () =>
      ok({ items: Object.entries(SERVER_TYPES).map(([type, preset]) => ({ type, ...preset })) }),

    'smtp.listServers': async (request) => {
      const rows = await listServerRows(db, String(request.query.includeArchived) === 'true');
      return ok({ items: rows.map(serverView) });
    },

    'smtp.createServer': async (request) => {
      const now = deps.now().getTime();
      const built = buildServerRow(request.body as ServerInput, undefined, secrets, {
        id: randomUUID(),
        now,
      });
      if (!built.ok) return invalid(built.errors);
      const refused = await testBeforeStoring(request, built.row);
      if (refused) return refused;
      await db.insertInto('smtp_servers').values(built.row).execute();
      return ok(serverView(built.row), 201, { location: `/v1/mail/servers/${built.row.id}` });
    },

    'smtp.getServer': async (request) => {
      const row = await serverOr404(request);
      return 'status' in row ? row : ok(serverView(row));
    },

    'smtp.updateServer': async (request) => {
      const existing = await serverOr404(request);
      if ('status' in existing) return existing;
      if (existing.configured === 1)
        return problem(
          'conflict',
          409,
          'The default mail server comes from configuration (KOPPEL_SETTINGS_SMTP); change it there.',
        );
      if (existing.archived_at !== null)
        return problem('conflict', 409, 'An archived mail server cannot be changed.');
      const built = buildServerRow(request.body as ServerInput, existing, secrets, {
        id: existing.id,
        now: deps.now().getTime(),
      });
      if (!built.ok) return invalid(built.errors);
      const refused = await testBeforeStoring(request, built.row);
      if (refused) return refused;
      const { id: _id, ...changes } = built.row;
      await db.updateTable('smtp_servers').set(changes).where('id', '=', existing.id).execute();
      return ok(serverView(built.row));
    },

    'smtp.archiveServer': async (request) => {
      const existing = await serverOr404(request);
      if ('status' in existing) return existing;
      if (existing.configured === 1)
        return problem('conflict', 409, 'The default mail server comes from configuration; remove it there.');
      if (existing.archived_at === null) {
        const now = deps.now().getTime();
        await db
          .updateTable('smtp_servers')
          .set({ archived_at: now, updated_at: Math.max(now, Number(existing.updated_at) + 1) })
          .where('id', '=', existing.id)
          .execute();
      }
      const row = await getServerRow(db, existing.id);
      return ok(serverView(row ?? existing));
    },

    'smtp.testServer': async (request) => {
      const row = await serverOr404(request);
      if ('status' in row) return row;
      const tested = await deps.pool.test(openServer(row, secrets));
      if (tested.ok) return ok({ ok: true, detail: 'connected, TLS established, authenticated' });
      const outcome = classifySmtpError(tested.error);
      return ok({
        ok: false,
        outcome: outcome.kind,
        ...(outcome.kind === 'rejected' && outcome.code !== undefined ? { code: outcome.code } : {}),
        detail: 'reason' in outcome ? outcome.reason : '',
      });
    },

    'smtp.getServerUsage': async (request) => {
      const row = await serverOr404(request);
      if ('status' in row) return row;
      const server = openServer(row, secrets);
      const usage = await currentUsage(db, row.id, deps.now().getTime());
      return ok({
        minute: { ...usage.minute, limit: server.limits.perMinute ?? null },
        hour: { ...usage.hour, limit: server.limits.perHour ?? null },
        day: { ...usage.day, limit: server.limits.perDay ?? null },
      });
    },

    'smtp.listSenders': async (request) => {
      const row = await serverOr404(request);
      if ('status' in row) return row;
      return ok({ items: (await listSenderRows(db, row.id)).map(senderView) });
    },

    'smtp.addSender': async (request) => {
      const server = await serverOr404(request);
      if ('status' in server) return server;
      if (server.archived_at !== null)
        return problem('conflict', 409, 'An archived mail server gets no new senders.');
      const body = request.body as { name: string; address: string };
      const address = body.address.trim().toLowerCase();
      const duplicate = await db
        .selectFrom('smtp_senders')
        .select('id')
        .where('server_id', '=', server.id)
        .where('address', '=', address)
        .executeTakeFirst();
      if (duplicate)
        return problem('conflict', 409, `${address} is already a sender on this server (${duplicate.id}).`);
      const now = deps.now().getTime();
      const sender: SenderRow = {
        id: randomUUID(),
        server_id: server.id,
        name: body.name.trim(),
        address,
        verified_at: null,
        code_hash: null,
        code_salt: null,
        code_expires_at: null,
        code_tries: 0,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('smtp_senders').values(sender).execute();
      const { row, codeMail } = await issueCode(server, sender);
      return ok({ ...senderView(row), codeMail }, 201, {
        location: `/v1/mail/servers/${server.id}/senders/${sender.id}`,
      });
    },

    'smtp.getSender': async (request) => {
      const sender = await senderOr404(request);
      return 'status' in sender ? sender : ok(senderView(sender));
    },

    'smtp.deleteSender': async (request) => {
      const sender = await senderOr404(request);
      if ('status' in sender) return sender;
      await db.deleteFrom('smtp_senders').where('id', '=', sender.id).execute();
      return { status: 204 };
    },

    'smtp.sendSenderCode': async (request) => {
      const sender = await senderOr404(request);
      if ('status' in sender) return sender;
      if (sender.verified_at !== null)
        return problem('conflict', 409, `${sender.address} is already verified.`);
      const server = await getServerRow(db, sender.server_id);
      if (server === undefined || server.archived_at !== null)
        return problem('conflict', 409, 'The mail server is archived.');
      const { row, codeMail } = await issueCode(server, sender);
      return ok({ ...senderView(row), codeMail }, 202);
    },

    'smtp.verifySender': async (request) => {
      const sender = await senderOr404(request);
      if ('status' in sender) return sender;
      if (sender.verified_at !== null)
        return problem('conflict', 409, `${sender.address} is already verified.`);
      const now = deps.now().getTime();
      const stored =
        sender.code_hash === null || sender.code_salt === null || sender.code_expires_at === null
          ? undefined
          : { hash: sender.code_hash, salt: sender.code_salt, expiresAt: Number(sender.code_expires_at) };
      const { code } = request.body as { code: string };
      const check = checkCode(
        await deps.pepper(),
        stored,
        sender.code_tries,
        deps.settings.maxTries,
        code,
        now,
      );
      const resend = `Request a new code with POST /v1/mail/servers/${sender.server_id}/senders/${sender.id}/code.`;
      switch (check) {
        case 'valid':
          await db
            .updateTable('smtp_senders')
            .set({
              verified_at: now,
              code_hash: null,
              code_salt: null,
              code_expires_at: null,
              code_tries: 0,
              updated_at: now,
            })
            .where('id', '=', sender.id)
            .execute();
          return ok(senderView((await getSenderRow(db, sender.id)) ?? sender));
        case 'wrong': {
          // Counted with a conditional update, so parallel guesses cannot exceed the allowed tries.
          const counted = await db
            .updateTable('smtp_senders')
            .set((eb) => ({ code_tries: eb('code_tries', '+', 1), updated_at: now }))
            .where('id', '=', sender.id)
            .where('code_tries', '<', deps.settings.maxTries)
            .executeTakeFirst();
          const left = deps.settings.maxTries - sender.code_tries - 1;
          if (Number(counted.numUpdatedRows) === 0 || left <= 0) {
            return problem(
              'mail-sender-code-expired',
              409,
              `The code is wrong and no tries are left. ${resend}`,
            );
          }
          return problem(
            'mail-sender-code-invalid',
            400,
            `The code is wrong; ${left} ${left === 1 ? 'try' : 'tries'} left.`,
            [{ pointer: '/body/code', detail: 'wrong code' }],
          );
        }
        case 'expired':
          return problem('mail-sender-code-expired', 409, `The code has expired. ${resend}`);
        case 'exhausted':
          return problem('mail-sender-code-expired', 409, `Too many wrong codes. ${resend}`);
        case 'none':
          return problem('mail-sender-code-expired', 409, `No code is outstanding. ${resend}`);
      }
    },
  };
}
