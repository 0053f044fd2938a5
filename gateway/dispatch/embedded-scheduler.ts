import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { CoreDatabase } from '../store/schema.ts';
import type { PeriodicWork } from './dispatcher.ts';

export interface EmbeddedSchedulerOptions {
  readonly db: Kysely<CoreDatabase>;
  readonly work: readonly PeriodicWork[];
  readonly log: Logger;
  readonly now: () => Date;
  readonly signal: AbortSignal;
}

/** How often a process looks whether a periodic job is due; bounds how late a changed interval applies. */
const CHECK_EVERY_MS = 1000;

/**
 * Runs periodic work without Redis. A row in `job_leases` per job makes a run happen once per
 * cluster even when several processes share one database: the process whose conditional update
 * moves `next_run_at` forward runs it.
 */
export function createEmbeddedScheduler(options: EmbeddedSchedulerOptions) {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  const loop = (work: PeriodicWork): void => {
    if (stopped) return;
    const run = tick(work)
      .catch((error: unknown) => options.log.error({ err: error, job: work.name }, 'periodic_job_failed'))
      .then(async () => {
        running.delete(run);
        const interval = await work.intervalMs().catch(() => CHECK_EVERY_MS);
        if (stopped) return;
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            loop(work);
          },
          Math.min(interval, CHECK_EVERY_MS),
        );
        timers.add(timer);
      });
    running.add(run);
  };

  const tick = async (work: PeriodicWork): Promise<void> => {
    const interval = await work.intervalMs();
    const nowMs = options.now().getTime();
    await options.db
      .insertInto('job_leases')
      .values({ name: work.name, locked_until: 0, next_run_at: nowMs, last_run_at: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    // A shortened interval applies at once rather than after the old, longer wait.
    await options.db
      .updateTable('job_leases')
      .set({ next_run_at: sql<number>`coalesce(last_run_at, 0) + ${interval}` })
      .where('name', '=', work.name)
      .where('next_run_at', '>', sql<number>`coalesce(last_run_at, 0) + ${interval}`)
      .execute();
    const claimed = await options.db
      .updateTable('job_leases')
      .set({
        next_run_at: nowMs + interval,
        locked_until: nowMs + Math.max(interval, 60_000),
        last_run_at: nowMs,
      })
      .where('name', '=', work.name)
      .where('next_run_at', '<=', nowMs)
      .where('locked_until', '<=', nowMs)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return;
    try {
      await work.run(new Date(nowMs), options.signal);
    } finally {
      await options.db
        .updateTable('job_leases')
        .set({ locked_until: 0 })
        .where('name', '=', work.name)
        .execute();
    }
  };

  return {
    start(): void {
      for (const work of options.work) loop(work);
    },
    async stop(): Promise<void> {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(running);
    },
  };
}
