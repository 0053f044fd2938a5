import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { projectPath } from './adapter-kit/project-files.ts';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

export const OPENAPI_DIR = projectPath('schemas/openapi');

type Document = {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

/**
 * One document from the core's (ingest, management) and the enabled adapters' (management
 * fragments under adapters/, partner routes under partners/): openapi-backend routes on it and
 * /v1/openapi.json serves it. A path or component defined twice differently is an error at start.
 */
export function mergedOpenApiDocument(adapterNames: readonly string[]): Document {
  const files = [join(OPENAPI_DIR, 'ingest.v1.yaml'), join(OPENAPI_DIR, 'management.v1.yaml')];
  for (const name of adapterNames) {
    for (const folder of ['adapters', 'partners']) {
      const file = join(OPENAPI_DIR, folder, `${name}.v1.yaml`);
      if (existsSync(file)) files.push(file);
    }
  }
  const merged: Document = {
    openapi: '3.0.3',
    info: {
      title: 'Koppel API',
      version: '1.0.0',
      description: 'Ingest, management and partner routes of Koppel, merged from schemas/openapi/.',
    },
    paths: {},
    components: {},
  };
  for (const file of files) {
    const document = YAML.parse(readFileSync(file, 'utf8')) as Document;
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      const existing = merged.paths[path] ?? {};
      for (const [method, operation] of Object.entries(item)) {
        if (!HTTP_METHODS.has(method)) {
          existing[method] = operation;
          continue;
        }
        if (existing[method] !== undefined)
          throw new Error(`${file}: ${method.toUpperCase()} ${path} is defined twice`);
        // A document's default security applies to its own operations only.
        const withSecurity =
          typeof operation === 'object' &&
          operation !== null &&
          !('security' in operation) &&
          document.security
            ? { ...operation, security: document.security }
            : operation;
        existing[method] = withSecurity;
      }
      merged.paths[path] = existing;
    }
    for (const [section, entries] of Object.entries(document.components ?? {})) {
      const target = (merged.components![section] ??= {});
      for (const [name, value] of Object.entries(entries)) {
        if (target[name] !== undefined && JSON.stringify(target[name]) !== JSON.stringify(value)) {
          throw new Error(`${file}: components.${section}.${name} differs from an earlier document's`);
        }
        target[name] = value;
      }
    }
  }
  return merged;
}
