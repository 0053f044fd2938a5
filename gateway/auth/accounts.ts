import type { AccountView } from '../adapter-kit/index.ts';
/**
 * API accounts: a client id, an API token (stored as a keyed hash) and a TOTP secret (stored
 * sealed). The secrets leave this module once, in `createAccount`'s answer, and never again.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateSecret } from 'otplib';
import type { CoreDatabase } from '../store/schema.ts';
import type { CoreSecretBox } from '../security/secrets.ts';

export const KNOWN_SCOPES = [
  'messages:write',
  'messages:read',
  'errors:read',
  'errors:write',
  'admin',
] as const;
export type Scope = (typeof KNOWN_SCOPES)[number];

/** `['*']` grants every employer; otherwise the employer identifiers the account may see. */
export const ALL_EMPLOYERS = '*';

const TOTP_ISSUER = 'Koppel';
const MAX_NAME_LENGTH = 100;
const MAX_EMPLOYER_LENGTH = 100;

export interface NewAccount {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly employers: readonly string[];
  readonly now: Date;
}

/** Shown once; none of it can be read back later. */
export interface CreatedAccount {
  readonly clientId: string;
  readonly apiToken: string;
  readonly totpSecret: string;
  readonly otpauthUri: string;
}

export interface AccountSummary {
  readonly clientId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly employers: readonly string[];
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

/** What the token endpoint needs to check credentials. Internal to `gateway/auth`. */
export interface AccountCredentials extends Omit<AccountSummary, 'createdAt' | 'disabledAt'> {
  readonly tokenHash: string;
  /** Base32, opened from its sealed form. */
  readonly totpSecret: string;
  readonly disabled: boolean;
}

export interface AccountFieldError {
  /** JSON pointer into the account input (`/scopes/1`). */
  readonly pointer: string;
  readonly detail: string;
}

/** Thrown on invalid input only; the management API maps it to a 400 problem with `errors`. */
export class AccountValidationError extends Error {
  readonly errors: readonly AccountFieldError[];
  constructor(errors: readonly AccountFieldError[]) {
    super(errors.map((e) => `${e.pointer}: ${e.detail}`).join('; '));
    this.name = 'AccountValidationError';
    this.errors = errors;
  }
}

export function validateAccountInput(input: Omit<NewAccount, 'now'>): AccountFieldError[] {
  const errors: AccountFieldError[] = [];
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    errors.push({ pointer: '/name', detail: `must be 1 to ${MAX_NAME_LENGTH} printable characters` });
  }
  if (!Array.isArray(input.scopes) || input.scopes.length === 0) {
    errors.push({ pointer: '/scopes', detail: `must name at least one of: ${KNOWN_SCOPES.join(' ')}` });
  } else {
    input.scopes.forEach((scope, i) => {
      if (!isScope(scope))
        errors.push({ pointer: `/scopes/${i}`, detail: `unknown scope; known: ${KNOWN_SCOPES.join(' ')}` });
    });
  }
  if (!Array.isArray(input.employers) || input.employers.length === 0) {
    errors.push({
      pointer: '/employers',
      detail: `must list employer ids, or be ["${ALL_EMPLOYERS}"] for all`,
    });
  } else if (input.employers.includes(ALL_EMPLOYERS) && input.employers.length > 1) {
    errors.push({
      pointer: '/employers',
      detail: `"${ALL_EMPLOYERS}" grants all employers and stands alone`,
    });
  } else {
    input.employers.forEach((employer, i) => {
      if (typeof employer !== 'string' || employer.trim() === '' || employer.length > MAX_EMPLOYER_LENGTH) {
        errors.push({
          pointer: `/employers/${i}`,
          detail: `must be a non-empty string of at most ${MAX_EMPLOYER_LENGTH} characters`,
        });
      }
    });
  }
  return errors;
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (KNOWN_SCOPES as readonly string[]).includes(value);
}

