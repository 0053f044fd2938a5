import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { groupBy } from '../adapter-kit/index.ts';
import type { LoadedAdapter } from '../registry.ts';
import { claimByIds, type ClaimedDelivery } from './claims.ts';
import type { AttemptGroup } from './run-attempt.ts';
import { Shutdown, type Dispatcher, type DispatcherParts, type DueDelivery } from './dispatcher.ts';

export interface BullmqDispatcherOptions extends DispatcherParts {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly sweepIntervalMs: number;
  /** `false` in an `api` process: it enqueues but runs nothing. */
  readonly work: boolean;
}

interface DeliveryJob {
  readonly deliveryId: string;
}

/** Finished jobs leave Redis at once: the store keeps the record of every attempt. */
export const JOB_DEFAULTS = { removeOnComplete: true, removeOnFail: true } as const;
const PERIODIC_QUEUE = 'periodic';

/** How the worker of a continuous adapter takes its jobs (also the bench's BullMQ floor). */
export function deliveryWorkerOptions(concurrency: number, leaseMs: number) {
  return {
    concurrency,
    // A job held by a dead worker stays "active" in Redis until its lock lapses and the stalled check
    // returns it; never later than the store's lease, or the sweeper, which skips deliveries that
    // have a job, cannot help.
    lockDuration: Math.min(leaseMs, 30_000),
    stalledInterval: Math.min(leaseMs, 30_000),
  };
}

/**
 * Dispatch on Redis with BullMQ: one queue per continuous adapter, job id = delivery id, so a
 * second enqueue of the same delivery is a no-op. A transient outcome moves the job to delayed
 * until the policy's next time. Periodic work runs as job schedulers, once per cluster. The sweeper
 * re-enqueues deliveries that are due in the store but have no job (Redis lost, or a crash between
 * commit and enqueue).
 */
