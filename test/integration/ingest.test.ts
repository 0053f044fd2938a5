import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  accountChangedEvent,
  exampleData,
  startGateway,
  type HttpAnswer,
  type TestGateway,
} from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM = 'application/problem+json';
const ZAAK = 'nl.zaken.zaak-status-gezet';

async function messageCount(gw: TestGateway): Promise<number> {
  const row = await gw.gateway.store.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function deliveryCount(gw: TestGateway): Promise<number> {
  const row = await gw.gateway.store.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function assertProblem(answer: HttpAnswer, status: number, slug: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('content-type')?.split(';')[0], PROBLEM);
  assert.equal(answer.body.type, `urn:koppel:problem:${slug}`);
  assert.equal(answer.body.status, status);
  assert.equal(typeof answer.body.title, 'string');
  assert.equal(typeof answer.body.detail, 'string');
}

/** Every page of GET /v1/messages?<query>, following nextCursor. */
async function allPages(gw: TestGateway, query: string): Promise<{ pages: number; ids: string[] }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const answer: HttpAnswer = await gw.get(
      `/v1/messages?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    ids.push(...answer.body.items.map((m: { id: string }) => m.id));
    cursor = answer.body.nextCursor;
    pages++;
    assert.ok(pages < 100, 'pagination does not end');
  } while (cursor);
  return { pages, ids };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('integration: ingest', function () {
  let gw: TestGateway;
  let partner: HttpPartner;
  let writer: string;

  before(async () => {
    partner = await startHttpPartner();
    gw = await startGateway({
      ...withTestAdapter([partner.url, `${partner.url}?second`], ['nl.accounts.account-gewijzigd', ZAAK]),
      env: { KOPPEL_MAX_MESSAGE_BYTES: '4096', KOPPEL_RETRY_TEST_HTTP: '20ms,40ms' },
    });
    writer = await gw.token(['messages:write']);
  });
  after(async () => {
    await gw?.stop();
    await partner?.stop();
  });

  const postAs = (body: unknown, contentType: string, path = '/v1/messages') =>
    gw.request('POST', path, { body, token: writer, headers: { 'content-type': contentType } });

  describe('POST /v1/messages', () => {
    for (const contentType of [
      'application/cloudevents+json',
      'application/json',
      'application/cloudevents+json; charset=utf-8',
    ]) {
      it(`takes ${contentType}: 202 with the Koppel id, Location and the planned deliveries`, async () => {
        const event = accountChangedEvent();
        const before = await messageCount(gw);
        const answer = await postAs(event, contentType);
        assert.equal(answer.status, 202, JSON.stringify(answer.body));
        assert.match(answer.body.id, UUID);
        assert.notEqual(answer.body.id, event.id, 'the Koppel id is not the sender id');
        assert.equal(answer.body.status, 202);
        assert.equal(answer.body.duplicate, false);
        assert.equal(answer.headers.get('location'), `/v1/messages/${answer.body.id}`);
        assert.equal(answer.body.deliveries.length, 2);
        for (const [i, d] of answer.body.deliveries.entries()) {
          assert.match(d.id, UUID);
          assert.equal(d.adapter, 'test-http');
          assert.equal(d.target, `url-${i}`);
          assert.equal(d.status, 'pending');
        }
        assert.equal(await messageCount(gw), before + 1);
        const stored = await gw.get(answer.headers.get('location') ?? '');
        assert.equal(stored.status, 200);
        assert.deepEqual(stored.body.event, event, 'the event is stored as posted');
        assert.equal(stored.body.eventId, event.id);
        assert.equal(stored.body.source, event.source);
      });
    }

    it('answers an invalid event with 400 listing every failing pointer, and stores nothing', async () => {
      const event = accountChangedEvent({
        specversion: '0.3',
        source: 'not-a-urn',
        subject: '999990019',
        time: 'yesterday',
        unknown_attr: 'x',
        data: { accountId: '', soortWijziging: 'gesloopt', actief: 'ja', extra: 1 },
      });
      const before = await messageCount(gw);
      const answer = await gw.post(event);
      assertProblem(answer, 400, 'validation-failed');
      const pointers = (answer.body.errors as Array<{ pointer: string; detail: string }>)
        .map((e) => e.pointer)
        .sort();
      assert.deepEqual(
        pointers,
        [
          '/data/accountId',
          '/data/actief',
          '/data/extra',
          '/data/gewijzigdOp',
          '/data/soortWijziging',
          '/source',
          '/specversion',
          '/subject',
          '/time',
          '/unknown_attr',
        ],
        JSON.stringify(answer.body.errors, null, 1),
      );
      for (const error of answer.body.errors) assert.ok(error.detail.length > 0);
      assert.match(
        answer.body.errors.find((e: { pointer: string }) => e.pointer === '/subject').detail,
        /BSN/,
      );
      assert.equal(await messageCount(gw), before);
      const found = await gw.get(
        `/v1/messages?source=${encodeURIComponent(String(event.source))}&eventId=${encodeURIComponent(String(event.id))}`,
      );
      assert.deepEqual(found.body.items, []);
    });

    it('answers a valid envelope of an unknown type with 422 and stores nothing', async () => {
      const before = await messageCount(gw);
      const answer = await gw.post(accountChangedEvent({ type: 'nl.onbekend.iets-gebeurd' }));
      assertProblem(answer, 422, 'unknown-message-type');
      assert.deepEqual(
        answer.body.errors.map((e: { pointer: string }) => e.pointer),
        ['/type'],
      );
      assert.equal(await messageCount(gw), before);
    });

    it('answers a body above KOPPEL_MAX_MESSAGE_BYTES with 413 and stores nothing', async () => {
      const before = await messageCount(gw);
      const event = accountChangedEvent();
      (event.data as Record<string, unknown>).gebruikersnaam = 'x'.repeat(5000);
      const answer = await gw.post(event);
      assertProblem(answer, 413, 'payload-too-large');
      assert.equal(await messageCount(gw), before);
    });

    for (const contentType of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'application/cloudevents-batch+json',
      'multipart/form-data; boundary=x',
    ]) {
      it(`answers Content-Type ${contentType} with 415 and stores nothing`, async () => {
        const before = await messageCount(gw);
        const answer = await postAs(JSON.stringify(accountChangedEvent()), contentType);
        assertProblem(answer, 415, 'unsupported-media-type');
        assert.equal(await messageCount(gw), before);
      });
    }

    it('answers a missing body with 400 and stores nothing', async () => {
      const before = await messageCount(gw);
      const answer = await gw.request('POST', '/v1/messages', {
        token: writer,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('content-type')?.split(';')[0], PROBLEM);
      assert.equal(await messageCount(gw), before);
    });
  });

  describe('duplicates: the same (source, id) is one message', () => {
    it('answers a repeat with the first message id, duplicate true and nothing new planned', async () => {
      const event = accountChangedEvent();
      const first = await gw.post(event);
      assert.equal(first.status, 202);
      const messages = await messageCount(gw);
      const deliveries = await deliveryCount(gw);
      const again = await gw.post({ ...event, data: { ...(event.data as object), accountId: 'CHANGED' } });
      assert.equal(again.status, 202, JSON.stringify(again.body));
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.body.duplicate, true);
      assert.deepEqual(again.body.deliveries, []);
      assert.equal(again.headers.get('location'), `/v1/messages/${first.body.id}`);
      assert.equal(await messageCount(gw), messages);
      assert.equal(await deliveryCount(gw), deliveries);
      const stored = await gw.get(`/v1/messages/${first.body.id}`);
      assert.equal(
        stored.body.event.data.accountId,
        (event.data as { accountId: string }).accountId,
        'the first version is kept',
      );
    });

    it('stores the new events of a batch that also repeats one stored before, and plans only theirs', async () => {
      const stored = accountChangedEvent();
      const first = await gw.post(stored);
      assert.equal(first.status, 202);
      const messages = await messageCount(gw);
      const deliveries = await deliveryCount(gw);
      // Stored ones among new ones: the insert changes fewer rows than it was given, and the gateway must
      // find out which of them it stored.
      const batch = [accountChangedEvent(), stored, accountChangedEvent(), accountChangedEvent()];
      const answer = await postAs(batch, 'application/cloudevents-batch+json', '/v1/messages/batch');
      assert.equal(answer.status, 207, JSON.stringify(answer.body));
      const r = answer.body.results as Array<{ id: string; duplicate: boolean; deliveries: unknown[] }>;
      assert.deepEqual(
        r.map((x) => [x.duplicate, x.deliveries.length]),
        [
          [false, 2],
          [true, 0],
          [false, 2],
          [false, 2],
        ],
      );
      assert.equal(r[1]?.id, first.body.id);
      assert.equal(new Set(r.map((x) => x.id)).size, 4);
      assert.equal(await messageCount(gw), messages + 3);
      assert.equal(await deliveryCount(gw), deliveries + 6);
    });

    it('treats the same id from another source as another message', async () => {
      const event = accountChangedEvent();
      const first = await gw.post(event);
      const other = await gw.post({ ...event, source: 'urn:nld:oin:00000001823288444000:systeem:ander' });
      assert.equal(other.status, 202);
      assert.equal(other.body.duplicate, false);
      assert.notEqual(other.body.id, first.body.id);
    });

    it('stores identical posts sent at the same time once', async () => {
      const event = accountChangedEvent();
      const before = await messageCount(gw);
      const answers = await Promise.all(Array.from({ length: 8 }, () => gw.post(event)));
      for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
      assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'one Koppel id for all');
      assert.equal(
        answers.filter((a) => a.body.duplicate === false).length,
        1,
        'exactly one is the original',
      );
      assert.equal(answers.filter((a) => a.body.deliveries.length > 0).length, 1, 'deliveries planned once');
      assert.equal(await messageCount(gw), before + 1);
      const deliveries = await gw.gateway.store.db
        .selectFrom('deliveries')
        .select('id')
        .where('message_id', '=', answers[0]?.body.id)
        .execute();
      assert.equal(deliveries.length, 2);
    });

    it('stores identical posts that arrive one after the other while the first is being committed once', async () => {
      const event = accountChangedEvent();
      const before = await messageCount(gw);
      const first = gw.post(event);
      await pause(1);
      const answers = [await first, ...(await Promise.all([gw.post(event), gw.post(event)]))];
      assert.equal(
        new Set(answers.map((a) => a.body.id)).size,
        1,
        JSON.stringify(answers.map((a) => a.body)),
      );
      assert.equal(await messageCount(gw), before + 1);
      for (const a of answers)
        assert.equal((await gw.get(`/v1/messages/${a.body.id}`)).status, 200, 'every answered id exists');
    });
  });

  describe('POST /v1/messages/batch', () => {
    const batchType = 'application/cloudevents-batch+json';

    it('judges each event on its own: 207 with a result per event, only the valid ones stored', async () => {
      const good1 = accountChangedEvent();
      const good2 = { ...accountChangedEvent(), type: ZAAK, data: exampleData(ZAAK) };
      const bad = accountChangedEvent({ source: 'nope' });
      const unknown = accountChangedEvent({ type: 'nl.onbekend.iets' });
      const garbage = 42;
      const before = await messageCount(gw);
      const answer = await postAs(
        [good1, bad, good2, unknown, garbage, good1],
        batchType,
        '/v1/messages/batch',
      );
      assert.equal(answer.status, 207, JSON.stringify(answer.body));
      assert.equal(answer.body.accepted, 3);
      assert.equal(answer.body.rejected, 3);
      const r = answer.body.results;
      assert.equal(r.length, 6);
      assert.equal(r[0].status, 202);
      assert.equal(r[0].duplicate, false);
      assert.equal(r[0].deliveries.length, 2);
      assert.equal(r[1].status, 400);
      assert.equal(r[1].type, 'urn:koppel:problem:validation-failed');
      assert.equal(r[1].title, 'The request is not valid');
      assert.equal(r[1].index, 1);
      assert.deepEqual(
        r[1].errors.map((e: { pointer: string }) => e.pointer),
        ['/source'],
      );
      assert.equal(r[2].status, 202);
      assert.equal(r[3].status, 422);
      assert.equal(r[3].type, 'urn:koppel:problem:unknown-message-type');
      assert.equal(r[3].index, 3);
      assert.equal(r[4].status, 400);
      assert.equal(r[4].index, 4);
      assert.equal(r[5].status, 202);
      assert.equal(r[5].id, r[0].id, 'a repeat inside one batch is the same message');
      assert.equal(r[5].duplicate, true);
      assert.equal(await messageCount(gw), before + 2);
      const stored = await gw.get(
        `/v1/messages?source=${encodeURIComponent(String(bad.source))}&eventId=${encodeURIComponent(String(bad.id))}`,
      );
      assert.deepEqual(stored.body.items, []);
    });

    it('takes application/json too', async () => {
      const answer = await postAs([accountChangedEvent()], 'application/json', '/v1/messages/batch');
      assert.equal(answer.status, 207);
      assert.equal(answer.body.accepted, 1);
    });

    it('takes 500 events', async () => {
      const before = await messageCount(gw);
      const events = Array.from({ length: 500 }, () => accountChangedEvent());
      const answer = await postAs(events, batchType, '/v1/messages/batch');
      assert.equal(answer.status, 207);
      assert.equal(answer.body.accepted, 500);
      assert.equal(await messageCount(gw), before + 500);
    });

    it('refuses 501 events with 413 and stores none of them', async () => {
      const before = await messageCount(gw);
      const answer = await postAs(
        Array.from({ length: 501 }, () => accountChangedEvent()),
        batchType,
        '/v1/messages/batch',
      );
      assertProblem(answer, 413, 'payload-too-large');
      assert.equal(await messageCount(gw), before);
    });

    for (const [name, body] of [
      ['an object', accountChangedEvent()],
      ['a number', 7],
      ['a string', 'events'],
      ['null', null],
    ] as const) {
      it(`refuses ${name} instead of an array with 400`, async () => {
        const before = await messageCount(gw);
        const answer = await postAs(JSON.stringify(body), batchType, '/v1/messages/batch');
        assertProblem(answer, 400, 'validation-failed');
        assert.equal(await messageCount(gw), before);
      });
    }

    it('answers an empty batch with 207 and nothing', async () => {
      const answer = await postAs([], batchType, '/v1/messages/batch');
      assert.equal(answer.status, 207);
      assert.deepEqual(answer.body, { accepted: 0, rejected: 0, results: [] });
    });
  });

  describe('GET /v1/messages/{id}', () => {
    it('shows every delivery with its status and attempts', async () => {
      const posted = await gw.post(accountChangedEvent());
      const detail = await gw.eventually(async () => {
        const answer = await gw.get(`/v1/messages/${posted.body.id}`);
        return answer.body.deliveries.every((d: { status: string }) => d.status === 'delivered')
          ? answer
          : undefined;
      });
      assert.equal(detail.status, 200);
      assert.equal(detail.body.id, posted.body.id);
      assert.equal(detail.body.type, 'nl.accounts.account-gewijzigd');
      assert.deepEqual(
        detail.body.deliveries.map((d: { id: string }) => d.id).sort(),
        posted.body.deliveries.map((d: { id: string }) => d.id).sort(),
      );
      for (const d of detail.body.deliveries) {
        assert.equal(d.messageId, posted.body.id);
        assert.equal(d.attempts, 1);
        assert.equal(d.attemptLog.length, 1);
        assert.equal(d.attemptLog[0].number, 1);
        assert.equal(d.attemptLog[0].outcome, 'delivered');
        assert.equal(d.nextAttemptAt, null);
      }
    });

    it('answers an unknown id with 404 and a malformed one with 400', async () => {
      assertProblem(await gw.get('/v1/messages/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
      assertProblem(await gw.get('/v1/messages/not-a-uuid'), 400, 'validation-failed');
    });
  });

  describe('GET /v1/messages', () => {
    let source: string;
    let firstIds: string[];
    let laterIds: string[];
    let between: string;

    before(async () => {
      source = `urn:nld:oin:00000001823288444000:systeem:lijst-${Date.now()}`;
      // One batch shares one commit and so one received_at: the cursor must break the tie by id.
      const batch = await postAs(
        Array.from({ length: 4 }, () => accountChangedEvent({ source })),
        'application/cloudevents-batch+json',
        '/v1/messages/batch',
      );
      assert.equal(batch.body.accepted, 4);
      firstIds = batch.body.results.map((r: { id: string }) => r.id);
      await pause(5);
      between = new Date().toISOString();
      await pause(5);
      laterIds = [];
      for (let i = 0; i < 3; i++) {
        const event =
          i === 2
            ? { ...accountChangedEvent({ source }), type: ZAAK, data: exampleData(ZAAK) }
            : accountChangedEvent({ source });
        laterIds.push((await gw.post(event)).body.id);
      }
    });

    it('walks all pages without duplicates or gaps (7 messages, limit 3)', async () => {
      const { pages, ids } = await allPages(gw, `source=${encodeURIComponent(source)}&limit=3`);
      assert.equal(pages, 3);
      assert.equal(ids.length, 7);
      assert.equal(new Set(ids).size, 7, 'no duplicates');
      assert.deepEqual([...ids].sort(), [...firstIds, ...laterIds].sort(), 'no gaps');
      assert.deepEqual(ids.slice(0, 3), [...laterIds].reverse(), 'newest first');
    });

    it('walks every page of the whole list with limit 1 as well', async () => {
      const { ids } = await allPages(gw, `source=${encodeURIComponent(source)}&limit=1`);
      assert.equal(ids.length, 7);
      assert.equal(new Set(ids).size, 7);
    });

    it('gives no nextCursor on the last page', async () => {
      const answer = await gw.get(`/v1/messages?source=${encodeURIComponent(source)}&limit=7`);
      assert.equal(answer.body.items.length, 7);
      assert.equal(answer.body.nextCursor, null);
    });

    it('filters by type', async () => {
      const answer = await gw.get(`/v1/messages?source=${encodeURIComponent(source)}&type=${ZAAK}`);
      assert.deepEqual(
        answer.body.items.map((m: { id: string }) => m.id),
        [laterIds[2]],
      );
      assert.equal(answer.body.items[0].type, ZAAK);
    });

    it('filters by source and eventId to find one message', async () => {
      const event = accountChangedEvent({ source });
      const posted = await gw.post(event);
      const answer = await gw.get(
        `/v1/messages?source=${encodeURIComponent(source)}&eventId=${encodeURIComponent(String(event.id))}`,
      );
      assert.deepEqual(
        answer.body.items.map((m: { id: string }) => m.id),
        [posted.body.id],
      );
      assert.equal(answer.body.items[0].eventId, event.id);
      const other = await gw.get(
        `/v1/messages?source=urn%3Aother%3Ax&eventId=${encodeURIComponent(String(event.id))}`,
      );
      assert.deepEqual(other.body.items, []);
    });

    it('filters by since and until', async () => {
      const since = await gw.get(
        `/v1/messages?source=${encodeURIComponent(source)}&since=${encodeURIComponent(between)}&limit=200`,
      );
      const sinceIds = since.body.items.map((m: { id: string }) => m.id);
      for (const id of laterIds) assert.ok(sinceIds.includes(id));
      for (const id of firstIds) assert.ok(!sinceIds.includes(id));
      const until = await gw.get(
        `/v1/messages?source=${encodeURIComponent(source)}&until=${encodeURIComponent(between)}&limit=200`,
      );
      assert.deepEqual(until.body.items.map((m: { id: string }) => m.id).sort(), [...firstIds].sort());
    });

    it('filters by delivery status', async () => {
      await gw.eventually(async () => {
        const answer = await gw.get(`/v1/messages?source=${encodeURIComponent(source)}&status=pending`);
        return answer.body.items.length === 0 ? true : undefined;
      });
      const delivered = await gw.get(
        `/v1/messages?source=${encodeURIComponent(source)}&status=delivered&limit=200`,
      );
      assert.ok(delivered.body.items.length >= 7);
      for (const m of delivered.body.items) assert.deepEqual(m.deliveries, { delivered: 2 });
      const failed = await gw.get(`/v1/messages?source=${encodeURIComponent(source)}&status=failed`);
      assert.deepEqual(failed.body.items, []);
    });

    it('refuses a cursor it did not give and out-of-range limits with 400', async () => {
      assertProblem(await gw.get('/v1/messages?cursor=bm9wZQ'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/messages?limit=0'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/messages?limit=201'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/messages?status=lost'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/messages?since=yesterday'), 400, 'validation-failed');
    });
  });
});

describe('integration: ingest while the store is locked', function () {
  it('answers 503 store-unavailable with Retry-After when the SQLite lock stays held past busy_timeout, and stores nothing', async function () {
    this.timeout(30_000);
    const gw = await startGateway();
    const holder = new Database(join(gw.dataDir, 'koppel.sqlite'));
    try {
      const writer = await gw.token(['messages:write']);
      const before = await messageCount(gw);
      // Another connection writing (a backup, a long migration, the CLI) holds the lock past busy_timeout.
      holder.exec('begin immediate');
      const event = accountChangedEvent();
      const refused = await gw.request('POST', '/v1/messages', { body: event, token: writer });
      holder.exec('rollback');
      assertProblem(refused, 503, 'store-unavailable');
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.equal(await messageCount(gw), before);
      const accepted = await gw.request('POST', '/v1/messages', { body: event, token: writer });
      assert.equal(accepted.status, 202);
      assert.equal(accepted.body.duplicate, false, 'the refused post left nothing behind');
    } finally {
      holder.close();
      await gw.stop();
    }
  });
});

describe('integration: delivery through the test adapter', function () {
  let gw: TestGateway;
  let partner: HttpPartner;

  before(async () => {
    partner = await startHttpPartner();
    gw = await startGateway({
      ...withTestAdapter([partner.url]),
      env: { KOPPEL_RETRY_TEST_HTTP: '30ms,60ms' },
    });
  });
  after(async () => {
    await gw?.stop();
    await partner?.stop();
  });
  beforeEach(() => partner.respondWith(200));

  /** The delivery of a posted message once its status is one of `statuses`. */
  async function deliveryOnce(messageId: string, ...statuses: string[]) {
    return gw.eventually(async () => {
      const answer = await gw.get(`/v1/messages/${messageId}`);
      const delivery = answer.body.deliveries[0];
      return statuses.includes(delivery.status) ? delivery : undefined;
    });
  }

  async function errorsOf(messageId: string) {
    const answer = await gw.get(`/v1/errors?limit=200`);
    return answer.body.items.filter((e: { messageId: string }) => e.messageId === messageId);
  }

  it('delivers, and the receiver sees the Koppel message id', async () => {
    const seen = partner.received.length;
    const posted = await gw.post(accountChangedEvent());
    const delivery = await deliveryOnce(posted.body.id, 'delivered');
    const request = partner.received
      .slice(seen)
      .find((r) => r.headers['x-koppel-message-id'] === posted.body.id);
    assert.ok(request, 'the receiver got the message with x-koppel-message-id');
    assert.equal(JSON.parse(request.text).id, posted.body.id);
    assert.equal(delivery.attempts, 1);
    const [attempt] = delivery.attemptLog;
    assert.equal(attempt.outcome, 'delivered');
    assert.equal(attempt.request.summary, `POST ${partner.url}`);
    assert.equal(JSON.parse(attempt.request.body).id, posted.body.id);
    assert.deepEqual(attempt.response, { status: '200', body: 'status 200' });
    assert.equal(attempt.nextAttemptAt, null);
    assert.deepEqual(await errorsOf(posted.body.id), []);
  });

  it('retries a transient 503 and then delivers, with every attempt recorded', async () => {
    partner.respondOnceWith(503);
    const seen = partner.received.length;
    const posted = await gw.post(accountChangedEvent());
    const delivery = await deliveryOnce(posted.body.id, 'delivered', 'failed');
    assert.equal(delivery.status, 'delivered');
    assert.equal(delivery.attempts, 2);
    assert.deepEqual(
      delivery.attemptLog.map((a: { number: number; outcome: string }) => [a.number, a.outcome]),
      [
        [1, 'transient'],
        [2, 'delivered'],
      ],
    );
    const [first, second] = delivery.attemptLog;
    assert.equal(first.reason, 'HTTP 503');
    assert.deepEqual(first.response, { status: '503', body: 'status 503' });
    assert.equal(
      Date.parse(first.nextAttemptAt) - Date.parse(first.startedAt),
      30,
      'the first delay of KOPPEL_RETRY_TEST_HTTP',
    );
    assert.ok(Date.parse(second.startedAt) >= Date.parse(first.nextAttemptAt), 'not tried before it was due');
    const ids = partner.received.slice(seen).map((r) => r.headers['x-koppel-message-id']);
    assert.deepEqual(ids, [posted.body.id, posted.body.id], 'both attempts carry the same message id');
    assert.deepEqual(await errorsOf(posted.body.id), [], 'a transient that recovered is no error');
  });

  it('fails after the retries are exhausted, with an error-log entry carrying the partner answer', async () => {
    partner.respondWith(() => ({ status: 503, body: 'maintenance until noon' }));
    const posted = await gw.post(accountChangedEvent());
    const delivery = await deliveryOnce(posted.body.id, 'failed', 'delivered');
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts, 3, 'one attempt and two retries');
    assert.deepEqual(
      delivery.attemptLog.map((a: { outcome: string }) => a.outcome),
      ['transient', 'transient', 'transient'],
    );
    assert.ok(
      delivery.attemptLog
        .slice(0, 2)
        .every((a: { nextAttemptAt: string | null }) => a.nextAttemptAt !== null),
    );
    assert.equal(delivery.attemptLog[2].nextAttemptAt, null);
    for (const a of delivery.attemptLog)
      assert.deepEqual(a.response, { status: '503', body: 'maintenance until noon' });
    const errors = await errorsOf(posted.body.id);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0].kind, 'exhausted');
    assert.equal(errors[0].partnerStatus, '503');
    assert.equal(errors[0].partnerAnswer, 'maintenance until noon');
    assert.equal(errors[0].attemptNumber, 3);
    assert.equal(errors[0].deliveryId, delivery.id);
    assert.equal(errors[0].adapter, 'test-http');
    assert.equal(errors[0].messageType, 'nl.accounts.account-gewijzigd');
  });

  it('records the partner’s 400 as rejected, at once and without retry', async () => {
    partner.respondWith(() => ({ status: 400, body: '{"error":"accountId unknown"}' }));
    const posted = await gw.post(accountChangedEvent());
    const delivery = await deliveryOnce(posted.body.id, 'failed', 'delivered');
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.attemptLog[0].outcome, 'rejected');
    assert.equal(delivery.attemptLog[0].code, 'http-400');
    const errors = await errorsOf(posted.body.id);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].kind, 'rejected');
    assert.equal(errors[0].code, 'http-400');
    assert.equal(errors[0].partnerStatus, '400');
    assert.equal(errors[0].partnerAnswer, '{"error":"accountId unknown"}');
  });

  it('records a throwing adapter as internal, with an error entry per attempt, and retries it', async () => {
    const seen = partner.received.length;
    const posted = await gw.post(accountChangedEvent({ subject: 'crash' }));
    const delivery = await deliveryOnce(posted.body.id, 'failed', 'delivered');
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts, 3, 'internal errors are retried per the policy');
    for (const a of delivery.attemptLog) {
      assert.equal(a.outcome, 'internal');
      assert.equal(a.code, 'internal');
      assert.match(a.reason, /a bug in the test adapter/);
    }
    const errors = await errorsOf(posted.body.id);
    assert.deepEqual(
      errors.map((e: { kind: string }) => e.kind),
      ['internal', 'internal', 'internal'],
    );
    assert.deepEqual(errors.map((e: { attemptNumber: number }) => e.attemptNumber).sort(), [1, 2, 3]);
    assert.equal(partner.received.length, seen, 'nothing reached the partner');
    const crashed = gw.logs
      .lines()
      .filter((l) => l.msg === 'delivery_attempt_crashed' && l.messageId === posted.body.id);
    assert.equal(crashed.length, 3);
    assert.equal(crashed[0]?.adapter, 'test-http');
    assert.equal(crashed[0]?.deliveryId, delivery.id);
  });
});

describe('integration: Retry-After', function () {
  let gw: TestGateway;
  let partner: HttpPartner;

  before(async () => {
    partner = await startHttpPartner();
    gw = await startGateway({
      ...withTestAdapter([partner.url]),
      env: { KOPPEL_RETRY_TEST_HTTP: '600ms,600ms' },
    });
  });
  after(async () => {
    await gw?.stop();
    await partner?.stop();
  });

  it('waits for the partner’s Retry-After within [delay, 2 × delay]', async () => {
    partner.respondOnceWith(() => ({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }));
    partner.respondOnceWith(() => ({ status: 503, headers: { 'retry-after': '3600' }, body: 'later' }));
    const posted = await gw.post(accountChangedEvent());
    const delivery = await gw.eventually(async () => {
      const d = (await gw.get(`/v1/messages/${posted.body.id}`)).body.deliveries[0];
      return d.status === 'delivered' || d.status === 'failed' ? d : undefined;
    });
    assert.equal(delivery.status, 'delivered');
    const [first, second, third] = delivery.attemptLog;
    assert.equal(
      Date.parse(first.nextAttemptAt) - Date.parse(first.startedAt),
      1000,
      'Retry-After: 1 honoured',
    );
    assert.equal(
      Date.parse(second.nextAttemptAt) - Date.parse(second.startedAt),
      1200,
      'Retry-After: 3600 clamped to 2 × delay',
    );
    assert.ok(Date.parse(second.startedAt) >= Date.parse(first.nextAttemptAt));
    assert.ok(Date.parse(third.startedAt) >= Date.parse(second.nextAttemptAt));
    assert.equal(third.outcome, 'delivered');
  });
});

describe('integration: ingest reads a bounded number of body bytes at once', function () {
  this.timeout(20_000);
  let gw: TestGateway;
  let token: string;

  before(async () => {
    gw = await startGateway({ env: { KOPPEL_INGEST_BUFFER_BYTES: '1024' } });
    token = await gw.token(['messages:write']);
  });
  after(async () => gw?.stop());

  /** A batch post whose headers are sent and whose body is not: it holds its place in the budget, or its queue slot. */
  function stalledPost(): Promise<Socket> {
    const { hostname, port } = new URL(gw.baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => {
        socket.write(
          `POST /v1/messages/batch HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\n` +
            'content-type: application/cloudevents-batch+json\r\ncontent-length: 5000\r\n\r\n',
        );
        resolve(socket);
      });
      socket.on('error', reject);
    });
  }

  const postBatch = (size: number) =>
    fetch(`${gw.baseUrl}/v1/messages/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(Array.from({ length: size }, () => accountChangedEvent())),
    });

  /** The ingest budget as /metrics shows it. */
  async function budgetLoad(): Promise<{ waiting: number; held: number }> {
    const text = (await gw.request('GET', '/metrics')).body as string;
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    return { waiting: gauge('koppel_ingest_posts_waiting'), held: gauge('koppel_ingest_body_bytes_held') };
  }
  const budgetReaches = (waiting: number, held: number) =>
    gw.eventually(async () => {
      const load = await budgetLoad();
      return load.waiting === waiting && load.held === held ? load : undefined;
    });

  it('makes later posts wait in order, lets one whose client left go, and loses none', async () => {
    const holder = await stalledPost();
    await budgetReaches(0, 5000);
    let answeredEarly = false;
    const waiting = postBatch(10).then((answer) => ((answeredEarly = true), answer));
    await budgetReaches(1, 5000);
    const leaver = await stalledPost();
    await budgetReaches(2, 5000);
    assert.equal(answeredEarly, false, 'waits while the stalled body holds the budget');
    leaver.destroy();
    await budgetReaches(1, 5000);
    holder.destroy();
    const answer = await waiting;
    assert.equal(answer.status, 207);
    assert.equal(((await answer.json()) as { accepted: number }).accepted, 10);

    const many = await Promise.all(Array.from({ length: 20 }, () => postBatch(5)));
    assert.deepEqual(
      many.map((a) => a.status),
      many.map(() => 207),
      'twenty concurrent posts, each over the budget, are all read in turn',
    );
    await budgetReaches(0, 0);
  });
});
