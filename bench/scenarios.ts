/**
 * The bench's building blocks and scenarios. Each measured server runs in its own process (see
 * child.ts); the load comes from wrk (load.ts); memory is the gateway process's peak VmRSS while
 * the load runs. Other benches (bench/extra.ts) may reuse the blocks.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { accountChangedEvent } from '../test/helpers/gateway.ts';
import { startRedis, type TestRedis } from '../test/helpers/servers/redis.ts';
import type { BareWork } from './bare-server.ts';
import { startChild, type ChildHandle } from './child.ts';
import type { TestPostgres } from '../test/helpers/servers/postgres.ts';
import type { GatewayReady, LoopHeld, StoreCounts } from './gateway-server.ts';
import { runLoad, type LoadResult, type LoadSpec } from './load.ts';
import type { ReceiverStats } from './receiver.ts';
import { cpuPerUnit, cpuTime, type CpuPerUnit } from './cpu.ts';
import { sampleRss } from './rss.ts';
import { watchGateway, type GatewayFigures } from './gateway-metrics.ts';

export interface BenchSettings {
  /** Length of each measured load. */
  readonly seconds: number;
  /** A short load before each measured one, so that the JIT and the connection pools are warm. */
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
  readonly batchSize: number;
  /** Messages posted (in batches) for the end-to-end figure. */
  readonly endToEndMessages: number;
  /** Messages per second offered for the ingest-to-delivery latency, and for how long. */
  readonly rate: number;
  readonly rateSeconds: number;
  /** Write a CPU profile of each gateway process to bench/results/profiles/. */
  readonly profile: boolean;
}

const number = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

export function settingsFromEnv(): BenchSettings {
  return {
    seconds: number('BENCH_SECONDS', 10),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', 1),
    connections: number('BENCH_CONNECTIONS', 64),
    threads: number('BENCH_THREADS', 2),
    batchSize: number('BENCH_BATCH', 100),
    endToEndMessages: number('BENCH_E2E_MESSAGES', 20_000),
    rate: number('BENCH_RATE', 500),
    rateSeconds: number('BENCH_RATE_SECONDS', 5),
    profile: process.env.BENCH_PROFILE === '1',
  };
}

export const RESULTS_DIR = new URL('./results/', import.meta.url).pathname;

/** gateway-server.ts compiled with the gateway (tsconfig.bench.json), so that no tsx loader is measured. */
const GATEWAY_SCRIPT = './results/build/bench/gateway-server.js';

/** The node flags of `npm start` (V8's heap sizing), so that the gateway under test runs as deployed. */
export const START_NODE_FLAGS: readonly string[] = (() => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const flags = /\bnode((?: --\S+)*) dist\/gateway\/cli\.js serve\b/.exec(manifest.scripts.start);
  if (!flags)
    throw new Error('package.json: start is expected to run `node [--flag …] dist/gateway/cli.js serve`');
  return (flags[1] ?? '').split(' ').filter(Boolean);
})();

