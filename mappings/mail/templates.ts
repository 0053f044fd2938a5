/** One template: `<name>.subject.txt` plus `<name>.txt` and/or `<name>.html` in `templates/<language>/`. */
export interface MailTemplate {
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
}

/** language tag (as the folder is named) → template name → template. Loaded by the adapter, passed in as data. */
export type TemplateCatalogue = Readonly<Record<string, Readonly<Record<string, MailTemplate>>>>;

// Senders that speak ISO 639-2 (`nld`, as the canonical model's `voorkeurstaal` does) still find the BCP 47 folders.
const ISO_639_2: Readonly<Record<string, string>> = {
  nld: 'nl',
  dut: 'nl',
  eng: 'en',
  deu: 'de',
  ger: 'de',
  fra: 'fr',
  fre: 'fr',
};

/**
 * The languages tried for `requested`, in order: the tag itself, its primary language, the default
 * language and the default's primary language (`nl-BE` → `nl` → `nl-NL`), without repeats.
 */
export function languageCandidates(requested: string, defaultLanguage: string): string[] {
  const candidates: string[] = [];
  for (const tag of [requested, defaultLanguage]) {
    const normal = normalise(tag);
    const primary = normal.split('-')[0] ?? normal;
    for (const candidate of [normal, primary])
      if (!candidates.includes(candidate)) candidates.push(candidate);
  }
  return candidates;
}

export function resolveTemplate(
  catalogue: TemplateCatalogue,
  name: string,
  requested: string,
  defaultLanguage: string,
): { readonly language: string; readonly template: MailTemplate } | undefined {
  const folders = new Map(Object.keys(catalogue).map((folder) => [normalise(folder), folder]));
  for (const candidate of languageCandidates(requested, defaultLanguage)) {
    const folder = folders.get(candidate);
    const templates = folder === undefined ? undefined : catalogue[folder];
    const template = templates !== undefined && Object.hasOwn(templates, name) ? templates[name] : undefined;
    if (folder !== undefined && template !== undefined) return { language: folder, template };
  }
  return undefined;
}

function normalise(tag: string): string {
  const [primary = '', ...rest] = tag.trim().toLowerCase().replace(/_/g, '-').split('-');
  return [ISO_639_2[primary] ?? primary, ...rest].join('-');
}
