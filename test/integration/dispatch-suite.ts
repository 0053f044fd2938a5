import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delivered, type AdapterDefinition } from '../../gateway/adapter-kit/index.ts';
import type { DeliveriesTable } from '../../gateway/store/schema.ts';
import type { Backend } from '../helpers/backends.ts';
import {
  accountChangedEvent,
  startGateway,
  type StartOptions,
  type TestGateway,
} from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { testHttpAdapter, withTestAdapter, type TestHttpSettings } from '../helpers/test-adapter.ts';

/** Where gateways of one cluster meet: one store (and, with BullMQ, one queue prefix). */
interface Cluster {
  readonly env: Record<string, string>;
  readonly dataDir?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The test adapter, planning one delivery per message ordered by `subject` (key) and `time` (position). */
function orderedAdapter(): AdapterDefinition<TestHttpSettings> {
  const base = testHttpAdapter();
  return {
    ...base,
    name: 'test-ordered',
    async create(ctx) {
      const instance = await base.create(ctx);
      return {
        ...instance,
        plan: async (message) => [
          { target: 'url-0', orderingKey: message.subject ?? 'none', orderingPosition: message.time ?? '' },
        ],
      };
    },
  };
}

/** A periodic adapter: its deliveries wait for the tick and go out through `deliverBatch`. */
function batchAdapter(batches: string[][], intervalMs: number, batchSize: number): AdapterDefinition<object> {
  return {
    name: 'test-batch',
    accepts: ['nl.accounts.account-gewijzigd'],
    settingsSchema: { type: 'object' },
    retry: { delaysMs: [100], afterLast: 'fail', jitter: 0, retryAfter: 'ignore' },
    async create() {
      return {
        dispatch: { mode: 'periodic', intervalMs: async () => intervalMs, batchSize },
        plan: async () => [{ target: 'default' }],
        deliver: async () => {
          throw new Error('a periodic adapter is handed batches, not single deliveries');
        },
        async deliverBatch(deliveries) {
          batches.push(deliveries.map((d) => d.message.id));
          return deliveries.map(() => delivered());
        },
        health: async () => ({ ok: true }),
        close: async () => {},
      };
    },
  };
}

/** An adapter with one periodic job that records when it ran (shared by every process of the test). */
function jobAdapter(runs: number[], intervalMs: number): AdapterDefinition<object> {
  return {
    name: 'test-job',
    accepts: [],
    settingsSchema: { type: 'object' },
    retry: { delaysMs: [100], afterLast: 'fail', jitter: 0, retryAfter: 'ignore' },
    async create() {
      return {
        jobs: [
          { name: 'count', intervalMs: async () => intervalMs, run: async () => void runs.push(Date.now()) },
        ],
        plan: async () => [],
        deliver: async () => delivered(),
        health: async () => ({ ok: true }),
        close: async () => {},
      };
    },
  };
}

/**
 * The dispatch suite, run once per backend by `dispatch.test.ts` (embedded SQLite) and
 * `dispatch.pg-redis.test.ts` (PostgreSQL + BullMQ). It drives whole gateways in this process
 * against loopback receivers.
 */
export function dispatchSuite(backend: () => Backend): void {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async function () {
    this.timeout(30_000);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function cluster(): Cluster {
    const { name, env } = backend();
    if (name === 'postgres-bullmq') return { env };
    const dataDir = mkdtempSync(join(tmpdir(), 'koppel-cluster-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    return { env, dataDir };
  }

  async function partner(): Promise<HttpPartner> {
    const started = await startHttpPartner();
    cleanups.push(() => started.stop());
    return started;
  }

  async function gateway(options: StartOptions & { readonly cluster?: Cluster }): Promise<TestGateway> {
    const shared = options.cluster ?? cluster();
    const started = await startGateway({
      ...options,
      env: { ...shared.env, KOPPEL_RETRY_TEST_HTTP: '50ms,100ms', ...options.env },
      ...(shared.dataDir !== undefined ? { dataDir: shared.dataDir } : {}),
    });
    cleanups.push(() => started.stop());
    return started;
  }

  async function httpGateway(
    receiver: HttpPartner,
    env: Record<string, string> = {},
    shared?: Cluster,
  ): Promise<TestGateway> {
    return gateway({
      ...withTestAdapter([receiver.url]),
      env,
      ...(shared ? { cluster: shared } : {}),
    });
  }

  async function postBatch(g: TestGateway, events: unknown[]): Promise<string[]> {
    const answer = await g.request('POST', '/v1/messages/batch', {
      body: events,
      token: await g.token(['messages:write']),
    });
    assert.equal(answer.status, 207, JSON.stringify(answer.body));
    return (answer.body.results as Array<{ status: number; id: string }>).map((r) => {
      assert.equal(r.status, 202);
      return r.id;
    });
  }

  async function postOne(g: TestGateway, event: unknown = accountChangedEvent()): Promise<string> {
    const answer = await g.post(event);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    return answer.body.id as string;
  }

  function deliveriesOf(g: TestGateway, messageIds: readonly string[]): Promise<DeliveriesTable[]> {
    return g.gateway.store.db
      .selectFrom('deliveries')
      .selectAll()
      .where('message_id', 'in', messageIds)
      .execute();
  }

  async function settled(
    g: TestGateway,
    messageIds: readonly string[],
    timeoutMs = 15_000,
  ): Promise<DeliveriesTable[]> {
    return g.eventually(async () => {
      const rows = await deliveriesOf(g, messageIds);
      return rows.length > 0 && rows.every((r) => r.status === 'delivered' || r.status === 'failed')
        ? rows
        : undefined;
    }, timeoutMs);
  }

  const messageIdsSeenBy = (receiver: HttpPartner): string[] =>
    receiver.received.map((r) => String(r.headers['x-koppel-message-id']));

  it('delivers a message, and the receiver sees its message id', async function () {
    const receiver = await partner();
    const g = await httpGateway(receiver);
    const id = await postOne(g);
    const [row] = await settled(g, [id]);
    assert.equal(row?.status, 'delivered');
    assert.deepEqual(messageIdsSeenBy(receiver), [id]);
    const detail = await g.get(`/v1/messages/${id}`);
    assert.deepEqual(
      detail.body.deliveries.map((d: { status: string; attemptLog: Array<{ outcome: string }> }) => [
        d.status,
        d.attemptLog.map((a) => a.outcome),
      ]),
      [['delivered', ['delivered']]],
    );
  });

  it('retries a transient outcome after the policy delay, then delivers', async function () {
    const receiver = await partner();
    receiver.respondOnceWith(503);
    const g = await httpGateway(receiver);
    const id = await postOne(g);
    const [row] = await settled(g, [id]);
    assert.equal(row?.status, 'delivered');
    assert.equal(row?.attempts, 2);
    assert.deepEqual(messageIdsSeenBy(receiver), [id, id]);
    const attempts = await g.gateway.store.db
      .selectFrom('attempts')
      .select(['number', 'outcome'])
      .where('delivery_id', '=', row?.id ?? '')
      .orderBy('number')
      .execute();
    assert.deepEqual(attempts, [
      { number: 1, outcome: 'transient' },
      { number: 2, outcome: 'delivered' },
    ]);
  });

  it('fails a delivery whose retries are exhausted, with an error-log entry', async function () {
    const receiver = await partner();
    receiver.respondWith(503);
    const g = await httpGateway(receiver);
    const id = await postOne(g);
    const [row] = await settled(g, [id]);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.attempts, 3, 'one attempt and the two retries of 50ms,100ms');
    assert.equal(receiver.received.length, 3);
    const errors = await g.gateway.store.db
      .selectFrom('error_log')
      .select(['kind', 'attempt_number'])
      .where('delivery_id', '=', row?.id ?? '')
      .execute();
    assert.deepEqual(errors, [{ kind: 'exhausted', attempt_number: 3 }]);
  });

  it('raises one alert while a delivery waits, and resolves it when the delivery ends', async function () {
    const receiver = await partner();
    receiver.respondOnceWith(503);
    receiver.respondOnceWith(503);
    const g = await httpGateway(receiver);
    const id = await postOne(g, accountChangedEvent({ subject: 'alert' }));
    const [row] = await settled(g, [id]);
    assert.equal(row?.status, 'delivered');
    assert.equal(row?.attempts, 3);
    const alerts = await g.gateway.store.db
      .selectFrom('error_log')
      .select(['kind', 'code', 'resolved_note', 'resolved_by'])
      .where('delivery_id', '=', row?.id ?? '')
      .execute();
    assert.deepEqual(alerts, [
      { kind: 'alert', code: 'partner-waiting', resolved_note: 'delivery delivered', resolved_by: 'koppel' },
    ]);
  });

  it('keeps at most KOPPEL_CONCURRENCY attempts of an adapter in flight', async function () {
    const receiver = await partner();
    let current = 0;
    let most = 0;
    receiver.respondWith(async () => {
      most = Math.max(most, ++current);
      await sleep(300);
      current--;
      return { status: 200 };
    });
    const g = await httpGateway(receiver, { KOPPEL_CONCURRENCY: '3' });
    const ids = await postBatch(
      g,
      Array.from({ length: 12 }, () => accountChangedEvent()),
    );
    const rows = await settled(g, ids);
    assert.ok(rows.every((r) => r.status === 'delivered'));
    assert.equal(receiver.received.length, 12);
    assert.equal(most, 3, 'three at a time: never more, and the bound is reached');
  });

  it('attempts deliveries of one ordering key in position order, holding later ones while an earlier one retries', async function () {
    const receiver = await partner();
    const g = await gateway({
      adapters: [orderedAdapter()],
      adapterSettings: { 'test-ordered': { urls: [receiver.url] } },
      env: { KOPPEL_RETRY_TEST_ORDERED: '300ms' },
    });
    const zaak = `zaak-${Math.random().toString(36).slice(2, 8)}`;
    let refused = false;
    receiver.respondWith(async (request) => {
      const message = await g.gateway.store.db
        .selectFrom('messages')
        .select('subject')
        .where('id', '=', String(request.headers['x-koppel-message-id']))
        .executeTakeFirst();
      if (refused || message?.subject !== zaak) return { status: 200 };
      refused = true;
      return { status: 503 };
    });
    const event = (subject: string, time: string) => accountChangedEvent({ subject, time });
    // One batch, so that both deliveries exist before either can be claimed; the later one comes first.
    const [later, other, earlier] = await postBatch(g, [
      event(zaak, '2026-11-23T10:00:02Z'),
      event(`${zaak}-other`, '2026-11-23T10:00:03Z'),
      event(zaak, '2026-11-23T10:00:01Z'),
    ]);
    const rows = await settled(g, [later ?? '', other ?? '', earlier ?? '']);
    assert.ok(
      rows.every((r) => r.status === 'delivered'),
      JSON.stringify(rows),
    );
    const seen = messageIdsSeenBy(receiver);
    assert.deepEqual(
      seen.filter((id) => id !== other),
      [earlier, earlier, later],
      'the earlier one first (503, then delivered), the later one only after it',
    );
    assert.deepEqual(
      seen.filter((id) => id === other),
      [other],
      'another key is not held back',
    );
  });

  it('hands deliveries of a periodic adapter over at its tick, in batches of batchSize', async function () {
    const batches: string[][] = [];
    const g = await gateway({ adapters: [batchAdapter(batches, 1500, 3)] });
    const primer = await postOne(g);
    await g.eventually(async () => (batches.flat().includes(primer) ? true : undefined));
    // A tick has just run, so the next is about 1.5 s away: the seven wait for it.
    const ticksBefore = batches.length;
    const ids = await postBatch(
      g,
      Array.from({ length: 7 }, () => accountChangedEvent()),
    );
    assert.deepEqual(
      (await deliveriesOf(g, ids)).map((r) => r.status),
      Array(7).fill('pending'),
    );
    const rows = await settled(g, ids);
    assert.ok(rows.every((r) => r.status === 'delivered' && r.attempts === 1));
    const after = batches.slice(ticksBefore);
    assert.deepEqual(
      after.map((b) => b.length),
      [3, 3, 1],
    );
    assert.deepEqual(after.flat().sort(), [...ids].sort());
  });

  it('runs a periodic job once per cluster, not once per process', async function () {
    this.timeout(30_000);
    const runs: number[] = [];
    const interval = 250;
    const shared = cluster();
    await gateway({ adapters: [jobAdapter(runs, interval)], cluster: shared });
    await gateway({ adapters: [jobAdapter(runs, interval)], cluster: shared });
    const window = 2500;
    const from = Date.now();
    await sleep(window);
    const inWindow = runs.filter((at) => at >= from && at < from + window).length;
    // One process runs it window/interval times (± the boundary); two uncoordinated ones twice that.
    assert.ok(inWindow <= window / interval + 1, `${inWindow} runs in ${window} ms at every ${interval} ms`);
    assert.ok(inWindow >= 2, `the job runs (${inWindow} runs)`);
  });

  it('takes a delivery again when the lease of the worker that held it ran out', async function () {
    const receiver = await partner();
    const shared = cluster();
    const api = await httpGateway(receiver, { KOPPEL_ROLE: 'api' }, shared);
    const [orphaned, held] = [await postOne(api), await postOne(api)];
    const now = Date.now();
    const lease = (messageId: string, leasedBy: string, until: number) =>
      api.gateway.store.db
        .updateTable('deliveries')
        .set({ status: 'active', leased_by: leasedBy, lease_until: until })
        .where('message_id', '=', messageId)
        .execute();
    await lease(orphaned, 'dead', now - 1000);
    await lease(held, 'alive-elsewhere', now + 600_000);

    await httpGateway(receiver, { KOPPEL_ROLE: 'worker' }, shared);
    const [row] = await settled(api, [orphaned]);
    assert.equal(row?.status, 'delivered');
    assert.equal(row?.leased_by, null);
    // Once a later message is delivered, the worker has claimed past the held one.
    const later = await postOne(api);
    await settled(api, [later]);
    assert.deepEqual(
      messageIdsSeenBy(receiver),
      [orphaned, later],
      'the delivery with a live lease is left to its worker',
    );
    const [heldRow] = await deliveriesOf(api, [held]);
    assert.equal(heldRow?.status, 'active');
    assert.equal(heldRow?.leased_by, 'alive-elsewhere');
  });

  it('lets an api process and a worker process share the store: the api accepts, the worker delivers', async function () {
    const atApi = await partner();
    const atWorker = await partner();
    const shared = cluster();
    const api = await httpGateway(atApi, { KOPPEL_ROLE: 'api' }, shared);
    // The worker's settings name another receiver, so a request there proves the worker sent it.
    const worker = await httpGateway(atWorker, { KOPPEL_ROLE: 'worker' }, shared);
    const id = await postOne(api);
    const [row] = await settled(api, [id]);
    assert.equal(row?.status, 'delivered');
    assert.deepEqual(messageIdsSeenBy(atWorker), [id]);
    assert.equal(atApi.received.length, 0);
    const refused = await worker.request('POST', '/v1/messages', { body: accountChangedEvent() });
    assert.equal(refused.status, 503);
  });

  it('on stop finishes the attempt in flight and takes no new work', async function () {
    const receiver = await partner();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.respondWith(async () => {
      await held;
      return { status: 200 };
    });
    const shared = cluster();
    const worker = await httpGateway(receiver, {}, shared);
    const api = await httpGateway(receiver, { KOPPEL_ROLE: 'api' }, shared);
    const inFlight = await postOne(api);
    await receiver.waitFor(1);

    const stopping = worker.gateway.stop();
    // stop() closes the HTTP server first, then stops taking deliveries at once.
    await api.eventually(async () => (worker.gateway.app.server.listening ? undefined : true));
    const later = await postOne(api);
    // A running worker takes what the stopping one leaves, and its taking `later` is the event the
    // test waits for. The pause before it starts (four of the tests' 50 ms polls) only gives a
    // stopping worker that still takes work the chance to be caught doing so.
    await sleep(200);
    await httpGateway(receiver, { KOPPEL_ROLE: 'worker' }, shared);
    await receiver.waitFor(2);
    const holders = new Map(
      (await deliveriesOf(api, [inFlight, later])).map((d) => [d.message_id, d.leased_by]),
    );
    assert.ok(holders.get(inFlight), 'the stopping worker holds the attempt in flight');
    assert.notEqual(holders.get(later), holders.get(inFlight), 'the stopping worker takes nothing new');
    release();
    await stopping;

    const rows = await settled(api, [inFlight, later]);
    assert.deepEqual(
      rows.map((r) => [r.message_id === inFlight ? 'in flight' : 'later', r.status, r.attempts]).sort(),
      [
        ['in flight', 'delivered', 1],
        ['later', 'delivered', 1],
      ],
      'the attempt in flight is finished, and the other worker delivered the later one',
    );
    assert.deepEqual(messageIdsSeenBy(receiver).sort(), [inFlight, later].sort());
  });
}
