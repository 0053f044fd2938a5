import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GoldenSpec } from '../mappings/kit.ts';
import { createCanonicalValidator } from '../gateway/ingest/canonical-validator.ts';

/**
 * Every golden case of every mapping folder (STYLE.md §3.4): the input is validated against its
 * canonical schema first, so that a schema change that breaks a case fails loudly; then the output
 * is compared byte for byte with `<case>.expected.<ext>`, or the reason with `<case>.unmappable.txt`.
 * `UPDATE_GOLDEN=1 npm run golden:update` rewrites the expected files; review happens in the diff.
 */
const MAPPINGS = new URL('../mappings/', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';
const validator = createCanonicalValidator();
const folders = readdirSync(MAPPINGS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(MAPPINGS, entry.name, 'golden')))
  .map((entry) => entry.name)
  .sort();

describe('golden mappings', () => {
  it('every mapping folder with golden cases has a golden.ts', () => {
    for (const folder of folders)
      assert.ok(existsSync(join(MAPPINGS, folder, 'golden.ts')), `mappings/${folder}/golden.ts is missing`);
  });

  for (const folder of folders) {
    describe(`mappings/${folder}`, () => {
      const dir = join(MAPPINGS, folder, 'golden');
      const cases = readdirSync(dir)
        .filter((f) => f.endsWith('.input.json'))
        .map((f) => f.slice(0, -'.input.json'.length))
        .sort();
      let spec: GoldenSpec;
      before(async () => {
        spec = ((await import(join(MAPPINGS, folder, 'golden.ts'))) as { golden: GoldenSpec }).golden;
      });

      it('has a mappable and an unmappable case', () => {
        assert.ok(
          cases.some((c) => !existsSync(join(dir, `${c}.unmappable.txt`))),
          'no mappable case',
        );
        assert.ok(
          cases.some((c) => existsSync(join(dir, `${c}.unmappable.txt`))),
          'no unmappable case',
        );
      });

      for (const name of cases) {
        it(name, () => {
          const input = JSON.parse(readFileSync(join(dir, `${name}.input.json`), 'utf8')) as unknown;
          const contextFile = join(dir, `${name}.context.json`);
          const context = existsSync(contextFile)
            ? (JSON.parse(readFileSync(contextFile, 'utf8')) as unknown)
            : {};
          const verdict = validator.validate({
            specversion: '1.0',
            id: name,
            source: 'urn:nld:oin:00000001823288444000:systeem:golden',
            type: spec.inputType(context),
            datacontenttype: 'application/json',
            data: input,
          });
          assert.ok(
            verdict.ok,
            `the input is not valid canonical data: ${JSON.stringify(verdict.ok ? '' : verdict.errors)}`,
          );

          const result = spec.run(input, context);
          const expectedFile = join(dir, `${name}.expected.${spec.extension}`);
          const unmappableFile = join(dir, `${name}.unmappable.txt`);
          if (update) {
            if (result.ok) writeFileSync(expectedFile, result.value);
            else writeFileSync(unmappableFile, `${result.unmappable}\n`);
          }
          if (existsSync(unmappableFile)) {
            assert.ok(!result.ok, 'expected unmappable, but it mapped');
            assert.equal(result.unmappable, readFileSync(unmappableFile, 'utf8').trimEnd());
          } else {
            assert.ok(result.ok, result.ok ? '' : `unmappable: ${result.unmappable}`);
            assert.equal(result.value, readFileSync(expectedFile, 'utf8'));
          }
        });
      }
    });
  }
});
