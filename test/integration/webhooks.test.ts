import assert from 'node:assert/strict';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OAuth2Server, type MutableResponse } from 'oauth2-mock-server';
import { Webhook } from 'standardwebhooks';
import { webhooks } from '../../adapters/webhooks/index.ts';
import { describeAdapterConformance, type ConformanceHarness } from '../conformance/adapter-conformance.ts';
import { exampleData, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { Receiver, type Received } from '../unit/adapters/webhooks/receiver.ts';

const HUB_ACCOUNT = 'websub-subscribers';
const EMPLOYER = 'WG-1001';

function absenceEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: `evt-${randomUUID()}`,
    source: 'urn:nld:oin:00000001823288444000:systeem:test',
    type: 'nl.verzuim.verzuimmelding-gedaan',
    subject: `VZ-${randomUUID().slice(0, 8)}`,
    time: '2026-11-23T10:00:00Z',
    datacontenttype: 'application/json',
    data: exampleData('nl.verzuim.verzuimmelding-gedaan'),
    ...overrides,
  };
}

/** What a WebSub subscriber does with X-Hub-Signature (independent of Koppel's code). */
function websubValid(request: Received, secret: string): boolean {
  const [method, hex = ''] = String(request.headers['x-hub-signature']).split('=');
  if (method !== 'sha256') return false;
  const expected = createHmac('sha256', secret).update(Buffer.from(request.body, 'utf8')).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Creates `count` WebSub recipients (with Standard Webhooks signing) for one topic through the
 * management API, all pointing at `url`; for the bench's signed-deliveries/s scenario.
 */
export async function setUpRecipients(
  gateway: Pick<TestGateway, 'request'>,
  adminToken: string,
  options: { count: number; url: string; account: string; topic?: string },
): Promise<Array<{ id: string; secret: string }>> {
  const created: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < options.count; i += 1) {
    const answer = await gateway.request('POST', '/v1/webhooks/recipients', {
      token: adminToken,
      body: {
        url: `${options.url}?r=${i}`,
        topics: [options.topic ?? 'Absences.Create'],
        account: options.account,
        standardWebhooks: true,
        description: `bench ${i}`,
      },
    });
    if (answer.status !== 201)
      throw new Error(`recipient ${i}: ${answer.status} ${JSON.stringify(answer.body)}`);
    created.push({ id: answer.body.id, secret: answer.body.secret });
  }
  return created;
}

