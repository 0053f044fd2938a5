import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adapters } from '../../adapters/index.ts';
import { renderReadme } from '../../scripts/generate-docs.ts';
import catalogue from '../../schemas/problems/problem-types.json' with { type: 'json' };
import { filesUnder, ROOT } from './source-files.ts';

/** Code, README and schemas kept in step (Fastify's errors test, n8n's duplicate registry line). */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('architecture: catalogues', () => {
  it('the README tables are generated from the current schemas (npm run docs:config)', () => {
    assert.equal(renderReadme(readme), readme, 'README.md is stale: run npm run docs:config');
  });

  it('every problem type used in code is catalogued, and every catalogued one is used', () => {
    const known = new Set(catalogue.types.map((t) => t.slug));
    const used = new Set<string>();
    for (const file of [...filesUnder('gateway', '.ts'), ...filesUnder('adapters', '.ts')]) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(
        /\b(?:problem|problemResponse|problemBody|sendProblem)\(\s*'([a-z0-9-]+)'/g,
      )) {
        const slug = match[1] as string;
        used.add(slug);
        assert.ok(
          known.has(slug),
          `${file} answers problem type "${slug}", which is not in schemas/problems/problem-types.json`,
        );
      }
    }
    for (const slug of known)
      assert.ok(used.has(slug), `problem type "${slug}" is catalogued but never answered`);
  });

  it('the registry lists each adapter once, with its settings schema, README section and conformance run', () => {
    const names = adapters.map((a) => a.name);
    assert.deepEqual(names, [...new Set(names)], 'an adapter is listed twice');
    const integration = filesUnder('test/integration', '.ts').map((f) => readFileSync(f, 'utf8'));
    for (const adapter of adapters) {
      assert.match(adapter.name, /^[a-z][a-z0-9-]*$/);
      const schemaFile = join(ROOT, 'schemas/adapters', `${adapter.name}.settings.schema.json`);
      assert.deepEqual(
        JSON.parse(readFileSync(schemaFile, 'utf8')),
        adapter.settingsSchema,
        `${adapter.name}: settingsSchema is not the schema file`,
      );
      assert.ok(
        readme.includes(`<!-- generated:settings-${adapter.name} -->`),
        `README has no settings section for ${adapter.name}`,
      );
      assert.ok(
        integration.some(
          (text) => text.includes('describeAdapterConformance(') && text.includes(`'${adapter.name}'`),
        ),
        `no integration test runs the conformance suite for ${adapter.name}`,
      );
    }
  });
});
