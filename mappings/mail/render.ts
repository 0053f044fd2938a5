const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Fills `{{name}}` placeholders from `variables` (names as the canonical schema allows them). Strings, numbers and
 * booleans are filled in (HTML-escaped when `escapeHtml`); anything else, absent or null, is
 * reported in `missing` and left as it was.
 */
export function renderPlaceholders(
  text: string,
  variables: Readonly<Record<string, unknown>>,
  escapeHtml: boolean,
): { readonly text: string; readonly missing: readonly string[] } {
  const missing: string[] = [];
  const rendered = text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      missing.push(name);
      return whole;
    }
    const plain = String(value);
    return escapeHtml ? plain.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c) : plain;
  });
  return { text: rendered, missing };
}
