import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { projectPath } from '../adapter-kit/project-files.ts';

/** One built file of the portal, as served under /portal/assets/. */
export interface PortalAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface PortalBundle {
  readonly indexHtml: string;
  /** File name (content-hashed, so cacheable forever) → asset. */
  readonly assets: ReadonlyMap<string, PortalAsset>;
}

export const PORTAL_SRC = projectPath('gateway/portal/src');
export const PORTAL_DIST = projectPath('gateway/portal/dist');
const MANIFEST = 'manifest.json';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Bundles the browser code with esbuild (tsx's own dependency, so nothing extra is installed):
 * one ES module and one style sheet, content-hashed so that an upgraded gateway never serves a
 * stale cached asset, and an index.html that names them.
 */
export async function buildPortal(): Promise<PortalBundle> {
  const result = await build({
    entryPoints: [join(PORTAL_SRC, 'main.ts'), join(PORTAL_SRC, 'portal.css')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: '/portal-assets',
    entryNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, PortalAsset>();
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    const extension = name.slice(name.lastIndexOf('.'));
    assets.set(name, {
      body: Buffer.from(file.contents),
      contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    });
  }
  const named = (prefix: string, extension: string): string => {
    const name = [...assets.keys()].find((n) => n.startsWith(`${prefix}-`) && n.endsWith(extension));
    if (!name) throw new Error(`portal build produced no ${prefix}${extension}`);
    return name;
  };
  const indexHtml = readFileSync(join(PORTAL_SRC, 'index.html'), 'utf8')
    .replace('{{script}}', `/portal/assets/${named('main', '.js')}`)
    .replace('{{style}}', `/portal/assets/${named('portal', '.css')}`);
  return { indexHtml, assets };
}

/** Writes a bundle to `dir` (index.html, assets/, manifest.json), replacing what was there. */
export function writePortal(bundle: PortalBundle, dir = PORTAL_DIST): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), bundle.indexHtml);
  const manifest: Record<string, string> = {};
  for (const [name, asset] of bundle.assets) {
    writeFileSync(join(dir, 'assets', name), asset.body);
    manifest[name] = asset.contentType;
  }
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The bundle written by `writePortal`, or undefined when `dir` holds none. */
export function readPortal(dir = PORTAL_DIST): PortalBundle | undefined {
  let manifest: Record<string, string>;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
  const assets = new Map<string, PortalAsset>();
  for (const [name, contentType] of Object.entries(manifest)) {
    assets.set(name, { body: readFileSync(join(dir, 'assets', name)), contentType });
  }
  return { indexHtml: readFileSync(join(dir, 'index.html'), 'utf8'), assets };
}
