import type { Kysely, Selectable } from 'kysely';
import type { ProblemFieldError } from '../../gateway/adapter-kit/api.ts';
import type { SecretBox } from '../../gateway/adapter-kit/index.ts';
import { SERVER_TYPES, defaultPort } from './server-types.ts';
import type { DkimKey, Limits, Security, ServerType, SmtpSettings } from './settings.ts';
import type { SmtpDatabase, SmtpServersTable } from './tables.ts';

export type ServerRow = Selectable<SmtpServersTable>;

/** The id of the server from configuration. */
export const CONFIGURED_SERVER_ID = 'default';

/** A server with its secrets opened, as the transport needs it. Never logged, never answered. */
export interface MailServer {
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly security: Security;
  readonly user?: string;
  readonly password?: string;
  readonly caPem?: string;
  readonly dkim: readonly DkimKey[];
  readonly limits: Limits;
  readonly defaultLanguage?: string;
  readonly archived: boolean;
  /** Changes whenever the row does; the transport pool is rebuilt when it differs. */
  readonly version: number;
}

/** What an admin gives when creating or changing a server (the OpenAPI `MailServerInput`). */
export interface ServerInput {
  readonly name?: string;
  readonly type?: ServerType;
  readonly host?: string;
  readonly port?: number;
  readonly security?: Security | 'none';
  readonly authentication?: { readonly user: string; readonly password?: string } | null;
  readonly caPem?: string | null;
  readonly dkim?: readonly DkimKey[];
  readonly limits?: Limits;
  readonly defaultLanguage?: string | null;
}

export function openServer(row: ServerRow, secrets: SecretBox): MailServer {
  const limits: Limits = {
    ...(row.limit_per_minute === null ? {} : { perMinute: row.limit_per_minute }),
    ...(row.limit_per_hour === null ? {} : { perHour: row.limit_per_hour }),
    ...(row.limit_per_day === null ? {} : { perDay: row.limit_per_day }),
  };
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    port: row.port,
    security: row.security as Security,
    ...(row.username === null ? {} : { user: row.username }),
    ...(row.password_sealed === null ? {} : { password: secrets.open(row.password_sealed) }),
    ...(row.ca_pem === null ? {} : { caPem: row.ca_pem }),
    dkim: row.dkim_sealed === null ? [] : (JSON.parse(secrets.open(row.dkim_sealed)) as DkimKey[]),
    limits,
    ...(row.default_language === null ? {} : { defaultLanguage: row.default_language }),
    archived: row.archived_at !== null,
    version: Number(row.updated_at),
  };
}

/** The API representation: no password, no private keys. */
export function serverView(row: ServerRow): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    host: row.host,
    port: row.port,
    security: row.security,
    authentication:
      row.username === null ? null : { user: row.username, hasPassword: row.password_sealed !== null },
    caPem: row.ca_pem,
    dkim: JSON.parse(row.dkim_domains) as unknown,
    limits: {
      perMinute: row.limit_per_minute,
      perHour: row.limit_per_hour,
      perDay: row.limit_per_day,
    },
    defaultLanguage: row.default_language,
    configured: row.configured === 1,
    archivedAt: row.archived_at === null ? null : new Date(Number(row.archived_at)).toISOString(),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/**
 * The one check behind "a mail server without TLS is refused" (ARCHITECTURE.md), for the API
 * and for the configured server alike; the schemas allow `none` in the API only so that this
 * answer, rather than a bare enum error, tells the admin why.
 */
export function tlsRefusal(security: string | undefined): ProblemFieldError | undefined {
  if (security === undefined || security === 'starttls' || security === 'tls') return undefined;
  return { pointer: '/body/security', detail: 'a mail server without TLS is refused: use starttls or tls' };
}

/**
 * Merges an admin's input over the existing row (for PATCH) or nothing (for POST), fills in the
 * type's host, port, security and limits, and reports every missing field with its pointer.
 */