export function buildGateway(): void {
  execFileSync(
    process.execPath,
    [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json'],
    {
      cwd: new URL('..', import.meta.url).pathname,
      stdio: 'inherit',
    },
  );
}

/** No phase of an end-to-end scenario (post and wait for arrivals, drain, fixed-rate latency) runs longer. */
const PHASE_LIMIT_MS = 30_000;

// ── Backends ────────────────────────────────────────────────────────────────────────────────

export interface Backend {
  readonly key: 'sqlite' | 'pg';
  readonly label: string;
  /** Environment for one gateway under test: a fresh namespace each call. */
  env(): Promise<Record<string, string>>;
}

export const sqliteBackend: Backend = { key: 'sqlite', label: 'SQLite (embedded)', env: async () => ({}) };

export function postgresRedisBackend(postgres: TestPostgres, redis: TestRedis): Backend {
  return {
    key: 'pg',
    label: 'PostgreSQL + Redis',
    env: async () => ({
      DATABASE_URL: postgres.url,
      KOPPEL_DATABASE_SCHEMA: await postgres.createSchema('bench'),
      REDIS_URL: redis.url,
      KOPPEL_QUEUE_PREFIX: `bench-${randomUUID()}`,
      KOPPEL_SECRET_KEY: randomBytes(32).toString('base64'),
    }),
  };
}

export { startRedis };

// ── Processes ───────────────────────────────────────────────────────────────────────────────

export type Receiver = ChildHandle<{ url: string }>;

export function startReceiver(): Promise<Receiver> {
  return startChild<{ url: string }>('./receiver.ts');
}

export interface GatewayProcess {
  readonly child: ChildHandle<GatewayReady>;
  readonly url: string;
  readonly token: string;
  readonly clientId: string;
  /** Only with `adapters`: a token of scope admin for their management API. */
  readonly adminToken: string | null;
  counts(): Promise<StoreCounts>;
  /** How long its event loop was held since the previous call. */
  loop(): Promise<LoopHeld>;
  stop(): Promise<void>;
}

/**
 * `koppel serve` in a child process with the test adapter planning one delivery per message to
 * `receiverUrl`, or with `adapters` those adapters of the registry instead (configured through their
 * own management API by the scenario).
 */
export async function startGatewayProcess(options: {
  readonly backend: Backend;
  readonly role: 'api' | 'all';
  readonly receiverUrl: string;
  readonly adapters?: readonly string[];
  readonly settings: BenchSettings;
  /** Names the CPU profile. */
  readonly label: string;
}): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'koppel-bench-'));
  // One folder per gateway: each thread (main, SQLite checkpoint) writes a profile.
  const profileDir = join(RESULTS_DIR, 'profiles', options.label);
  if (options.settings.profile) mkdirSync(profileDir, { recursive: true });
  const execArgv = [
    ...START_NODE_FLAGS,
    ...(options.settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ];
  const adapters = options.adapters ?? [];
  const child = await startChild<GatewayReady>(GATEWAY_SCRIPT, {
    execArgv,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      KOPPEL_DATA_DIR: dataDir,
      KOPPEL_ROLE: options.role,
      KOPPEL_OUTBOUND_ALLOW: '127.0.0.0/8',
      KOPPEL_SHUTDOWN_GRACE_MS: '2000',
      // Always set, so that a BENCH_ADAPTERS in the shell cannot swap the test adapter out.
      BENCH_ADAPTERS: adapters.join(','),
      ...(adapters.length === 0
        ? { KOPPEL_SETTINGS_TEST_HTTP: JSON.stringify({ urls: [options.receiverUrl] }) }
        : {}),
      ...(await options.backend.env()),
    },
  }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const { token, clientId, adminToken } = child.ready;
  if (token === null || clientId === null) throw new Error('the gateway process gave no token');
  return {
    child,
    url: child.ready.url,
    token,
    clientId,
    adminToken,
    counts: () => child.call<StoreCounts>('counts'),
    loop: () => child.call<LoopHeld>('loop'),
    async stop() {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ── Bodies ──────────────────────────────────────────────────────────────────────────────────

const SLOT = '\u0000slot\u0000';

/** One CloudEvent (nl.accounts.account-gewijzigd, the canonical example's data), split around its id. */
export function singleBody(): string[] {
  return JSON.stringify(accountChangedEvent({ id: SLOT })).split(JSON.stringify(SLOT).slice(1, -1));
}

export function batchBody(size: number): string[] {
  return JSON.stringify(Array.from({ length: size }, () => accountChangedEvent({ id: SLOT }))).split(
    JSON.stringify(SLOT).slice(1, -1),
  );
}

function fillBody(parts: readonly string[], prefix: string): string {
  return parts.slice(1).reduce((text, part, i) => `${text}${prefix}-${i + 1}${part}`, parts[0] ?? '');
}

// ── Scenarios ───────────────────────────────────────────────────────────────────────────────

export interface IngestFigures {
  readonly load: LoadResult;
  /** Messages per second: requests/s × events per request. */
  readonly messagesPerSec: number;
  readonly rssMb: number;
  /** Messages and planned deliveries the measured load left in the store. */
  readonly stored: number;
  readonly planned: number;
  /** The gateway's CPU per stored message over the measured load. */
  readonly cpuUsPerMessage: CpuPerUnit | undefined;
  /** The measured load as the gateway's own metrics saw it: its group commits and its event loop. */
  readonly inGateway: GatewayFigures | undefined;
}

async function warmAndLoad(
  spec: Omit<LoadSpec, 'seconds' | 'tag'>,
  settings: BenchSettings,
): Promise<LoadResult> {
  const run = randomUUID().slice(0, 8);
  await runLoad({ ...spec, seconds: settings.warmupSeconds, tag: `w${run}` });
  return runLoad({ ...spec, seconds: settings.seconds, tag: `m${run}` });
}

/** The bare server, or one of its floors (bare-server.ts); a floor that answered anything but 202 is refused. */
export async function measureBare(settings: BenchSettings, work: BareWork = 'none'): Promise<LoadResult> {
  const bare = await startChild<{ url: string }>('./bare-server.ts', { env: { BENCH_BARE_WORK: work } });
  try {
    const result = await warmAndLoad(
      {
        url: `${bare.ready.url}/v1/messages`,
        contentType: 'application/json',
        parts: singleBody(),
        connections: settings.connections,
        threads: settings.threads,
      },
      settings,
    );
    if (result.errors > 0)
      throw new Error(`the ${work} baseline answered ${result.errors} posts with an error`);
    return result;
  } finally {
    await bare.stop();
  }
}

export interface QueueFloorFigures {
  readonly jobs: number;
  readonly jobsPerSec: number;
  readonly cpuUsPerJob: CpuPerUnit | undefined;
}

/**
 * BullMQ alone on this run's Redis (queue-floor.ts): `settings.endToEndMessages` jobs added
 * `settings.batchSize` at a time after a warm-up of a tenth as many, completed by a worker that does
 * nothing, at the gateway's default concurrency.
 */
export async function measureQueueFloor(
  redis: TestRedis,
  settings: BenchSettings,
): Promise<QueueFloorFigures> {
  const floor = await startChild<Record<string, never>>('./queue-floor.ts', {
    env: { REDIS_URL: redis.url },
  });
  try {
    const run = (jobs: number) => floor.call<{ seconds: number }>('run', { jobs, bulk: settings.batchSize });
    await run(Math.ceil(settings.endToEndMessages / 10));
    const before = cpuTime(floor.pid);
    const { seconds } = await run(settings.endToEndMessages);
    return {
      jobs: settings.endToEndMessages,
      jobsPerSec: settings.endToEndMessages / seconds,
      cpuUsPerJob: cpuPerUnit(before, cpuTime(floor.pid), settings.endToEndMessages),
    };
  } finally {
    await floor.stop();
  }
}

/**
 * Authenticated, validated, stored, deliveries planned: POST /v1/messages (or /batch) to a gateway
 * of role `api`. On SQLite that process has no dispatcher, so the figure is ingest alone; on
 * PostgreSQL + Redis it also enqueues one BullMQ job per delivery, as an API process does.
 */
export async function measureIngest(options: {
  readonly backend: Backend;
  readonly batch: boolean;
  readonly receiverUrl: string;
  readonly settings: BenchSettings;
}): Promise<IngestFigures> {
  const { settings } = options;
  const gateway = await startGatewayProcess({
    ...options,
    role: 'api',
    label: `${options.backend.key}-ingest-${options.batch ? 'batch' : 'single'}`,
  });
  try {
    const perRequest = options.batch ? settings.batchSize : 1;
    const spec = {
      url: `${gateway.url}/v1/messages${options.batch ? '/batch' : ''}`,
      token: gateway.token,
      contentType: 'application/json',
      parts: options.batch ? batchBody(settings.batchSize) : singleBody(),
      connections: settings.connections,
      threads: settings.threads,
    };
    const run = randomUUID().slice(0, 8);
    await runLoad({ ...spec, seconds: settings.warmupSeconds, tag: `w${run}` });
    const before = await settledCounts(gateway);
    const watchOver = await watchGateway(gateway);
    const rss = sampleRss(gateway.child.pid);
    const cpuBefore = cpuTime(gateway.child.pid);
    const load = await runLoad({ ...spec, seconds: settings.seconds, tag: `m${run}` });
    const rssMb = rss.stop();
    const after = await settledCounts(gateway);
    const inGateway = await watchOver();
    const stored = after.messages - before.messages;
    const planned = (after.deliveries.pending ?? 0) - (before.deliveries.pending ?? 0);
    return {
      load,
      messagesPerSec: load.requestsPerSec * perRequest,
      rssMb,
      stored,
      planned,
      cpuUsPerMessage: cpuPerUnit(cpuBefore, cpuTime(gateway.child.pid), stored),
      inGateway,
    };
  } finally {
    await gateway.stop();
  }
}

/** The counts once requests still in flight when wrk stopped have been committed. */
async function settledCounts(gateway: GatewayProcess): Promise<StoreCounts> {
  let last = await gateway.counts();
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await gateway.counts();
    if (now.messages === last.messages) return now;
    last = now;
  }
  return last;
}

export interface EndToEndFigures {
  readonly messages: number;
  /** Accepted by the gateway before the phase's time limit (normally all `messages`). */
  readonly posted: number;
  readonly delivered: number;
  readonly seconds: number;
  readonly deliveriesPerSec: number;
  readonly rssMb: number;
  /** Gateway CPU per delivery over the timed phase (ingest included), when /proc tells. */
  readonly cpuUsPerDelivery?: CpuPerUnit;
  readonly timedOut: boolean;
}

export interface LatencyFigures {
  readonly rate: number;
  readonly messages: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly deliveryP50Ms: number;
  readonly deliveryP99Ms: number;
  readonly lost: number;
  /** How late the poster itself handed a post over, at most: a stalled load generator shows here. */
  readonly postedLateMaxMs: number;
  /** The phase as the gateway's own metrics saw it: its ingest commits and its event loop. */
  readonly inGateway?: GatewayFigures;
}

/**
 * Both end-to-end scenarios on one gateway of role `all`: first as many deliveries per second as
 * it can (N messages posted in batches, timed from the first post to the N-th arrival at the
 * receiver), then, once idle, ingest-to-delivery latency at a fixed offered rate.
 */
export async function measureEndToEnd(options: {
  readonly backend: Backend;
  readonly receiver: Receiver;
  readonly settings: BenchSettings;
  readonly latency: boolean;
}): Promise<{ throughput: EndToEndFigures; latency?: LatencyFigures | Error }> {
  const gateway = await startGatewayProcess({
    ...options,
    role: 'all',
    receiverUrl: options.receiver.ready.url,
    label: `${options.backend.key}-end-to-end`,
  });
  try {
    return await throughputThenLatency(gateway, options);
  } finally {
    await gateway.stop();
  }
}

export interface WebhookFigures {
  readonly throughput: EndToEndFigures;
  readonly latency?: LatencyFigures | Error;
  /** Requests whose x-hub-signature did not verify at the receiver, and the first of them. */
  readonly badSignatures: number;
  readonly firstBad: string | null;
}

/** The canonical type the webhook scenario posts; its topic is looked up from the adapter. */
export const WEBHOOK_BENCH_TYPE = 'nl.accounts.account-gewijzigd';

/**
 * The end-to-end scenarios through the real webhooks adapter: one WebSub recipient (HMAC-SHA256),
 * made through the management API as an operator would, bound to the posting account; the
 * receiver checks the signature of every request and counts only those that verify.
 */
export async function measureWebhooks(options: {
  readonly backend: Backend;
  readonly receiver: Receiver;
  readonly settings: BenchSettings;
  readonly latency: boolean;
}): Promise<WebhookFigures> {
  const { receiver } = options;
  const gateway = await startGatewayProcess({
    ...options,
    role: 'all',
    receiverUrl: receiver.ready.url,
    adapters: ['webhooks'],
    label: `${options.backend.key}-webhooks`,
  });
  try {
    const secret = await createWebhookRecipient(gateway, receiver.ready.url);
    await receiver.call('verify', { secret });
    const figures = await throughputThenLatency(gateway, options);
    const { bad, firstBad } = await receiver.call<ReceiverStats>('stats');
    return { ...figures, badSignatures: bad, firstBad };
  } finally {
    await receiver.call('verify', null);
    await gateway.stop();
  }
}

/** POST /v1/webhooks/recipients for WEBHOOK_BENCH_TYPE's topic; the answer's signing secret. */
async function createWebhookRecipient(gateway: GatewayProcess, url: string): Promise<string> {
  const api = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }> => {
    const answer = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${gateway.adminToken ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: answer.status, body: await answer.json() };
  };
  const topics = await api('GET', '/v1/webhooks/topics');
  const topic = (topics.body?.items as Array<{ topic: string; type: string }> | undefined)?.find(
    (item) => item.type === WEBHOOK_BENCH_TYPE,
  )?.topic;
  if (topics.status !== 200 || topic === undefined)
    throw new Error(
      `no webhook topic for ${WEBHOOK_BENCH_TYPE}: ${topics.status} ${JSON.stringify(topics.body)}`,
    );
  const created = await api('POST', '/v1/webhooks/recipients', {
    url,
    topics: [topic],
    account: gateway.clientId,
    protocol: 'websub',
    description: 'bench receiver',
  });
  if (created.status !== 201 || typeof created.body?.secret !== 'string')
    throw new Error(`recipient not created: ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`);
  return created.body.secret as string;
}

async function throughputThenLatency(
  gateway: GatewayProcess,
  options: { readonly receiver: Receiver; readonly settings: BenchSettings; readonly latency: boolean },
): Promise<{ throughput: EndToEndFigures; latency?: LatencyFigures | Error }> {
  const { settings, receiver } = options;
  // Warm-up as before every load: batches posted for warmupSeconds and delivered, so that the JIT, the
  // heap and the connections to the receiver are warm before timing starts.
  await receiver.call('reset');
  const warmed = await postBatches(
    gateway,
    Number.POSITIVE_INFINITY,
    settings.batchSize,
    `w${randomUUID().slice(0, 8)}`,
    settings,
    Date.now() + settings.warmupSeconds * 1000,
  );
  await waitForDeliveries(receiver, warmed, PHASE_LIMIT_MS);

  await receiver.call('reset');
  const n = settings.endToEndMessages;
  const rss = sampleRss(gateway.child.pid);
  const cpuBefore = cpuTime(gateway.child.pid);
  const startedAt = Date.now();
  const deadline = startedAt + PHASE_LIMIT_MS;
  const posted = await postBatches(
    gateway,
    n,
    settings.batchSize,
    `e${randomUUID().slice(0, 8)}`,
    settings,
    deadline,
  );
  const stats = await waitForDeliveries(receiver, posted, deadline - Date.now());
  const cpu = cpuPerUnit(cpuBefore, cpuTime(gateway.child.pid), Math.min(stats.count, n));
  const rssMb = rss.stop();
  const seconds = ((stats.count >= n ? stats.lastAt : Date.now()) - startedAt) / 1000;
  const throughput: EndToEndFigures = {
    messages: n,
    posted,
    delivered: stats.count,
    seconds,
    deliveriesPerSec: Math.min(stats.count, n) / seconds,
    rssMb,
    ...(cpu ? { cpuUsPerDelivery: cpu } : {}),
    timedOut: stats.count < n,
  };
  if (!options.latency) return { throughput };
  // The latency is measured on an idle gateway: what the first phase left undelivered goes first.
  if (throughput.timedOut) {
    const drained = await waitForDeliveries(receiver, posted, PHASE_LIMIT_MS);
    if (drained.count < posted)
      return {
        throughput,
        latency: new Error(
          `not measured: ${posted - drained.count} deliveries of the first phase still outstanding ${PHASE_LIMIT_MS / 1000} s after it`,
        ),
      };
  }
  // A failure here must not lose the throughput figure measured above.
  const latency = await measureLatencyAtRate(gateway, receiver, settings).catch((error: unknown) =>
    error instanceof Error ? error : new Error(String(error)),
  );
  return { throughput, latency };
}

/** Posts n messages in batches, or fewer when `deadline` (epoch ms) passes first; the number accepted. */
async function postBatches(
  gateway: GatewayProcess,
  n: number,
  size: number,
  tag: string,
  settings: BenchSettings,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  const requests = Math.ceil(n / size);
  let next = 0;
  let accepted = 0;
  // Built once per size: building 100 events per request took the poster up to half a core, which
  // the gateway under test shares.
  const bodies = new Map<number, string[]>();
  const partsOf = (count: number): string[] => {
    let parts = bodies.get(count);
    if (parts === undefined) bodies.set(count, (parts = batchBody(count)));
    return parts;
  };
  const poster = async (): Promise<void> => {
    while (next < requests && Date.now() < deadline) {
      const index = next++;
      const count = Math.min(size, n - index * size);
      const answer = await fetch(`${gateway.url}/v1/messages/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.token}` },
        body: fillBody(partsOf(count), `${tag}-${index}`),
      });
      const body = (await answer.json()) as { accepted?: number };
      if (answer.status !== 207 || body.accepted !== count)
        throw new Error(`batch refused: ${answer.status} ${JSON.stringify(body).slice(0, 300)}`);
      accepted += count;
    }
  };
  // A few posters at once, as a back-office export would; far fewer than the gateway's concurrency.
  await Promise.all(Array.from({ length: Math.min(4, settings.connections) }, poster));
  return accepted;
}

