import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { filesUnder, ROOT } from './source-files.ts';

/**
 * The "may import" column of ARCHITECTURE.md, read from the import specifiers of every source file:
 * - mappings/ import nothing of Koppel but schemas' types and mappings' own kit;
 * - adapters/ import only gateway/adapter-kit, mappings/ and schemas/, and never another adapter;
 * - gateway/ never imports adapters/ (except the CLI composition root, which reads the registry).
 */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? m[2] ?? '');
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(dirname(file), s)));
}

describe('architecture: import boundaries', () => {
  it('mappings import only mappings and schemas', () => {
    for (const file of filesUnder('mappings')) {
      for (const target of localImports(file)) {
        assert.ok(/^(mappings|schemas)\//.test(target), `${relative(ROOT, file)} imports ${target}`);
      }
    }
  });

  it('adapters import only the adapter kit, mappings, schemas and their own folder', () => {
    for (const file of filesUnder('adapters')) {
      const own = relative(ROOT, file).split('/')[1];
      for (const target of localImports(file)) {
        if (relative(ROOT, file) === 'adapters/index.ts') {
          assert.ok(
            /^(adapters\/[^/]+\/index\.ts|gateway\/adapter-kit\/)/.test(target),
            `the registry imports ${target}`,
          );
          continue;
        }
        const allowed =
          target.startsWith('gateway/adapter-kit/') ||
          target.startsWith('mappings/') ||
          target.startsWith('schemas/') ||
          target.startsWith(`adapters/${own}/`);
        assert.ok(allowed, `${relative(ROOT, file)} imports ${target}`);
      }
    }
  });

  it('the core does not import adapters (only the CLI reads the registry)', () => {
    for (const file of filesUnder('gateway')) {
      const name = relative(ROOT, file);
      for (const target of localImports(file)) {
        if (name === 'gateway/cli.ts' && target === 'adapters/index.ts') continue;
        assert.ok(
          !target.startsWith('adapters/') && !target.startsWith('mappings/'),
          `${name} imports ${target}`,
        );
      }
    }
  });

  it('the adapter kit imports nothing of the core but security and itself', () => {
    for (const file of filesUnder('gateway/adapter-kit')) {
      for (const target of localImports(file)) {
        assert.ok(
          /^gateway\/(adapter-kit|security)\//.test(target),
          `${relative(ROOT, file)} imports ${target}`,
        );
      }
    }
  });
});
