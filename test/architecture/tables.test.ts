import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { filesUnder, ROOT } from './source-files.ts';

/**
 * Adapters keep to their own tables (prefixed with their name). The core's tables, as listed in
 * `CoreDatabase` (gateway/store/schema.ts), are reached only through the AdapterContext:
 * `deliveries`, `retryDeliveries`, `account`, `runtimeSettings`.
 */
const coreTables = (() => {
  const schema = readFileSync(`${ROOT}/gateway/store/schema.ts`, 'utf8');
  const body = /export interface CoreDatabase \{([^}]*)\}/.exec(schema)?.[1] ?? '';
  return [...body.matchAll(/^\s*(\w+):/gm)].map((m) => m[1] as string);
})();

/** Code without comments and import lines, where "from settings" is prose or a module path. */
const codeOf = (text: string): string =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/^\s*(import|export)\b.*\bfrom\s+['"].*$/gm, '');

function coreTableUses(source: string): string[] {
  const text = codeOf(source);
  const uses: string[] = [];
  for (const table of coreTables) {
    const kysely = new RegExp(
      String.raw`\.(selectFrom|updateTable|insertInto|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin)\(\s*['"]${table}['"]`,
    );
    const rawSql = new RegExp(String.raw`\b(from|join|into|update)\s+"?${table}"?\b`, 'i');
    if (kysely.test(text) || rawSql.test(text)) uses.push(table);
  }
  return uses;
}

describe('architecture: the core’s tables', () => {
  it('finds the core’s tables in the schema', () => {
    assert.ok(coreTables.includes('deliveries') && coreTables.includes('accounts'), coreTables.join(', '));
  });

  it('recognises a query on a core table, in Kysely and in SQL text', () => {
    assert.deepEqual(coreTableUses(`db.selectFrom('deliveries').selectAll()`), ['deliveries']);
    assert.deepEqual(coreTableUses('sql`select id from messages where id = ${id}`'), ['messages']);
    assert.deepEqual(coreTableUses(`db.selectFrom('webhooks_recipients')`), []);
    assert.deepEqual(coreTableUses(`// read from settings\nimport { x } from './settings.ts';`), []);
  });

  it('are never queried by an adapter', () => {
    for (const file of filesUnder('adapters')) {
      const uses = coreTableUses(readFileSync(file, 'utf8'));
      assert.deepEqual(uses, [], `${relative(ROOT, file)} queries ${uses.join(', ')}`);
    }
  });
});
