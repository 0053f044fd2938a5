/**
 * The smtp adapter on its own, for tests below the whole gateway: a real SQLite store with the
 * core and smtp migrations, the core's secret box, a captured pino log and runtime settings
 * kept in the core's `settings` table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Kysely } from 'kysely';
import type {
  AdapterContext,
  AdapterInstance,
  Attempt,
  Delivery,
} from '../../../../gateway/adapter-kit/index.ts';
import { adapterDeliveries } from '../../../../gateway/management/adapter-deliveries.ts';
import { createGuardedHttp } from '../../../../gateway/adapter-kit/http.ts';
import { createOutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';
import { createSecretBox } from '../../../../gateway/security/secrets.ts';
import { openStore, type Store } from '../../../../gateway/store/db.ts';
import { smtpAdapter } from '../../../../adapters/smtp/index.ts';
import type { SmtpSettings } from '../../../../adapters/smtp/settings.ts';
import type { SmtpDatabase } from '../../../../adapters/smtp/tables.ts';
import { findAccountView } from '../../../../gateway/auth/accounts.ts';
import { captureLog } from '../../../helpers/log-capture.ts';

export interface SmtpHarness {
  readonly ctx: AdapterContext<SmtpSettings>;
  readonly store: Store;
  readonly db: Kysely<SmtpDatabase>;
  readonly logs: Record<string, unknown>[];
  readonly clock: { now: Date };
  create(): Promise<AdapterInstance>;
  close(): Promise<void>;
}

export async function startSmtpHarness(
  settings: SmtpSettings,
  start = new Date('2025-04-01T10:00:00.000Z'),
): Promise<SmtpHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'koppel-smtp-'));
  const store = openStore({ sqliteFile: join(dir, 'koppel.sqlite') });
  await store.migrate(new Map([['smtp', smtpAdapter.migrations ?? []]]));
  const captured = captureLog();
  const log = pino({ level: 'debug' }, captured.destination).child({ adapter: 'smtp' });
  const clock = { now: start };
  const db = store.db as unknown as Kysely<any>;
  const ctx: AdapterContext<SmtpSettings> = {
    settings,
    log,
    http: createGuardedHttp(createOutboundGuard([])),
    db,
    dialect: 'sqlite',
    employerPointer: () => undefined,
    account: (clientId) => findAccountView(store.db, clientId),
    publicUrl: 'http://127.0.0.1:8080',
    secrets: createSecretBox(randomBytes(32)),
    post: async () => {
      throw new Error('the smtp adapter posts no messages');
    },
    retryDeliveries: async () => 0,
    deliveries: adapterDeliveries(store.db, 'smtp'),
    runtimeSettings: {
      async get<T>(key: string) {
        const row = await db
          .selectFrom('settings')
          .select('value')
          .where('scope', '=', 'smtp')
          .where('key', '=', key)
          .executeTakeFirst();
        return row === undefined ? undefined : (JSON.parse(row.value as string) as T);
      },
      async set(key: string, value: unknown) {
        await db
          .insertInto('settings')
          .values({ scope: 'smtp', key, value: JSON.stringify(value), updated_at: clock.now.getTime() })
          .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({ value: JSON.stringify(value) }))
          .execute();
      },
    },
    now: () => clock.now,
  };
  const instances: AdapterInstance[] = [];
  return {
    ctx,
    store,
    db: store.db as unknown as Kysely<SmtpDatabase>,
    get logs() {
      return captured.records();
    },
    clock,
    async create() {
      const instance = await smtpAdapter.create(ctx);
      instances.push(instance);
      return instance;
    },
    async close() {
      for (const instance of instances) await instance.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A delivery of an e-mail request as the core would hand it over. */
export function mailDelivery(
  data: Record<string, unknown>,
  target = 'default',
  id: string = randomUUID(),
): Delivery {
  const messageId = randomUUID();
  return {
    id,
    adapter: 'smtp',
    target,
    sequence: 1,
    message: {
      id: messageId,
      type: 'nl.communicatie.email-verzocht',
      source: 'urn:nld:oin:00000001234567890000:systeem:test',
      eventId: randomUUID(),
      receivedAt: new Date('2025-04-01T10:00:00.000Z'),
      data,
      envelope: {},
    },
  };
}

export function attemptAt(harness: SmtpHarness, number = 1): Attempt {
  return {
    number,
    now: harness.clock.now,
    signal: new AbortController().signal,
    log: harness.ctx.log,
    memo: new Map(),
  };
}
