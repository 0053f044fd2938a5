import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailTemplate, TemplateCatalogue } from '../../mappings/mail/templates.ts';
import { projectPath } from '../../gateway/adapter-kit/project-files.ts';

const BUILT_IN = projectPath('mappings/mail/templates');

/**
 * Reads `<dir>/<language>/<name>.subject.txt` (+ `<name>.txt`, `<name>.html`) from the built-in
 * folder and then from each extra folder; a later folder's template replaces an earlier one of
 * the same language and name. A template without a subject, or without both text and HTML, is
 * left out, so that a request for it is skipped as missing.
 */
export async function loadTemplates(extraDirs: readonly string[]): Promise<TemplateCatalogue> {
  const catalogue: Record<string, Record<string, MailTemplate>> = {};
  for (const dir of [BUILT_IN, ...extraDirs]) {
    for (const language of await subfolders(dir)) {
      const files = await readdir(join(dir, language));
      const names = new Set(
        files.filter((f) => f.endsWith('.subject.txt')).map((f) => f.slice(0, -'.subject.txt'.length)),
      );
      for (const name of names) {
        const read = async (suffix: string): Promise<string | undefined> =>
          files.includes(`${name}${suffix}`)
            ? readFile(join(dir, language, `${name}${suffix}`), 'utf8')
            : undefined;
        const subject = (await read('.subject.txt')) ?? '';
        const text = await read('.txt');
        const html = await read('.html');
        if (text === undefined && html === undefined) continue;
        (catalogue[language] ??= {})[name] = {
          subject: subject.trim(),
          ...(text === undefined ? {} : { text }),
          ...(html === undefined ? {} : { html }),
        };
      }
    }
  }
  return catalogue;
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}