export function buildServerRow(
  input: ServerInput,
  existing: ServerRow | undefined,
  secrets: SecretBox,
  ids: { readonly id: string; readonly now: number; readonly configured?: boolean },
): { ok: true; row: ServerRow } | { ok: false; errors: ProblemFieldError[] } {
  const errors: ProblemFieldError[] = [];
  const tls = tlsRefusal(input.security);
  if (tls) errors.push(tls);
  const type: ServerType = input.type ?? (existing?.type as ServerType | undefined) ?? 'generic';
  // A type fills in its values on creation and when it changes; otherwise the stored values stay.
  const preset =
    existing === undefined || (input.type !== undefined && input.type !== existing.type)
      ? SERVER_TYPES[type]
      : undefined;
  const host = input.host ?? preset?.host ?? existing?.host;
  const security =
    (input.security as Security | undefined) ??
    preset?.security ??
    (existing?.security as Security | undefined) ??
    'starttls';
  const port = input.port ?? preset?.port ?? existing?.port ?? defaultPort(security);
  const name = input.name ?? existing?.name;
  if (name === undefined) errors.push({ pointer: '/body/name', detail: 'required' });
  if (host === undefined) errors.push({ pointer: '/body/host', detail: `required for type ${type}` });
  if (errors.length > 0 || name === undefined || host === undefined) return { ok: false, errors };

  const limits: Limits | undefined = input.limits ?? preset?.limits;
  const authentication = input.authentication;
  let username = existing?.username ?? null;
  let passwordSealed = existing?.password_sealed ?? null;
  if (authentication === null) {
    username = null;
    passwordSealed = null;
  } else if (authentication !== undefined) {
    if (authentication.user !== username) passwordSealed = null;
    username = authentication.user;
    if (authentication.password !== undefined) passwordSealed = secrets.seal(authentication.password);
  }
  const dkim = input.dkim;
  return {
    ok: true,
    row: {
      id: ids.id,
      name,
      type,
      host,
      port,
      security,
      username,
      password_sealed: passwordSealed,
      ca_pem: input.caPem === undefined ? (existing?.ca_pem ?? null) : input.caPem,
      dkim_domains:
        dkim === undefined
          ? (existing?.dkim_domains ?? '[]')
          : JSON.stringify(dkim.map((k) => ({ domain: k.domain.toLowerCase(), selector: k.selector }))),
      dkim_sealed:
        dkim === undefined
          ? (existing?.dkim_sealed ?? null)
          : dkim.length === 0
            ? null
            : secrets.seal(JSON.stringify(dkim.map((k) => ({ ...k, domain: k.domain.toLowerCase() })))),
      limit_per_minute:
        limits === undefined ? (existing?.limit_per_minute ?? null) : (limits.perMinute ?? null),
      limit_per_hour: limits === undefined ? (existing?.limit_per_hour ?? null) : (limits.perHour ?? null),
      limit_per_day: limits === undefined ? (existing?.limit_per_day ?? null) : (limits.perDay ?? null),
      default_language:
        input.defaultLanguage === undefined ? (existing?.default_language ?? null) : input.defaultLanguage,
      configured: (ids.configured ?? existing?.configured === 1) ? 1 : 0,
      archived_at: existing?.archived_at ?? null,
      created_at: existing?.created_at ?? ids.now,
      // A strictly later version, even within one millisecond, so that the pool is always rebuilt.
      updated_at: existing === undefined ? ids.now : Math.max(ids.now, Number(existing.updated_at) + 1),
    },
  };
}

export async function getServerRow(db: Kysely<SmtpDatabase>, id: string): Promise<ServerRow | undefined> {
  return db.selectFrom('smtp_servers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listServerRows(
  db: Kysely<SmtpDatabase>,
  includeArchived: boolean,
): Promise<ServerRow[]> {
  let query = db.selectFrom('smtp_servers').selectAll().orderBy('created_at').orderBy('id');
  if (!includeArchived) query = query.where('archived_at', 'is', null);
  return query.execute();
}

/**
 * Writes the configured server (id `default`) at start, from settings; every process does this,
 * and they write the same values. Without a configured server a row left from an earlier
 * configuration becomes an ordinary server that admins may change or archive.
 */
export async function syncConfiguredServer(
  db: Kysely<SmtpDatabase>,
  secrets: SecretBox,
  config: SmtpSettings['defaultServer'],
  now: number,
): Promise<void> {
  const existing = await getServerRow(db, CONFIGURED_SERVER_ID);
  if (config === undefined) {
    if (existing?.configured === 1) {
      await db
        .updateTable('smtp_servers')
        .set({ configured: 0, updated_at: now })
        .where('id', '=', CONFIGURED_SERVER_ID)
        .execute();
    }
    return;
  }
  const refusal = tlsRefusal(config.security);
  if (refusal) throw new Error(`smtp settings: defaultServer: ${refusal.detail}`);
  const built = buildServerRow(
    {
      name: config.name,
      ...(config.type === undefined ? {} : { type: config.type }),
      ...(config.host === undefined ? {} : { host: config.host }),
      ...(config.port === undefined ? {} : { port: config.port }),
      ...(config.security === undefined ? {} : { security: config.security }),
      authentication:
        config.user === undefined
          ? null
          : { user: config.user, ...(config.password === undefined ? {} : { password: config.password }) },
      caPem: config.caPem ?? null,
      dkim: config.dkim ?? [],
      ...(config.limits === undefined ? {} : { limits: config.limits }),
      defaultLanguage: config.defaultLanguage ?? null,
    },
    undefined,
    secrets,
    { id: CONFIGURED_SERVER_ID, now, configured: true },
  );
  if (!built.ok)
    throw new Error(
      `smtp settings: defaultServer: ${built.errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`,
    );
  const { id: _id, created_at: _created, archived_at: _archived, ...changes } = built.row;
  await db
    .insertInto('smtp_servers')
    .values(built.row)
    .onConflict((oc) => oc.column('id').doUpdateSet({ ...changes, archived_at: null }))
    .execute();
}