export async function createAccount(
  db: Kysely<CoreDatabase>,
  box: CoreSecretBox,
  input: NewAccount,
): Promise<CreatedAccount> {
  const errors = validateAccountInput(input);
  if (errors.length > 0) throw new AccountValidationError(errors);
  const name = input.name.trim();
  const clientId = `kpl_${randomBytes(12).toString('hex')}`;
  // The prefix lets secret scanners recognise a leaked token.
  const apiToken = `kpt_${randomBytes(32).toString('base64url')}`;
  const totpSecret = generateSecret();
  await db
    .insertInto('accounts')
    .values({
      id: randomUUID(),
      client_id: clientId,
      name,
      scopes: JSON.stringify([...new Set(input.scopes)]),
      employers: JSON.stringify([...new Set(input.employers.map((e) => e.trim()))]),
      token_hash: box.hashToken(apiToken),
      totp_secret: box.seal(totpSecret),
      last_totp_step: null,
      disabled_at: null,
      created_at: input.now.getTime(),
    })
    .execute();
  return { clientId, apiToken, totpSecret, otpauthUri: otpauthUri(name, totpSecret) };
}

/** Authenticator apps read the label as `issuer:account`, so a colon inside the name is escaped. */
function otpauthUri(name: string, secret: string): string {
  const query = new URLSearchParams({ secret, issuer: TOTP_ISSUER });
  return `otpauth://totp/${TOTP_ISSUER}:${encodeURIComponent(name)}?${query.toString()}`;
}

export async function listAccounts(db: Kysely<CoreDatabase>): Promise<AccountSummary[]> {
  const rows = await db
    .selectFrom('accounts')
    .select(['client_id', 'name', 'scopes', 'employers', 'created_at', 'disabled_at'])
    .orderBy('created_at')
    .orderBy('client_id')
    .execute();
  return rows.map((row) => ({
    clientId: row.client_id,
    name: row.name,
    scopes: parseStringArray(row.scopes),
    employers: parseStringArray(row.employers),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    disabledAt: row.disabled_at === null ? null : new Date(Number(row.disabled_at)).toISOString(),
  }));
}

/**
 * Disables for good (there is no enable: create a new account instead, so a leaked secret cannot
 * come back to life). `false` when no such account exists; disabling twice keeps the first time.
 */
export async function disableAccount(
  db: Kysely<CoreDatabase>,
  clientId: string,
  now: Date,
): Promise<boolean> {
  const found = await db
    .selectFrom('accounts')
    .select('disabled_at')
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!found) return false;
  await db
    .updateTable('accounts')
    .set({ disabled_at: now.getTime() })
    .where('client_id', '=', clientId)
    .where('disabled_at', 'is', null)
    .execute();
  return true;
}

export async function findAccountCredentials(
  db: Kysely<CoreDatabase>,
  box: CoreSecretBox,
  clientId: string,
): Promise<AccountCredentials | undefined> {
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    clientId: row.client_id,
    name: row.name,
    scopes: parseStringArray(row.scopes),
    employers: parseStringArray(row.employers),
    tokenHash: row.token_hash,
    totpSecret: box.open(row.totp_secret),
    disabled: row.disabled_at !== null,
  };
}

/**
 * Records a TOTP time step as used. The conditional update is the replay guard across processes
 * sharing the database: of two requests with the same code, exactly one gets `true`.
 */
export async function claimTotpStep(
  db: Kysely<CoreDatabase>,
  clientId: string,
  step: number,
): Promise<boolean> {
  const result = await db
    .updateTable('accounts')
    .set({ last_totp_step: step })
    .where('client_id', '=', clientId)
    .where('disabled_at', 'is', null)
    .where((eb) => eb.or([eb('last_totp_step', 'is', null), eb('last_totp_step', '<', step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Client ids of disabled accounts; few, so the token verifier keeps them all in memory. */
export async function listDisabledClientIds(db: Kysely<CoreDatabase>): Promise<string[]> {
  const rows = await db
    .selectFrom('accounts')
    .select('client_id')
    .where('disabled_at', 'is not', null)
    .execute();
  return rows.map((row) => row.client_id);
}

function parseStringArray(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** What adapters may know of an account (the kit's AccountView): no secrets. */
export async function findAccountView(
  db: Kysely<CoreDatabase>,
  clientId: string,
): Promise<AccountView | undefined> {
  const row = await db
    .selectFrom('accounts')
    .select(['client_id', 'employers', 'disabled_at'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    clientId: row.client_id,
    employers: JSON.parse(row.employers) as string[],
    disabled: row.disabled_at !== null,
  };
}
