import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** Files under a folder of the repository whose names end in `suffix`, skipping node_modules and builds. */
export function filesUnder(folder: string, suffix = '.ts'): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'node_modules' || name === 'dist') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(suffix)) out.push(path);
    }
  };
  walk(join(ROOT, folder));
  return out;
}
