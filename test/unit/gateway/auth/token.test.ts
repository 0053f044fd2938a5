import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { generate } from 'otplib';
import { openStore, type Store } from '../../../../gateway/store/db.ts';
import { createSecretBox, type CoreSecretBox } from '../../../../gateway/security/secrets.ts';
import { createAccount, disableAccount, type CreatedAccount } from '../../../../gateway/auth/accounts.ts';
import {
  createTokenService,
  type TokenGranted,
  type TokenResult,
  type TokenService,
} from '../../../../gateway/auth/token.ts';

describe('auth/token', () => {
  let dir: string;
  let store: Store;
  let box: CoreSecretBox;
  let clock: number;
  const now = () => new Date(clock);
  let logged: object[];
  let service: TokenService;
  let account: CreatedAccount;

  const totp = (secret: string, atMs = clock) => generate({ secret, epoch: Math.floor(atMs / 1000) });
  const secretFor = async (acc: CreatedAccount, atMs = clock) =>
    acc.apiToken + (await totp(acc.totpSecret, atMs));
  const makeService = (extra: Partial<Parameters<typeof createTokenService>[0]> = {}) =>
    createTokenService({
      db: store.db,
      box,
      now,
      log: { info: (o: object) => logged.push(o), warn: (o: object) => logged.push(o) } as never,
      ...extra,
    });
  function granted(result: TokenResult): TokenGranted {
    if ('error' in result) assert.fail(`expected a token, got ${result.error}: ${result.description}`);
    return result;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'koppel-token-'));
    store = openStore({ sqliteFile: join(dir, 'koppel.sqlite') });
    await store.migrate(new Map());
    box = createSecretBox(randomBytes(32));
    // 5 s into a 30 s TOTP step, so "the previous step" is unambiguous.
    clock = Date.UTC(2026, 0, 15, 10, 0, 5);
    logged = [];
    service = makeService();
    account = await createAccount(store.db, box, {
      name: 'HR system',
      scopes: ['messages:write', 'messages:read'],
      employers: ['emp-1', 'emp-2'],
      now: now(),
    });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues a signed JWT for the API token followed by the current TOTP code', async () => {
    const token = granted(await service.issue(account.clientId, await secretFor(account)));
    assert.equal(token.token_type, 'Bearer');
    assert.equal(token.expires_in, 900);
    assert.equal(token.scope, 'messages:write messages:read');

    const header = decodeProtectedHeader(token.access_token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    const claims = decodeJwt(token.access_token);
    assert.equal(claims.iss, 'koppel');
    assert.equal(claims.aud, 'koppel');
    assert.equal(claims.sub, account.clientId);
    assert.equal(claims.iat, clock / 1000);
    assert.equal(claims.exp, clock / 1000 + 900);
    assert.equal(claims.scope, 'messages:write messages:read');
    assert.deepEqual(claims.employers, ['emp-1', 'emp-2']);
    assert.equal(typeof claims.jti, 'string');

    assert.deepEqual(await service.verify(token.access_token), {
      clientId: account.clientId,
      scopes: ['messages:write', 'messages:read'],
      employers: ['emp-1', 'emp-2'],
    });
    assert.deepEqual((await service.verify(`Bearer ${token.access_token}`))?.clientId, account.clientId);
  });

  it('accepts the code of the previous step (clock drift) but not of two steps back', async () => {
    granted(await service.issue(account.clientId, await secretFor(account, clock - 30_000)));
    const other = await createAccount(store.db, box, {
      name: 'other',
      scopes: ['admin'],
      employers: ['*'],
      now: now(),
    });
    const old = await service.issue(other.clientId, await secretFor(other, clock - 60_000));
    assert.equal('error' in old && old.error, 'invalid_client');
  });

  it('refuses a wrong API token, a wrong TOTP code, an unknown client and a malformed secret', async () => {
    const code = await totp(account.totpSecret);
    const wrongCode = await totp(account.totpSecret, clock + 10 * 60_000);
    const cases: [string, string][] = [
      [account.clientId, `kpt_${randomBytes(32).toString('base64url')}${code}`],
      [account.clientId, account.apiToken + wrongCode],
      ['kpl_unknown', account.apiToken + code],
      [account.clientId, account.apiToken],
      [account.clientId, code],
    ];
    for (const [clientId, secret] of cases) {
      const result = await service.issue(clientId, secret);
      assert.ok('error' in result, `${clientId} ${secret.length}`);
      assert.equal(result.error, 'invalid_client');
      assert.equal(result.status, 401);
    }
  });

  it('refuses a TOTP step this client already used, and accepts the next step', async () => {
    const secret = await secretFor(account);
    granted(await service.issue(account.clientId, secret));
    const replay = await service.issue(account.clientId, secret);
    assert.ok('error' in replay);
    assert.equal(replay.error, 'invalid_client');
    assert.match(replay.description, /already used/);
    const previous = await service.issue(account.clientId, await secretFor(account, clock - 30_000));
    assert.ok('error' in previous, 'an older step than the last used one is refused too');

    clock += 30_000;
    granted(await service.issue(account.clientId, await secretFor(account)));
  });

  it('refuses the replay also when it comes through another process on the same store', async () => {
    const secret = await secretFor(account);
    const results = await Promise.all([
      service.issue(account.clientId, secret),
      makeService().issue(account.clientId, secret),
    ]);
    assert.equal(results.filter((r) => !('error' in r)).length, 1);
  });

  it('refuses a disabled account, and stops honouring its tokens once revocations are refreshed', async () => {
    const token = granted(await service.issue(account.clientId, await secretFor(account)));
    assert.ok(await service.verify(token.access_token));

    assert.equal(await disableAccount(store.db, account.clientId, now()), true);
    await service.refreshRevocations();
    assert.equal(await service.verify(token.access_token), null);

    clock += 30_000;
    const refused = await service.issue(account.clientId, await secretFor(account));
    assert.ok('error' in refused);
    assert.equal(refused.error, 'invalid_client');
  });

  it('while the store does not answer, keeps the last revocations and asks again once per refresh interval', async () => {
    const token = granted(await service.issue(account.clientId, await secretFor(account)));
    assert.ok(await service.verify(token.access_token));
    await store.close();
    const failures = () =>
      logged.filter((line) => (line as { event?: string }).event === 'revocations_refresh_failed').length;
    clock += 6000;
    for (let i = 0; i < 10; i++) {
      assert.ok(await service.verify(token.access_token), 'answered from the last set');
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(failures(), 1, 'one refresh for ten requests');
    clock += 6000;
    await service.verify(token.access_token);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(failures(), 2);
    store = openStore({ sqliteFile: join(dir, 'koppel.sqlite') });
  });

  it('answers slow_down with Retry-After after 5 failures within 5 minutes, per client', async () => {
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      const result = await service.issue(account.clientId, `${account.apiToken}000000`);
      assert.ok('error' in result && result.error === 'invalid_client');
    }
    clock += 1000;
    const limited = await service.issue(account.clientId, await secretFor(account));
    assert.ok('error' in limited);
    assert.equal(limited.error, 'slow_down');
    assert.equal(limited.status, 429);
    // The oldest failure was 5 s ago; it leaves the 300 s window in 295 s.
    assert.equal(limited.retryAfterSeconds, 295);

    const other = await createAccount(store.db, box, {
      name: 'other',
      scopes: ['admin'],
      employers: ['*'],
      now: now(),
    });
    granted(await service.issue(other.clientId, await secretFor(other)));

    clock += 295_000;
    granted(await service.issue(account.clientId, await secretFor(account)));
    assert.ok(logged.some((line) => (line as { event?: string }).event === 'oauth2_token_rate_limited'));
  });

  it('narrows to a requested subset of scopes and refuses a scope the account lacks', async () => {
    const secret = await secretFor(account);
    const refused = await service.issue(account.clientId, secret, 'messages:read admin');
    assert.ok('error' in refused);
    assert.equal(refused.error, 'invalid_scope');
    assert.equal(refused.status, 400);
    assert.match(refused.description, /admin/);

    // The refusal did not use up the code.
    const token = granted(await service.issue(account.clientId, secret, 'messages:read'));
    assert.equal(token.scope, 'messages:read');
    assert.deepEqual((await service.verify(token.access_token))?.scopes, ['messages:read']);
  });

  it('stops verifying a token once it expired (also when it was cached)', async () => {
    const token = granted(await service.issue(account.clientId, await secretFor(account)));
    assert.ok(await service.verify(token.access_token));
    clock += 899_000;
    assert.ok(await service.verify(token.access_token));
    clock += 1_000;
    assert.equal(await service.verify(token.access_token), null);
    const fresh = makeService();
    assert.equal(await fresh.verify(token.access_token), null);
  });

  it('publishes the signing key in the JWKS, without private parts', async () => {
    const token = granted(await service.issue(account.clientId, await secretFor(account)));
    const { kid } = decodeProtectedHeader(token.access_token);
    const { keys } = await service.jwks();
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.kid, kid);
    assert.equal(keys[0]?.kty, 'OKP');
    assert.equal(keys[0]?.crv, 'Ed25519');
    assert.equal(keys[0]?.alg, 'EdDSA');
    assert.equal(keys[0]?.d, undefined);
    const stored = await store.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    assert.match(stored.private_jwk, /^v1\./);
  });

  it('shares one signing key between processes on the same store', async () => {
    const other = makeService();
    const [a, b] = await Promise.all([service.jwks(), other.jwks()]);
    const token = granted(await other.issue(account.clientId, await secretFor(account)));
    assert.ok(await service.verify(token.access_token));
    const published = (await service.jwks()).keys.map((k) => k.kid);
    assert.ok(published.includes(decodeProtectedHeader(token.access_token).kid));
    assert.ok(a.keys.length >= 1 && b.keys.length >= 1);
  });

  it('refuses tokens signed by another key, of another issuer or audience, and garbage', async () => {
    const real = granted(await service.issue(account.clientId, await secretFor(account)));
    const { kid } = decodeProtectedHeader(real.access_token);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forge = (kidValue: string | undefined, iss = 'koppel', aud = 'koppel') =>
      new SignJWT({ scope: 'admin', employers: ['*'] })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...(kidValue ? { kid: kidValue } : {}) })
        .setIssuer(iss)
        .setAudience(aud)
        .setSubject(account.clientId)
        .setIssuedAt(clock / 1000)
        .setExpirationTime(clock / 1000 + 900)
        .setJti('x')
        .sign(privateKey);
    assert.equal(await service.verify(await forge(kid)), null);
    assert.equal(await service.verify(await forge('unknown-kid')), null);
    assert.equal(await service.verify(await forge(undefined)), null);
    assert.equal(await service.verify('not.a.jwt'), null);
    assert.equal(await service.verify(''), null);
    const otherIssuer = makeService({ issuer: 'someone-else' });
    assert.equal(await otherIssuer.verify(real.access_token), null);
  });

  it('keeps verifying correctly when the cache evicts', async () => {
    const small = makeService({ cacheSize: 1 });
    const first = granted(await small.issue(account.clientId, await secretFor(account)));
    clock += 30_000;
    const second = granted(await small.issue(account.clientId, await secretFor(account)));
    for (const token of [first, second, first, second]) {
      assert.equal((await small.verify(token.access_token))?.clientId, account.clientId);
    }
  });

  it('never logs a secret', async () => {
    const secret = await secretFor(account);
    granted(await service.issue(account.clientId, secret));
    await service.issue(account.clientId, secret);
    await service.issue(account.clientId, `${account.apiToken}123456`);
    const text = JSON.stringify(logged);
    assert.ok(logged.length >= 3);
    for (const value of [account.apiToken, account.totpSecret, secret.slice(-6)])
      assert.ok(!text.includes(value), value);
  });

  describe('handleTokenRequest (POST /oauth2/token)', () => {
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

    it('accepts HTTP Basic client authentication and answers no-store', async () => {
      const response = await service.handleTokenRequest({
        authorization: basic(account.clientId, await secretFor(account)),
        body: { grant_type: 'client_credentials', scope: 'messages:write' },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers?.['cache-control'], 'no-store');
      const body = response.body as TokenGranted;
      assert.equal(body.scope, 'messages:write');
      assert.ok(await service.verify(body.access_token));
    });

    it('accepts client_id and client_secret in the body', async () => {
      const response = await service.handleTokenRequest({
        body: {
          grant_type: 'client_credentials',
          client_id: account.clientId,
          client_secret: await secretFor(account),
        },
      });
      assert.equal(response.status, 200);
    });

    it('answers RFC 6749 errors', async () => {
      const secret = await secretFor(account);
      const cases: [Parameters<TokenService['handleTokenRequest']>[0], number, string][] = [
        [{ body: { client_id: account.clientId, client_secret: secret } }, 400, 'invalid_request'],
        [
          { body: { grant_type: 'password', client_id: account.clientId, client_secret: secret } },
          400,
          'unsupported_grant_type',
        ],
        [
          {
            authorization: basic(account.clientId, secret),
            body: { grant_type: 'client_credentials', client_secret: secret },
          },
          400,
          'invalid_request',
        ],
        [{ body: { grant_type: 'client_credentials' } }, 401, 'invalid_client'],
        [{ authorization: 'Bearer abc', body: { grant_type: 'client_credentials' } }, 401, 'invalid_client'],
        [{ body: 'grant_type=client_credentials' }, 400, 'invalid_request'],
        [
          { body: { grant_type: 'client_credentials', client_id: account.clientId, client_secret: 7 } },
          400,
          'invalid_request',
        ],
        [
          {
            authorization: basic(account.clientId, 'wrong000000'),
            body: { grant_type: 'client_credentials' },
          },
          401,
          'invalid_client',
        ],
      ];
      for (const [request, status, error] of cases) {
        const response = await service.handleTokenRequest(request);
        assert.equal(response.status, status, JSON.stringify(request));
        assert.equal((response.body as { error: string }).error, error);
        assert.equal(typeof (response.body as { error_description: string }).error_description, 'string');
        const challenge = response.headers?.['www-authenticate'];
        if (status === 401 && /^Basic /i.test(request.authorization ?? ''))
          assert.match(challenge ?? '', /^Basic /);
        else assert.equal(challenge, undefined, 'a Basic challenge only answers a client that used Basic');
      }
    });

    it('sends Retry-After with slow_down', async () => {
      const service2 = makeService({ rateLimit: { maxFailures: 1, windowSeconds: 60 } });
      await service2.issue(account.clientId, `${account.apiToken}000000`);
      const response = await service2.handleTokenRequest({
        body: {
          grant_type: 'client_credentials',
          client_id: account.clientId,
          client_secret: await secretFor(account),
        },
      });
      assert.equal(response.status, 429);
      assert.equal(response.headers?.['retry-after'], '60');
      assert.equal((response.body as { error: string }).error, 'slow_down');
    });
  });
});
