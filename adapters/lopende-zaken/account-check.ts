import { randomUUID } from 'node:crypto';
import { classifySoap } from './soap-fault.ts';
import type { WusService } from './transport.ts';

/**
 * "May this organisation reach this BSN in MijnOverheid?" through BerichtenboxValidatieService
 * `ValidateAbonnementen`, batched: one call per at most `batchSize` (Logius: 1 to 250) distinct
 * BSNs. A failed call fails only the BSNs it carried. BSNs never go into logs or evidence.
 */

export type Reachability =
  | { readonly kind: 'answered'; readonly reachable: boolean }
  | {
      readonly kind: 'failed';
      readonly outcome: 'transient' | 'rejected';
      readonly reason: string;
      readonly code: string;
      readonly answer?: string;
    };

export interface AccountCheckOptions {
  readonly berichtleverancierCode: string;
  readonly berichtTypeCode: string;
  readonly batchSize: number;
}

export async function checkReachability(
  service: WusService,
  options: AccountCheckOptions,
  bsns: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, Reachability>> {
  const unique = [...new Set(bsns)];
  const result = new Map<string, Reachability>();
  for (let start = 0; start < unique.length; start += options.batchSize) {
    const batch = unique.slice(start, start + options.batchSize);
    for (const [bsn, reachability] of await checkBatch(service, options, batch, signal))
      result.set(bsn, reachability);
  }
  return result;
}

async function checkBatch(
  service: WusService,
  options: AccountCheckOptions,
  bsns: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, Reachability>> {
  const { exchange } = await service.call({
    body: {
      validateAbonnementenAanvraag: {
        berichtleverancierCode: options.berichtleverancierCode,
        berichtTypeCode: options.berichtTypeCode,
        klanten: { Klant: bsns.map((bsn) => ({ Key: bsn, Rol: 'Burger' })) },
      },
    },
    // A check is a query: a fresh MessageID per call.
    messageId: `urn:uuid:${randomUUID()}`,
    signal,
  });
  const verdict = classifySoap(exchange, 'ValidateAbonnementenResponse');
  if (verdict.kind !== 'ok') {
    const answer = exchange.kind === 'response' ? `HTTP ${exchange.status}: ${exchange.body}` : undefined;
    const failed: Reachability = {
      kind: 'failed',
      outcome: verdict.kind,
      reason: `account check: ${verdict.reason}`,
      code: verdict.code,
      ...(answer === undefined ? {} : { answer }),
    };
    return new Map(bsns.map((bsn) => [bsn, failed]));
  }
  const answered = new Map<string, boolean>();
  for (const abonnement of asArray(
    pick(verdict.body, 'ValidateAbonnementenResponse', 'ValidateAbonnementenResult', 'Abonnement'),
  )) {
    const key = pick(abonnement, 'klant', 'Key');
    const flag = pick(abonnement, 'isBerichtSturen');
    if (typeof key === 'string') answered.set(key, flag === true || flag === 'true' || flag === '1');
  }
  return new Map(
    bsns.map((bsn): [string, Reachability] => {
      const reachable = answered.get(bsn);
      return [
        bsn,
        reachable === undefined
          ? {
              kind: 'failed',
              outcome: 'rejected',
              reason: 'account check: the answer has no Abonnement for this BSN',
              code: 'abonnement-missing',
            }
          : { kind: 'answered', reachable },
      ];
    }),
  );
}

function pick(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}
