/**
 * The gateway's own view of a load, from its /metrics: its group commits (`koppel_store_commit_duration_seconds`)
 * and how long its event loop was held (`nodejs_eventloop_lag_*`, since the previous scrape). Beside the
 * clients' acknowledgement latency they tell whether a slow tail was the store's commit, the gateway's event
 * loop, or time spent outside the gateway (the network, the load generator, the machine).
 */
export type CommitHistogram = ReadonlyMap<number, number>;

export interface GatewayReading {
  /** Cumulative bucket counts of the ingest commits, by upper bound in seconds. */
  readonly ingestCommits: CommitHistogram;
  /** How long the event loop was held at most, and at the 99th percentile, since the previous scrape. */
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
}

/**
 * prom-client samples the event loop every 10 ms (its default `eventLoopMonitoringPrecision`) and reports the
 * time between samples: an idle loop shows 10 ms. What is beyond it is how long the loop was held.
 */
const LOOP_SAMPLING_MS = 10;

const INGEST_BUCKET = /^koppel_store_commit_duration_seconds_bucket\{le="([^"]+)",work="ingest"\} (\d+)$/;

/** One scrape; it also starts the next event-loop window (prom-client resets that histogram on each). */
export async function readGateway(gatewayUrl: string): Promise<GatewayReading> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const ingestCommits = new Map<number, number>();
  for (const row of text.split('\n')) {
    const match = INGEST_BUCKET.exec(row);
    if (match) ingestCommits.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  const seconds = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return {
    ingestCommits,
    loopMaxMs: Math.max(0, seconds('nodejs_eventloop_lag_max_seconds') - LOOP_SAMPLING_MS),
    loopP99Ms: Math.max(0, seconds('nodejs_eventloop_lag_p99_seconds') - LOOP_SAMPLING_MS),
  };
}

export interface GatewayFigures {
  readonly commits: number;
  /** Upper bounds (ms) of the buckets holding the 50th and 99th percentile and the slowest commit. */
  readonly commitP50UpToMs: number;
  readonly commitP99UpToMs: number;
  readonly commitMaxUpToMs: number;
  /** The largest finite bound (ms): a percentile beyond it is only known to be larger. */
  readonly lastBoundMs: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
}

/** The load between two readings; `undefined` when it made no commit. */
export function gatewayBetween(before: GatewayReading, after: GatewayReading): GatewayFigures | undefined {
  const bounds = [...after.ingestCommits.keys()].sort((a, b) => a - b);
  const counted = bounds.map(
    (bound) => (after.ingestCommits.get(bound) ?? 0) - (before.ingestCommits.get(bound) ?? 0),
  );
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
    loopMaxMs: after.loopMaxMs,
    loopP99Ms: after.loopP99Ms,
  };
}

export function gatewayText(figures: GatewayFigures | undefined): string {
  if (!figures) return '';
  const bound = (ms: number) =>
    ms === Infinity ? `> ${figures.lastBoundMs} ms` : `≤ ${ms < 1 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return (
    `; in the gateway: ${figures.commits} ingest commits p50 ${bound(figures.commitP50UpToMs)}, p99 ${bound(figures.commitP99UpToMs)}, ` +
    `slowest ${bound(figures.commitMaxUpToMs)}; event loop held at most ${figures.loopMaxMs.toFixed(0)} ms (p99 ${figures.loopP99Ms.toFixed(1)} ms)`
  );
}
