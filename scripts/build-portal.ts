/**
 * Builds the admin portal into gateway/portal/dist (run by npm's prepare/prestart/pretest).
 * Usage: node --import tsx scripts/build-portal.ts
 */
import { buildPortal, PORTAL_DIST, writePortal } from '../gateway/portal/build.ts';

const bundle = await buildPortal();
writePortal(bundle);
const bytes = [...bundle.assets.values()].reduce((sum, asset) => sum + asset.body.length, 0);
console.log(`build-portal: ${bundle.assets.size} assets, ${Math.round(bytes / 1024)} KiB, in ${PORTAL_DIST}`);
