/**
 * `koppel accounts create|list|disable`. The secrets of a new account are printed here once and
 * can never be shown again; `--json` gives scripts one JSON object instead of prose.
 */
import { parseArgs } from 'node:util';
import type { Store } from '../store/db.ts';
import type { CoreSecretBox } from '../security/secrets.ts';
import {
  ALL_EMPLOYERS,
  AccountValidationError,
  KNOWN_SCOPES,
  createAccount,
  disableAccount,
  listAccounts,
} from '../auth/accounts.ts';

export interface AccountsCommandDeps {
  /** Opened and migrated by the caller. */
  readonly store: Store;
  readonly box: CoreSecretBox;
  readonly now: () => Date;
  readonly out: (line: string) => void;
}

const EXIT_OK = 0;
const EXIT_NOT_FOUND = 1;
// sysexits.h EX_USAGE: the command was used incorrectly.
const EXIT_USAGE = 64;

const USAGE = [
  'usage:',
  '  koppel accounts create --name <name> --scopes "<scope> …" [--employers "<id>,<id>" | --employers "*"] [--json]',
  '  koppel accounts list [--json]',
  '  koppel accounts disable <clientId>',
  `scopes: ${KNOWN_SCOPES.join(' ')}`,
  `employers: a comma-separated list of employer ids, or "${ALL_EMPLOYERS}" for all (the default)`,
].join('\n');

class UsageError extends Error {}

export async function runAccountsCommand(
  argv: readonly string[],
  deps: AccountsCommandDeps,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'create':
        return await create(rest, deps);
      case 'list':
        return await list(rest, deps);
      case 'disable':
        return await disable(rest, deps);
      case 'help':
      case '--help':
      case '-h':
        deps.out(USAGE);
        return EXIT_OK;
      default:
        throw new UsageError(
          command === undefined ? 'missing sub-command' : `unknown sub-command "${command}"`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof AccountValidationError || isParseArgsError(error)) {
      deps.out(`koppel accounts: ${(error as Error).message}`);
      deps.out(USAGE);
      return EXIT_USAGE;
    }
    throw error;
  }
}

async function create(args: readonly string[], deps: AccountsCommandDeps): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      employers: { type: 'string', default: ALL_EMPLOYERS },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.name === undefined) throw new UsageError('--name is required');
  if (values.scopes === undefined) throw new UsageError('--scopes is required');
  const scopes = splitList(values.scopes, /[\s,]+/);
  const employers = splitList(values.employers, /,/);
  const created = await createAccount(deps.store.db, deps.box, {
    name: values.name,
    scopes,
    employers,
    now: deps.now(),
  });
  if (values.json) {
    deps.out(JSON.stringify(created));
    return EXIT_OK;
  }
  deps.out(
    `Account "${values.name.trim()}" created with scopes ${scopes.join(' ')} for employers ${employers.join(',')}.`,
  );
  deps.out('Store these secrets now: they are NOT shown again and cannot be recovered.');
  deps.out(`  client id:    ${created.clientId}`);
  deps.out(`  API token:    ${created.apiToken}`);
  deps.out(`  TOTP secret:  ${created.totpSecret}`);
  deps.out(`  otpauth URI:  ${created.otpauthUri}`);
  deps.out('Get a token: POST /oauth2/token with grant_type=client_credentials, client_id=<client id> and');
  deps.out('client_secret=<API token><current 6-digit TOTP code>, written together without a separator.');
  return EXIT_OK;
}

async function list(args: readonly string[], deps: AccountsCommandDeps): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  const accounts = await listAccounts(deps.store.db);
  if (values.json) {
    deps.out(JSON.stringify(accounts));
    return EXIT_OK;
  }
  if (accounts.length === 0) {
    deps.out('No accounts. Create one with: koppel accounts create --name <name> --scopes "<scope> …"');
    return EXIT_OK;
  }
  const rows = accounts.map((a) => [
    a.clientId,
    a.name,
    a.scopes.join(' '),
    a.employers.join(','),
    a.disabledAt === null ? 'active' : `disabled ${a.disabledAt}`,
    a.createdAt,
  ]);
  for (const line of table(['CLIENT ID', 'NAME', 'SCOPES', 'EMPLOYERS', 'STATUS', 'CREATED'], rows))
    deps.out(line);
  return EXIT_OK;
}

async function disable(args: readonly string[], deps: AccountsCommandDeps): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('disable takes exactly one client id');
  const clientId = positionals[0] ?? '';
  if (!(await disableAccount(deps.store.db, clientId, deps.now()))) {
    deps.out(`koppel accounts: no account with client id "${clientId}"`);
    return EXIT_NOT_FOUND;
  }
  deps.out(`Account ${clientId} is disabled; its tokens stop working within seconds.`);
  return EXIT_OK;
}

function splitList(value: string, separator: RegExp): string[] {
  return value
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
