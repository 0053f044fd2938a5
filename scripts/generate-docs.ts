import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Regenerates the README's tables between `<!-- generated:NAME -->` markers from the schemas:
 * the environment variables (schemas/config), the problem types (schemas/problems) and each
 * adapter's settings (schemas/adapters). test/architecture/catalogue.test.ts fails when stale.
 */
const ROOT = new URL('..', import.meta.url).pathname;

type Property = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  writeOnly?: boolean;
  items?: unknown;
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function configTable(): string {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/config/koppel.config.schema.json'), 'utf8')) as {
    properties: Record<string, Property>;
    patternProperties: Record<string, Property>;
  };
  const rows = Object.entries(schema.properties).map(
    ([name, p]) =>
      `| \`${name}\` | ${p.default === undefined || p.default === '' ? '' : `\`${String(p.default)}\``} | ${cell(p.description ?? '')}${p.writeOnly ? ' **Secret.**' : ''} |`,
  );
  for (const [pattern, p] of Object.entries(schema.patternProperties)) {
    const name = pattern.replace(/^\^/, '').replace(/\[A-Z0-9_\]\+\$$/, '<NAME>');
    rows.push(`| \`${name}\` | | ${cell(p.description ?? '')} |`);
  }
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

function problemsTable(): string {
  const catalogue = JSON.parse(readFileSync(join(ROOT, 'schemas/problems/problem-types.json'), 'utf8')) as {
    types: Array<{ slug: string; title: string; status: number; when: string }>;
  };
  return [
    '| type (`urn:koppel:problem:…`) | status | when |',
    '|---|---|---|',
    ...catalogue.types.map((t) => `| \`${t.slug}\` | ${t.status} | ${cell(t.when)} |`),
  ].join('\n');
}

function settingsTable(adapter: string): string {
  const schema = JSON.parse(
    readFileSync(join(ROOT, `schemas/adapters/${adapter}.settings.schema.json`), 'utf8'),
  ) as { properties?: Record<string, Property> };
  const rows = Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const type = Array.isArray(p.type) ? p.type.join(' \\| ') : (p.type ?? (p.enum ? 'enum' : 'object'));
    const fallback = p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``;
    return `| \`${name}\` | ${type} | ${fallback} | ${cell(p.description ?? '')}${p.writeOnly ? ' **Secret** (write-only).' : ''} |`;
  });
  return ['| setting | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function generatedSections(): Map<string, string> {
  const sections = new Map<string, string>([
    ['config', configTable()],
    ['problems', problemsTable()],
  ]);
  for (const file of readdirSync(join(ROOT, 'schemas/adapters'))
    .filter((f) => f.endsWith('.settings.schema.json'))
    .sort()) {
    const adapter = file.replace('.settings.schema.json', '');
    sections.set(`settings-${adapter}`, settingsTable(adapter));
  }
  return sections;
}

/** The README with every generated section replaced; sections without markers are left alone. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, table] of generatedSections()) {
    const pattern = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    out = out.replace(pattern, `$1${table}\n$2`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = join(ROOT, 'README.md');
  writeFileSync(path, renderReadme(readFileSync(path, 'utf8')));
  process.stdout.write('README.md tables regenerated\n');
}
