import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { existingTypeFiles, generateTypes } from '../../scripts/generate-types.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('generated types', function () {
  // json-schema-to-typescript, prettier and the TypeScript compiler: seconds, not milliseconds.
  this.timeout(120_000);
  let generated: Map<string, string>;

  before(async function () {
    generated = await generateTypes();
  });

  it('schemas/types is what `npm run schemas:types` makes of the schemas', function () {
    const stale = [...generated]
      .filter(
        ([path, content]) =>
          !existsSync(join(root, path)) || readFileSync(join(root, path), 'utf8') !== content,
      )
      .map(([path]) => path);
    const orphaned = existingTypeFiles().filter((path) => !generated.has(path));
    assert.deepEqual(
      { stale, orphaned },
      { stale: [], orphaned: [] },
      `run \`npm run schemas:types\` and commit the result; stale: ${stale.join(', ') || 'none'}; without a schema: ${orphaned.join(', ') || 'none'}`,
    );
  });

  it('compile under the project settings with declaration checking on (skipLibCheck hides them elsewhere)', function () {
    const program = ts.createProgram({
      rootNames: [...generated.keys()].map((path) => join(root, path)),
      options: {
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2023,
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ''} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`.trim());
    assert.deepEqual(problems, []);
  });
});
