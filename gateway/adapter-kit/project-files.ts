import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Files that ship beside the code (schemas, templates, WSDLs, the portal) are found from the
 * checkout's root, which is the same whether the code runs from source (tsx) or compiled (`dist/`).
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export const projectPath = (...segments: string[]): string => join(PROJECT_ROOT, ...segments);

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in or above ${from}`);
  }
}
