import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describeBackend } from '../helpers/backends.ts';
import { accountChangedEvent, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

const MESSAGES = 1500;
const LOST = 300;
const ORPHANED = 5;

// The sweeper exists only with BullMQ: it gives a job back to every delivery the store holds due
// but Redis no longer has (Redis restarted without persistence, or a crash between commit and enqueue).
describeBackend('postgres-bullmq', 'sweeper', (backend) => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async function () {
    this.timeout(30_000);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function gateway(receiver: HttpPartner, env: Record<string, string>): Promise<TestGateway> {
    const started = await startGateway({ ...withTestAdapter([receiver.url]), env });
    cleanups.push(() => started.stop());
    return started;
  }

  it('gives every due delivery without a job its job back in one sweep, however many due deliveries come before it', async function () {
    this.timeout(60_000);
    const receiver = await startHttpPartner();
    cleanups.push(() => receiver.stop());
    // The sweep at a worker's start is the only one in this test.
    const cluster: Record<string, string> = { ...backend().env, KOPPEL_SWEEP_INTERVAL_MS: '600000' };
    const { REDIS_URL: redisUrl, KOPPEL_QUEUE_PREFIX: prefix } = cluster;
    assert.ok(redisUrl && prefix);
    const api = await gateway(receiver, { ...cluster, KOPPEL_ROLE: 'api' });
    const token = await api.token(['messages:write']);
    const messageIds: string[] = [];
    for (let i = 0; i < MESSAGES; i += 500) {
      const answer = await api.request('POST', '/v1/messages/batch', {
        body: Array.from({ length: 500 }, () => accountChangedEvent()),
        token,
      });
      assert.equal(answer.status, 207);
      for (const result of answer.body.results as Array<{ status: number; id: string }>) {
        assert.equal(result.status, 202);
        messageIds.push(result.id);
      }
    }

    // Redis loses the jobs of the deliveries due last: more than a page of due deliveries with
    // their jobs comes first. A few of those were held by a worker that died.
    const deliveries = await api.gateway.store.db
      .selectFrom('deliveries')
      .select(['id', 'message_id'])
      .orderBy('next_attempt_at')
      .orderBy('id')
      .execute();
    assert.equal(deliveries.length, MESSAGES);
    const lost = deliveries.slice(-LOST);
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    cleanups.push(() => connection.disconnect());
    const queue = new Queue('deliveries-test-http', { connection, prefix });
    cleanups.push(() => queue.close());
    // The api process enqueues after it has answered: wait until every delivery has its job.
    await api.eventually(async () => ((await queue.count()) === MESSAGES ? true : undefined));
    for (const d of lost) assert.equal(await queue.remove(d.id), 1);
    await api.gateway.store.db
      .updateTable('deliveries')
      .set({ status: 'active', leased_by: 'dead', lease_until: Date.now() - 1000 })
      .where(
        'id',
        'in',
        lost.slice(0, ORPHANED).map((d) => d.id),
      )
      .execute();

    const worker = await gateway(receiver, { ...cluster, KOPPEL_ROLE: 'worker' });
    await receiver.waitFor(MESSAGES, 30_000);
    const seen = new Set(receiver.received.map((r) => String(r.headers['x-koppel-message-id'])));
    assert.equal(seen.size, MESSAGES, 'every message reached the receiver');
    for (const id of messageIds) assert.ok(seen.has(id), `message ${id} delivered`);
    const reenqueued = worker.logs.lines().filter((line) => line.msg === 'deliveries_reenqueued');
    assert.deepEqual(
      reenqueued.map((line) => line.count),
      [LOST],
      'one sweep found exactly the deliveries without a job',
    );
  });
});
