import assert from 'node:assert/strict';
import { getEventListeners, getMaxListeners } from 'node:events';
import { pino } from 'pino';
import { signalWithTimeout } from '../../../../gateway/adapter-kit/abort.ts';
import { Shutdown } from '../../../../gateway/dispatch/dispatcher.ts';
import { AttemptGroup } from '../../../../gateway/dispatch/run-attempt.ts';

const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('dispatch: attempts claimed together', () => {
  it('share one memo, one timeout and one listener on the shutdown signal', async () => {
    const shutdown = new AbortController();
    const group = new AttemptGroup(shutdown.signal, 5, 3);
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 1);
    await aborted(group.signal);
    assert.equal((group.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('are aborted when the dispatcher shuts down', () => {
    const shutdown = new AbortController();
    const group = new AttemptGroup(shutdown.signal, 60_000, 2);
    shutdown.abort(new Error('grace expired'));
    assert.equal((group.signal.reason as Error).message, 'grace expired');
    group.attemptOver();
    group.attemptOver();
  });

  it('let every attempt of a large claim hook its request onto the signal without a leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const group = new AttemptGroup(new AbortController().signal, 60_000, 32);
      const requests = Array.from({ length: 32 }, () => signalWithTimeout(group.signal, 60_000));
      // Node emits process warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
      for (const request of requests) request.release();
      assert.ok(getMaxListeners(group.signal) < 64, 'the bound still catches a real leak');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('leave nothing behind when the claim took nothing', async () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 100; i++) new AttemptGroup(shutdown.signal, 60_000, 0);
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 0);
  });

  it('leave nothing behind once the last attempt is over, and not before', async () => {
    const shutdown = new AbortController();
    const group = new AttemptGroup(shutdown.signal, 5, 2);
    group.attemptOver();
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 1, 'one attempt still runs');
    group.attemptOver();
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 0);
    await new Promise((resolve) => setTimeout(resolve, 15));
    shutdown.abort();
    assert.equal(group.signal.aborted, false);
  });
});

describe('dispatch: the shutdown signal', () => {
  it('stays unaborted when the work finishes within the grace', async () => {
    const shutdown = new Shutdown(1);
    await shutdown.finish(Promise.resolve(), 60_000, pino({ level: 'silent' }), async () => {
      throw new Error('not forced');
    });
    assert.equal(shutdown.signal.aborted, false);
  });

  it('is aborted when the grace runs out, before the forced stop is awaited', async () => {
    const shutdown = new Shutdown(1);
    let abortedWhenForced: boolean | undefined;
    await shutdown.finish(new Promise(() => undefined), 5, pino({ level: 'silent' }), async () => {
      abortedWhenForced = shutdown.signal.aborted;
    });
    assert.equal(abortedWhenForced, true);
  });

  it('takes a listener for every attempt slot before Node warns of a leak', () => {
    const limit = getMaxListeners(new Shutdown(128).signal);
    assert.ok(limit >= 128 && limit < 256, `limit ${limit}`);
  });
});
