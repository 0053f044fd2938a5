/**
 * The gateway's own view of its group commits, from `koppel_store_commit_duration_seconds` on /metrics:
 * beside the client's acknowledgement latency it tells whether a slow tail was the store's commit or
 * time spent elsewhere (the event loop, the network, the load generator).
 */
export type CommitHistogram = ReadonlyMap<number, number>;

/** Cumulative bucket counts of one `work` ("ingest" or "attempts"), by upper bound in seconds. */
export async function commitHistogram(gatewayUrl: string, work: string): Promise<CommitHistogram> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  const line = new RegExp(
    `^koppel_store_commit_duration_seconds_bucket\\{le="([^"]+)",work="${work}"\\} (\\d+)$`,
  );
  for (const row of text.split('\n')) {
    const match = line.exec(row);
    if (match) buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  return buckets;
}

export interface CommitFigures {
  readonly commits: number;
  /** Upper bounds (ms) of the buckets holding the 50th and 99th percentile and the slowest commit. */
  readonly p50UpToMs: number;
  readonly p99UpToMs: number;
  readonly maxUpToMs: number;
  /** The largest finite bound (ms): a percentile beyond it is only known to be larger. */
  readonly lastBoundMs: number;
}

/** The commits made between two readings, as bucket bounds; `undefined` when there were none. */
export function commitsBetween(before: CommitHistogram, after: CommitHistogram): CommitFigures | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counted = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const commits = counted.at(-1) ?? 0;
  if (commits === 0) return undefined;
  const upTo = (share: number): number =>
    (bounds[counted.findIndex((n) => n >= share * commits)] ?? Infinity) * 1000;
  const finite = bounds.filter(Number.isFinite);
  return {
    commits,
    p50UpToMs: upTo(0.5),
    p99UpToMs: upTo(0.99),
    maxUpToMs: upTo(1),
    lastBoundMs: (finite.at(-1) ?? 0) * 1000,
  };
}

export function commitText(figures: CommitFigures | undefined): string {
  if (!figures) return '';
  const bound = (ms: number) =>
    ms === Infinity ? `> ${figures.lastBoundMs} ms` : `≤ ${ms < 1 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return `; the gateway's ${figures.commits} ingest commits: p50 ${bound(figures.p50UpToMs)}, p99 ${bound(figures.p99UpToMs)}, slowest ${bound(figures.maxUpToMs)}`;
}
