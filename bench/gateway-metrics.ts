/**
 * The gateway's own view of a load: its group commits, from `koppel_store_commit_duration_seconds` on its
 * /metrics, and how long its event loop was held, from the bench's watch inside the gateway process
 * (gateway-server.ts). Beside the clients' acknowledgement latency they tell whether a slow tail was the
 * store's commit, the gateway's event loop, or time spent outside the gateway (the kernel, the load generator).
 */
import type { LoopHeld } from './gateway-server.ts';

export type CommitHistogram = ReadonlyMap<number, number>;

const INGEST_BUCKET = /^koppel_store_commit_duration_seconds_bucket\{le="([^"]+)",work="ingest"\} (\d+)$/;

/** Cumulative bucket counts of the gateway's ingest commits so far, by upper bound in seconds. */
async function ingestCommits(gatewayUrl: string): Promise<CommitHistogram> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const row of text.split('\n')) {
    const match = INGEST_BUCKET.exec(row);
    if (match) buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  return buckets;
}

export interface GatewayFigures {
  readonly commits: number;
  /** Upper bounds (ms) of the buckets holding the 50th and 99th percentile and the slowest commit. */
  readonly commitP50UpToMs: number;
  readonly commitP99UpToMs: number;
  readonly commitMaxUpToMs: number;
  /** The largest finite bound (ms): a percentile beyond it is only known to be larger. */
  readonly lastBoundMs: number;
  readonly loop: LoopHeld;
}

/** What `watchGateway` needs of the gateway under test. */
export interface WatchedGateway {
  readonly url: string;
  /** How long the event loop was held since the previous call (the bench's watch in the gateway's process). */
  loop(): Promise<LoopHeld>;
}

/**
 * Starts a window on the gateway (its ingest commits so far; the loop's watch restarted); the function it
 * returns ends the window with the commits and the loop since, `undefined` when no commit was made.
 */
export async function watchGateway(
  gateway: WatchedGateway,
): Promise<() => Promise<GatewayFigures | undefined>> {
  const before = await ingestCommits(gateway.url);
  await gateway.loop();
  return async () => {
    const loop = await gateway.loop();
    return gatewayBetween(before, await ingestCommits(gateway.url), loop);
  };
}

/** The commits between two readings and the loop over the same window; `undefined` when no commit was made. */
function gatewayBetween(
  before: CommitHistogram,
  after: CommitHistogram,
  loop: LoopHeld,
): GatewayFigures | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counted = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const commits = counted.at(-1) ?? 0;
  if (commits === 0) return undefined;
  const upTo = (share: number): number =>
    (bounds[counted.findIndex((n) => n >= share * commits)] ?? Infinity) * 1000;
  return {
    commits,
    commitP50UpToMs: upTo(0.5),
    commitP99UpToMs: upTo(0.99),
    commitMaxUpToMs: upTo(1),
    lastBoundMs: (bounds.filter(Number.isFinite).at(-1) ?? 0) * 1000,
    loop,
  };
}

export function gatewayText(figures: GatewayFigures | undefined): string {
  if (!figures) return '';
  const bound = (ms: number) =>
    ms === Infinity ? `> ${figures.lastBoundMs} ms` : `≤ ${ms < 1 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return (
    `; in the gateway: ${figures.commits} ingest commits p50 ${bound(figures.commitP50UpToMs)}, p99 ${bound(figures.commitP99UpToMs)}, ` +
    `slowest ${bound(figures.commitMaxUpToMs)}; event loop held at most ${figures.loop.maxMs.toFixed(0)} ms (p99 ${figures.loop.p99Ms.toFixed(1)} ms)`
  );
}
