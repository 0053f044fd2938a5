/**
 * What one attempt ended in. The kind says who decided and what happens next:
 * - `delivered`: the partner took it. Final.
 * - `transient`: nobody decided yet (network, overload, partner briefly down). Retried per the
 *   adapter's policy; `retryAfterMs` (from Retry-After) is honoured within the policy's bounds.
 *   A `deferred` transient is not a failure but a wait that Koppel itself imposes (a sending limit):
 *   the next attempt is exactly `retryAfterMs` later and the policy's count of tries is not used up.
 *   A transient may carry an `alert` (a change waiting too long): the core writes one error-log entry
 *   of kind `alert` per (delivery, code), which it resolves when the delivery ends.
 * - `rejected`: the partner said no. No retry; an error-log entry with the partner's answer.
 *   An admin may retry it from the error log after fixing the cause.
 * - `skipped`: a Koppel rule, permanent on our side (no MijnOverheid reachability, recipient
 *   deleted, sender not verified, URL refused by the guard, `unmappable:<reason>`). No retry.
 * A thrown error is none of these: the core records it as `internal` and retries it.
 */
export interface Evidence {
  readonly request?: { readonly summary: string; readonly body?: string };
  readonly response?: { readonly status?: number | string; readonly body?: string };
}

export type Outcome =
  | { readonly kind: 'delivered'; readonly evidence: Evidence }
  | {
      readonly kind: 'transient';
      readonly reason: string;
      readonly retryAfterMs?: number;
      readonly deferred?: boolean;
      readonly alert?: { readonly code: string; readonly detail: string };
      readonly evidence?: Evidence;
    }
  | {
      readonly kind: 'rejected';
      readonly reason: string;
      readonly code?: string;
      readonly evidence: Evidence;
    }
  | {
      readonly kind: 'skipped';
      readonly rule: string;
      readonly detail: string;
      readonly evidence?: Evidence;
    };

export type OutcomeKind = Outcome['kind'];

export function delivered(evidence: Evidence = {}): Outcome {
  return { kind: 'delivered', evidence };
}

export function transient(reason: string, evidence?: Evidence, retryAfterMs?: number): Outcome {
  return {
    kind: 'transient',
    reason,
    ...(evidence === undefined ? {} : { evidence }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** Wait until `retryAfterMs` from now without counting a failed try (our own sending limit, a closed window). */
export function deferred(reason: string, retryAfterMs: number, evidence?: Evidence): Outcome {
  return {
    kind: 'transient',
    reason,
    retryAfterMs,
    deferred: true,
    ...(evidence === undefined ? {} : { evidence }),
  };
}

export function rejected(reason: string, evidence: Evidence = {}, code?: string): Outcome {
  return { kind: 'rejected', reason, evidence, ...(code === undefined ? {} : { code }) };
}

export function skipped(rule: string, detail: string, evidence?: Evidence): Outcome {
  return { kind: 'skipped', rule, detail, ...(evidence === undefined ? {} : { evidence }) };
}
