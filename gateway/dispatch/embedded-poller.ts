import type { LoadedAdapter } from '../registry.ts';
import { claimDue } from './claims.ts';
import { Shutdown, type Dispatcher, type DispatcherParts, type DueDelivery } from './dispatcher.ts';
import { createEmbeddedScheduler } from './embedded-scheduler.ts';

export interface EmbeddedPollerOptions extends DispatcherParts {
  readonly pollIntervalMs: number;
}

/**
 * The embedded dispatcher: the store is the queue. Each continuous adapter keeps up to
 * `concurrency` attempts in flight; it claims more as attempts finish, when ingest wakes it, at the
 * earliest retry time it knows of, and every `pollIntervalMs` (to find work of other processes and
 * deliveries whose worker died).
 */
export function createEmbeddedPoller(options: EmbeddedPollerOptions): Dispatcher {
  const shutdown = new Shutdown(options.adapters.length * options.concurrency);
  const lanes = new Map(
    options.adapters
      .filter((a) => !a.periodic)
      .map((adapter) => [adapter.name, new Lane(adapter, options, shutdown.signal)]),
  );
  const scheduler = createEmbeddedScheduler({ ...options, work: options.periodic, signal: shutdown.signal });

  return {
    async start() {
      for (const lane of lanes.values()) lane.start();
      scheduler.start();
    },
    wake(deliveries: readonly DueDelivery[]) {
      const nowMs = options.now().getTime();
      const earliest = new Map<string, number>();
      for (const d of deliveries)
        earliest.set(d.adapter, Math.min(earliest.get(d.adapter) ?? Infinity, d.dueAt));
      for (const [adapter, at] of earliest) lanes.get(adapter)?.wakeAt(Math.max(at, nowMs));
    },
    async stop(graceMs: number) {
      for (const lane of lanes.values()) lane.stopTaking();
      await scheduler.stop();
      const drained = Promise.all([...lanes.values()].map((l) => l.idle()));
      await shutdown.finish(drained, graceMs, options.log, () => drained);
      await options.runner.flush();
    },
    healthy: async () => true,
  };
}

class Lane {
  private inFlight = 0;
  private claiming = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private idleWaiters: Array<() => void> = [];
  /** Whether due work may be left: false after a claim that found less than it asked for, until a wake. */
  private mayHaveMore = true;
  /** Expired leases are looked for at start and on each timer (poll), not on every claim. */
  private pollDue = true;
  private readonly refillAt: number;

  constructor(
    private readonly adapter: LoadedAdapter,
    private readonly options: EmbeddedPollerOptions,
    private readonly shutdown: AbortSignal,
  ) {
    this.refillAt = Math.max(1, Math.floor(options.concurrency / 2));
  }

  start(): void {
    this.pump();
  }

  stopTaking(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  idle(): Promise<void> {
    if (this.inFlight === 0 && !this.claiming) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  wakeAt(at: number): void {
    const delay = at - this.options.now().getTime();
    if (delay > 0) this.schedule(delay);
    else {
      this.mayHaveMore = true;
      this.pump();
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.mayHaveMore = true;
      this.pollDue = true;
      this.pump();
    }, delayMs);
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    const free = this.options.concurrency - this.inFlight;
    // Claiming costs a query whatever its size: with attempts in flight, wait until half of the slots
    // are free (each finishing attempt pumps again), whoever asks.
    if (free <= 0 || (this.inFlight > 0 && free < this.refillAt)) return;
    this.claiming = true;
    this.again = false;
    const takeExpired = this.pollDue;
    this.pollDue = false;
    claimDue(this.options.db, this.options.dialect, {
      takeExpired,
      adapter: this.adapter.name,
      workerId: this.options.workerId,
      nowMs: this.options.now().getTime(),
      leaseMs: this.options.leaseMs,
      limit: free,
    })
      .then((claimed) => {
        const group = this.options.runner.startGroup(this.adapter, this.shutdown, claimed.length);
        for (const c of claimed) {
          this.inFlight++;
          this.options.runner
            .runOne(this.adapter, c, group)
            .then((result) => {
              if (result.nextAttemptAt !== null) this.wakeAt(result.nextAttemptAt);
            })
            .catch((error: unknown) =>
              this.options.log.error({ err: error, adapter: this.adapter.name }, 'attempt_not_recorded'),
            )
            .finally(() => {
              this.inFlight--;
              if (this.mayHaveMore) this.pump();
              this.notifyIdle();
            });
        }
        return claimed.length;
      })
      .catch((error: unknown) => {
        this.options.log.error({ err: error, adapter: this.adapter.name }, 'claim_failed');
        this.pollDue ||= takeExpired;
        return 0;
      })
      .then((count) => {
        this.claiming = false;
        // A full claim means more may be waiting; a short one waits for a wake or the next poll.
        this.mayHaveMore = this.again || count === free;
        if (this.mayHaveMore) setImmediate(() => this.pump());
        else this.schedule(this.options.pollIntervalMs);
        this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.inFlight === 0 && !this.claiming) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
