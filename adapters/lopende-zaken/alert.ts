import type { Delivery, Outcome } from '../../gateway/adapter-kit/index.ts';
import type { ZaakStatusGezet } from '../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';

export const ALERT_CODE = 'lopende-zaken-change-waiting-long';

/**
 * Rule 4: a change is kept without limit while a service is unreachable, but one still waiting
 * `alertAfterMs` after Koppel accepted it must be noticed. It carries the core's alert, which the
 * core writes once per delivery to the error log and resolves when the delivery ends.
 */
export function withAlert(outcome: Outcome, delivery: Delivery, now: Date, alertAfterMs: number): Outcome {
  if (outcome.kind !== 'transient') return outcome;
  const since = delivery.message.receivedAt;
  const waitedMs = now.getTime() - since.getTime();
  if (waitedMs <= alertAfterMs) return outcome;
  const zaak = (delivery.message.data as ZaakStatusGezet).zaak.identificatie;
  return {
    ...outcome,
    alert: {
      code: ALERT_CODE,
      detail: `${zaak} has waited ${duration(waitedMs)} since ${since.toISOString()}: ${outcome.reason}`,
    },
  };
}

/** `1 d 2 h 5 min`, or seconds below a minute (tests use a one-second alert age). */
export function duration(ms: number): string {
  const totalMinutes = Math.floor(ms / 60_000);
  if (totalMinutes === 0) return `${Math.floor(ms / 1000)} s`;
  const parts: [number, string][] = [
    [Math.floor(totalMinutes / 1440), 'd'],
    [Math.floor((totalMinutes % 1440) / 60), 'h'],
    [totalMinutes % 60, 'min'],
  ];
  return parts
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(' ');
}
