import type { FastifyInstance, FastifyReply } from 'fastify';
import { buildPortal, readPortal, type PortalBundle } from './build.ts';

/**
 * The portal talks only to this origin's public management API; nothing inline, nothing from
 * elsewhere. `style-src 'self'` forbids style attributes too, so the code sets no inline styles.
 */
export const PORTAL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const COMMON_HEADERS = {
  'content-security-policy': PORTAL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface PortalOptions {
  /** A ready bundle; by default gateway/portal/dist, or an in-memory build when dist is absent. */
  readonly bundle?: () => Promise<PortalBundle>;
}

/**
 * Serves the admin portal at /portal. The bundle is `npm run build:portal`'s output; when that
 * is missing (a checkout run without its prepare step) it is built in memory on first use, so
 * that `npm start` always serves a portal.
 */
export function registerPortal(app: FastifyInstance, options: PortalOptions = {}): void {
  let loading: Promise<PortalBundle> | undefined;
  const bundle = (): Promise<PortalBundle> => {
    loading ??= (options.bundle ?? defaultBundle)().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };

  const sendIndex = async (_request: unknown, reply: FastifyReply) => {
    const { indexHtml } = await bundle();
    // The shell names content-hashed assets, so it must be revalidated to pick up an upgrade.
    return reply
      .headers({ ...COMMON_HEADERS, 'cache-control': 'no-cache' })
      .type('text/html; charset=utf-8')
      .send(indexHtml);
  };
  app.get('/portal', sendIndex);
  app.get('/portal/', sendIndex);

  app.get<{ Params: { file: string } }>('/portal/assets/:file', async (request, reply) => {
    const asset = (await bundle()).assets.get(request.params.file);
    if (!asset) {
      return reply
        .code(404)
        .headers({ ...COMMON_HEADERS, 'cache-control': 'no-store' })
        .type('text/plain; charset=utf-8')
        .send('Not found');
    }
    return reply
      .headers({ ...COMMON_HEADERS, 'cache-control': 'public, max-age=31536000, immutable' })
      .type(asset.contentType)
      .send(asset.body);
  });
}

async function defaultBundle(): Promise<PortalBundle> {
  return readPortal() ?? buildPortal();
}
