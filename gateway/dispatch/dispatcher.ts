import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LoadedAdapter } from '../registry.ts';
import type { CoreDatabase } from '../store/schema.ts';
import type { Dialect } from '../store/db.ts';
import type { AttemptRunner } from './run-attempt.ts';
import { expectListeners, TIMED_OUT, withinTime } from '../adapter-kit/abort.ts';

/**
 * Moves due deliveries to their adapters. Two implementations share `run-attempt.ts`: the embedded
 * poller (the store is the queue) and BullMQ on Redis (job id = delivery id). In both the store is
 * the judge of what is due; the queue only says when to look.
 */
export interface Dispatcher {
  start(): Promise<void>;
  /** These deliveries are due at `dueAt` (epoch ms): after ingest, a retry from the error log, a resend. */
  wake(deliveries: readonly DueDelivery[]): void;
  /** Stops taking work, lets attempts in flight finish for up to `graceMs`, then closes. */
  stop(graceMs: number): Promise<void>;
  /** The queue is reachable (always for the embedded poller). */
  healthy(): Promise<boolean>;
}

export interface DueDelivery {
  readonly id: string;
  readonly adapter: string;
  readonly dueAt: number;
  /** Planned by ingest just now: no queue job can exist for it yet, so none is looked for. */
  readonly fresh?: boolean;
}

/** What every dispatcher is built from, whichever queue it uses. */
export interface DispatcherParts {
  readonly db: Kysely<CoreDatabase>;
  readonly dialect: Dialect;
  readonly adapters: readonly LoadedAdapter[];
  readonly periodic: readonly PeriodicWork[];
  readonly runner: AttemptRunner;
  readonly log: Logger;
  readonly now: () => Date;
  readonly workerId: string;
  /** Attempts in flight per adapter in this process. */
  readonly concurrency: number;
  readonly leaseMs: number;
}

/** Work on a timer, once per cluster: adapters' jobs and the ticks of periodic adapters. */
export interface PeriodicWork {
  /** Cluster-wide unique: `<adapter>:<job>`. */
  readonly name: string;
  intervalMs(): Promise<number>;
  run(now: Date, signal: AbortSignal): Promise<void>;
}

/**
 * How a dispatcher's attempts stop: the signal they listen to, aborted when the shutdown grace runs
 * out. Each claim group in flight listens to it, at most one per attempt slot.
 */
export class Shutdown {
  readonly #controller = new AbortController();

  constructor(attemptSlots: number) {
    expectListeners(this.#controller.signal, attemptSlots);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Waits up to `graceMs` for `finished`; past it, aborts the attempts and waits for `force()`. */
  finish(
    finished: Promise<unknown>,
    graceMs: number,
    log: Logger,
    force: () => Promise<unknown>,
  ): Promise<void> {
    return finishWithinGrace(finished, graceMs, log, () => {
      this.#controller.abort();
      return force();
    });
  }
}

/**
 * The shutdown grace of a dispatcher: waits up to `graceMs` for the attempts in flight (`finished`);
 * past it, says so and calls `force`, which aborts them and resolves once they have stopped.
 */
export async function finishWithinGrace(
  finished: Promise<unknown>,
  graceMs: number,
  log: Logger,
  force: () => Promise<unknown>,
): Promise<void> {
  if ((await withinTime(finished, graceMs)) === TIMED_OUT) {
    log.warn({ graceMs }, 'shutdown_grace_expired');
    await force();
  }
}
