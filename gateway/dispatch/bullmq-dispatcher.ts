import { DelayedError, ErrorCode, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { groupBy } from '../adapter-kit/index.ts';
import { TIMED_OUT, withinTime } from '../adapter-kit/abort.ts';
import type { LoadedAdapter } from '../registry.ts';
import { isSystemError } from '../system-errors.ts';
import type { CoreDatabase } from '../store/schema.ts';
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

/**
 * The queues' connection fails a command at once while Redis is away instead of holding it in ioredis's
 * offline queue until Redis answers (unbounded: a day's outage of enqueues in memory). What could not be
 * enqueued is in the store, and the sweeper enqueues it once Redis is back (BullMQ's "failing fast";
 * docs/decisions/0004-the-store-holds-what-redis-cannot-take.md).
 */
export const PRODUCER_CONNECTION = { enableOfflineQueue: false, maxRetriesPerRequest: 1 } as const;
/** Workers block on their own connection and wait for Redis, as BullMQ requires. */
export const WORKER_CONNECTION = { maxRetriesPerRequest: null } as const;

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
  const producer = new Redis(options.redisUrl, PRODUCER_CONNECTION);
  const workerConnection = options.work ? new Redis(options.redisUrl, WORKER_CONNECTION) : undefined;
  const connections = workerConnection ? [producer, workerConnection] : [producer];
  const allReady = (): boolean => connections.every((c) => c.status === 'ready');
  /** Whether an enqueue or a sweep can reach Redis now; when not, a failure is part of an outage. */
  const queuesReady = (): boolean => producer.status === 'ready';
  // ioredis reconnects for as long as Redis is away, with an error for every try: the outage is logged
  // once (without a listener each error went to stderr as an "Unhandled error event").
  let reachable = true;
  let deferred = 0;
  const lost = (error?: Error): void => {
    if (!reachable) return;
    reachable = false;
    options.log.warn({ err: error }, 'queue_connection_lost');
  };
  for (const connection of connections) {
    connection.on('error', lost);
    connection.on('reconnecting', () => lost());
    connection.on('ready', () => {
      if (reachable || !allReady()) return;
      reachable = true;
      options.log.info({ deferred }, 'queue_connection_restored');
      deferred = 0;
      // What was deferred, and what a Redis restarted without its data lost, without waiting an interval.
      sweepNow();
    });
  }
  const continuous = options.adapters.filter((a) => !a.periodic);
  const queues = new Map(
    continuous.map((a) => [
      a.name,
      new Queue<DeliveryJob>(`deliveries-${a.name}`, { connection: producer, prefix: options.prefix }),
    ]),
  );
  const periodicQueue = new Queue(PERIODIC_QUEUE, { connection: producer, prefix: options.prefix });
  // A queue passes its connection's errors on (to stderr when nothing listens): part of the same outage.
  for (const queue of [...queues.values(), periodicQueue]) queue.on('error', lost);
  const workers: Worker[] = [];
  const shutdown = new Shutdown(options.adapters.length * options.concurrency);
  let sweeper: NodeJS.Timeout | undefined;
  /** `off` until the first sweep of start() is done, and in processes that do not work. */
  let sweeping: 'off' | 'idle' | 'busy' | 'again' = 'off';
  let stopping = false;
  const intervals = new Map<string, number>();

  const queueOf = (adapter: string): Queue<DeliveryJob> | undefined => queues.get(adapter);

  /**
   * Once the grace is over, BullMQ gets this long to close: after Redis was away, a worker's close can
   * wait forever for its blocking connection (bullmq#4656), and a process that is stopping must stop.
   * What it held is in the store: an attempt in flight is taken again after its lease.
   */
  async function closedWithin(closing: Promise<unknown>, what: string): Promise<void> {
    if ((await withinTime(closing, CLOSE_TIMEOUT_MS)) === TIMED_OUT)
      options.log.warn({ what, timeoutMs: CLOSE_TIMEOUT_MS }, 'queue_close_timed_out');
  }

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

  /** The deliveries of `page` whose job Redis does not hold: one pipelined EXISTS per page. */
  async function withoutJob(queue: Queue<DeliveryJob>, page: readonly DueRow[]): Promise<DueRow[]> {
    if (page.length === 0) return [];
    const pipeline = producer.pipeline();
    // The job's hash, the key BullMQ's getJob reads (Queue.toKey(jobId)).
    for (const d of page) pipeline.exists(queue.toKey(d.id));
    const answers = (await pipeline.exec()) ?? [];
    return page.filter((_, i) => {
      const [error, exists] = answers[i] ?? [new Error('no answer')];
      if (error) throw error;
      return exists === 0;
    });
  }

  /**
   * Every due delivery of every continuous adapter, page by page in due order, each page checked
   * against Redis at once. Not just a first page: when more deliveries than a page wait with their
   * jobs (a backlog), those without one come after them and would never be found.
   */
  async function sweep(): Promise<void> {
    const nowMs = options.now().getTime();
    let reenqueued = 0;
    for (const adapter of continuous) {
      const queue = queueOf(adapter.name) as Queue<DeliveryJob>;
      for (const waiting of DUE_STATES) {
        for (let after: DueRow | undefined; !stopping;) {
          const page = await duePage(options.db, adapter.name, waiting, nowMs, after);
          const missing = await withoutJob(queue, page);
          if (missing.length > 0) {
            // fresh: the job was not there a moment ago, so there is no delayed one to promote.
            await enqueue(
              missing.map((d) => ({ id: d.id, adapter: adapter.name, dueAt: nowMs, fresh: true })),
            );
            reenqueued += missing.length;
          }
          if (page.length < SWEEP_PAGE) break;
          after = page[page.length - 1];
        }
      }
    }
    if (reenqueued > 0) options.log.warn({ count: reenqueued }, 'deliveries_reenqueued');
  }

  /** A sweep now, then one every interval; one at a time, and one more at once if asked while busy. */
  function sweepNow(): void {
    if (stopping || sweeping === 'off') return;
    if (sweeping !== 'idle') {
      sweeping = 'again';
      return;
    }
    clearTimeout(sweeper);
    sweeping = 'busy';
    sweep()
      // Redis away: part of the outage, logged once; the sweep when it is back does the work.
      .catch((error: unknown) => queuesReady() && options.log.error({ err: error }, 'sweep_failed'))
      .finally(() => {
        const again = sweeping === 'again';
        sweeping = 'idle';
        if (again) sweepNow();
        else if (!stopping) sweeper = setTimeout(sweepNow, options.sweepIntervalMs);
      });
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
      // Until a queue's connection has been ready once, BullMQ holds its commands (waiting for ready),
      // fail fast or not, and the sweep's own pipeline would fail: a gateway is started once its queues
      // can take work.
      await Promise.all([...queues.values(), periodicQueue].map((q) => q.waitUntilReady()));
      await scheduleAll();
      // An `api` process enqueues but runs nothing.
      if (!workerConnection) return;
      for (const adapter of continuous) {
        workers.push(
          new Worker<DeliveryJob>(
            `deliveries-${adapter.name}`,
            (job, token) => process(adapter, job, token),
            {
              connection: workerConnection,
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
          {
            connection: workerConnection,
            prefix: options.prefix,
            concurrency: Math.max(1, options.periodic.length),
          },
        ),
      );
      for (const worker of workers) {
        worker.on('failed', (job, error) =>
          options.log.error({ err: error, job: job?.name }, 'queue_job_failed'),
        );
        worker.on('error', (error) => {
          // A worker's own connections fail with the outage too, one error per reconnection try.
          if (isSystemError(error)) return lost(error);
          // Finishing a job Redis no longer holds (restarted without its data) or no longer lets this
          // worker hold: the store keeps the delivery's state, and the sweeper or the lease does the rest.
          if (JOB_GONE.has((error as { code?: unknown }).code))
            return options.log.warn({ err: error }, 'queue_job_gone');
          options.log.error({ err: error }, 'queue_worker_error');
        });
      }
      await sweep();
      sweeping = 'idle';
      sweeper = setTimeout(sweepNow, options.sweepIntervalMs);
    },

    wake(deliveries) {
      // The store holds them; the sweeper enqueues them once Redis answers again. Not even tried while
      // the queues' connection is down: nothing of them is held in memory.
      if (!queuesReady()) {
        deferred += deliveries.length;
        return;
      }
      enqueue(deliveries).catch((error: unknown) => {
        if (queuesReady()) options.log.error({ err: error, count: deliveries.length }, 'enqueue_failed');
        else deferred += deliveries.length;
      });
    },

    async stop(graceMs) {
      stopping = true;
      if (sweeper) clearTimeout(sweeper);
      const closing = Promise.all(workers.map((w) => w.close()));
      await shutdown.finish(closing, graceMs, options.log, () =>
        closedWithin(Promise.all(workers.map((w) => w.close(true))), 'workers'),
      );
      await options.runner.flush();
      await closedWithin(Promise.all([...queues.values(), periodicQueue].map((q) => q.close())), 'queues');
      for (const connection of connections) connection.disconnect();
    },

    async healthy() {
      // Not ready while a connection is not, said at once: a worker's connection holds a ping until
      // Redis is back.
      if (!allReady()) return false;
      try {
        return (await producer.ping()) === 'PONG';
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

const JOB_GONE = new Set<unknown>([ErrorCode.JobNotExist, ErrorCode.JobLockNotExist]);
const SWEEP_PAGE = 1000;
const CLOSE_TIMEOUT_MS = 5000;

/** Waiting deliveries whose time has come, and held ones whose worker's lease ran out. */
const DUE_STATES = ['pending', 'retrying', 'active'] as const;

interface DueRow {
  readonly id: string;
  readonly due: number;
}

/**
 * A page of one adapter's due deliveries in one state, after `after` in (due time, id) order. One
 * state per query, so that each is read in order from an index range, as claims are: an OR of the
 * states makes the database collect and sort every waiting delivery for every page.
 */
async function duePage(
  db: Kysely<CoreDatabase>,
  adapter: string,
  state: (typeof DUE_STATES)[number],
  nowMs: number,
  after: DueRow | undefined,
): Promise<DueRow[]> {
  const due = state === 'active' ? 'lease_until' : 'next_attempt_at';
  let query = db
    .selectFrom('deliveries')
    .select(['id', sql.ref<number>(due).as('due')])
    .where('adapter', '=', adapter)
    .where('status', '=', state)
    .where(due, state === 'active' ? '<' : '<=', nowMs);
  if (after) query = query.where((eb) => eb(eb.refTuple(due, 'id'), '>', eb.tuple(after.due, after.id)));
  const rows = await query.orderBy(due).orderBy('id').limit(SWEEP_PAGE).execute();
  return rows.map((r) => ({ id: r.id, due: Number(r.due) }));
}
