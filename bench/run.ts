/**
 * `npm run bench`: Koppel's throughput and latency against a bare node:http server measured in the
 * same run, on embedded SQLite and on PostgreSQL + Redis, then the adapters' own benches. Prints a
 * table and writes it to bench/results/latest.md. Settings: see `settingsFromEnv()` (BENCH_SECONDS,
 * BENCH_ONLY=bare,sqlite-single,floor-bullmq,webhooks-pg,… to run a subset, BENCH_PROFILE=1 for CPU profiles of
 * the gateway).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDurablePostgres, type TestPostgres } from '../test/helpers/servers/postgres.ts';
import type { TestRedis } from '../test/helpers/servers/redis.ts';
import type { BareWork } from './bare-server.ts';
import { runExtraBenches } from './extra.ts';
import { gatewayText } from './gateway-metrics.ts';
import { loadTool, type LoadResult } from './load.ts';
import { cpuText, fmt, loadLine, machineLine, renderTable, verdict, type Row } from './report.ts';
import {
  buildGateway,
  measureBare,
  measureEndToEnd,
  measureIngest,
  measureQueueFloor,
  measureWebhooks,
  postgresRedisBackend,
  RESULTS_DIR,
  START_NODE_FLAGS,
  settingsFromEnv,
  sqliteBackend,
  startReceiver,
  startRedis,
  type Backend,
  type IngestFigures,
  type LatencyFigures,
} from './scenarios.ts';

const TARGET = {
  singleShareOfBare: 0.25,
  singleP99Ms: 20,
  batchPerSec: 50_000,
  endToEndPerSec: 5_000,
  rssMb: 200,
  /** Signed webhook deliveries end to end, per store; p99 ingest → verified arrival at BENCH_RATE. */
  webhooksPerSec: { sqlite: 5_000, pg: 2_500 },
  webhooksP99Ms: 50,
};

/**
 * The machine the absolute throughput targets were set on: its bare server answered about 60,000 posts/s
 * (issue #2). A machine whose system calls cost more (one under nested virtualisation answered 13,400–17,400)
 * moves every figure with it, so beside each absolute target stands that target scaled by the bare rate of the
 * same run. The scaled verdict only says where the figure stands; the target stays absolute.
 */
const REFERENCE_BARE_POSTS_PER_SEC = 60_000;

const settings = settingsFromEnv();
const only = process.env.BENCH_ONLY?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const wanted = (name: string): boolean => !only || only.some((o) => name.startsWith(o) || o.startsWith(name));
const progress = (line: string): void =>
  void process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const began = Date.now();
const rows: Row[] = [];
const notes: string[] = [];
const startLoad = loadLine();

const tool = loadTool();
progress(`${machineLine()}; ${startLoad}`);
progress('compiling the gateway (tsconfig.bench.json) …');
buildGateway();
if (tool === 'autocannon')
  notes.push(
    'wrk is not installed: the load came from autocannon in a separate Node process, which costs the measured server more CPU.',
  );

let bare: LoadResult | undefined;
if (wanted('bare')) {
  progress('bare node:http server, single posts …');
  bare = await measureBare(settings);
  progress(
    `bare: ${fmt.rate(bare.requestsPerSec, 'posts/s')}, p50 ${fmt.ms(bare.p50Ms)}, p99 ${fmt.ms(bare.p99Ms)}`,
  );
  rows.push({
    section: 'baseline',
    scenario: `bare node:http answering 202, single posts, ${settings.connections} clients`,
    figure: `${fmt.rate(bare.requestsPerSec, 'posts/s')}, p50 ${fmt.ms(bare.p50Ms)}, p99 ${fmt.ms(bare.p99Ms)}`,
    baseline: '',
    ratio: '100%',
    target: '',
    verdict: '',
  });
}
const baseline = bare ? fmt.rate(bare.requestsPerSec, 'posts/s') : 'not measured';
const share = (perSec: number): string => (bare ? fmt.ratio(perSec, bare.requestsPerSec) : 'n/a');
const scaledTarget = (target: number, figure: number, unit: string): string => {
  if (!bare) return '';
  const here = (target * bare.requestsPerSec) / REFERENCE_BARE_POSTS_PER_SEC;
  return `≥ ${fmt.rate(here, unit)}: ${verdict(figure >= here)}`;
};
if (bare)
  notes.push(
    `The bare server answered ${fmt.rate(bare.requestsPerSec, 'posts/s')}, ${fmt.ratio(bare.requestsPerSec, REFERENCE_BARE_POSTS_PER_SEC)} of the ${fmt.rate(REFERENCE_BARE_POSTS_PER_SEC, 'posts/s')} of the machine the absolute targets were set on; the last column scales them by that.`,
  );