async function waitForDeliveries(receiver: Receiver, n: number, timeoutMs: number): Promise<ReceiverStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await receiver.call<ReceiverStats>('stats');
    if (stats.count >= n || Date.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Open loop: message i is posted at start + i/rate whatever the answers, so that a slow gateway cannot slow the offer. */
async function measureLatencyAtRate(
  gateway: GatewayProcess,
  receiver: Receiver,
  settings: BenchSettings,
): Promise<LatencyFigures> {
  await receiver.call('reset', { record: true });
  const total = Math.round(settings.rate * settings.rateSeconds);
  const parts = singleBody();
  const tag = `r${randomUUID().slice(0, 8)}`;
  const postedAt = new Map<string, number>();
  const acks: number[] = [];
  const inFlight: Promise<void>[] = [];
  const watchOver = await watchGateway(gateway);
  // As many connections as the throughput loads use; a post waiting for a free one is late, and
  // that lateness counts, because every latency is measured from the post's scheduled time.
  const pool = new Pool(gateway.url, { connections: settings.connections });
  let postedLateMaxMs = 0;
  const start = Date.now();
  try {
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / settings.rate;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      postedLateMaxMs = Math.max(postedLateMaxMs, Date.now() - due);
      inFlight.push(
        pool
          .request({
            method: 'POST',
            path: '/v1/messages',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.token}` },
            body: fillBody(parts, `${tag}-${i}`),
          })
          .then(async (answer) => {
            const body = (await answer.body.json()) as { id?: string };
            if (answer.statusCode !== 202 || !body.id)
              throw new Error(`post refused: ${answer.statusCode} ${JSON.stringify(body).slice(0, 300)}`);
            acks.push(Date.now() - due);
            postedAt.set(body.id, due);
          }),
      );
    }
    await Promise.all(inFlight);
  } finally {
    await pool.close();
  }
  await waitForDeliveries(receiver, total, Math.max(5_000, start + PHASE_LIMIT_MS - Date.now()));
  const inGateway = await watchOver();
  const arrivals = await receiver.call<Array<[string, number]>>('arrivals');
  const firstArrival = new Map<string, number>();
  for (const [id, at] of arrivals) if (!firstArrival.has(id)) firstArrival.set(id, at);
  const delays = [...postedAt].flatMap(([id, sentAt]) => {
    const at = firstArrival.get(id);
    return at === undefined ? [] : [at - sentAt];
  });
  return {
    rate: settings.rate,
    messages: total,
    ackP50Ms: percentile(acks, 50),
    ackP99Ms: percentile(acks, 99),
    deliveryP50Ms: percentile(delays, 50),
    deliveryP99Ms: percentile(delays, 99),
    lost: total - delays.length,
    postedLateMaxMs,
    ...(inGateway ? { inGateway } : {}),
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
