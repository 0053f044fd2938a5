import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sendingRuleFor } from '../../../../adapters/lopende-zaken/rules.ts';
import type { ZaakStatusGezet } from '../../../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';

const change = JSON.parse(
  readFileSync(
    new URL('../../../../mappings/lopende-zaken/golden/status-ontvangen.input.json', import.meta.url),
    'utf8',
  ),
) as ZaakStatusGezet;
const withInitiator = (initiator: Partial<ZaakStatusGezet['zaak']['initiator']>): ZaakStatusGezet => ({
  ...change,
  zaak: { ...change.zaak, initiator: { ...change.zaak.initiator, ...initiator } },
});

describe('lopende-zaken rule 1: who may be sent', () => {
  it('sends an authentic BSN passing the elfproef for a status that informs', () => {
    assert.equal(sendingRuleFor(change), null);
  });

  it('skips a non-authentic BSN', () => {
    assert.equal(sendingRuleFor(withInitiator({ authentiek: false }))?.rule, 'bsn-not-authentic');
  });

  for (const bsn of ['123456789', '999993654', '000000000', '12345678', '99999365a']) {
    it(`skips BSN ${bsn}, which fails the elfproef, even when marked authentic`, () => {
      assert.equal(sendingRuleFor(withInitiator({ bsn }))?.rule, 'bsn-fails-elfproef');
    });
  }

  for (const bsn of ['999993653', '123456782']) {
    it(`sends BSN ${bsn}, which passes the elfproef`, () => {
      assert.equal(sendingRuleFor(withInitiator({ bsn })), null);
    });
  }

  it('skips a status whose type does not inform the initiator', () => {
    const silent = {
      ...change,
      status: { ...change.status, statustype: { ...change.status.statustype, informeren: false } },
    };
    assert.equal(sendingRuleFor(silent)?.rule, 'status-not-informed');
  });
});
