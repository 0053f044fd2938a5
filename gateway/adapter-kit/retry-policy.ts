/**
 * A retry policy is data owned by its adapter (STYLE.md rule 3). `nextAttemptAt` is the one pure
 * function that turns it into a time; the dispatcher never computes delays anywhere else.
 */
export interface RetryPolicy {
  /** Delay before attempt n+1 after attempt n failed transiently: index 0 follows the first attempt. */
  readonly delaysMs: readonly number[];
  /** After the last delay: `fail` ends the delivery (exhausted); `repeat-last` keeps trying forever. */
  readonly afterLast: 'fail' | 'repeat-last';
  /** 0 … 0.2: each delay is spread uniformly over ±jitter of itself, so retries do not stampede. */
  readonly jitter: number;
  /** `clamp`: a partner's Retry-After is honoured but kept within [delay, 2 × delay]. */
  readonly retryAfter: 'ignore' | 'clamp';
}

export const seconds = (n: number): number => n * 1000;
export const minutes = (n: number): number => n * 60_000;
export const hours = (n: number): number => n * 3_600_000;

/**
 * When to try again after `attemptNumber` (1-based) ended transiently, or `null` when the policy
 * is exhausted. `random` is injected (0 ≤ r < 1) so that tests are deterministic.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attemptNumber: number,
  now: Date,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): Date | null {
  const scheduled = scheduledDelay(policy, attemptNumber);
  if (scheduled === null) return null;
  let delay = scheduled;
  if (policy.jitter > 0) delay = delay * (1 + policy.jitter * (2 * random() - 1));
  if (policy.retryAfter === 'clamp' && retryAfterMs !== undefined && retryAfterMs > 0) {
    delay = Math.min(Math.max(retryAfterMs, scheduled), 2 * scheduled);
  }
  return new Date(now.getTime() + Math.max(0, Math.round(delay)));
}

function scheduledDelay(policy: RetryPolicy, attemptNumber: number): number | null {
  const delays = policy.delaysMs;
  if (delays.length === 0) return null;
  const index = attemptNumber - 1;
  if (index < delays.length) return delays[index] ?? null;
  return policy.afterLast === 'repeat-last' ? (delays[delays.length - 1] ?? null) : null;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `1h,2h,6h,24h` (units ms, s, m, h, d); a trailing `+` means repeat-last. */
export function parseDelayList(
  text: string,
): { delaysMs: number[]; repeatLast: boolean } | { error: string } {
  const trimmed = text.trim();
  const repeatLast = trimmed.endsWith('+');
  const body = repeatLast ? trimmed.slice(0, -1) : trimmed;
  const delaysMs: number[] = [];
  for (const part of body.split(',')) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(part);
    if (!match) return { error: `"${part.trim()}" is not a delay like 50ms, 30s, 5m, 1h or 1d` };
    delaysMs.push(Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1)));
  }
  return { delaysMs, repeatLast };
}
