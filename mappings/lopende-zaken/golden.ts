import type { GoldenSpec } from '../kit.ts';
import {
  caseStatusChangeToZaakLk01,
  type ZaakStatusGezet,
  type ZakLk01Context,
} from './case-status-change-to-zaak-lk01.ts';

/** The expected file is the zakLk01 body element as sent, with a final newline. */
export const golden: GoldenSpec = {
  inputType: () => 'nl.zaken.zaak-status-gezet',
  extension: 'xml',
  run(input, context) {
    const result = caseStatusChangeToZaakLk01(input as ZaakStatusGezet, context as ZakLk01Context);
    return result.ok ? { ok: true, value: `${result.value}\n` } : result;
  },
};
