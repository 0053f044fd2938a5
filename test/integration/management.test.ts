import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accountChangedEvent,
  exampleData,
  startGateway,
  type HttpAnswer,
  type TestGateway,
} from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

const ACCOUNT = 'nl.accounts.account-gewijzigd';
const ZAAK = 'nl.zaken.zaak-status-gezet';
const PROBLEM = 'application/problem+json';

interface ErrorEntry {
  id: string;
  adapter: string;
  kind: string;
  code: string | null;
  reason: string;
  partnerStatus: string | null;
  partnerAnswer: string | null;
  messageId: string;
  messageType: string;
  deliveryId: string;
  attemptNumber: number;
  createdAt: string;
  resolvedAt: string | null;
  resolvedNote: string | null;
  resolvedBy: string | null;
}

function assertProblem(answer: HttpAnswer, status: number, slug: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('content-type')?.split(';')[0], PROBLEM);
  assert.equal(answer.body.type, `urn:koppel:problem:${slug}`);
}

/** A partner whose answer depends on a marker in the body: `REJECT-…` → 400, `DOWN-…` → 503, unless healed. */
function markerResponder(healed: Set<string>) {
  return (request: { text: string }) => {
    const marker = /(REJECT|DOWN)-[A-Za-z0-9]+/.exec(request.text)?.[0];
    if (!marker || healed.has(marker)) return { status: 200, body: 'ok' };
    return marker.startsWith('REJECT')
      ? { status: 400, body: `Quota exceeded for tenant 17 (${marker})` }
      : { status: 503, body: `partner down (${marker})` };
  };
}

const zaakEvent = (identificatie: string) => {
  const data = structuredClone(exampleData(ZAAK)) as { zaak: { identificatie: string } };
  data.zaak.identificatie = identificatie;
  return { ...accountChangedEvent(), type: ZAAK, data };
};
const accountEvent = (accountId: string, overrides: Record<string, unknown> = {}) =>
  accountChangedEvent({ data: { ...(exampleData(ACCOUNT) as object), accountId }, ...overrides });