describe('webhooks adapter through the gateway', function () {
  this.timeout(30_000);
  let gw: TestGateway;
  let admin: string;
  let receiver: Receiver;

  before(async () => {
    gw = await startGateway({
      adapters: [webhooks],
      env: { KOPPEL_RETRY_WEBHOOKS: '50ms,50ms,50ms,50ms' },
      adapterSettings: {
        webhooks: {
          publicUrl: 'https://koppel.example',
          healthCacheMs: 0,
          housekeepingIntervalMs: 100,
          hub: { enabled: true, accountClientId: HUB_ACCOUNT },
        },
      },
    });
    admin = await gw.token();
    await gw.gateway.store.db
      .insertInto('accounts')
      .values({
        id: randomUUID(),
        client_id: HUB_ACCOUNT,
        name: 'WebSub subscribers',
        scopes: '[]',
        employers: JSON.stringify([EMPLOYER]),
        token_hash: '-',
        totp_secret: '-',
        last_totp_step: null,
        disabled_at: null,
        created_at: Date.now(),
      })
      .execute();
  });
  after(() => gw.stop());

  beforeEach(async () => {
    receiver = await new Receiver().start();
  });
  afterEach(() => receiver.stop());

  const api = (method: string, path: string, body?: unknown) =>
    gw.request(method, path, { token: admin, ...(body !== undefined ? { body } : {}) });

  async function recipient(body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
    const { clientId } = await gw.account(['messages:read'], ['*']);
    const answer = await api('POST', '/v1/webhooks/recipients', {
      url: receiver.url,
      topics: ['Absences.Create'],
      account: clientId,
      ...body,
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return { id: answer.body.id, secret: answer.body.secret };
  }

  async function logEntry(recipientId: string, status: string) {
    return gw.eventually(async () => {
      const page = await api('GET', `/v1/webhooks/log?recipient=${recipientId}&status=${status}`);
      return page.body.items?.[0] as Record<string, any> | undefined;
    });
  }

  it('delivers a signed event, verifiable with node:crypto and the standardwebhooks package, and logs it', async () => {
    const { id, secret } = await recipient({ standardWebhooks: true });
    const accepted = await gw.post(absenceEvent());
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await receiver.waitFor(1);
    const [request] = receiver.received;
    assert.ok(request);
    assert.ok(websubValid(request, secret), 'X-Hub-Signature');
    const event = new Webhook(secret).verify(
      request.body,
      request.headers as Record<string, string>,
    ) as Record<string, any>;
    assert.equal(event['id'], accepted.body.id, 'the Koppel message id');
    assert.equal(event['topic'], 'Absences.Create');
    assert.equal(request.headers['x-koppel-sequence'], '1');
    assert.match(String(request.headers['link']), /<https:\/\/koppel\.example\/websub\/hub>; rel="hub"/);

    const entry = await logEntry(id, 'delivered');
    assert.equal(entry['statusCode'], 204);
    assert.equal(entry['attempts'], 1);
    assert.equal(entry['body'], request.body, 'the log shows the exact bytes sent');
    const detail = await api('GET', `/v1/webhooks/log/${entry['id']}`);
    assert.equal(detail.body.attemptLog.length, 1);
    assert.ok(
      !JSON.stringify((await api('GET', `/v1/webhooks/recipients/${id}`)).body).includes(secret),
      'the secret is not shown again',
    );
    assert.ok(!gw.logs.text().includes(secret), 'nor logged');
  });

  it('numbers the events of one subject per recipient, within one ingest group and across groups', async () => {
    await recipient();
    const subject = `VZ-${randomUUID().slice(0, 8)}`;
    const batch = await gw.request('POST', '/v1/messages/batch', {
      body: [absenceEvent({ subject }), absenceEvent(), absenceEvent({ subject }), absenceEvent({ subject })],
      token: await gw.token(['messages:write']),
    });
    assert.equal(batch.status, 207, JSON.stringify(batch.body));
    const later = await gw.post(absenceEvent({ subject }));
    assert.equal(later.status, 202);
    await receiver.waitFor(5);
    const sequenceOf = (id: string) =>
      receiver.received.find((r) => JSON.parse(r.body).id === id)?.headers['x-koppel-sequence'];
    const ids = (batch.body.results as Array<{ id: string }>).map((r) => r.id);
    assert.deepEqual(
      [ids[0], ids[2], ids[3], later.body.id].map((id) => sequenceOf(id as string)),
      ['1', '2', '3', '4'],
    );
    assert.equal(sequenceOf(ids[1] as string), '1', 'another subject counts on its own');
  });

  it('retries on the (shortened) schedule, then fails with the last answer; a resend is a new attempt of the same delivery', async () => {
    const { id } = await recipient();
    receiver.respond = (_req, res) => res.writeHead(500).end('receiver broken');
    const accepted = await gw.post(absenceEvent());
    const failed = await logEntry(id, 'failed');
    assert.equal(failed['attempts'], 5, 'the first attempt and four retries');
    assert.equal(failed['statusCode'], 500);
    assert.equal(receiver.received.length, 5);
    assert.equal(
      new Set(receiver.received.map((r) => JSON.parse(r.body).id)).size,
      1,
      'one message id on every attempt',
    );
    const errors = await gw.get(`/v1/errors?adapter=webhooks`);
    assert.ok(
      errors.body.items.some(
        (e: any) => e.deliveryId === failed['id'] && e.kind === 'exhausted' && e.partnerStatus === '500',
      ),
    );

    receiver.respond = (_req, res) => res.writeHead(200).end();
    assert.equal((await api('POST', `/v1/webhooks/log/${failed['id']}/resend`)).status, 202);
    const delivered = await logEntry(id, 'delivered');
    assert.equal(delivered['id'], failed['id'], 'the same delivery, not a second one');
    assert.equal(delivered['attempts'], 6);
    assert.equal(JSON.parse(receiver.received[5]?.body ?? '{}').id, accepted.body.id);
  });

  it('recovers every failed delivery of a recipient since a time', async () => {
    const { id } = await recipient({ retryDelaysMs: [20] });
    receiver.respond = (_req, res) => res.writeHead(503).end();
    const since = new Date().toISOString();
    await gw.post(absenceEvent());
    await gw.post(absenceEvent());
    await gw.eventually(async () =>
      (await api('GET', `/v1/webhooks/log?recipient=${id}&status=failed`)).body.items.length === 2
        ? true
        : undefined,
    );
    assert.equal(receiver.received.length, 4, "the recipient's own schedule: one retry each");
    receiver.respond = (_req, res) => res.writeHead(204).end();
    const recovered = await api(
      'POST',
      `/v1/webhooks/recipients/${id}/recover?since=${encodeURIComponent(since)}`,
    );
    assert.equal(recovered.body.resent, 2);
    await gw.eventually(async () =>
      (await api('GET', `/v1/webhooks/log?recipient=${id}&status=delivered`)).body.items.length === 2
        ? true
        : undefined,
    );
  });

  it('sends nothing more to a deleted recipient, which keeps its log', async () => {
    const { id } = await recipient();
    await gw.post(absenceEvent());
    await logEntry(id, 'delivered');
    assert.equal((await api('DELETE', `/v1/webhooks/recipients/${id}`)).status, 204);
    const later = await gw.post(absenceEvent());
    assert.deepEqual(
      later.body.deliveries.filter((d: any) => d.target === id),
      [],
      'not planned',
    );
    const listed = await api('GET', '/v1/webhooks/recipients?includeDeleted=true');
    assert.equal(listed.body.items.find((r: any) => r.id === id)?.status, 'deleted');
    assert.ok(!(await api('GET', '/v1/webhooks/recipients')).body.items.some((r: any) => r.id === id));
    assert.equal((await api('GET', `/v1/webhooks/log?recipient=${id}`)).body.items.length, 1);
    assert.equal(receiver.received.length, 1);
  });

  it('sends nothing to a recipient whose account may not see the employer, and counts it', async () => {
    const { clientId } = await gw.account(['messages:read'], ['WG-9999']);
    const created = await api('POST', '/v1/webhooks/recipients', {
      url: receiver.url,
      topics: ['Absences.Create'],
      account: clientId,
    });
    const id = created.body.id as string;
    const accepted = await gw.post(absenceEvent());
    assert.deepEqual(
      accepted.body.deliveries.filter((d: any) => d.target === id),
      [],
    );
    const counted = await gw.eventually(async () => {
      const shown = await api('GET', `/v1/webhooks/recipients/${id}`);
      return shown.body.filteredEvents === 1 ? shown.body : undefined;
    });
    assert.equal(counted.filteredEvents, 1);
    assert.equal(receiver.received.length, 0);
  });

  it('skips a recipient whose URL is on a private network (SSRF), without a request', async () => {
    const { id } = await recipient({ url: 'http://169.254.169.254/latest/meta-data/' });
    await gw.post(absenceEvent());
    const entry = await logEntry(id, 'failed');
    assert.match(entry['reason'], /^outbound-url-refused: /);
    assert.equal(entry['attempts'], 1, 'not retried');
  });

  it('disables a recipient that answers 410 Gone', async () => {
    const { id } = await recipient();
    receiver.respond = (_req, res) => res.writeHead(410).end();
    await gw.post(absenceEvent());
    await logEntry(id, 'failed');
    assert.equal((await api('GET', `/v1/webhooks/recipients/${id}`)).body.status, 'disabled');
  });

  describe('WebSub hub', () => {
    const subscribe = (callback: string) =>
      gw.request('POST', '/websub/hub', {
        body: new URLSearchParams({
          'hub.mode': 'subscribe',
          'hub.topic': 'https://koppel.example/websub/topics/Absences.Create',
          'hub.callback': callback,
          'hub.secret': 'subscriber-secret',
          'hub.lease_seconds': '3600',
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

    it('subscribes a subscriber that echoes the challenge; it then receives signed events', async () => {
      receiver.respond = (req, res) => {
        const challenge = new URL(req.url, 'http://x').searchParams.get('hub.challenge');
        res.writeHead(challenge ? 200 : 204).end(challenge ?? '');
      };
      assert.equal((await subscribe(receiver.url)).status, 202);
      const subscription = await gw.eventually(async () =>
        (await api('GET', '/v1/webhooks/recipients')).body.items.find(
          (r: any) => r.origin === 'websub-hub' && r.url === receiver.url,
        ),
      );
      assert.equal(subscription.account, HUB_ACCOUNT);
      await gw.post(absenceEvent());
      await receiver.waitFor(2);
      const event = receiver.received[1];
      assert.ok(event && websubValid(event, 'subscriber-secret'));
    });

    it('does not subscribe a subscriber that does not echo the challenge', async () => {
      receiver.respond = (_req, res) => res.writeHead(200).end('ok');
      assert.equal((await subscribe(receiver.url)).status, 202);
      await gw.eventually(async () =>
        gw.logs.lines().some((l) => l['msg'] === 'websub_intent_not_verified') ? true : undefined,
      );
      const all = (await api('GET', '/v1/webhooks/recipients?includeDeleted=true')).body.items;
      assert.ok(!all.some((r: any) => r.url === receiver.url));
    });
  });
});

describe('webhooks adapter: OAuth2 recipients against oauth2-mock-server', function () {
  this.timeout(30_000);
  let gw: TestGateway;
  let server: OAuth2Server;
  let receiver: Receiver;
  let tokenRequests = 0;

  before(async () => {
    server = new OAuth2Server();
    await server.issuer.keys.generate('RS256');
    await server.start(0, '127.0.0.1');
    server.service.on('beforeResponse', (_response: MutableResponse, _req: IncomingMessage) => {
      tokenRequests += 1;
    });
    server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
      token.payload['jti'] = randomUUID();
    });
    gw = await startGateway({ adapters: [webhooks], env: { KOPPEL_RETRY_WEBHOOKS: '50ms' } });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await receiver.stop();
    await gw.stop();
    await server.stop();
  });

  it('fetches a token, reuses it, and on a 401 fetches a fresh one and tries again at once', async () => {
    const admin = await gw.token();
    const { clientId } = await gw.account(['messages:read'], ['*']);
    const created = await gw.request('POST', '/v1/webhooks/recipients', {
      token: admin,
      body: {
        url: receiver.url,
        topics: ['Absences.Create'],
        account: clientId,
        protocol: 'oauth2',
        oauth2: {
          tokenUrl: `${server.issuer.url?.replace('localhost', '127.0.0.1')}/token`,
          clientId: 'koppel',
          clientSecret: 'oauth-client-secret',
          scope: 'events',
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await gw.post(absenceEvent());
    await gw.post(absenceEvent());
    await receiver.waitFor(2);
    assert.equal(tokenRequests, 1, 'cached');
    const first = receiver.received[0]?.headers.authorization;
    assert.match(String(first), /^Bearer ey/);
    assert.equal(receiver.received[1]?.headers.authorization, first);

    receiver.respond = (req, res) => res.writeHead(req.headers.authorization === first ? 401 : 200).end();
    await gw.post(absenceEvent());
    await receiver.waitFor(4);
    assert.equal(tokenRequests, 2);
    assert.notEqual(receiver.received[3]?.headers.authorization, first);
    const log = await gw.eventually(async () => {
      const page = await gw.request('GET', `/v1/webhooks/log?recipient=${created.body.id}&status=delivered`, {
        token: admin,
      });
      return page.body.items.length === 3 ? page.body.items : undefined;
    });
    assert.ok(
      log.every((entry: any) => entry.attempts === 1),
      'the refresh happened within one attempt',
    );
    assert.ok(!gw.logs.text().includes('oauth-client-secret'));
  });
});

describeAdapterConformance('webhooks', async () => {
  const receiver = await new Receiver().start();
  const secrets: string[] = [];
  let refuse = false;
  let recipientId = '';
  receiver.respond = (_req, res) => {
    res.writeHead(refuse ? 410 : 204).end();
    refuse = false;
  };
  const harness = {
    adapter: webhooks,
    settings: { healthCacheMs: 0 },
    secrets,
    managementPaths: ['/v1/webhooks/recipients?includeDeleted=true', '/v1/webhooks/log'],
    async prepare(gw: TestGateway) {
      const { clientId } = await gw.account(['messages:read'], ['*']);
      const created = await gw.request('POST', '/v1/webhooks/recipients', {
        token: await gw.token(['admin']),
        body: { url: receiver.url, topics: ['Absences.Create'], account: clientId, standardWebhooks: true },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      recipientId = created.body.id;
      secrets.push(created.body.secret);
    },
    /** The webhook "no" is 410 Gone, which disables the recipient; the admin enables it again. */
    async fixRefusal(gw: TestGateway) {
      const answer = await gw.request('PATCH', `/v1/webhooks/recipients/${recipientId}`, {
        token: await gw.token(['admin']),
        body: { enabled: true },
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    },
    event: () => absenceEvent(),
    partner: {
      attemptedMessageIds: () =>
        receiver.received
          .filter((r) => r.method === 'POST')
          .map((r) => String(r.headers['x-koppel-message-id'])),
      down: () => receiver.stop(),
      up: async () => {
        if (!receiver.listening) await receiver.start();
      },
      refuseNext: () => {
        refuse = true;
      },
      openConnections: () => receiver.openConnections(),
    },
    stop: () => receiver.stop(),
  };
  return harness as ConformanceHarness;
});
