import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import type {
  AdapterInstance,
  ApiResponse,
  CanonicalMessage,
  CanonicalMessageInput,
  Delivery,
} from '../../../../gateway/adapter-kit/index.ts';
import { adapterDeliveries } from '../../../../gateway/management/adapter-deliveries.ts';
import { createGuardedHttp, type GuardedHttp } from '../../../../gateway/adapter-kit/http.ts';
import { createOutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';
import { createSecretBox } from '../../../../gateway/security/secrets.ts';
import { openStore, type Store } from '../../../../gateway/store/db.ts';
import { webhooks } from '../../../../adapters/webhooks/index.ts';
import { expireLeases, noticeFailures } from '../../../../adapters/webhooks/housekeeping.ts';
import { migrations } from '../../../../adapters/webhooks/migrations/0001-recipients.ts';
import { TokenCache } from '../../../../adapters/webhooks/oauth2-token.ts';
import { resolveSettings, type WebhooksSettings } from '../../../../adapters/webhooks/settings.ts';
import { Receiver } from './receiver.ts';
import { createCanonicalValidator } from '../../../../gateway/ingest/canonical-validator.ts';
import { findAccountView } from '../../../../gateway/auth/accounts.ts';

const canonical = createCanonicalValidator();

const example = JSON.parse(
  readFileSync(
    new URL(
      '../../../../schemas/canonical/examples/nl.verzuim.verzuimmelding-gedaan/ziekmelding.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { data: { werknemer: { werkgever: { werkgeverId: string } } } };
const EMPLOYER = example.data.werknemer.werkgever.werkgeverId;

describe('webhooks adapter over a real store', () => {
  let dir: string;
  let store: Store;
  let http: GuardedHttp;
  let instance: AdapterInstance;
  let receiver: Receiver;
  let clock: Date;
  let posted: CanonicalMessageInput[];
  let madeDue: string[][];
  let settings: WebhooksSettings;
  const runtime = new Map<string, unknown>();
  const box = createSecretBox(randomBytes(32));

  const call = (
    operationId: string,
    request: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
  ) => {
    const handlers = { ...instance.management, ...instance.inbound };
    const handler = handlers[operationId];
    assert.ok(handler, operationId);
    return handler({
      operationId,
      params: request.params ?? {},
      query: request.query ?? {},
      headers: {},
      body: request.body,
    });
  };
  const body = (response: ApiResponse) => response.body as Record<string, any>;

  async function addAccount(clientId: string, employers: string[]): Promise<void> {
    await store.db
      .insertInto('accounts')
      .values({
        id: randomUUID(),
        client_id: clientId,
        name: clientId,
        scopes: '["admin"]',
        employers: JSON.stringify(employers),
        token_hash: 'x',
        totp_secret: 'x',
        last_totp_step: null,
        disabled_at: null,
        created_at: 0,
      })
      .execute();
  }

  async function createRecipient(
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; secret: string }> {
    const created = await call('webhooks.createRecipient', {
      body: { url: receiver.url, topics: ['Absences.Create'], account: 'all', ...extra },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return { id: body(created)['id'], secret: body(created)['secret'] };
  }

  function message(
    data: unknown = example.data,
    type = 'nl.verzuim.verzuimmelding-gedaan',
  ): CanonicalMessage {
    return {
      id: randomUUID(),
      type,
      source: 'urn:test',
      eventId: randomUUID(),
      subject: 'VZ-1',
      receivedAt: clock,
      data,
      envelope: {},
    };
  }

  /** The rows the core writes at ingest, so that log, resend and recover have something to read. */
  async function storeDelivery(
    msg: CanonicalMessage,
    target: string,
    status: string,
    extra: Record<string, unknown> = {},
  ): Promise<Delivery> {
    await store.db
      .insertInto('messages')
      .values({
        id: msg.id,
        source: msg.source,
        event_id: msg.eventId,
        type: msg.type,
        subject: msg.subject ?? null,
        event_time: null,
        received_at: msg.receivedAt.getTime(),
        envelope: JSON.stringify({ type: msg.type, data: msg.data }),
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const id = randomUUID();
    await store.db
      .insertInto('deliveries')
      .values({
        id,
        message_id: msg.id,
        adapter: 'webhooks',
        target,
        target_label: receiver.url,
        ordering_key: null,
        sequence_key: null,
        ordering_position: '0',
        sequence: 1,
        status: status as 'pending',
        attempts: 0,
        failures: 0,
        next_attempt_at: null,
        lease_until: null,
        leased_by: null,
        last_outcome: null,
        last_reason: null,
        last_status: null,
        created_at: clock.getTime(),
        updated_at: clock.getTime(),
        finished_at: null,
        ...extra,
      })
      .execute();
    return { id, adapter: 'webhooks', target, sequence: 1, message: msg };
  }

  /** The same parts create() gives the housekeeping job. */
  const housekeepingDeps = () => ({
    db: store.db,
    log: pino({ level: 'silent' }),
    secrets: box,
    http,
    tokens: new TokenCache(http, 0, 1000),
    now: () => clock,
    settings: resolveSettings(settings, 'https://koppel.example'),
    retryDeliveries: async (ids: readonly string[]) => (madeDue.push([...ids]), ids.length),
    deliveries: adapterDeliveries(store.db, 'webhooks'),
    account: (id: string) => findAccountView(store.db, id),
    runtimeSettings: {
      get: async <T>(k: string) => runtime.get(k) as T | undefined,
      set: async (k: string, v: unknown) => void runtime.set(k, v),
    },
    post: async (m: CanonicalMessageInput) => (posted.push(m), { id: randomUUID(), duplicate: false }),
  });

  const attempt = (at = clock) => ({
    number: 1,
    now: at,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    memo: new Map<string, unknown>(),
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'koppel-webhooks-'));
    store = openStore({ sqliteFile: join(dir, 'koppel.db') });
    await store.migrate(new Map([['webhooks', migrations]]));
    await addAccount('all', ['*']);
    await addAccount('mine', [EMPLOYER]);
    await addAccount('other', ['WG-9999']);
    http = createGuardedHttp(createOutboundGuard(['127.0.0.0/8']));
    receiver = await new Receiver().start();
    // Real time: receivers (the standardwebhooks verifier) refuse stale timestamps. Moved by hand only.
    clock = new Date();
    posted = [];
    madeDue = [];
    runtime.clear();
    settings = {
      publicUrl: 'https://koppel.example',
      healthCacheMs: 0,
      hub: { enabled: true, accountClientId: 'mine', minLeaseSeconds: 60 },
    };
    instance = await webhooks.create({
      settings,
      log: pino({ level: 'silent' }),
      http,
      db: store.db,
      dialect: 'sqlite',
      secrets: box,
      now: () => clock,
      employerPointer: (type) => canonical.employerPointer(type),
      account: (id) => findAccountView(store.db, id),
      publicUrl: 'https://koppel.example',
      post: async (m) => {
        posted.push(m);
        return { id: randomUUID(), duplicate: false };
      },
      retryDeliveries: async (ids) => {
        madeDue.push([...ids]);
        return ids.length;
      },
      deliveries: adapterDeliveries(store.db, 'webhooks'),
      runtimeSettings: {
        get: async <T>(k: string) => runtime.get(k) as T | undefined,
        set: async (k, v) => void runtime.set(k, v),
      },
    });
  });

  afterEach(async () => {
    await instance.close();
    await receiver.stop();
    await http.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('recipients API', () => {
    it('returns the secret once, never again, and stores it sealed', async () => {
      const { id, secret } = await createRecipient({ oauth2: undefined, description: 'HR system' });
      assert.match(secret, /^whsec_/);
      const fetched = body(await call('webhooks.getRecipient', { params: { id } }));
      const listed = body(await call('webhooks.listRecipients'));
      for (const shown of [JSON.stringify(fetched), JSON.stringify(listed)])
        assert.ok(!shown.includes(secret));
      assert.equal(fetched['description'], 'HR system');
      const row = await store.db
        .selectFrom('webhooks_recipients' as any)
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(secret), 'sealed at rest');
    });

    it('never returns the OAuth2 client secret', async () => {
      const created = await call('webhooks.createRecipient', {
        body: {
          url: receiver.url,
          topics: ['Absences.Create'],
          account: 'all',
          protocol: 'oauth2',
          oauth2: {
            tokenUrl: 'https://auth.example/token',
            clientId: 'c',
            clientSecret: 'very-secret-client',
          },
        },
      });
      assert.equal(created.status, 201);
      const id = body(created)['id'];
      for (const response of [
        created,
        await call('webhooks.getRecipient', { params: { id } }),
        await call('webhooks.listRecipients'),
      ]) {
        assert.ok(!JSON.stringify(response.body).includes('very-secret-client'));
      }
      assert.equal(body(created)['oauth2']['clientId'], 'c');
    });

    it('refuses an unknown account, unknown topics and an oauth2 recipient without its client', async () => {
      const unknown = await call('webhooks.createRecipient', {
        body: { url: receiver.url, topics: ['Absences.Create'], account: 'nobody' },
      });
      assert.equal(unknown.status, 422);
      assert.equal(body(unknown)['type'], 'webhooks-unknown-account');
      const bad = await call('webhooks.createRecipient', {
        body: { url: receiver.url, topics: ['Nope.Create'], account: 'all', protocol: 'oauth2' },
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(
        body(bad)
          ['errors'].map((e: { pointer: string }) => e.pointer)
          .sort(),
        ['/body/oauth2/clientId', '/body/oauth2/clientSecret', '/body/oauth2/tokenUrl', '/body/topics/0'],
      );
    });

    it('keeps a deleted recipient in the overview only when asked, and refuses to change it', async () => {
      const { id } = await createRecipient();
      assert.equal((await call('webhooks.deleteRecipient', { params: { id } })).status, 204);
      assert.equal(body(await call('webhooks.listRecipients'))['items'].length, 0);
      const all = body(await call('webhooks.listRecipients', { query: { includeDeleted: 'true' } }))['items'];
      assert.equal(all.length, 1);
      assert.equal(all[0].status, 'deleted');
      assert.equal(
        (await call('webhooks.updateRecipient', { params: { id }, body: { description: 'x' } })).status,
        409,
      );
      assert.equal((await call('webhooks.getRecipient', { params: { id: randomUUID() } })).status, 404);
    });

    it('lists the topics with their WebSub topic URLs', async () => {
      const items = body(await call('webhooks.listTopics'))['items'];
      assert.ok(
        items.some(
          (t: any) =>
            t.topic === 'Absences.Create' &&
            t.type === 'nl.verzuim.verzuimmelding-gedaan' &&
            t.url === 'https://koppel.example/websub/topics/Absences.Create',
        ),
      );
    });
  });

  describe('plan: the authorisation filter at ingest', () => {
    it('plans recipients whose account may see the employer, and counts the others', async () => {
      const everything = await createRecipient({ account: 'all' });
      const mine = await createRecipient({ account: 'mine' });
      const other = await createRecipient({ account: 'other' });
      const otherTopic = await createRecipient({ account: 'all', topics: ['Accounts.Update'] });
      const targets = await instance.plan(message(), {
        db: store.db,
        memo: new Map(),
        account: (id: string) => findAccountView(store.db, id),
      });
      assert.deepEqual(targets.map((t) => t.target).sort(), [everything.id, mine.id].sort());
      assert.ok(
        targets.every(
          (t) => t.sequenceKey === 'VZ-1' && t.orderingKey === undefined && t.label === receiver.url,
        ),
      );
      await instance.plan(message(), {
        db: store.db,
        memo: new Map(),
        account: (id: string) => findAccountView(store.db, id),
      });
      await instance.close();
      const shown = body(await call('webhooks.getRecipient', { params: { id: other.id } }));
      assert.equal(shown['filteredEvents'], 2);
      assert.deepEqual(shown['filteredByDay'], [{ day: clock.toISOString().slice(0, 10), count: 2 }]);
      assert.equal(
        body(await call('webhooks.getRecipient', { params: { id: otherTopic.id } }))['filteredEvents'],
        0,
      );
    });

    it('plans nothing for deleted or disabled recipients, nor for a disabled account', async () => {
      const deleted = await createRecipient();
      await call('webhooks.deleteRecipient', { params: { id: deleted.id } });
      const disabled = await createRecipient();
      await call('webhooks.updateRecipient', { params: { id: disabled.id }, body: { enabled: false } });
      await createRecipient({ account: 'mine' });
      await store.db
        .updateTable('accounts')
        .set({ disabled_at: 1 })
        .where('client_id', '=', 'mine')
        .execute();
      assert.deepEqual(
        await instance.plan(message(), {
          db: store.db,
          memo: new Map(),
          account: (id: string) => findAccountView(store.db, id),
        }),
        [],
      );
    });
  });

  describe('deliver', () => {
    it('sends the signed event with the sequence, and Standard Webhooks headers when asked', async () => {
      const { id, secret } = await createRecipient({ standardWebhooks: true });
      const msg = message();
      const outcome = await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 3, message: msg },
        attempt(),
      );
      assert.equal(outcome.kind, 'delivered');
      const [request] = receiver.received;
      assert.ok(request);
      assert.equal(
        request.headers['x-hub-signature'],
        `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`,
      );
      assert.equal(request.headers['x-koppel-sequence'], '3');
      const event = new Webhook(secret).verify(
        request.body,
        request.headers as Record<string, string>,
      ) as Record<string, unknown>;
      assert.equal(event['id'], msg.id);
      assert.equal(event['topic'], 'Absences.Create');
      assert.deepEqual(event['data'], example.data);
    });

    it('re-checks the authorisation at send time', async () => {
      const { id } = await createRecipient({ account: 'mine' });
      const msg = message();
      assert.equal(
        (
          await instance.plan(msg, {
            db: store.db,
            memo: new Map(),
            account: (id: string) => findAccountView(store.db, id),
          })
        ).length,
        1,
      );
      await store.db
        .updateTable('accounts')
        .set({ employers: '["WG-9999"]' })
        .where('client_id', '=', 'mine')
        .execute();
      const outcome = await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 1, message: msg },
        attempt(),
      );
      assert.equal(outcome.kind === 'skipped' && outcome.rule, 'recipient-not-authorised');
      assert.equal(receiver.received.length, 0);
    });

    it('sends nothing to a deleted recipient, and settles its waiting deliveries at once', async () => {
      const { id } = await createRecipient();
      const waiting = await storeDelivery(message(), id, 'retrying');
      await storeDelivery(message(), id, 'delivered');
      await call('webhooks.deleteRecipient', { params: { id } });
      assert.deepEqual(madeDue, [[waiting.id]]);
      const outcome = await instance.deliver(waiting, attempt());
      assert.equal(outcome.kind === 'skipped' && outcome.rule, 'recipient-deleted');
      assert.equal(receiver.received.length, 0);
    });

    it('disables the recipient on 410 Gone; an admin can enable it again', async () => {
      const { id } = await createRecipient();
      receiver.respond = (_req, res) => res.writeHead(410).end();
      const outcome = await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 1, message: message() },
        attempt(),
      );
      assert.equal(outcome.kind, 'rejected');
      assert.equal(body(await call('webhooks.getRecipient', { params: { id } }))['status'], 'disabled');
      const next = await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 2, message: message() },
        attempt(),
      );
      assert.equal(next.kind === 'skipped' && next.rule, 'recipient-disabled');
      assert.equal(receiver.received.length, 1);
      const enabled = await call('webhooks.updateRecipient', { params: { id }, body: { enabled: true } });
      assert.equal(body(enabled)['status'], 'active');
    });

    it('signs with the previous secret during a rotation overlap and with the new one after it', async () => {
      const { id, secret: old } = await createRecipient({ standardWebhooks: true });
      const rotated = await call('webhooks.rotateSecret', { params: { id }, body: { overlapSeconds: 3600 } });
      const fresh = body(rotated)['secret'] as string;
      assert.notEqual(fresh, old);
      const sign = (s: string, b: string) => `sha256=${createHmac('sha256', s).update(b).digest('hex')}`;
      await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 1, message: message() },
        attempt(new Date(clock.getTime() + 60_000)),
      );
      const during = receiver.received[0];
      assert.ok(during);
      assert.equal(during.headers['x-hub-signature'], sign(old, during.body));
      assert.doesNotThrow(() =>
        new Webhook(old).verify(during.body, during.headers as Record<string, string>),
      );
      assert.doesNotThrow(() =>
        new Webhook(fresh).verify(during.body, during.headers as Record<string, string>),
      );
      await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: id, sequence: 2, message: message() },
        attempt(new Date(clock.getTime() + 3_600_001)),
      );
      const after = receiver.received[1];
      assert.ok(after);
      assert.equal(after.headers['x-hub-signature'], sign(fresh, after.body));
      // Checked by hand: the verifier would refuse this request's future timestamp anyway.
      const signed = `${after.headers['webhook-id']}.${after.headers['webhook-timestamp']}.${after.body}`;
      const expected = createHmac('sha256', Buffer.from(fresh.slice('whsec_'.length), 'base64'))
        .update(signed)
        .digest('base64');
      assert.equal(after.headers['webhook-signature'], `v1,${expected}`, 'only the new secret signs');
    });

    it("uses a recipient's own retry schedule instead of the adapter's", async () => {
      const own = await createRecipient({ retryDelaysMs: [1000, 5000] });
      const plain = await createRecipient();
      const policy = await instance.retryPolicyFor?.({
        id: 'd',
        adapter: 'webhooks',
        target: own.id,
        sequence: 1,
        message: message(),
      });
      assert.deepEqual(policy?.delaysMs, [1000, 5000]);
      assert.equal(policy?.afterLast, 'fail');
      assert.equal(
        await instance.retryPolicyFor?.({
          id: 'd',
          adapter: 'webhooks',
          target: plain.id,
          sequence: 1,
          message: message(),
        }),
        undefined,
      );
      assert.deepEqual(webhooks.retry.delaysMs, [3_600_000, 7_200_000, 21_600_000, 86_400_000]);
    });

    it('reports health from the receivers', async () => {
      await createRecipient();
      assert.equal((await instance.health()).ok, true);
      await receiver.stop();
      assert.equal((await instance.health()).ok, false);
    });
  });

  describe('webhook log', () => {
    it('lists deliveries with status, status code and body, filtered and paged', async () => {
      const { id } = await createRecipient();
      const other = await createRecipient();
      const msg = message();
      const delivered = await storeDelivery(msg, id, 'delivered', { last_status: '204', attempts: 1 });
      clock = new Date(clock.getTime() + 1000);
      await storeDelivery(message(), id, 'failed', {
        last_status: '500',
        attempts: 5,
        last_reason: 'HTTP 500',
      });
      clock = new Date(clock.getTime() + 1000);
      await storeDelivery(message(), id, 'skipped', {
        last_reason: 'recipient-not-authorised: API account all is disabled',
      });
      clock = new Date(clock.getTime() + 1000);
      await storeDelivery(message(), id, 'skipped', {
        last_reason: 'outbound-url-refused: address 10.0.0.1 is not a public address',
      });
      await storeDelivery(message(), other.id, 'retrying');

      const statuses = async (query: Record<string, string>) =>
        body(await call('webhooks.listLog', { query: { recipient: id, ...query } }))['items'].map(
          (i: any) => i.status,
        );
      assert.deepEqual(await statuses({}), ['failed', 'filtered', 'failed', 'delivered']);
      assert.deepEqual(await statuses({ status: 'failed' }), ['failed', 'failed']);
      assert.deepEqual(await statuses({ status: 'filtered' }), ['filtered']);
      assert.deepEqual(await statuses({ status: 'delivered' }), ['delivered']);
      assert.deepEqual(await statuses({ topic: 'Accounts.Update' }), []);
      assert.deepEqual(await statuses({ since: new Date(clock.getTime() - 1500).toISOString() }), [
        'failed',
        'filtered',
      ]);

      const first = body(await call('webhooks.listLog', { query: { recipient: id, limit: '3' } }));
      assert.equal(first['items'].length, 3);
      const second = body(
        await call('webhooks.listLog', { query: { recipient: id, limit: '3', cursor: first['nextCursor'] } }),
      );
      assert.deepEqual(
        second['items'].map((i: any) => i.id),
        [delivered.id],
      );
      assert.equal(second['nextCursor'], null);

      const entry = second['items'][0];
      assert.equal(entry.statusCode, 204);
      assert.equal(entry.topic, 'Absences.Create');
      assert.equal(JSON.parse(entry.body).id, msg.id);
    });

    it('shows every attempt of one delivery', async () => {
      const { id } = await createRecipient();
      const delivery = await storeDelivery(message(), id, 'retrying', { attempts: 2, last_status: '503' });
      for (const number of [1, 2]) {
        await store.db
          .insertInto('attempts')
          .values({
            id: randomUUID(),
            delivery_id: delivery.id,
            number,
            started_at: clock.getTime() + number,
            duration_ms: 5,
            outcome: 'transient',
            reason: 'HTTP 503',
            code: null,
            request_summary: 'POST',
            request_body: null,
            response_status: '503',
            response_body: 'busy',
            next_attempt_at: clock.getTime() + 3_600_000,
          })
          .execute();
      }
      const entry = body(await call('webhooks.getLogEntry', { params: { id: delivery.id } }));
      assert.deepEqual(
        entry['attemptLog'].map((a: any) => [a.number, a.statusCode, a.response]),
        [
          [1, 503, 'busy'],
          [2, 503, 'busy'],
        ],
      );
      assert.equal((await call('webhooks.getLogEntry', { params: { id: randomUUID() } })).status, 404);
    });

    it("resends one delivery and recovers a recipient's failed ones since a time, as new attempts", async () => {
      const { id } = await createRecipient();
      const old = await storeDelivery(message(), id, 'failed');
      clock = new Date(clock.getTime() + 60_000);
      const recent = await storeDelivery(message(), id, 'failed');
      await storeDelivery(message(), id, 'delivered');
      assert.equal((await call('webhooks.resendLogEntry', { params: { id: old.id } })).status, 202);
      const recovered = await call('webhooks.recoverRecipient', {
        params: { id },
        query: { since: new Date(clock.getTime() - 1000).toISOString() },
      });
      assert.equal(recovered.status, 202);
      assert.deepEqual(body(recovered), { resent: 1, deliveryIds: [recent.id] });
      assert.deepEqual(madeDue, [[old.id], [recent.id]]);
      await call('webhooks.deleteRecipient', { params: { id } });
      assert.equal((await call('webhooks.resendLogEntry', { params: { id: old.id } })).status, 409);
    });
  });

  describe('WebSub hub', () => {
    const subscribe = (callback: string, extra: Record<string, string> = {}) =>
      call('webhooks.hub', {
        body: {
          'hub.mode': 'subscribe',
          'hub.topic': 'https://koppel.example/websub/topics/Absences.Create',
          'hub.callback': callback,
          'hub.secret': 'subscriber secret',
          'hub.lease_seconds': '600',
          ...extra,
        },
      });
    const idle = () => instance.close();

    it('subscribes a callback that echoes the challenge, bound to the hub account, with its lease', async () => {
      receiver.respond = (req, res) =>
        res.writeHead(200).end(new URL(req.url, 'http://x').searchParams.get('hub.challenge') ?? '');
      assert.equal((await subscribe(`${receiver.url}?client=7`)).status, 202);
      await idle();
      const check = new URL(receiver.received[0]?.url ?? '', 'http://x').searchParams;
      assert.equal(check.get('hub.mode'), 'subscribe');
      assert.equal(check.get('hub.topic'), 'https://koppel.example/websub/topics/Absences.Create');
      assert.equal(check.get('hub.lease_seconds'), '600');
      assert.equal(check.get('client'), '7');
      const [recipient] = body(await call('webhooks.listRecipients'))['items'];
      assert.equal(recipient.origin, 'websub-hub');
      assert.equal(recipient.account, 'mine');
      assert.deepEqual(recipient.topics, ['Absences.Create']);
      assert.equal(recipient.leaseExpiresAt, new Date(clock.getTime() + 600_000).toISOString());

      const outcome = await instance.deliver(
        { id: randomUUID(), adapter: 'webhooks', target: recipient.id, sequence: 1, message: message() },
        attempt(),
      );
      assert.equal(outcome.kind, 'delivered');
      const sent = receiver.received[1];
      assert.equal(
        sent?.headers['x-hub-signature'],
        `sha256=${createHmac('sha256', 'subscriber secret')
          .update(sent?.body ?? '')
          .digest('hex')}`,
      );

      clock = new Date(clock.getTime() + 600_000);
      await expireLeases(housekeepingDeps(), clock.getTime());
      assert.equal(body(await call('webhooks.listRecipients'))['items'].length, 0, 'the lease ran out');
    });

    it('does not subscribe a callback that does not echo the challenge', async () => {
      receiver.respond = (_req, res) => res.writeHead(200).end('yes please');
      assert.equal((await subscribe(receiver.url)).status, 202);
      await idle();
      assert.equal(receiver.received.length, 1);
      assert.equal(
        body(await call('webhooks.listRecipients', { query: { includeDeleted: 'true' } }))['items'].length,
        0,
      );
    });

    it('unsubscribes after verifying that intent too', async () => {
      receiver.respond = (req, res) =>
        res.writeHead(200).end(new URL(req.url, 'http://x').searchParams.get('hub.challenge') ?? '');
      await subscribe(receiver.url);
      await idle();
      await call('webhooks.hub', {
        body: { 'hub.mode': 'unsubscribe', 'hub.topic': 'Absences.Create', 'hub.callback': receiver.url },
      });
      await idle();
      const [recipient] = body(await call('webhooks.listRecipients', { query: { includeDeleted: 'true' } }))[
        'items'
      ];
      assert.equal(recipient.status, 'deleted');
    });

    it('answers a bad request with the failing fields', async () => {
      const response = await call('webhooks.hub', {
        body: { 'hub.mode': 'watch', 'hub.topic': 'Nope', 'hub.callback': 'ftp://x' },
      });
      assert.equal(response.status, 400);
      assert.deepEqual(
        body(response)['errors'].map((e: any) => e.pointer),
        ['/body/hub.mode', '/body/hub.topic', '/body/hub.callback'],
      );
      assert.equal((await subscribe(receiver.url, { 'hub.secret': '' })).status, 400);
    });

    it('serves topic discovery with Link headers', async () => {
      const response = await call('webhooks.discoverTopic', { params: { topic: 'Absences.Create' } });
      assert.equal(
        response.headers?.['link'],
        '<https://koppel.example/websub/hub>; rel="hub", <https://koppel.example/websub/topics/Absences.Create>; rel="self"',
      );
    });
  });

  describe('failure notices', () => {
    it('tells the admin once per recipient and day, however many deliveries failed', async () => {
      settings = { ...settings, failureNotice: { email: 'admin@example.nl', senderId: 'sender-1' } };
      const { id } = await createRecipient();
      const deps = housekeepingDeps();
      await storeDelivery(message(), id, 'failed', { finished_at: clock.getTime() });
      await storeDelivery(message(), id, 'failed', { finished_at: clock.getTime() });
      clock = new Date(clock.getTime() + 1000);
      await noticeFailures(deps, clock.getTime());
      await storeDelivery(message(), id, 'failed', { finished_at: clock.getTime() });
      clock = new Date(clock.getTime() + 1000);
      await noticeFailures(deps, clock.getTime());
      assert.equal(posted.length, 1);
      assert.equal(posted[0]?.type, 'nl.communicatie.email-verzocht');
      assert.deepEqual((posted[0]?.data as any).aan, [{ adres: 'admin@example.nl' }]);
      assert.match((posted[0]?.data as any).tekst, /^2 webhookaflevering/);
      clock = new Date(clock.getTime() + 86_400_000);
      await storeDelivery(message(), id, 'failed', { finished_at: clock.getTime() });
      clock = new Date(clock.getTime() + 1000);
      await noticeFailures(deps, clock.getTime());
      assert.equal(posted.length, 2, 'again the next day');
    });
  });
});