/**
 * The issue's floors on the reference machine, in posts/s: what parsing and validating a message, and
 * then storing it, leave of the bare server's rate. Measured in the same run they say how far this
 * machine's JavaScript and SQLite, not only its system calls, are from that machine's.
 */
const FLOORS: ReadonlyArray<{ work: BareWork; selector: string; label: string; referencePerSec: number }> = [
  {
    work: 'validate',
    selector: 'floor-validate',
    label: 'JSON.parse and the canonical schema validation before the 202',
    referencePerSec: 42_000,
  },
  {
    work: 'validate-store',
    selector: 'floor-store',
    label:
      "the same and one row into the gateway's SQLite store, one commit per post before the 202 (the gateway shares one commit among concurrent posts)",
    referencePerSec: 27_000,
  },
];
for (const floor of FLOORS) {
  if (!wanted(floor.selector)) continue;
  progress(`bare node:http server with ${floor.label} …`);
  const result = await measureBare(settings, floor.work);
  const figure = `${fmt.rate(result.requestsPerSec, 'posts/s')}, p50 ${fmt.ms(result.p50Ms)}, p99 ${fmt.ms(result.p99Ms)}`;
  progress(`${floor.selector}: ${figure}`);
  rows.push({
    section: 'baseline',
    scenario: `bare node:http with ${floor.label}, single posts, ${settings.connections} clients`,
    figure,
    baseline,
    ratio: share(result.requestsPerSec),
    target: '',
    verdict: '',
  });
  notes.push(
    `The ${floor.selector} baseline answered ${fmt.rate(result.requestsPerSec, 'posts/s')}, ${fmt.ratio(result.requestsPerSec, floor.referencePerSec)} of the ${fmt.rate(floor.referencePerSec, 'posts/s')} measured on the machine the targets were set on.`,
  );
}

const receiver = await startReceiver();
let postgres: TestPostgres | null = null;
try {
  await runBackend(sqliteBackend, true);
  if (['pg-single', 'pg-batch', 'pg-e2e', 'floor-bullmq', 'webhooks-pg'].some(wanted)) {
    progress('starting PostgreSQL 15 (fsync on) and Redis …');
    postgres = await startDurablePostgres();
    const redis = await startRedis();
    if (postgres && redis) {
      const backend = postgresRedisBackend(postgres, redis);
      await measureBullmqFloor(redis, backend.label);
      await runBackend(backend, false);
    } else {
      const missing = [postgres ? '' : 'PostgreSQL 15', redis ? '' : 'redis-server']
        .filter(Boolean)
        .join(' and ');
      rows.push({
        section: 'PostgreSQL + Redis',
        scenario: `skipped: ${missing} not installed`,
        figure: '',
        baseline: '',
        ratio: '',
        target: '',
        verdict: 'SKIP',
      });
      progress(`PostgreSQL + Redis skipped: ${missing} not installed`);
    }
    await redis?.stop();
  }
} finally {
  await receiver.stop();
  await postgres?.stop();
}

if (wanted('extras')) rows.push(...(await runExtraBenches(progress)));

const endLoad = loadLine();
const report = [
  `# Koppel bench, ${new Date().toISOString()}`,
  '',
  `Machine: ${machineLine()}.`,
  `Gateway: node ${START_NODE_FLAGS.join(' ')}, as \`npm start\` runs it.`,
  `Load generator: ${tool}, ${settings.connections} connections, ${settings.threads} threads, ${settings.seconds} s per load after ${settings.warmupSeconds} s warm-up; every server under test in its own process.`,
  `System load: at start ${startLoad}; at end ${endLoad}. Other work on the machine makes every figure lower and noisier; the ratios to the bare server, measured in the same run, are the steadier figures.`,
  'SQLite: WAL, synchronous=NORMAL (a 202 survives a crash of the process; the last commits can be lost on power loss). PostgreSQL 15: fsync, synchronous_commit and full_page_writes on (defaults). Redis without persistence.',
  '',
  renderTable(rows),
  '',
  ...(notes.length > 0 ? ['Notes:', ...notes.map((n) => `- ${n}`), ''] : []),
  `Total bench time ${((Date.now() - began) / 1000).toFixed(0)} s.`,
  '',
].join('\n');
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'latest.md'), report);
process.stdout.write(`\n${report}\nWritten to bench/results/latest.md\n`);
// Redis and PostgreSQL helpers register exit clean-ups; nothing else should keep the loop alive.
process.exit(0);

