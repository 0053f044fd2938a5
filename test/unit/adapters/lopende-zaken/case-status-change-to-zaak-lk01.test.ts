import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  caseStatusChangeToZaakLk01,
  type ZaakStatusGezet,
  type ZakLk01Context,
} from '../../../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';
import { requirePartnerContracts, validateZakLk01 } from '../../../helpers/servers/soap-partner.ts';

// The shared runner (test/mappings.golden.test.ts) compares the golden cases; here every expected
// zakLk01 is validated against the StUF-ZKN 3.10 schemas, and properties beyond the cases are checked.
const golden = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../mappings/lopende-zaken/golden');
const cases = readdirSync(golden)
  .filter((name) => name.endsWith('.input.json'))
  .map((name) => name.slice(0, -'.input.json'.length));
const read = (name: string): string => readFileSync(join(golden, name), 'utf8');
const run = (name: string) =>
  caseStatusChangeToZaakLk01(
    JSON.parse(read(`${name}.input.json`)) as ZaakStatusGezet,
    JSON.parse(read(`${name}.context.json`)) as ZakLk01Context,
  );

describe('mapping lopende-zaken: case status change → zakLk01', () => {
  it('is deterministic: the same input and context give the same bytes', () => {
    const first = run('status-ontvangen');
    assert.deepEqual(run('status-ontvangen'), first);
  });

  it('writes summer and winter time as Dutch local time', () => {
    const input = JSON.parse(read('status-ontvangen.input.json')) as ZaakStatusGezet;
    const ctx = JSON.parse(read('status-ontvangen.context.json')) as ZakLk01Context;
    const at = (datumStatusGezet: string): string => {
      const mapped = caseStatusChangeToZaakLk01(
        { ...input, status: { ...input.status, datumStatusGezet } },
        ctx,
      );
      assert.ok(mapped.ok);
      return /<ZKN:datumStatusGezet>(\d+)</.exec(mapped.value)?.[1] ?? '';
    };
    assert.equal(at('2025-07-01T10:00:00Z'), '20250701120000');
    assert.equal(at('2025-01-01T10:00:00Z'), '20250101110000');
    assert.equal(at('2025-03-30T00:59:59Z'), '20250330015959');
    assert.equal(at('2025-03-30T01:00:00Z'), '20250330030000');
  });

  it('marks a non-authentic BSN as such (the adapter skips it before mapping; the mapping does not hide it)', () => {
    const input = JSON.parse(read('status-ontvangen.input.json')) as ZaakStatusGezet;
    const mapped = caseStatusChangeToZaakLk01(
      { ...input, zaak: { ...input.zaak, initiator: { ...input.zaak.initiator, authentiek: false } } },
      JSON.parse(read('status-ontvangen.context.json')) as ZakLk01Context,
    );
    assert.ok(mapped.ok && mapped.value.includes('<BG:authentiek StUF:metagegeven="true">N</BG:authentiek>'));
  });
});

describe('mapping lopende-zaken: golden zakLk01 against the StUF-ZKN 3.10 schemas', function () {
  let stufFolder = '';
  before(function () {
    stufFolder = requirePartnerContracts(this).stufFolder;
  });

  for (const name of cases) {
    it(`${name} is schema-valid (or unmappable)`, async () => {
      const mapped = run(name);
      if (!mapped.ok) return;
      assert.deepEqual(await validateZakLk01(read(`${name}.expected.xml`), stufFolder), []);
    });
  }

  it('the validator does refuse what the schema forbids', async () => {
    const invalid = read('status-ontvangen.expected.xml').replace(
      '<BG:inp.bsn>999993653<',
      '<BG:inp.bsn>99999365<',
    );
    const errors = await validateZakLk01(invalid, stufFolder);
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /inp\.bsn/);
  });
});
