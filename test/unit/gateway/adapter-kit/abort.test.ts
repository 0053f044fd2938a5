import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { signalWithTimeout } from '../../../../gateway/adapter-kit/abort.ts';

describe('adapter kit: signalWithTimeout', () => {
  it('aborts with a TimeoutError once the time is up', async () => {
    const timed = signalWithTimeout(new AbortController().signal, 5);
    await new Promise((resolve) => timed.signal.addEventListener('abort', resolve, { once: true }));
    assert.equal(timed.timedOut, true);
    assert.equal((timed.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('aborts with the parent’s reason when the parent aborts first, and when it already has', () => {
    const parent = new AbortController();
    const timed = signalWithTimeout(parent.signal, 60_000);
    parent.abort(new Error('shutting down'));
    assert.equal(timed.signal.aborted, true);
    assert.equal(timed.timedOut, false);
    assert.equal((timed.signal.reason as Error).message, 'shutting down');
    timed.release();
    assert.equal(signalWithTimeout(parent.signal, 60_000).signal.aborted, true);
  });

  it('leaves nothing behind on a long-lived parent once released, and fires no more', async () => {
    const parent = new AbortController();
    const released = Array.from({ length: 1000 }, () => signalWithTimeout(parent.signal, 1));
    for (const timed of released) timed.release();
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    parent.abort();
    assert.ok(released.every((timed) => !timed.signal.aborted && !timed.timedOut));
  });
});