async function runBackend(backend: Backend, targets: boolean): Promise<void> {
  const peaks: number[] = [];
  const section = backend.label;
  const key = backend.key;
  const guard = (selector: string, scenario: string, measure: () => Promise<void>): Promise<void> =>
    guarded(section, selector, scenario, measure);
  const check = (scenario: string, figures: IngestFigures, perRequest: number): void => {
    const expected = figures.load.requests * perRequest;
    if (figures.load.errors > 0)
      notes.push(`${section}, ${scenario}: ${figures.load.errors} requests failed or were refused.`);
    // Requests still in flight when the load stopped are stored too, so the store may hold a few more.
    if (figures.stored < expected || figures.planned !== figures.stored) {
      notes.push(
        `${section}, ${scenario}: ${expected} messages acknowledged, ${figures.stored} stored, ${figures.planned} deliveries planned (expected one each).`,
      );
    }
    progress(
      `${section}: ${scenario}: ${fmt.rate(figures.messagesPerSec, 'msgs/s')}${cpuText(figures.cpuUsPerMessage)}, p50 ${fmt.ms(figures.load.p50Ms)}, p99 ${fmt.ms(figures.load.p99Ms)}${gatewayText(figures.inGateway)}, ${figures.stored} stored, ${figures.planned} planned, RSS ${fmt.mb(figures.rssMb)}`,
    );
  };

  /** The open-loop latency figures of an end-to-end scenario as a row (an ERROR row when it failed). */
  const latencyRow = (what: string, l: LatencyFigures | Error | undefined, p99TargetMs?: number): void => {
    if (l instanceof Error) {
      progress(`${section}: ${what} latency at a fixed rate failed: ${l.stack ?? l.message}`);
      rows.push({
        section,
        scenario: `${what} latency at ${settings.rate} msgs/s offered`,
        figure: describe(l),
        baseline: '',
        ratio: '',
        target: '',
        verdict: 'ERROR',
      });
      return;
    }
    if (!l) return;
    progress(
      `${section}: at ${l.rate} msgs/s: ack p50 ${fmt.ms(l.ackP50Ms)} p99 ${fmt.ms(l.ackP99Ms)}; ${what} p50 ${fmt.ms(l.deliveryP50Ms)} p99 ${fmt.ms(l.deliveryP99Ms)}; ${l.lost} lost${postedLate(l)}${gatewayText(l.inGateway)}`,
    );
    if (l.lost > 0)
      notes.push(
        `${section}, ${what} latency at ${l.rate} msgs/s: ${l.lost} of ${l.messages} messages did not arrive in time.`,
      );
    rows.push({
      section,
      scenario: `${what} latency at ${l.rate} msgs/s offered (single posts, open loop, ${l.messages} messages)`,
      figure: `p50 ${fmt.ms(l.deliveryP50Ms)}, p99 ${fmt.ms(l.deliveryP99Ms)} (ack p50 ${fmt.ms(l.ackP50Ms)}, p99 ${fmt.ms(l.ackP99Ms)})${postedLate(l)}${gatewayText(l.inGateway)}`,
      baseline: '',
      ratio: '',
      target: p99TargetMs === undefined ? '' : `p99 < ${p99TargetMs} ms`,
      verdict: p99TargetMs === undefined ? '' : verdict(l.lost === 0 && l.deliveryP99Ms < p99TargetMs),
    });
  };

  await guard(`${key}-single`, 'single-message ingest', async () => {
    const f = await measureIngest({
      backend,
      batch: false,
      receiverUrl: 'http://127.0.0.1:9/unused',
      settings,
    });
    check('single-message ingest', f, 1);
    peaks.push(f.rssMb);
    const ok = bare !== undefined && f.messagesPerSec >= TARGET.singleShareOfBare * bare.requestsPerSec;
    rows.push({
      section,
      scenario: `single-message ingest, ${settings.connections} clients (authenticated, validated, stored, 1 delivery planned)`,
      figure: `${fmt.rate(f.messagesPerSec, 'msgs/s')}${cpuText(f.cpuUsPerMessage)}`,
      baseline,
      ratio: share(f.messagesPerSec),
      target: targets ? `≥ ${TARGET.singleShareOfBare * 100}% of bare` : '',
      verdict: targets ? verdict(ok) : '',
    });
    rows.push({
      section,
      scenario: 'single-message ingest: acknowledgement latency',
      figure: `p50 ${fmt.ms(f.load.p50Ms)}, p99 ${fmt.ms(f.load.p99Ms)}${gatewayText(f.inGateway)}`,
      baseline: bare ? `p50 ${fmt.ms(bare.p50Ms)}, p99 ${fmt.ms(bare.p99Ms)}` : '',
      ratio: '',
      target: targets ? `p99 < ${TARGET.singleP99Ms} ms` : '',
      verdict: targets ? verdict(f.load.p99Ms < TARGET.singleP99Ms) : '',
    });
  });

  await guard(`${key}-batch`, `batch ingest (${settings.batchSize} events per request)`, async () => {
    const f = await measureIngest({
      backend,
      batch: true,
      receiverUrl: 'http://127.0.0.1:9/unused',
      settings,
    });
    check('batch ingest', f, settings.batchSize);
    peaks.push(f.rssMb);
    rows.push({
      section,
      scenario: `batch ingest, ${settings.batchSize} events per request, ${settings.connections} clients`,
      figure: `${fmt.rate(f.messagesPerSec, 'msgs/s')}${cpuText(f.cpuUsPerMessage)}`,
      baseline,
      ratio: share(f.messagesPerSec),
      target: targets ? `≥ ${fmt.rate(TARGET.batchPerSec, 'msgs/s')}` : '',
      verdict: targets ? verdict(f.messagesPerSec >= TARGET.batchPerSec) : '',
      scaled: targets ? scaledTarget(TARGET.batchPerSec, f.messagesPerSec, 'msgs/s') : '',
    });
    rows.push({
      section,
      scenario: 'batch ingest: acknowledgement latency per batch',
      figure: `p50 ${fmt.ms(f.load.p50Ms)}, p99 ${fmt.ms(f.load.p99Ms)}${gatewayText(f.inGateway)}`,
      baseline: '',
      ratio: '',
      target: '',
      verdict: '',
    });
  });

  await guard(
    `${key}-e2e`,
    `end-to-end, ${settings.endToEndMessages} messages to a loopback receiver`,
    async () => {
      const { throughput: t, latency: l } = await measureEndToEnd({
        backend,
        receiver,
        settings,
        latency: wanted(`${key}-e2e-latency`),
      });
      peaks.push(t.rssMb);
      progress(
        `${section}: end-to-end: ${t.delivered}/${t.messages} delivered in ${t.seconds.toFixed(2)} s = ${fmt.rate(t.deliveriesPerSec, 'deliveries/s')}${cpuText(t.cpuUsPerDelivery)}, RSS ${fmt.mb(t.rssMb)}`,
      );
      if (t.timedOut)
        notes.push(
          `${section}, end-to-end: only ${t.delivered} of ${t.messages} deliveries (${t.posted} posted) arrived within the time limit; the figure is what arrived.`,
        );
      if (t.delivered > t.messages)
        notes.push(
          `${section}, end-to-end: the receiver got ${t.delivered - t.messages} deliveries more than once.`,
        );
      rows.push({
        section,
        scenario: `end-to-end: ${t.messages} messages posted in batches → test adapter → loopback receiver (first post to last arrival)`,
        figure: `${fmt.rate(t.deliveriesPerSec, 'deliveries/s')}${cpuText(t.cpuUsPerDelivery)}`,
        baseline,
        ratio: share(t.deliveriesPerSec),
        target: targets ? `≥ ${fmt.rate(TARGET.endToEndPerSec, 'deliveries/s')}` : '',
        verdict: targets ? verdict(t.deliveriesPerSec >= TARGET.endToEndPerSec) : '',
        scaled: targets ? scaledTarget(TARGET.endToEndPerSec, t.deliveriesPerSec, 'deliveries/s') : '',
      });
      latencyRow('ingest → delivery', l);
    },
  );

  await guard(`webhooks-${key}`, `webhooks, ${settings.endToEndMessages} signed deliveries`, async () => {
    const {
      throughput: t,
      latency: l,
      badSignatures,
      firstBad,
    } = await measureWebhooks({
      backend,
      receiver,
      settings,
      latency: true,
    });
    const target = TARGET.webhooksPerSec[key];
    progress(
      `${section}: webhooks: ${t.delivered}/${t.messages} verified in ${t.seconds.toFixed(2)} s = ${fmt.rate(t.deliveriesPerSec, 'deliveries/s')}${cpuText(t.cpuUsPerDelivery)}, ${badSignatures} bad signatures, RSS ${fmt.mb(t.rssMb)}`,
    );
    if (t.timedOut)
      notes.push(
        `${section}, webhooks: only ${t.delivered} of ${t.messages} signed deliveries (${t.posted} posted) verified within the time limit; the figure is what arrived.`,
      );
    if (t.delivered > t.messages)
      notes.push(
        `${section}, webhooks: the receiver got ${t.delivered - t.messages} deliveries more than once.`,
      );
    if (badSignatures > 0)
      rows.push({
        section,
        scenario: 'webhooks: x-hub-signature checked by the receiver on every request',
        figure: `${badSignatures} did not verify (first: ${firstBad ?? '?'})`.slice(0, 160),
        baseline: '',
        ratio: '',
        target: 'none bad',
        verdict: 'ERROR',
      });
    rows.push({
      section,
      scenario: `webhooks: ${t.messages} messages posted in batches → webhooks adapter, 1 WebSub recipient (HMAC-SHA256) → loopback receiver verifying every signature (first post to last verified arrival)`,
      figure: `${fmt.rate(t.deliveriesPerSec, 'signed deliveries/s')}${cpuText(t.cpuUsPerDelivery)}`,
      baseline,
      ratio: share(t.deliveriesPerSec),
      target: `≥ ${fmt.rate(target, 'deliveries/s')}`,
      verdict: badSignatures > 0 ? 'ERROR' : verdict(!t.timedOut && t.deliveriesPerSec >= target),
      scaled: scaledTarget(target, t.timedOut ? 0 : t.deliveriesPerSec, 'deliveries/s'),
    });
    latencyRow('webhooks: ingest → verified arrival', l, TARGET.webhooksP99Ms);
    rows.push({
      section,
      scenario: 'webhooks: gateway resident memory (peak VmRSS while the signed deliveries above ran)',
      figure: fmt.mb(t.rssMb),
      baseline: '',
      ratio: '',
      target: '',
      verdict: '',
    });
  });

  if (peaks.length > 0) {
    const peak = Math.max(...peaks);
    rows.push({
      section,
      scenario: 'gateway resident memory at load (peak VmRSS over the scenarios above)',
      figure: fmt.mb(peak),
      baseline: '',
      ratio: '',
      target: `< ${TARGET.rssMb} MB`,
      verdict: verdict(peak < TARGET.rssMb),
    });
  }
}

