import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { OAuth2Server, type MutableResponse } from 'oauth2-mock-server';
import { createGuardedHttp, type GuardedHttp } from '../../../../gateway/adapter-kit/http.ts';
import { createOutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';
import { TokenCache, type OAuth2Client } from '../../../../adapters/webhooks/oauth2-token.ts';
import { sendWebhook, type SendInput } from '../../../../adapters/webhooks/transport.ts';
import { Receiver } from './receiver.ts';

interface TokenRequestSeen {
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

describe('webhooks: OAuth2 client credentials against oauth2-mock-server', () => {
  let server: OAuth2Server;
  let http: GuardedHttp;
  let receiver: Receiver;
  let tokenRequests: TokenRequestSeen[];
  let lifetimeSeconds: number;
  let client: OAuth2Client;
  /** RFC 6749 §2.3.1 as a server reads it: base64, split at the first colon, then form-decode each part. */
  const clientOf = (authorization: string | undefined): [string, string] | undefined => {
    if (!authorization?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return [decodeURIComponent(decoded.slice(0, colon)), decodeURIComponent(decoded.slice(colon + 1))];
  };

  before(async () => {
    server = new OAuth2Server();
    await server.issuer.keys.generate('RS256');
    await server.start(0, '127.0.0.1');
    // A real authorisation server checks the client; the mock does not for client_credentials, so we do.
    server.service.on(
      'beforeResponse',
      (response: MutableResponse, req: IncomingMessage & { body: Record<string, unknown> }) => {
        tokenRequests.push({ authorization: req.headers.authorization, body: req.body });
        const [id, secret] = clientOf(req.headers.authorization) ?? [];
        if (id !== 'koppel' || secret !== 'client secret/with:odd chars') {
          response.statusCode = 401;
          response.body = { error: 'invalid_client' };
          return;
        }
        if (typeof response.body === 'object') response.body['expires_in'] = lifetimeSeconds;
      },
    );
    server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
      token.payload['exp'] = Math.floor(Date.now() / 1000) + lifetimeSeconds;
      // Without a jti two tokens issued in the same second are identical; real servers' are not.
      token.payload['jti'] = randomUUID();
    });
  });
  after(() => server.stop());

  beforeEach(async () => {
    tokenRequests = [];
    lifetimeSeconds = 3600;
    http = createGuardedHttp(createOutboundGuard(['127.0.0.0/8']));
    receiver = await new Receiver().start();
    client = {
      // The issuer calls itself localhost; the guard refuses that name, allow-list or not (reported).
      tokenUrl: `${server.issuer.url?.replace('localhost', '127.0.0.1')}/token`,
      clientId: 'koppel',
      clientSecret: 'client secret/with:odd chars',
      scope: 'webhooks:receive',
      audience: 'https://receiver.example',
    };
  });
  afterEach(async () => {
    await receiver.stop();
    await http.close();
  });

  const input = (now: Date): SendInput => ({
    target: { id: 'r-1', url: receiver.url, auth: { protocol: 'oauth2', client, cacheKey: 'r-1:1' } },
    messageId: 'm-1',
    topic: 'Accounts.Update',
    body: '{"id":"m-1"}',
    sequence: 1,
    hubUrl: 'http://k/websub/hub',
    topicUrl: 'http://k/websub/topics/Accounts.Update',
    now,
    signal: new AbortController().signal,
    timeoutMs: 5000,
  });

  /** The receiver checks the bearer token as a resource server would: signature, issuer, audience. */
  async function verifiedBearer(index: number): Promise<Record<string, unknown>> {
    const header = receiver.received[index]?.headers.authorization ?? '';
    assert.match(header, /^Bearer /);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer.url?.replace('localhost', '127.0.0.1')}/jwks`));
    const { payload } = await jwtVerify(header.slice('Bearer '.length), jwks, {
      issuer: server.issuer.url ?? '',
    });
    return payload as Record<string, unknown>;
  }

  it('fetches a token with client credentials, sends it as Bearer, and reuses it', async () => {
    const tokens = new TokenCache(http, 60_000, 5000);
    const t0 = new Date();
    assert.equal((await sendWebhook(http, tokens, input(t0))).outcome.kind, 'delivered');
    assert.equal(
      (await sendWebhook(http, tokens, input(new Date(t0.getTime() + 1000)))).outcome.kind,
      'delivered',
    );
    assert.equal(tokenRequests.length, 1);
    assert.equal(tokenRequests[0]?.body['grant_type'], 'client_credentials');
    assert.equal(tokenRequests[0]?.body['scope'], 'webhooks:receive');
    assert.equal(tokenRequests[0]?.body['audience'], 'https://receiver.example');
    assert.equal(receiver.received.length, 2);
    const claims = await verifiedBearer(0);
    assert.equal(claims['scope'], 'webhooks:receive');
    assert.equal(receiver.received[0]?.headers.authorization, receiver.received[1]?.headers.authorization);
    assert.equal(receiver.received[0]?.headers['x-hub-signature'], undefined);
  });

  it('fetches a new token shortly before the old one expires', async () => {
    lifetimeSeconds = 120;
    const tokens = new TokenCache(http, 30_000, 5000);
    const t0 = new Date();
    await sendWebhook(http, tokens, input(t0));
    await sendWebhook(http, tokens, input(new Date(t0.getTime() + 89_000)));
    assert.equal(tokenRequests.length, 1, 'still valid 31 s before expiry');
    await sendWebhook(http, tokens, input(new Date(t0.getTime() + 91_000)));
    assert.equal(tokenRequests.length, 2, 'replaced within the 30 s margin');
    assert.notEqual(receiver.received[1]?.headers.authorization, receiver.received[2]?.headers.authorization);
    await verifiedBearer(2);
  });

  it('on a 401 fetches a fresh token once and tries again at once', async () => {
    const tokens = new TokenCache(http, 60_000, 5000);
    const t0 = new Date();
    await sendWebhook(http, tokens, input(t0));
    const revoked = receiver.received[0]?.headers.authorization;
    receiver.respond = (req, res) => res.writeHead(req.headers.authorization === revoked ? 401 : 200).end();
    const { outcome } = await sendWebhook(http, tokens, input(new Date(t0.getTime() + 1000)));
    assert.equal(outcome.kind, 'delivered');
    assert.equal(tokenRequests.length, 2);
    assert.equal(receiver.received.length, 3);
    assert.equal(receiver.received[1]?.headers.authorization, revoked);
    assert.notEqual(receiver.received[2]?.headers.authorization, revoked);
    await verifiedBearer(2);
  });

  it('retries on the schedule when the fresh token is refused as well (one refresh only)', async () => {
    const tokens = new TokenCache(http, 60_000, 5000);
    receiver.respond = (_req, res) => res.writeHead(401).end('{"error":"invalid_token"}');
    const { outcome } = await sendWebhook(http, tokens, input(new Date()));
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.kind === 'transient' && outcome.reason, 'HTTP 401');
    assert.equal(receiver.received.length, 2);
    assert.equal(tokenRequests.length, 2);
  });

  it('retries on the schedule when the authorisation server refuses the client, without posting', async () => {
    client = { ...client, clientSecret: 'wrong' };
    const tokens = new TokenCache(http, 60_000, 5000);
    const { outcome } = await sendWebhook(http, tokens, input(new Date()));
    assert.equal(outcome.kind, 'transient');
    assert.match(outcome.kind === 'transient' ? outcome.reason : '', /^token request failed: HTTP 401/);
    assert.equal(receiver.received.length, 0);
    assert.doesNotMatch(JSON.stringify(outcome), /wrong/, 'the client secret is not in the evidence');
  });

  it('shares one token request among concurrent deliveries', async () => {
    const tokens = new TokenCache(http, 60_000, 5000);
    const now = new Date();
    const results = await Promise.all([1, 2, 3, 4].map(() => sendWebhook(http, tokens, input(now))));
    assert.deepEqual(
      results.map((r) => r.outcome.kind),
      ['delivered', 'delivered', 'delivered', 'delivered'],
    );
    assert.equal(tokenRequests.length, 1);
  });

  it('refuses a token URL on a private address unless allowed, at connect time', async () => {
    const strict = createGuardedHttp(createOutboundGuard([]));
    try {
      const tokens = new TokenCache(strict, 60_000, 5000);
      const url = new URL(client.tokenUrl);
      client = { ...client, tokenUrl: `http://localhost:${url.port}${url.pathname}` };
      const { outcome } = await sendWebhook(strict, tokens, {
        ...input(new Date()),
        target: {
          id: 'r',
          url: 'https://93.184.215.14/hook',
          auth: { protocol: 'oauth2', client, cacheKey: 'x' },
        },
      });
      assert.equal(outcome.kind === 'skipped' && outcome.rule, 'outbound-url-refused');
      assert.match(outcome.kind === 'skipped' ? outcome.detail : '', /^token URL: /);
      assert.equal(tokenRequests.length, 0);
    } finally {
      await strict.close();
    }
  });
});
