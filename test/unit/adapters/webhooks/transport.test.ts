import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import {
  createGuardedHttp,
  type GuardedHttp,
  type HttpFailure,
  type HttpResponse,
} from '../../../../gateway/adapter-kit/http.ts';
import { createOutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';
import { TokenCache } from '../../../../adapters/webhooks/oauth2-token.ts';
import { classifyWebhook, sendWebhook, type SendInput } from '../../../../adapters/webhooks/transport.ts';
import { Receiver } from './receiver.ts';

const now = new Date('2025-05-01T12:00:00Z');
const response = (status: number, headers: Record<string, string> = {}): HttpResponse => ({
  kind: 'response',
  status,
  headers,
  body: `answer ${status}`,
  durationMs: 1,
});
const failure = (kind: HttpFailure['failure']): HttpFailure => ({
  kind: 'failure',
  failure: kind,
  message: kind,
});

describe('webhooks: classification', () => {
  const table: Array<[string, HttpResponse | HttpFailure, string, boolean]> = [
    ['200', response(200), 'delivered', false],
    ['202', response(202), 'delivered', false],
    ['204', response(204), 'delivered', false],
    ['301 (redirects are not followed)', response(301), 'transient', false],
    ['400', response(400), 'transient', false],
    ['401', response(401), 'transient', false],
    ['403', response(403), 'transient', false],
    ['404', response(404), 'transient', false],
    ['408', response(408), 'transient', false],
    ['410 Gone', response(410), 'rejected', true],
    ['413', response(413), 'transient', false],
    ['422', response(422), 'transient', false],
    ['429', response(429), 'transient', false],
    ['500', response(500), 'transient', false],
    ['503', response(503), 'transient', false],
    ['timeout', failure('timeout'), 'transient', false],
    ['connection', failure('connection'), 'transient', false],
    ['refused by the URL guard', failure('refused'), 'skipped', false],
  ];
  for (const [name, result, kind, gone] of table) {
    it(`${name} → ${kind}${gone ? ' + recipient disabled' : ''}`, () => {
      const classified = classifyWebhook(result, { summary: 'POST x' }, now);
      assert.equal(classified.outcome.kind, kind);
      assert.equal(classified.gone, gone);
    });
  }

  it('keeps the answer as evidence', () => {
    const { outcome } = classifyWebhook(response(500), { summary: 'POST x', body: '{}' }, now);
    assert.deepEqual(outcome.kind === 'transient' && outcome.evidence, {
      request: { summary: 'POST x', body: '{}' },
      response: { status: 500, body: 'answer 500' },
    });
  });

  it('reads Retry-After on 429 and 503 only', () => {
    const retryAfter = (r: HttpResponse) => {
      const { outcome } = classifyWebhook(r, undefined, now);
      return outcome.kind === 'transient' ? outcome.retryAfterMs : 'not transient';
    };
    assert.equal(retryAfter(response(429, { 'retry-after': '120' })), 120_000);
    assert.equal(
      retryAfter(response(503, { 'retry-after': new Date(now.getTime() + 90_000).toUTCString() })),
      90_000,
    );
    assert.equal(retryAfter(response(500, { 'retry-after': '120' })), undefined);
    assert.equal(retryAfter(response(408, { 'retry-after': '120' })), undefined);
  });
});

describe('webhooks: transport against a loopback receiver', () => {
  let http: GuardedHttp;
  let tokens: TokenCache;
  let receiver: Receiver;
  const secret = 'whsec_dGVzdCBzZWNyZXQgZm9yIHRoZSB0cmFuc3BvcnQgdGVzdA==';
  const body = '{"id":"m-1","topic":"Accounts.Update","timestamp":"2025-05-01T12:00:00Z","data":{"a":1}}';
  const input = (overrides: Partial<SendInput> = {}): SendInput => ({
    target: { id: 'r-1', url: receiver.url, auth: { protocol: 'websub', algorithm: 'sha256', secret } },
    messageId: 'm-1',
    topic: 'Accounts.Update',
    body,
    sequence: 7,
    hubUrl: 'https://koppel.example/websub/hub',
    topicUrl: 'https://koppel.example/websub/topics/Accounts.Update',
    now,
    signal: new AbortController().signal,
    timeoutMs: 5000,
    ...overrides,
  });

  beforeEach(async () => {
    http = createGuardedHttp(createOutboundGuard(['127.0.0.0/8']));
    tokens = new TokenCache(http, 60_000, 5000);
    receiver = await new Receiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    await http.close();
  });

  it('POSTs the exact body with the WebSub signature, Link headers and sequence', async () => {
    const { outcome } = await sendWebhook(http, tokens, input());
    assert.equal(outcome.kind, 'delivered');
    const [request] = receiver.received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.body, body);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(
      request.headers['x-hub-signature'],
      `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`,
    );
    assert.equal(
      request.headers['link'],
      '<https://koppel.example/websub/hub>; rel="hub", <https://koppel.example/websub/topics/Accounts.Update>; rel="self"',
    );
    assert.equal(request.headers['x-koppel-sequence'], '7');
    assert.equal(request.headers['x-koppel-message-id'], 'm-1');
    assert.equal(request.headers['webhook-signature'], undefined, 'Standard Webhooks only when asked');
    assert.equal(outcome.kind === 'delivered' && outcome.evidence.request?.body, body);
  });

  it('does not follow a redirect', async () => {
    const elsewhere = await new Receiver().start();
    try {
      receiver.respond = (_req, res) => res.writeHead(307, { location: elsewhere.url }).end();
      const { outcome } = await sendWebhook(http, tokens, input());
      assert.equal(outcome.kind, 'transient');
      assert.equal(outcome.kind === 'transient' && outcome.reason, 'HTTP 307');
      assert.equal(elsewhere.received.length, 0);
    } finally {
      await elsewhere.stop();
    }
  });

  it('counts a receiver that does not answer within the timeout as transient', async () => {
    receiver.respond = () => undefined;
    const { outcome } = await sendWebhook(http, tokens, input({ timeoutMs: 200 }));
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.kind === 'transient' && outcome.evidence?.response?.status, 'timeout');
  });

  it('counts a receiver that is down as transient', async () => {
    await receiver.stop();
    const { outcome } = await sendWebhook(http, tokens, input());
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.kind === 'transient' && outcome.evidence?.response?.status, 'connection');
  });

  it('ends on 410 Gone and says the recipient is gone', async () => {
    receiver.respond = (_req, res) => res.writeHead(410).end('unsubscribed');
    const result = await sendWebhook(http, tokens, input());
    assert.equal(result.outcome.kind, 'rejected');
    assert.equal(result.gone, true);
  });

  it('passes Retry-After of a 429 on', async () => {
    receiver.respond = (_req, res) => res.writeHead(429, { 'retry-after': '7200' }).end();
    const { outcome } = await sendWebhook(http, tokens, input());
    assert.equal(outcome.kind === 'transient' && outcome.retryAfterMs, 7_200_000);
  });

  it('refuses loopback without an allow-list: literal, localhost, and a name that resolves to loopback', async () => {
    const strict = createGuardedHttp(createOutboundGuard([]));
    try {
      const urls = [
        receiver.url,
        `http://localhost:${receiver.port}/hook`,
        `http://[::ffff:127.0.0.1]:${receiver.port}/hook`,
      ];
      const local = hostname();
      const resolved = await lookup(local).catch(() => undefined);
      if (resolved?.address.startsWith('127.')) urls.push(`http://${local}:${receiver.port}/hook`);
      for (const url of urls) {
        const { outcome } = await sendWebhook(
          strict,
          tokens,
          input({ target: { id: 'r', url, auth: { protocol: 'websub', algorithm: 'sha256', secret } } }),
        );
        assert.equal(outcome.kind === 'skipped' && outcome.rule, 'outbound-url-refused', url);
      }
      assert.equal(receiver.received.length, 0);
    } finally {
      await strict.close();
    }
  });
});
