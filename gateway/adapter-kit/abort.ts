import { setMaxListeners } from 'node:events';

/** A signal aborted by its parent or after `timeoutMs`, whichever comes first, until released. */
export interface TimedSignal {
  readonly signal: AbortSignal;
  /** Whether the timeout (not the parent) aborted it. */
  readonly timedOut: boolean;
  /** Stops the timer and unhooks from the parent; call once the work is over. */
  release(): void;
}

/**
 * What `AbortSignal.any([parent, AbortSignal.timeout(ms)])` does, without its costs on Node 20: `any`
 * leaves a WeakRef in the parent's list of dependants for every call, never pruned while the parent
 * lives (about 40 bytes per attempt on the dispatcher's long-lived shutdown signal: 100,000 attempts
 * kept 4 MB), and `AbortSignal.timeout` keeps its timer for the whole timeout after the work ended.
 */
export function signalWithTimeout(parent: AbortSignal | undefined, timeoutMs: number): TimedSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * Lets `expected` listeners onto a signal that is a parent by design (the dispatcher's shutdown, a claim's
 * shared timeout) before Node warns of a leak: its default of ten would be a false alarm there, while a
 * bound just above what is expected keeps the warning for a real leak.
 */
export function expectListeners(signal: AbortSignal, expected: number): void {
  setMaxListeners(expected + 10, signal);
}

export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * `work`'s value, or TIMED_OUT when it has not settled within `ms`: for waits that must end however
 * long the work takes (the work itself goes on). Its timer keeps no process alive.
 */
export async function withinTime<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
