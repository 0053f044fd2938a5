import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { openStore, type Store } from '../../../../gateway/store/db.ts';
import { createSecretBox, type CoreSecretBox } from '../../../../gateway/security/secrets.ts';
import { createTokenService } from '../../../../gateway/auth/token.ts';
import { runAccountsCommand } from '../../../../gateway/cli/accounts.ts';

describe('cli/accounts', () => {
  let dir: string;
  let store: Store;
  let box: CoreSecretBox;
  const clock = Date.UTC(2026, 2, 1, 9, 30, 10);
  const now = () => new Date(clock);
  let lines: string[];

  const run = (...argv: string[]) =>
    runAccountsCommand(argv, { store, box, now, out: (line) => lines.push(line) });
  const createJson = async (...extra: string[]) => {
    lines = [];
    assert.equal(
      await run('create', '--name', 'Planning', '--scopes', 'messages:write errors:read', ...extra, '--json'),
      0,
    );
    assert.equal(lines.length, 1);
    return JSON.parse(lines[0] ?? '') as Record<string, string>;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'koppel-cli-accounts-'));
    store = openStore({ sqliteFile: join(dir, 'koppel.sqlite') });
    await store.migrate(new Map());
    box = createSecretBox(randomBytes(32));
    lines = [];
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create --json prints one object with the four fields, good for a token', async () => {
    const created = await createJson('--employers', 'emp-1, emp-2');
    assert.deepEqual(Object.keys(created).sort(), ['apiToken', 'clientId', 'otpauthUri', 'totpSecret']);
    assert.match(created.clientId ?? '', /^kpl_[0-9a-f]{24}$/);
    assert.ok((created.apiToken ?? '').length >= 43);
    assert.equal(
      created.otpauthUri,
      `otpauth://totp/Koppel:Planning?secret=${created.totpSecret}&issuer=Koppel`,
    );

    const service = createTokenService({ db: store.db, box, now });
    const code = await generate({ secret: created.totpSecret ?? '', epoch: clock / 1000 });
    const result = await service.issue(created.clientId ?? '', `${created.apiToken}${code}`);
    assert.ok(!('error' in result), JSON.stringify(result));
    assert.equal(result.scope, 'messages:write errors:read');
    const principal = await service.verify(result.access_token);
    assert.deepEqual(principal?.employers, ['emp-1', 'emp-2']);
  });

  it('create prints the secrets once, with a warning, and defaults to all employers', async () => {
    assert.equal(await run('create', '--name', 'HR: main', '--scopes', 'admin'), 0);
    const text = lines.join('\n');
    assert.match(text, /NOT shown again/);
    assert.match(text, /client id: +kpl_/);
    assert.match(text, /API token: +kpt_/);
    assert.match(text, /TOTP secret: +[A-Z2-7]{32}/);
    assert.match(text, /otpauth URI: +otpauth:\/\/totp\/Koppel:HR%3A%20main\?secret=/);
    assert.match(text, /employers \*/);
  });

  it('list never prints a secret, in either form', async () => {
    const created = await createJson();
    lines = [];
    assert.equal(await run('list'), 0);
    assert.equal(await run('list', '--json'), 0);
    const text = lines.join('\n');
    assert.ok(text.includes(created.clientId ?? 'missing'));
    assert.ok(text.includes('Planning'));
    for (const secret of [created.apiToken, created.totpSecret])
      assert.ok(!text.includes(secret ?? 'missing'));
    const listed = JSON.parse(lines.at(-1) ?? '') as Record<string, unknown>[];
    assert.deepEqual(listed, [
      {
        clientId: created.clientId,
        name: 'Planning',
        scopes: ['messages:write', 'errors:read'],
        employers: ['*'],
        createdAt: new Date(clock).toISOString(),
        disabledAt: null,
      },
    ]);
  });

  it('disable marks the account disabled; an unknown client id exits 1', async () => {
    const created = await createJson();
    lines = [];
    assert.equal(await run('disable', created.clientId ?? ''), 0);
    assert.equal(await run('list'), 0);
    assert.match(lines.join('\n'), /disabled 2026-03-01T09:30:10.000Z/);
    assert.equal(await run('disable', 'kpl_nope'), 1);
  });

  it('exits 64 with a clear message on bad arguments', async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing sub-command/],
      [['frobnicate'], /unknown sub-command "frobnicate"/],
      [['create', '--scopes', 'admin'], /--name is required/],
      [['create', '--name', 'x'], /--scopes is required/],
      [['create', '--name', 'x', '--scopes', 'admin root'], /\/scopes\/1: unknown scope/],
      [['create', '--name', 'x', '--scopes', ''], /\/scopes: must name at least one/],
      [['create', '--name', 'x', '--scopes', 'admin', '--employers', '*,emp-1'], /stands alone/],
      [['create', '--name', 'x', '--scopes', 'admin', '--colour', 'red'], /Unknown option '--colour'/],
      [['list', 'extra'], /Unexpected argument 'extra'|positional/],
      [['disable'], /exactly one client id/],
    ];
    for (const [argv, message] of cases) {
      lines = [];
      assert.equal(await run(...argv), 64, argv.join(' '));
      assert.match(lines[0] ?? '', message);
      assert.match(lines.join('\n'), /usage:/);
    }
    assert.deepEqual(await store.db.selectFrom('accounts').select('client_id').execute(), []);
  });
});
