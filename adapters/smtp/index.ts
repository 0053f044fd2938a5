import type { Kysely } from 'kysely';
import {
  hours,
  minutes,
  type AdapterDefinition,
  type AdapterInstance,
} from '../../gateway/adapter-kit/index.ts';
import { deliverMail } from './deliver.ts';
import { managementHandlers } from './management.ts';
import { mail0001 } from './migrations/0001-mail.ts';
import { loadPepper } from './sender-verification.ts';
import { pruneSendCounts } from './sending-limits.ts';
import { CONFIGURED_SERVER_ID, listServerRows, openServer, syncConfiguredServer } from './servers.ts';
import { resolveSettings, settingsSchema, type SmtpSettings } from './settings.ts';
import type { SmtpDatabase } from './tables.ts';
import { loadTemplates } from './templates.ts';
import { TransportPool } from './transport.ts';

export const EMAIL_REQUESTED = 'nl.communicatie.email-verzocht';

/**
 * Mail servers with mandatory TLS, verified senders, sending limits and templates per language.
 * One delivery per e-mail request, targeted at the mail server of its sender.
 */
export const smtpAdapter: AdapterDefinition<SmtpSettings> = {
  name: 'smtp',
  accepts: [EMAIL_REQUESTED],
  settingsSchema,
  retry: {
    delaysMs: [minutes(1), minutes(5), minutes(30), hours(2), hours(6)],
    afterLast: 'fail',
    jitter: 0.1,
    retryAfter: 'clamp',
  },
  migrations: [mail0001],
  async create(ctx): Promise<AdapterInstance> {
    const db = ctx.db as Kysely<SmtpDatabase>;
    const settings = resolveSettings(ctx.settings);
    const templates = await loadTemplates(settings.templateDirs);
    await syncConfiguredServer(db, ctx.secrets, settings.defaultServer, ctx.now().getTime());
    const pool = new TransportPool(settings);
    let pepper: Promise<Buffer> | undefined;

    return {
      async plan(message, plan) {
        const senderId = (message.data as { afzenderId?: string }).afzenderId ?? '';
        const planDb = plan.db as Kysely<SmtpDatabase>;
        const server = await planDb
          .selectFrom('smtp_senders')
          .innerJoin('smtp_servers', 'smtp_servers.id', 'smtp_senders.server_id')
          .select(['smtp_servers.id', 'smtp_servers.name'])
          .where('smtp_senders.id', '=', senderId)
          .executeTakeFirst();
        if (server) return [{ target: server.id, label: server.name }];
        // Unknown sender: still one delivery, so that deliver() skips it visibly in the error log.
        const fallback = await planDb
          .selectFrom('smtp_servers')
          .select('name')
          .where('id', '=', CONFIGURED_SERVER_ID)
          .executeTakeFirst();
        return [{ target: CONFIGURED_SERVER_ID, label: fallback?.name ?? 'default (sender unknown)' }];
      },

      deliver: (delivery, attempt) =>
        deliverMail({ db, secrets: ctx.secrets, settings, templates, pool }, delivery, attempt),

      management: managementHandlers({
        db,
        secrets: ctx.secrets,
        settings,
        templates,
        pool,
        log: ctx.log,
        now: () => ctx.now(),
        pepper: () => (pepper ??= loadPepper(ctx.runtimeSettings, ctx.secrets)),
      }),

      jobs: [
        {
          name: 'prune-send-counts',
          intervalMs: async () => hours(1),
          run: (now) => pruneSendCounts(db, now.getTime()),
        },
      ],

      async health() {
        const rows = await listServerRows(db, false);
        if (rows.length === 0) return { ok: true, detail: 'no mail server configured' };
        const failing: string[] = [];
        for (const row of rows) {
          const tested = await pool.test(openServer(row, ctx.secrets));
          if (!tested.ok)
            failing.push(`${row.name}: ${tested.error.message ?? tested.error.code ?? 'unreachable'}`);
        }
        return failing.length === 0
          ? { ok: true, detail: `${rows.length} mail server(s) reachable` }
          : { ok: false, detail: failing.join('; ') };
      },

      async close() {
        pool.close();
      },
    };
  },
};

export default smtpAdapter;
