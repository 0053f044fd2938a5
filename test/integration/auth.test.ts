import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { ALL_SCOPES, startGateway, type HttpAnswer, type TestGateway } from '../helpers/gateway.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

const PROBLEM = 'application/problem+json';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly scope: string | undefined;
  readonly public: boolean;
  readonly hasBody: boolean;
}

/** A concrete URL for a templated path: any well-formed value will do, the resource need not exist. */
function concrete(path: string): string {
  return path
    .replace('{id}', randomUUID())
    .replace('{name}', 'test-http')
    .replace('{clientId}', 'kpl_000000000000000000000000')
    .replace('{type}', 'envelope')
    .replace(/\{[^}]+\}/g, 'x');
}

describe('integration: authentication and authorisation', function () {
  let gw: TestGateway;
  let operations: Operation[];
  /** Every secret this file sees; none may appear in the logs. */
  const secrets: string[] = [];

  const tokenRequest = (body: Record<string, string>, headers: Record<string, string> = FORM) =>
    gw.request('POST', '/oauth2/token', {
      body: headers['content-type'] === FORM['content-type'] ? new URLSearchParams(body).toString() : body,
      headers,
    });

  async function credentials(scopes: readonly string[] = ALL_SCOPES) {
    const account = await gw.account(scopes);
    secrets.push(account.apiToken, account.totpSecret);
    return account;
  }

  async function issued(answer: HttpAnswer): Promise<string> {
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    secrets.push(answer.body.access_token);
    return answer.body.access_token;
  }

  before(async () => {
    gw = await startGateway({
      ...withTestAdapter([]),
    });
    const document = (await gw.request('GET', '/v1/openapi.json')).body;
    const globalSecurity = document.security;
    operations = [];
    for (const [path, item] of Object.entries(
      document.paths as Record<string, Record<string, Record<string, unknown>>>,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const security = (operation.security ?? globalSecurity) as unknown[] | undefined;
        operations.push({
          method: method.toUpperCase(),
          path,
          operationId: String(operation.operationId),
          scope: operation['x-koppel-scope'] as string | undefined,
          public: Array.isArray(security) && security.length === 0,
          hasBody: operation.requestBody !== undefined,
        });
      }
    }
  });
  after(async () => {
    if (gw) {
      const logs = gw.logs.text();
      await gw.stop();
      for (const secret of secrets)
        assert.ok(!logs.includes(secret), `a secret appears in the logs: ${secret.slice(0, 6)}…`);
    }
  });

  const call = (operation: Operation, token?: string, body: unknown = {}) =>
    gw.request(operation.method, concrete(operation.path), {
      ...(token ? { token } : {}),
      ...(operation.hasBody ? { body } : {}),
    });

  describe('every operation of the merged OpenAPI document', () => {
    it('covers the core operations, and every non-public one names its scope', () => {
      assert.ok(operations.length >= 20, `only ${operations.length} operations`);
      for (const op of operations.filter((o) => !o.public)) {
        assert.ok(op.scope, `${op.operationId} has no x-koppel-scope: any token would do`);
        assert.ok(
          (ALL_SCOPES as readonly string[]).includes(op.scope),
          `${op.operationId}: unknown scope ${op.scope}`,
        );
      }
      const publicIds = operations
        .filter((o) => o.public)
        .map((o) => o.operationId)
        .sort();
      assert.deepEqual(publicIds, [
        'meta.openapi',
        'oauth2.jwks',
        'oauth2.token',
        'schemas.get',
        'schemas.list',
      ]);
    });

    it('answers 401 with a Bearer challenge without a token, whatever the body', async () => {
      const failures: string[] = [];
      for (const op of operations.filter((o) => !o.public)) {
        for (const body of [{}, { garbage: true }]) {
          const answer = await call(op, undefined, body);
          if (
            answer.status !== 401 ||
            answer.body?.type !== 'urn:koppel:problem:unauthorized' ||
            !/^Bearer /.test(answer.headers.get('www-authenticate') ?? '')
          ) {
            failures.push(
              `${op.method} ${op.path} body ${JSON.stringify(body)}: ${answer.status} ${JSON.stringify(answer.body)}`,
            );
          }
        }
      }
      assert.deepEqual(failures, []);
    });

    it('answers 401 to a token that is not one of ours', async () => {
      const valid = await gw.token();
      const [header, payload] = valid.split('.');
      const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
      const failures: string[] = [];
      for (const op of operations.filter((o) => !o.public)) {
        for (const token of ['garbage', forged, unsigned, `${valid}x`]) {
          const answer = await call(op, token);
          if (answer.status !== 401)
            failures.push(`${op.method} ${op.path} with ${token.slice(0, 12)}…: ${answer.status}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('answers 403 to a token lacking the scope, and lets the right scope through', async () => {
      const tokens = new Map<string, string>();
      for (const scope of ALL_SCOPES) tokens.set(scope, await gw.token([scope]));
      const failures: string[] = [];
      for (const op of operations.filter((o) => !o.public)) {
        for (const scope of ALL_SCOPES) {
          if (scope === op.scope || scope === 'admin') continue;
          const answer = await call(op, tokens.get(scope));
          if (
            answer.status !== 403 ||
            answer.body?.type !== 'urn:koppel:problem:forbidden' ||
            answer.headers.get('content-type')?.split(';')[0] !== PROBLEM
          ) {
            failures.push(
              `${op.method} ${op.path} with ${scope}: ${answer.status} ${JSON.stringify(answer.body)}`,
            );
          }
        }
        for (const scope of [op.scope as string, 'admin']) {
          const answer = await call(op, tokens.get(scope));
          if (answer.status === 401 || answer.status === 403)
            failures.push(`${op.method} ${op.path} refused to ${scope}: ${answer.status}`);
          if (answer.status >= 500)
            failures.push(
              `${op.method} ${op.path} with ${scope}: ${answer.status} ${JSON.stringify(answer.body)}`,
            );
        }
      }
      assert.deepEqual(failures, []);
    });

    it('serves the public operations without a token', async () => {
      for (const op of operations.filter((o) => o.public && o.operationId !== 'oauth2.token')) {
        const answer = await call(op);
        assert.equal(answer.status, 200, `${op.method} ${op.path}: ${answer.status}`);
      }
    });
  });

  describe('POST /oauth2/token', () => {
    it('issues a token for a form body (API token + TOTP code as client secret)', async () => {
      const account = await credentials(['messages:read', 'errors:read']);
      const answer = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
      });
      const token = await issued(answer);
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.expires_in, 900);
      assert.equal(answer.body.scope, 'messages:read errors:read');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal((await gw.request('GET', '/v1/errors', { token })).status, 200);
      assert.equal((await gw.request('GET', '/v1/accounts', { token })).status, 403);
    });

    it('issues a token for a JSON body', async () => {
      const account = await credentials();
      await issued(
        await tokenRequest(
          {
            grant_type: 'client_credentials',
            client_id: account.clientId,
            client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
          },
          { 'content-type': 'application/json' },
        ),
      );
    });

    it('issues a token for HTTP Basic client authentication', async () => {
      const account = await credentials();
      const secret = `${account.apiToken}${await generate({ secret: account.totpSecret })}`;
      const basic = Buffer.from(
        `${encodeURIComponent(account.clientId)}:${encodeURIComponent(secret)}`,
      ).toString('base64');
      await issued(
        await tokenRequest(
          { grant_type: 'client_credentials' },
          { ...FORM, authorization: `Basic ${basic}` },
        ),
      );
    });

    it('narrows the token to a requested scope, and refuses a scope the account lacks', async () => {
      const account = await credentials(['messages:read', 'errors:read']);
      const answer = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
        scope: 'errors:read',
      });
      const token = await issued(answer);
      assert.equal(answer.body.scope, 'errors:read');
      assert.equal((await gw.request('GET', '/v1/messages', { token })).status, 403);
      const other = await credentials(['messages:read']);
      const refused = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: other.clientId,
        client_secret: `${other.apiToken}${await generate({ secret: other.totpSecret })}`,
        scope: 'admin',
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'invalid_scope');
    });

    it('refuses a wrong TOTP code with 401 invalid_client', async () => {
      const account = await credentials();
      const wrong = await generate({ secret: (await credentials()).totpSecret });
      const answer = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${wrong}`,
      });
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'invalid_client');
      // Credentials came in the body: no Basic challenge, which would make a browser show its own dialog.
      assert.equal(answer.headers.get('www-authenticate'), null);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
    });

    it('refuses a wrong API token, an unknown client and a secret without a code alike', async () => {
      const account = await credentials();
      const code = await generate({ secret: account.totpSecret });
      for (const [clientId, secret] of [
        [account.clientId, `kpt_wrong${code}`],
        ['kpl_unknown', `${account.apiToken}${code}`],
        [account.clientId, account.apiToken],
      ] as const) {
        const answer = await tokenRequest({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: secret,
        });
        assert.equal(answer.status, 401, JSON.stringify(answer.body));
        assert.equal(answer.body.error, 'invalid_client');
      }
    });

    it('refuses a replayed code', async () => {
      const account = await credentials();
      const body = {
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
      };
      await issued(await tokenRequest(body));
      const replay = await tokenRequest(body);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'invalid_client');
      assert.match(replay.body.error_description, /already used/);
    });

    it('lets exactly one of two simultaneous requests with the same code through', async () => {
      const account = await credentials();
      const body = {
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
      };
      const answers = await Promise.all([tokenRequest(body), tokenRequest(body), tokenRequest(body)]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401, 401]);
      for (const a of answers) if (a.status === 200) secrets.push(a.body.access_token);
    });

    it('rate-limits a client after repeated failures with 429 and Retry-After, even for the right secret', async () => {
      const account = await credentials();
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (
            await tokenRequest({
              grant_type: 'client_credentials',
              client_id: account.clientId,
              client_secret: `kpt_guess${i}123456`,
            })
          ).status,
        );
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
      const limited = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
      });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error, 'slow_down');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      const other = await credentials();
      await issued(
        await tokenRequest({
          grant_type: 'client_credentials',
          client_id: other.clientId,
          client_secret: `${other.apiToken}${await generate({ secret: other.totpSecret })}`,
        }),
      );
    });

    it('answers malformed requests with an RFC 6749 error, never a 5xx', async () => {
      const cases: Array<[string, Record<string, string>, number, string]> = [
        ['no grant type', { client_id: 'kpl_x', client_secret: 'x123456' }, 400, 'invalid_request'],
        [
          'another grant type',
          { grant_type: 'password', client_id: 'kpl_x', client_secret: 'x123456' },
          400,
          'unsupported_grant_type',
        ],
        ['no client', { grant_type: 'client_credentials' }, 401, 'invalid_client'],
      ];
      for (const [name, body, status, error] of cases) {
        const answer = await tokenRequest(body);
        assert.equal(answer.status, status, `${name}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error, error, name);
      }
      const text = await gw.request('POST', '/oauth2/token', {
        body: 'grant_type=client_credentials',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(text.status, 415);
      const bad = await tokenRequest(
        { grant_type: 'client_credentials' },
        { ...FORM, authorization: 'Basic %%%' },
      );
      assert.equal(bad.status, 401);
    });
  });

  describe('accounts API', () => {
    it('shows the secrets once at creation, never in the list, and the account works', async () => {
      const admin = await gw.token(['admin']);
      const created = await gw.request('POST', '/v1/accounts', {
        token: admin,
        body: { name: 'Zaaksysteem Gemeente', scopes: ['messages:write'] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { clientId, apiToken, totpSecret, otpauthUri } = created.body;
      secrets.push(apiToken, totpSecret);
      assert.match(clientId, /^kpl_/);
      assert.match(apiToken, /^kpt_/);
      assert.match(otpauthUri, /^otpauth:\/\/totp\//);
      const list = await gw.request('GET', '/v1/accounts', { token: admin });
      assert.equal(list.status, 200);
      const text = JSON.stringify(list.body);
      assert.ok(!text.includes(apiToken) && !text.includes(totpSecret), 'no secret in the list');
      const listed = list.body.items.find((a: { clientId: string }) => a.clientId === clientId);
      assert.deepEqual(Object.keys(listed).sort(), [
        'clientId',
        'createdAt',
        'disabledAt',
        'employers',
        'name',
        'scopes',
      ]);
      assert.deepEqual(listed.scopes, ['messages:write']);
      assert.deepEqual(listed.employers, ['*']);
      assert.equal(listed.disabledAt, null);
      const token = await issued(
        await tokenRequest({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: `${apiToken}${await generate({ secret: totpSecret })}`,
        }),
      );
      assert.equal((await gw.request('GET', '/v1/messages?limit=1', { token })).status, 403);
    });

    it('disables an account: its token stops working at once and it gets no new one', async () => {
      const account = await credentials(['messages:read']);
      const token = await issued(
        await tokenRequest({
          grant_type: 'client_credentials',
          client_id: account.clientId,
          client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
        }),
      );
      assert.equal((await gw.request('GET', '/v1/messages', { token })).status, 200);
      const admin = await gw.token(['admin']);
      const disabled = await gw.request('POST', `/v1/accounts/${account.clientId}/disable`, { token: admin });
      assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
      assert.equal(disabled.body.clientId, account.clientId);
      assert.notEqual(disabled.body.disabledAt, null);
      assert.ok(!JSON.stringify(disabled.body).includes(account.apiToken));
      assert.equal((await gw.request('GET', '/v1/messages', { token })).status, 401);
      const again = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: `${account.apiToken}${await generate({ secret: account.totpSecret })}`,
      });
      assert.equal(again.status, 401);
      assert.equal(again.body.error, 'invalid_client');
      const unknown = await gw.request('POST', '/v1/accounts/kpl_nobody/disable', { token: admin });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.type, 'urn:koppel:problem:not-found');
    });

    it('refuses invalid accounts with 400 and every failing pointer', async () => {
      const admin = await gw.token(['admin']);
      for (const body of [
        { name: '', scopes: ['admin'] },
        { name: 'x', scopes: [] },
        { name: 'x', scopes: ['root'] },
        { name: 'x', scopes: ['admin'], employers: ['*', 'WG-1'] },
        { name: 'x', scopes: ['admin'], apiToken: 'chosen' },
        { scopes: ['admin'] },
      ]) {
        const answer = await gw.request('POST', '/v1/accounts', { token: admin, body });
        assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.type, 'urn:koppel:problem:validation-failed');
        assert.ok(answer.body.errors.length >= 1);
        for (const e of answer.body.errors) assert.match(e.pointer, /^\/body/);
      }
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the public signing keys, and only public parts', async () => {
      const answer = await gw.request('GET', '/.well-known/jwks.json');
      assert.equal(answer.status, 200);
      assert.ok(answer.body.keys.length >= 1);
      for (const key of answer.body.keys) {
        assert.equal(key.kty, 'OKP');
        assert.equal(key.crv, 'Ed25519');
        assert.equal(key.alg, 'EdDSA');
        assert.equal(typeof key.kid, 'string');
        assert.equal(key.d, undefined, 'no private key part');
      }
      const token = await gw.token();
      const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
      assert.ok(
        answer.body.keys.some((k: { kid: string }) => k.kid === header.kid),
        'the signing key is published',
      );
    });
  });
});
