import assert from 'node:assert/strict';
import { getEventListeners, getMaxListeners } from 'node:events';
import { createShutdown } from '../../../../gateway/dispatch/dispatcher.ts';
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
  it('takes a listener for every attempt slot before Node warns of a leak', () => {
    const limit = getMaxListeners(createShutdown(128).signal);
    assert.ok(limit >= 128 && limit < 256, `limit ${limit}`);
  });
});