describe('integration: management API', function () {
  let gw: TestGateway;
  let partner: HttpPartner;
  let dir: string;
  let errorLogFile: string;
  const healed = new Set<string>();
  const ids: Record<'rejected' | 'exhausted' | 'crash' | 'down', string> = {
    rejected: '',
    exhausted: '',
    crash: '',
    down: '',
  };

  async function finished(messageId: string) {
    return gw.eventually(async () => {
      const answer = await gw.get(`/v1/messages/${messageId}`);
      const d = answer.body.deliveries[0];
      return ['delivered', 'failed', 'skipped'].includes(d.status) ? d : undefined;
    });
  }

  async function allErrors(query = ''): Promise<ErrorEntry[]> {
    const answer = await gw.get(`/v1/errors?limit=200${query}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.items;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'koppel-management-'));
    errorLogFile = join(dir, 'logs', 'errors.jsonl');
    partner = await startHttpPartner();
    partner.respondWith(markerResponder(healed));
    gw = await startGateway({
      ...withTestAdapter([partner.url], [ACCOUNT, ZAAK]),
      env: { KOPPEL_RETRY_TEST_HTTP: '20ms,40ms', KOPPEL_ERROR_LOG_FILE: errorLogFile },
    });
    ids.rejected = (await gw.post(accountEvent('REJECT-1'))).body.id;
    await finished(ids.rejected);
    ids.exhausted = (await gw.post(zaakEvent('DOWN-2'))).body.id;
    await finished(ids.exhausted);
    ids.crash = (await gw.post(accountEvent('ACC-3', { subject: 'crash' }))).body.id;
    await finished(ids.crash);
    ids.down = (await gw.post(accountEvent('DOWN-4'))).body.id;
    await finished(ids.down);
  });
  after(async () => {
    await gw?.stop();
    await partner?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('error log', () => {
    it('lists every entry newest first', async () => {
      const entries = await allErrors();
      assert.equal(entries.length, 6, JSON.stringify(entries, null, 1));
      for (let i = 1; i < entries.length; i++) {
        assert.ok(
          Date.parse((entries[i - 1] as ErrorEntry).createdAt) >=
            Date.parse((entries[i] as ErrorEntry).createdAt),
          'newest first',
        );
      }
      assert.equal(entries.at(-1)?.messageId, ids.rejected, 'the first failure is last');
      assert.equal(entries[0]?.messageId, ids.down, 'the last failure is first');
    });

    it('filters by kind', async () => {
      const rejected = await allErrors('&kind=rejected');
      assert.deepEqual(
        rejected.map((e) => e.messageId),
        [ids.rejected],
      );
      assert.equal(rejected[0]?.code, 'http-400');
      assert.equal(rejected[0]?.partnerStatus, '400');
      assert.equal(rejected[0]?.partnerAnswer, 'Quota exceeded for tenant 17 (REJECT-1)');
      assert.deepEqual(
        (await allErrors('&kind=internal')).map((e) => e.messageId),
        [ids.crash, ids.crash, ids.crash],
      );
      assert.deepEqual(
        (await allErrors('&kind=exhausted')).map((e) => e.messageId),
        [ids.down, ids.exhausted],
      );
      assert.deepEqual(await allErrors('&kind=skipped'), []);
    });

    it('filters by adapter and message type', async () => {
      assert.equal((await allErrors('&adapter=test-http')).length, 6);
      assert.deepEqual(await allErrors('&adapter=smtp'), []);
      const zaak = await allErrors(`&messageType=${ZAAK}`);
      assert.deepEqual(
        zaak.map((e) => e.messageId),
        [ids.exhausted],
      );
      assert.equal(zaak[0]?.messageType, ZAAK);
      assert.deepEqual(await allErrors(`&messageType=${ZAAK}&kind=rejected`), []);
    });

    it('filters by since and until around an entry’s time', async () => {
      const all = await allErrors();
      for (const pivot of all) {
        const at = pivot.createdAt;
        const since = await allErrors(`&since=${encodeURIComponent(at)}`);
        const until = await allErrors(`&until=${encodeURIComponent(at)}`);
        assert.deepEqual(
          since.map((e) => e.id),
          all.filter((e) => Date.parse(e.createdAt) >= Date.parse(at)).map((e) => e.id),
        );
        assert.deepEqual(
          until.map((e) => e.id),
          all.filter((e) => Date.parse(e.createdAt) < Date.parse(at)).map((e) => e.id),
        );
      }
    });

    it('finds text in reason, code and partner answer, case-insensitively, with LIKE wildcards taken literally', async () => {
      assert.deepEqual(
        (await allErrors('&q=QUOTA%20exceeded')).map((e) => e.messageId),
        [ids.rejected],
      );
      assert.equal((await allErrors('&q=BUG%20IN')).length, 3, 'the reason of internal errors');
      assert.equal((await allErrors('&q=http-400')).length, 1, 'the code');
      assert.deepEqual(await allErrors('&q=%25'), [], '% is no wildcard');
      assert.deepEqual(await allErrors('&q=_'), [], '_ is no wildcard');
      assert.deepEqual(await allErrors(`&q=${encodeURIComponent("' OR 1=1 --")}`), []);
    });

    it('pages with a cursor without duplicates or gaps', async () => {
      const all = await allErrors();
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: HttpAnswer = await gw.get(
          `/v1/errors?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(answer.status, 200);
        assert.ok(answer.body.items.length <= 4);
        seen.push(...answer.body.items.map((e: ErrorEntry) => e.id));
        cursor = answer.body.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      assert.equal(pages, 2);
      assert.deepEqual(
        seen,
        all.map((e) => e.id),
      );
    });

    it('shows one entry with its message and every attempt of its delivery', async () => {
      const [entry] = await allErrors(`&messageType=${ZAAK}`);
      assert.ok(entry);
      const answer = await gw.get(`/v1/errors/${entry.id}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.id, entry.id);
      assert.equal(answer.body.kind, 'exhausted');
      assert.equal(answer.body.message.id, ids.exhausted);
      assert.equal(answer.body.message.event.data.zaak.identificatie, 'DOWN-2');
      assert.equal(answer.body.delivery.id, entry.deliveryId);
      assert.deepEqual(
        answer.body.delivery.attemptLog.map((a: { number: number; outcome: string }) => [
          a.number,
          a.outcome,
        ]),
        [
          [1, 'transient'],
          [2, 'transient'],
          [3, 'transient'],
        ],
      );
      for (const a of answer.body.delivery.attemptLog) {
        assert.equal(a.response.status, '503');
        assert.equal(a.response.body, 'partner down (DOWN-2)');
        assert.match(a.request.summary, /^POST http:\/\/127\.0\.0\.1:\d+\/hook$/);
      }
      assertProblem(await gw.get('/v1/errors/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
    });

    it('writes every entry to KOPPEL_ERROR_LOG_FILE as JSON lines', async () => {
      const entries = await allErrors();
      const lines = await gw.eventually(async () => {
        const parsed = readFileSync(errorLogFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        return parsed.length >= entries.length ? parsed : undefined;
      });
      for (const entry of entries) {
        const line = lines.find((l) => l.id === entry.id);
        assert.ok(line, `no line for ${entry.id}`);
        assert.equal(line.kind, entry.kind);
        assert.equal(line.adapter, 'test-http');
        assert.equal(line.messageId, entry.messageId);
        assert.equal(line.deliveryId, entry.deliveryId);
        assert.equal(line.messageType, entry.messageType);
        assert.equal(line.partnerStatus, entry.partnerStatus);
        assert.equal(line.time, entry.createdAt);
      }
    });

    it('refuses bad filters with 400', async () => {
      assertProblem(await gw.get('/v1/errors?kind=bad'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/errors?resolved=maybe'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/errors?adapter=Not_An_Adapter'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/errors?cursor=abc'), 400, 'validation-failed');
      assertProblem(await gw.get(`/v1/errors?q=${'x'.repeat(201)}`), 400, 'validation-failed');
    });

    describe('retry of one entry', () => {
      it('makes a new attempt of the same delivery, which the receiver sees with the same message id', async () => {
        const [entry] = await allErrors('&kind=rejected');
        assert.ok(entry);
        const before = await gw.get(`/v1/messages/${ids.rejected}`);
        assert.equal(before.body.deliveries.length, 1);
        assert.equal(before.body.deliveries[0].attempts, 1);
        healed.add('REJECT-1');
        const seen = partner.received.length;
        const writer = await gw.token(['errors:write']);
        const answer = await gw.request('POST', `/v1/errors/${entry.id}/retry`, { token: writer });
        assert.equal(answer.status, 202, JSON.stringify(answer.body));
        assert.equal(answer.body.id, entry.deliveryId);
        assert.ok(['retrying', 'active', 'delivered'].includes(answer.body.status), answer.body.status);
        const delivery = await gw.eventually(async () => {
          const d = (await gw.get(`/v1/messages/${ids.rejected}`)).body.deliveries;
          return d[0].status === 'delivered' ? d : undefined;
        });
        assert.equal(delivery.length, 1, 'still one delivery');
        assert.equal(delivery[0].id, entry.deliveryId, 'the same delivery');
        assert.equal(delivery[0].attempts, 2);
        assert.deepEqual(
          delivery[0].attemptLog.map((a: { outcome: string }) => a.outcome),
          ['rejected', 'delivered'],
        );
        const received = partner.received.slice(seen);
        assert.equal(received.length, 1);
        assert.equal(received[0]?.headers['x-koppel-message-id'], ids.rejected);
        const after = (await gw.get(`/v1/errors/${entry.id}`)).body;
        assert.notEqual(after.resolvedAt, null, 'a retried entry is marked');
        assert.equal(after.resolvedNote, 'retried');
      });

      it('answers 409 when the delivery is already delivered, and 404 for an unknown entry', async () => {
        const [entry] = await allErrors('&kind=rejected');
        const writer = await gw.token(['errors:write']);
        assertProblem(
          await gw.request('POST', `/v1/errors/${entry?.id}/retry`, { token: writer }),
          409,
          'conflict',
        );
        assertProblem(
          await gw.request('POST', '/v1/errors/00000000-0000-4000-8000-000000000000/retry', {
            token: writer,
          }),
          404,
          'not-found',
        );
        const delivery = (await gw.get(`/v1/messages/${ids.rejected}`)).body.deliveries[0];
        assert.equal(delivery.attempts, 2, 'nothing was attempted');
      });
    });

    describe('resolve', () => {
      it('marks an entry resolved with a note and who did it; a second time is 409', async () => {
        const [entry] = (await allErrors('&kind=exhausted')).filter((e) => e.messageId === ids.down);
        assert.ok(entry);
        const token = await gw.token(['errors:write']);
        const clientId = (
          JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string }
        ).sub;
        const answer = await gw.request('POST', `/v1/errors/${entry.id}/resolve`, {
          token,
          body: { note: 'partner fixed it by hand' },
        });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.resolvedNote, 'partner fixed it by hand');
        assert.notEqual(answer.body.resolvedAt, null);
        assert.equal(answer.body.resolvedBy, clientId);
        assertProblem(
          await gw.request('POST', `/v1/errors/${entry.id}/resolve`, { token, body: { note: 'again' } }),
          409,
          'conflict',
        );
        assert.deepEqual(
          (await allErrors('&resolved=true&kind=exhausted')).map((e) => e.id),
          [entry.id],
        );
        assert.ok(!(await allErrors('&resolved=false')).some((e) => e.id === entry.id));
      });

      it('refuses a missing, empty or extra note field with 400, and an unknown entry with 404', async () => {
        const [entry] = await allErrors('&kind=internal');
        const token = await gw.token(['errors:write']);
        for (const body of [
          {},
          { note: '' },
          { note: 'x', extra: 1 },
          { note: 'x'.repeat(2001) },
          { note: 7 },
        ]) {
          assertProblem(
            await gw.request('POST', `/v1/errors/${entry?.id}/resolve`, { token, body }),
            400,
            'validation-failed',
          );
        }
        assert.equal((await gw.get(`/v1/errors/${entry?.id}`)).body.resolvedAt, null, 'nothing changed');
        assertProblem(
          await gw.request('POST', '/v1/errors/00000000-0000-4000-8000-000000000000/resolve', {
            token,
            body: { note: 'x' },
          }),
          404,
          'not-found',
        );
      });
    });

    describe('bulk retry by filter', () => {
      it('counts with dryRun and changes nothing, then retries the matching deliveries', async () => {
        const token = await gw.token(['errors:write']);
        healed.add('DOWN-2');
        const dry = await gw.request('POST', '/v1/errors/retry', {
          token,
          body: { kind: 'exhausted', messageType: ZAAK, dryRun: true },
        });
        assert.equal(dry.status, 200, JSON.stringify(dry.body));
        assert.deepEqual(dry.body, { matched: 1, retried: 0 });
        const unchanged = (await gw.get(`/v1/messages/${ids.exhausted}`)).body.deliveries[0];
        assert.equal(unchanged.status, 'failed');
        assert.equal(unchanged.attempts, 3);

        const seen = partner.received.length;
        const wet = await gw.request('POST', '/v1/errors/retry', {
          token,
          body: { kind: 'exhausted', messageType: ZAAK },
        });
        assert.deepEqual(wet.body, { matched: 1, retried: 1 });
        const delivery = await gw.eventually(async () => {
          const d = (await gw.get(`/v1/messages/${ids.exhausted}`)).body.deliveries;
          return d[0].status === 'delivered' ? d : undefined;
        });
        assert.equal(delivery.length, 1);
        assert.equal(delivery[0].attempts, 4);
        assert.deepEqual(
          partner.received.slice(seen).map((r) => r.headers['x-koppel-message-id']),
          [ids.exhausted],
        );
        const again = await gw.request('POST', '/v1/errors/retry', {
          token,
          body: { kind: 'exhausted', messageType: ZAAK, dryRun: true },
        });
        assert.deepEqual(again.body, { matched: 0, retried: 0 }, 'retried entries are no longer open');
      });

      it('refuses an unknown filter field with 400', async () => {
        const token = await gw.token(['errors:write']);
        assertProblem(
          await gw.request('POST', '/v1/errors/retry', { token, body: { everything: true } }),
          400,
          'validation-failed',
        );
        assertProblem(
          await gw.request('POST', '/v1/errors/retry', { token, body: { kind: 'all' } }),
          400,
          'validation-failed',
        );
      });
    });
  });

  describe('deliveries', () => {
    it('GET /v1/deliveries/{id} shows one delivery with its attempts', async () => {
      const message = (await gw.get(`/v1/messages/${ids.crash}`)).body;
      const [delivery] = message.deliveries;
      const answer = await gw.get(`/v1/deliveries/${delivery.id}`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, delivery);
      assertProblem(await gw.get('/v1/deliveries/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
    });
  });

  describe('adapters', () => {
    it('lists each adapter with its policy, health and counts', async () => {
      const answer = await gw.get('/v1/adapters');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.items.length, 1);
      const [adapter] = answer.body.items;
      assert.equal(adapter.name, 'test-http');
      assert.deepEqual(adapter.accepts, [ACCOUNT, ZAAK]);
      assert.equal(adapter.dispatch, 'continuous');
      assert.deepEqual(adapter.retryPolicy, {
        delaysMs: [20, 40],
        afterLast: 'fail',
        jitter: 0,
        retryAfter: 'clamp',
      });
      assert.equal(adapter.retryPolicySource, 'environment');
      assert.deepEqual(adapter.health, { ok: true });
      const rows = await gw.gateway.store.db
        .selectFrom('deliveries')
        .select(['status'])
        .where('adapter', '=', 'test-http')
        .execute();
      const n = (...s: string[]) => rows.filter((r) => s.includes(r.status)).length;
      assert.deepEqual(adapter.counts, {
        pending: n('pending', 'retrying', 'active'),
        delivered: n('delivered'),
        failed: n('failed'),
        skipped: n('skipped'),
      });
      assert.ok(adapter.counts.delivered >= 2 && adapter.counts.failed >= 2);
      const one = await gw.get('/v1/adapters/test-http');
      assert.deepEqual(one.body, adapter);
      assertProblem(await gw.get('/v1/adapters/nope'), 404, 'not-found');
    });

    it('reports a partner that is down as unhealthy', async () => {
      await partner.down();
      try {
        const [adapter] = (await gw.get('/v1/adapters')).body.items;
        assert.equal(adapter.health.ok, false);
        assert.equal(typeof adapter.health.detail, 'string');
        const ready = await gw.request('GET', '/readyz');
        assert.equal(ready.status, 200, 'a partner being down never makes Koppel unready');
        assert.equal(ready.body.adapters['test-http'].ok, false);
      } finally {
        await partner.up();
      }
    });

    it('PUT retry-policy changes the policy of the next retry (source api); DELETE restores the configured one', async () => {
      const admin = await gw.token(['admin']);
      const put = await gw.request('PUT', '/v1/adapters/test-http/retry-policy', {
        token: admin,
        body: { delaysMs: [250], afterLast: 'fail' },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.retryPolicySource, 'api');
      assert.deepEqual(put.body.retryPolicy, {
        delaysMs: [250],
        afterLast: 'fail',
        jitter: 0,
        retryAfter: 'clamp',
      });

      const posted = await gw.post(accountEvent('DOWN-5'));
      const delivery = await finished(posted.body.id);
      assert.equal(delivery.status, 'failed');
      assert.equal(delivery.attempts, 2, 'one delay, then exhausted');
      const [first] = delivery.attemptLog;
      assert.equal(
        Date.parse(first.nextAttemptAt) - Date.parse(first.startedAt),
        250,
        'the API policy was used',
      );

      const del = await gw.request('DELETE', '/v1/adapters/test-http/retry-policy', { token: admin });
      assert.equal(del.status, 200);
      assert.equal(del.body.retryPolicySource, 'environment');
      assert.deepEqual(del.body.retryPolicy.delaysMs, [20, 40]);
      const after = await finished((await gw.post(accountEvent('DOWN-6'))).body.id);
      assert.equal(after.attempts, 3);
      assert.equal(
        Date.parse(after.attemptLog[0].nextAttemptAt) - Date.parse(after.attemptLog[0].startedAt),
        20,
      );
    });

    it('refuses a bad policy with 400 and an unknown adapter with 404', async () => {
      const admin = await gw.token(['admin']);
      for (const body of [
        { delaysMs: [], afterLast: 'fail' },
        { delaysMs: [10], afterLast: 'never' },
        { delaysMs: [-1], afterLast: 'fail' },
        { delaysMs: [10], afterLast: 'fail', jitter: 0.5 },
        { delaysMs: ['1s'], afterLast: 'fail' },
        { delaysMs: [10] },
        { delaysMs: [10], afterLast: 'fail', extra: true },
      ]) {
        assertProblem(
          await gw.request('PUT', '/v1/adapters/test-http/retry-policy', { token: admin, body }),
          400,
          'validation-failed',
        );
      }
      assert.equal(
        (await gw.get('/v1/adapters/test-http')).body.retryPolicySource,
        'environment',
        'nothing changed',
      );
      assertProblem(
        await gw.request('PUT', '/v1/adapters/nope/retry-policy', {
          token: admin,
          body: { delaysMs: [10], afterLast: 'fail' },
        }),
        404,
        'not-found',
      );
      assertProblem(
        await gw.request('DELETE', '/v1/adapters/nope/retry-policy', { token: admin }),
        404,
        'not-found',
      );
    });
  });

  describe('stats, health and metrics', () => {
    it('GET /v1/stats/hourly counts finished deliveries per hour', async () => {
      const answer = await gw.get('/v1/stats/hourly?hours=3');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.items.length, 3);
      const hours = answer.body.items.map((i: { hour: string }) => Date.parse(i.hour));
      assert.equal(hours[1] - hours[0], 3_600_000);
      assert.equal(hours[2] - hours[1], 3_600_000);
      assert.ok(
        hours[2] <= Date.now() && Date.now() < hours[2] + 3_600_000,
        'the last bucket is the current hour',
      );
      const rows = await gw.gateway.store.db
        .selectFrom('deliveries')
        .select(['status'])
        .where('finished_at', 'is not', null)
        .execute();
      const sum = (key: string) =>
        answer.body.items.reduce((s: number, i: Record<string, number>) => s + (i[key] ?? 0), 0);
      assert.equal(sum('delivered'), rows.filter((r) => r.status === 'delivered').length);
      assert.equal(sum('failed'), rows.filter((r) => r.status === 'failed').length);
      const other = await gw.get('/v1/stats/hourly?adapter=smtp&hours=1');
      assert.deepEqual(
        other.body.items.map((i: Record<string, number>) => [i.delivered, i.failed, i.skipped]),
        [[0, 0, 0]],
      );
      const defaults = await gw.get('/v1/stats/hourly');
      assert.equal(defaults.body.items.length, 24);
      assertProblem(await gw.get('/v1/stats/hourly?hours=0'), 400, 'validation-failed');
      assertProblem(await gw.get('/v1/stats/hourly?hours=169'), 400, 'validation-failed');
    });

    it('/healthz and /readyz answer without a token', async () => {
      const health = await gw.request('GET', '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const ready = await gw.request('GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      assert.equal(ready.body.store, true);
      assert.equal(ready.body.queue, true);
    });

    it('/metrics counters move after a delivery', async () => {
      const value = (text: string, series: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line ? Number(line.slice(series.length + 1)) : 0;
      };
      const ingested = `koppel_messages_ingested_total{type="${ACCOUNT}"}`;
      const delivered = 'koppel_delivery_attempts_total{adapter="test-http",outcome="delivered"}';
      const ingestCommits = 'koppel_store_commit_duration_seconds_count{work="ingest"}';
      const recordCommits = 'koppel_store_commit_duration_seconds_count{work="attempts"}';
      const before = await gw.request('GET', '/metrics');
      assert.equal(before.status, 200);
      assert.match(before.headers.get('content-type') ?? '', /^text\/plain/);
      const posted = await gw.post(accountEvent('ACC-METRICS'));
      await finished(posted.body.id);
      const after = await gw.request('GET', '/metrics');
      assert.equal(value(after.body, ingested), value(before.body, ingested) + 1);
      assert.equal(value(after.body, delivered), value(before.body, delivered) + 1);
      // The post was a group of its own; its attempt's record may have shared a commit with others.
      assert.equal(value(after.body, ingestCommits), value(before.body, ingestCommits) + 1);
      assert.ok(value(after.body, recordCommits) > value(before.body, recordCommits));
      assert.match(after.body, /koppel_delivery_attempt_duration_seconds_count\{adapter="test-http"\} \d+/);
      assert.match(after.body, /koppel_deliveries\{adapter="test-http",status="pending"\} 0/);
      const internal = 'koppel_delivery_attempts_total{adapter="test-http",outcome="internal"}';
      assert.equal(value(after.body, internal), 3);
    });
  });

  describe('documents', () => {
    it('GET /v1/openapi.json is OpenAPI 3.0.3 with every core path, without a token', async () => {
      const answer = await gw.request('GET', '/v1/openapi.json');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.openapi, '3.0.3');
      const expected: Array<[string, string]> = [
        ['/v1/messages', 'post'],
        ['/v1/messages', 'get'],
        ['/v1/messages/batch', 'post'],
        ['/v1/messages/{id}', 'get'],
        ['/v1/deliveries/{id}', 'get'],
        ['/v1/errors', 'get'],
        ['/v1/errors/{id}', 'get'],
        ['/v1/errors/{id}/retry', 'post'],
        ['/v1/errors/{id}/resolve', 'post'],
        ['/v1/errors/retry', 'post'],
        ['/v1/adapters', 'get'],
        ['/v1/adapters/{name}', 'get'],
        ['/v1/adapters/{name}/retry-policy', 'put'],
        ['/v1/adapters/{name}/retry-policy', 'delete'],
        ['/v1/stats/hourly', 'get'],
        ['/v1/accounts', 'get'],
        ['/v1/accounts', 'post'],
        ['/v1/accounts/{clientId}/disable', 'post'],
        ['/v1/openapi.json', 'get'],
        ['/v1/schemas', 'get'],
        ['/v1/schemas/{type}', 'get'],
        ['/oauth2/token', 'post'],
        ['/.well-known/jwks.json', 'get'],
      ];
      for (const [path, method] of expected) {
        const operation = answer.body.paths[path]?.[method];
        assert.ok(operation, `${method.toUpperCase()} ${path} is missing`);
        assert.equal(typeof operation.operationId, 'string');
      }
      const ids = Object.values(answer.body.paths).flatMap((item) =>
        Object.values(item as Record<string, { operationId?: string }>).map((o) => o.operationId),
      );
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    });

    it('GET /v1/schemas lists the envelope and every canonical type; each schema is served', async () => {
      const list = await gw.request('GET', '/v1/schemas');
      assert.equal(list.status, 200);
      const types = list.body.items.map((i: { type: string }) => i.type);
      assert.ok(types.includes('envelope'));
      assert.ok(types.includes(ACCOUNT) && types.includes(ZAAK));
      for (const item of list.body.items) {
        const schema = await gw.request('GET', item.schema);
        assert.equal(schema.status, 200, item.schema);
        assert.equal(schema.headers.get('content-type')?.split(';')[0], 'application/schema+json');
        if (item.type !== 'envelope') assert.equal(schema.body['x-koppel-type'], item.type);
      }
      assertProblem(await gw.request('GET', '/v1/schemas/nl.onbekend.type'), 404, 'not-found');
    });
  });
});