/**
 * Runs one scenario when BENCH_ONLY wants it (`selector` is its name there); a failure becomes an ERROR
 * row of its section, and the bench goes on.
 */
async function guarded(
  section: string,
  selector: string,
  scenario: string,
  measure: () => Promise<void>,
): Promise<void> {
  if (!wanted(selector)) return;
  progress(`${section}: ${scenario} …`);
  try {
    await measure();
  } catch (error) {
    progress(`${section}: ${scenario} failed: ${(error as Error).stack ?? String(error)}`);
    rows.push({
      section,
      scenario,
      figure: describe(error),
      baseline: '',
      ratio: '',
      target: '',
      verdict: 'ERROR',
    });
  }
}

/**
 * What BullMQ alone completes on this run's Redis, the floor under every delivery on PostgreSQL + Redis:
 * beside the webhooks target it says how much of the machine's dispatch that target asks for.
 */
async function measureBullmqFloor(redis: TestRedis, section: string): Promise<void> {
  await guarded(section, 'floor-bullmq', 'BullMQ alone, jobs that do nothing', async () => {
    const f = await measureQueueFloor(redis, settings);
    const figure = `${fmt.rate(f.jobsPerSec, 'jobs/s')}${cpuText(f.cpuUsPerJob, 'its process')}`;
    progress(`floor-bullmq: ${figure}`);
    rows.push({
      section,
      scenario: `BullMQ alone: ${f.jobs} jobs added ${settings.batchSize} at a time, completed by a worker that does nothing, at the gateway's concurrency (the floor under every delivery)`,
      figure,
      baseline: '',
      ratio: '',
      target: '',
      verdict: '',
    });
    notes.push(
      `BullMQ alone completed ${fmt.rate(f.jobsPerSec, 'jobs/s')} on this run's Redis; the webhooks target on PostgreSQL + Redis, ${fmt.rate(TARGET.webhooksPerSec.pg, 'deliveries/s')}, is ${fmt.ratio(TARGET.webhooksPerSec.pg, f.jobsPerSec)} of it, before any store statement, signature or outbound request.`,
    );
  });
}

/** The open-loop poster's own lateness: a stall of the load generator, not of the gateway, shows here. */
function postedLate(l: LatencyFigures): string {
  return `; posts handed over at most ${l.postedLateMaxMs.toFixed(0)} ms late`;
}

/** An error for a table cell, with its cause (fetch hides the socket error there). */
function describe(error: unknown): string {
  const e = error as Error & { cause?: Error };
  return `${e.message}${e.cause?.message ? `: ${e.cause.message}` : ''}`.slice(0, 160);
}
