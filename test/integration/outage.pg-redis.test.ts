import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describeBackend } from '../helpers/backends.ts';
import { accountChangedEvent, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { startOwnRedis } from '../helpers/servers/redis.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

// What a restart or a failover of the server, or an administrator, does to the gateway's connections.
describeBackend('postgres-bullmq', 'servers ending connections', (backend) => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async function () {
    this.timeout(30_000);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A gateway that has delivered one message, so that its connections are open and idle. */
  async function deliveringGateway(env: Record<string, string>): Promise<{
    gateway: TestGateway;
    receiver: HttpPartner;
    post(): Promise<string>;
  }> {
    const receiver = await startHttpPartner();
    cleanups.push(() => receiver.stop());
    const gateway = await startGateway({ ...withTestAdapter([receiver.url]), env });
    cleanups.push(() => gateway.stop());
    const post = async (): Promise<string> => {
      const answer = await gateway.post(accountChangedEvent());
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      return answer.body.id as string;
    };
    return { gateway, receiver, post };
  }

  /** Posts once before and once after `end`, and both messages are delivered. */
  async function deliversAround(
    started: Awaited<ReturnType<typeof deliveringGateway>>,
    end: () => Promise<void>,
  ): Promise<void> {
    const first = await started.post();
    await started.receiver.waitFor(1);
    await end();
    const second = await started.post();
    const seen = await started.receiver.waitFor(2, 20_000);
    assert.deepEqual(
      seen.map((r) => r.headers['x-koppel-message-id']),
      [first, second],
    );
  }

  it('keeps the gateway running when PostgreSQL ends its idle connections, and the next posts are stored and delivered', async function () {
    this.timeout(30_000);
    const { env } = backend();
    // Named, so that only this gateway's connections are ended on the shared server.
    const applicationName = `koppel-${randomUUID()}`;
    const started = await deliveringGateway({
      ...env,
      DATABASE_URL: `${env.DATABASE_URL}?application_name=${applicationName}`,
    });
    const admin = new pg.Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
    cleanups.push(() => admin.end());
    // The ended backends themselves: the gateway may open new connections at once (a sweep, a lease
    // renewal), so "none of its connections left" can stay false for as long as the test waits.
    const stillThere = async (pids: readonly number[]) =>
      (await admin.query('select 1 from pg_stat_activity where pid = any($1)', [pids])).rowCount;

    await deliversAround(started, async () => {
      const { rows } = await admin.query<{ pid: number; ended: boolean }>(
        'select pid, pg_terminate_backend(pid) as ended from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      assert.ok(rows.length > 0 && rows.every((r) => r.ended), 'the gateway had connections to end');
      const ended = rows.map((r) => r.pid);
      await started.gateway.eventually(async () => ((await stillThere(ended)) === 0 ? true : undefined));
      await started.gateway.eventually(async () =>
        started.gateway.logs.lines().some((line) => line.msg === 'database_connection_lost')
          ? true
          : undefined,
      );
    });
  });

  it('keeps the gateway running when Redis ends its connections, and the next posts are delivered', async function () {
    this.timeout(30_000);
    const { env } = backend();
    const started = await deliveringGateway(env);
    const admin = new Redis(env.REDIS_URL as string);
    cleanups.push(() => admin.disconnect());

    await deliversAround(started, async () => {
      // Every connection but this one: the tests of this process run one at a time.
      const ended = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      assert.ok(ended > 0, 'the gateway had connections to end');
    });
  });

  it('while Redis is away or paused: not ready (answered in time), posts accepted and their enqueues left to the store; once back, they are delivered, and the gateway stops when told', async function () {
    this.timeout(60_000);
    const redis = await startOwnRedis();
    assert.ok(redis, 'redis-server is installed (the suite runs only then)');
    cleanups.push(() => redis.stop());
    const { env } = backend();
    const started = await deliveringGateway({
      ...env,
      REDIS_URL: redis.url,
      // Longer than the test: what Redis lost is enqueued by the sweep made when it is back.
      KOPPEL_SWEEP_INTERVAL_MS: '600000',
    });
    const first = await started.post();
    await started.receiver.waitFor(1);

    await redis.takeDown();
    // Long enough for every connection to be retrying (a shorter outage left BullMQ's worker able to close).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const readiness = await fetch(`${started.gateway.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(readiness.status, 503);
    assert.equal(((await readiness.json()) as { queue: boolean }).queue, false);
    const whileAway: string[] = [];
    for (let i = 0; i < 20; i += 1) whileAway.push(await started.post());

    await redis.bringBack();
    // The receiver also answers the readiness check's health probe: only deliveries carry a message id.
    const delivered = () =>
      started.receiver.received.map((r) => r.headers['x-koppel-message-id']).filter((id) => id !== undefined);
    await started.gateway.eventually(async () => (delivered().length >= 21 ? true : undefined), 30_000);
    assert.deepEqual(delivered().slice(1).sort(), [...whileAway].sort());
    assert.equal(delivered()[0], first);
    const lines = started.gateway.logs.lines();
    const named = (msg: string) => lines.filter((line) => line.msg === msg);
    assert.equal(named('queue_connection_lost').length, 1, lines.map((line) => line.msg).join());
    // Their enqueues failed at once and were left to the store, not held in memory until Redis answered.
    assert.deepEqual(
      named('queue_connection_restored').map((line) => line.deferred),
      [20],
    );
    assert.deepEqual(named('enqueue_failed'), []);
    assert.deepEqual(named('sweep_failed'), []);
    // The first message's job may have been finishing when Redis went: that is a job gone, not an error.
    assert.deepEqual(named('queue_worker_error'), []);
    // A Redis that holds every command (paused) is not ready either, and readiness says so in time.
    const admin = new Redis(redis.url);
    cleanups.push(() => admin.disconnect());
    await admin.call('CLIENT', 'PAUSE', '10000', 'ALL');
    const paused = await fetch(`${started.gateway.baseUrl}/readyz`, { signal: AbortSignal.timeout(7000) });
    assert.equal(paused.status, 503);
    assert.equal(((await paused.json()) as { queue: boolean }).queue, false);
    await admin.call('CLIENT', 'UNPAUSE');

    // BullMQ's worker can wait forever to close after Redis was away; the gateway's stop may not.
    await started.gateway.stop();
  });

  it('while Redis is away an api process accepts posts, and once it is back the worker process delivers them', async function () {
    this.timeout(60_000);
    const redis = await startOwnRedis();
    assert.ok(redis, 'redis-server is installed (the suite runs only then)');
    cleanups.push(() => redis.stop());
    const receiver = await startHttpPartner();
    cleanups.push(() => receiver.stop());
    const { env } = backend();
    // Longer than the test: only the sweep the worker makes when Redis is back can enqueue them.
    const shared = { ...env, REDIS_URL: redis.url, KOPPEL_SWEEP_INTERVAL_MS: '600000' };
    const worker = await startGateway({
      ...withTestAdapter([receiver.url]),
      env: { ...shared, KOPPEL_ROLE: 'worker' },
    });
    cleanups.push(() => worker.stop());
    const api = await startGateway({
      ...withTestAdapter([receiver.url]),
      env: { ...shared, KOPPEL_ROLE: 'api' },
    });
    cleanups.push(() => api.stop());

    await redis.takeDown();
    await api.eventually(async () => {
      const readiness = await fetch(`${api.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      return readiness.status === 503 ? true : undefined;
    });
    const whileAway: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const answer = await api.post(accountChangedEvent());
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      whileAway.push(answer.body.id as string);
    }
    await redis.bringBack();

    const delivered = () =>
      receiver.received.map((r) => r.headers['x-koppel-message-id']).filter((id) => id !== undefined);
    await worker.eventually(async () => (delivered().length >= 10 ? true : undefined), 30_000);
    assert.deepEqual([...delivered()].sort(), [...whileAway].sort());
    const restored = (gateway: TestGateway) =>
      gateway.logs
        .lines()
        .filter((line) => line.msg === 'queue_connection_restored')
        .map((line) => line.deferred);
    // Each process reconnects on its own back-off: the worker may deliver before the api process is back.
    await api.eventually(async () => (restored(api).length > 0 ? true : undefined), 10_000);
    assert.deepEqual(restored(api), [10]);
    const reenqueued = worker.logs
      .lines()
      .filter((line) => line.msg === 'deliveries_reenqueued')
      .reduce((sum, line) => sum + Number(line.count), 0);
    assert.equal(reenqueued, 10);
  });

  it('koppel serve exits on SIGTERM after a Redis outage', async function () {
    this.timeout(60_000);
    const redis = await startOwnRedis();
    assert.ok(redis, 'redis-server is installed (the suite runs only then)');
    cleanups.push(() => redis.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'koppel-serve-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const cli = new URL('../../gateway/cli.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        KOPPEL_DATA_DIR: dataDir,
        REDIS_URL: redis.url,
        KOPPEL_SHUTDOWN_GRACE_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const events: string[] = [];
    const started = new Promise<void>((resolve) =>
      createInterface({ input: child.stdout }).on('line', (line) => {
        const { msg } = JSON.parse(line) as { msg: string };
        events.push(msg);
        if (msg === 'gateway_started') resolve();
      }),
    );
    await started;
    await redis.takeDown();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await redis.bringBack();
    await new Promise((resolve) => setTimeout(resolve, 2000));

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(events.includes('gateway_stopped'), events.join());
  });
});
