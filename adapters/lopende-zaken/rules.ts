import { isValidBsn } from '../../gateway/adapter-kit/index.ts';
import type { ZaakStatusGezet } from '../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';

/**
 * Rule 1 of the sources: only an authentic BSN that passes the elfproef is sent, and only a status
 * whose type says to inform the initiator. The answer is the `skipped` rule, or null to go on.
 * (The canonical schema already refuses a BSN failing the elfproef at ingest; checking again here
 * keeps the rule true for messages accepted under an older schema and for replays.)
 */
export type SkipRule = { readonly rule: string; readonly detail: string };

export function sendingRuleFor(change: ZaakStatusGezet): SkipRule | null {
  if (!change.status.statustype.informeren) {
    return {
      rule: 'status-not-informed',
      detail: `statustype "${change.status.statustype.omschrijving}" does not inform the initiator`,
    };
  }
  if (!change.zaak.initiator.authentiek) {
    return { rule: 'bsn-not-authentic', detail: 'the initiator BSN is not authentic' };
  }
  if (!isValidBsn(change.zaak.initiator.bsn)) {
    return { rule: 'bsn-fails-elfproef', detail: 'the initiator BSN fails the elfproef' };
  }
  return null;
}