export function createBullmqDispatcher(options: BullmqDispatcherOptions): Dispatcher {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  const continuous = options.adapters.filter((a) => !a.periodic);
  const queues = new Map(
    continuous.map((a) => [
      a.name,
      new Queue<DeliveryJob>(`deliveries-${a.name}`, { connection, prefix: options.prefix }),
    ]),
  );
  const periodicQueue = new Queue(PERIODIC_QUEUE, { connection, prefix: options.prefix });
  const workers: Worker[] = [];
  const shutdown = new Shutdown(options.adapters.length * options.concurrency);
  let sweeper: NodeJS.Timeout | undefined;
  const intervals = new Map<string, number>();

  const queueOf = (adapter: string): Queue<DeliveryJob> | undefined => queues.get(adapter);

  const claimers = new Map(continuous.map((a) => [a.name, createClaimBatcher(options, a, shutdown.signal)]));

  async function process(
    adapter: LoadedAdapter,
    job: Job<DeliveryJob>,
    token: string | undefined,
  ): Promise<void> {
    const nowMs = options.now().getTime();
    const taken = await (claimers.get(adapter.name) as ClaimBatcher)(job.data.deliveryId);
    if (!taken) {
      const row = await options.db
        .selectFrom('deliveries')
        .select(['status', 'next_attempt_at'])
        .where('id', '=', job.data.deliveryId)
        .executeTakeFirst();
      // Not yet due (or blocked behind an earlier delivery of its ordering group): look again later.
      if (row && (row.status === 'pending' || row.status === 'retrying')) {
        const at = Math.max(row.next_attempt_at ?? nowMs, nowMs + 1000);
        await job.moveToDelayed(at, token);
        throw new DelayedError();
      }
      return;
    }
    const result = await options.runner.runOne(adapter, taken.claimed, taken.group);
    if (result.nextAttemptAt !== null) {
      await job.moveToDelayed(result.nextAttemptAt, token);
      throw new DelayedError();
    }
  }

  async function enqueue(deliveries: readonly DueDelivery[]): Promise<void> {
    const nowMs = options.now().getTime();
    for (const [adapter, list] of groupBy(deliveries, (d) => d.adapter)) {
      const queue = queueOf(adapter);
      if (!queue) continue;
      await queue.addBulk(
        list.map((d) => ({
          name: adapter,
          data: { deliveryId: d.id },
          opts: { ...JOB_DEFAULTS, jobId: d.id, delay: Math.max(0, d.dueAt - nowMs) },
        })),
      );
      // An existing delayed job (a retry made due early by an admin) is not replaced by addBulk.
      await Promise.all(
        list
          .filter((d) => !d.fresh && d.dueAt <= nowMs)
          .map(async (d) => {
            const job = await queue.getJob(d.id);
            if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
          }),
      );
    }
  }

  async function sweep(): Promise<void> {
    const nowMs = options.now().getTime();
    const names = continuous.map((a) => a.name);
    if (names.length === 0) return;
    const due = await options.db
      .selectFrom('deliveries')
      .select(['id', 'adapter', 'next_attempt_at'])
      .where('adapter', 'in', names)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['pending', 'retrying']), eb('next_attempt_at', '<=', nowMs)]),
          eb.and([eb('status', '=', 'active'), eb('lease_until', '<', nowMs)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .limit(1000)
      .execute();
    const missing: DueDelivery[] = [];
    await Promise.all(
      due.map(async (d) => {
        const job = await queueOf(d.adapter)?.getJob(d.id);
        if (!job) missing.push({ id: d.id, adapter: d.adapter, dueAt: nowMs });
      }),
    );
    if (missing.length > 0) {
      options.log.warn({ count: missing.length }, 'deliveries_reenqueued');
      await enqueue(missing);
    }
  }

  async function scheduleAll(): Promise<void> {
    for (const work of options.periodic) {
      const every = await work.intervalMs();
      if (intervals.get(work.name) === every) continue;
      intervals.set(work.name, every);
      await periodicQueue.upsertJobScheduler(
        work.name,
        { every },
        { name: work.name, data: {}, opts: JOB_DEFAULTS },
      );
    }
  }

  return {
    async start() {
      await scheduleAll();
      if (!options.work) return;
      for (const adapter of continuous) {
        workers.push(
          new Worker<DeliveryJob>(
            `deliveries-${adapter.name}`,
            (job, token) => process(adapter, job, token),
            {
              connection,
              prefix: options.prefix,
              ...deliveryWorkerOptions(options.concurrency, options.leaseMs),
            },
          ),
        );
      }
      const byName = new Map(options.periodic.map((w) => [w.name, w]));
      workers.push(
        new Worker(
          PERIODIC_QUEUE,
          async (job) => {
            const work = byName.get(job.name);
            if (!work) return;
            await work.run(options.now(), shutdown.signal);
            await scheduleAll();
          },
          { connection, prefix: options.prefix, concurrency: Math.max(1, options.periodic.length) },
        ),
      );
      for (const worker of workers) {
        worker.on('failed', (job, error) =>
          options.log.error({ err: error, job: job?.name }, 'queue_job_failed'),
        );
        worker.on('error', (error) => options.log.error({ err: error }, 'queue_worker_error'));
      }
      const loop = (): void => {
        sweeper = setTimeout(() => {
          sweep()
            .catch((error: unknown) => options.log.error({ err: error }, 'sweep_failed'))
            .finally(loop);
        }, options.sweepIntervalMs);
      };
      await sweep();
      loop();
    },

    wake(deliveries) {
      enqueue(deliveries).catch((error: unknown) =>
        // The store holds them; the sweeper enqueues them once Redis answers again.
        options.log.error({ err: error, count: deliveries.length }, 'enqueue_failed'),
      );
    },

    async stop(graceMs) {
      if (sweeper) clearTimeout(sweeper);
      const closing = Promise.all(workers.map((w) => w.close()));
      await shutdown.finish(closing, graceMs, options.log, () =>
        Promise.all(workers.map((w) => w.close(true))),
      );
      await options.runner.flush();
      await Promise.all([...queues.values(), periodicQueue].map((q) => q.close()));
      connection.disconnect();
    },

    async healthy() {
      try {
        return (await connection.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
  };
}

type ClaimBatcher = (
  deliveryId: string,
) => Promise<{ claimed: ClaimedDelivery; group: AttemptGroup } | undefined>;

/** Jobs that start within this window are claimed with one statement. */
const CLAIM_LINGER_MS = 1;

/**
 * BullMQ starts jobs one by one; their claims go to the store together: one UPDATE and one read of
 * the messages for all jobs that started within a millisecond, instead of two round trips each.
 * The attempts claimed together are one AttemptGroup, as in the embedded poller.
 */
function createClaimBatcher(
  options: BullmqDispatcherOptions,
  adapter: LoadedAdapter,
  shutdown: AbortSignal,
): ClaimBatcher {
  let waiting: Array<{
    id: string;
    settle(value: { claimed: ClaimedDelivery; group: AttemptGroup } | undefined): void;
    fail(error: unknown): void;
  }> = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    timer = undefined;
    const batch = waiting;
    waiting = [];
    try {
      const claimed = await claimByIds(options.db, options.dialect, {
        deliveryIds: batch.map((b) => b.id),
        adapter: adapter.name,
        workerId: options.workerId,
        nowMs: options.now().getTime(),
        leaseMs: options.leaseMs,
      });
      const byId = new Map(claimed.map((c) => [c.row.id, c]));
      const group = options.runner.startGroup(adapter, shutdown, claimed.length);
      for (const b of batch) {
        const one = byId.get(b.id);
        b.settle(one && { claimed: one, group });
      }
    } catch (error) {
      for (const b of batch) b.fail(error);
    }
  };
  return (id) =>
    new Promise((settle, fail) => {
      waiting.push({ id, settle, fail });
      timer ??= setTimeout(() => void flush(), CLAIM_LINGER_MS);
    });
}
