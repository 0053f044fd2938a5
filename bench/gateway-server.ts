/**
 * The gateway under test, alone in its process: configured by the environment exactly as
 * `koppel serve` is, logs at the configured level to a file in the data folder. It runs the test
 * adapter (KOPPEL_SETTINGS_TEST_HTTP), or with BENCH_ADAPTERS=webhooks,… those adapters of the
 * registry instead. Once it listens it hands the parent its URL and a bearer token of scope
 * messages:write (an account made in its own store, as an operator would), and with real adapters
 * also an admin token for their management API.
 */
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'kysely';
import { pino } from 'pino';
import { adapters } from '../adapters/index.ts';
import { createAccount } from '../gateway/auth/accounts.ts';
import { loadConfig } from '../gateway/config/load-config.ts';
import { createGateway } from '../gateway/main.ts';
import { createSecretBox, loadOrCreateSecretKey } from '../gateway/security/secrets.ts';
import { testHttpAdapter } from '../test/helpers/test-adapter.ts';
import { serveParent } from './child.ts';
import { accessToken } from '../test/helpers/access-token.ts';

export interface GatewayReady {
  readonly url: string;
  /** `null` in a `worker` process, which serves no API. */
  readonly token: string | null;
  /** Client id of the token's account (every employer): the account a webhook recipient binds to. */
  readonly clientId: string | null;
  /** Scope admin; only with BENCH_ADAPTERS, whose management operations the bench calls. */
  readonly adminToken: string | null;
}

/** How long the gateway's event loop was held, at most and at the 99th percentile, over a window. */
export interface LoopHeld {
  readonly maxMs: number;
  readonly p99Ms: number;
}

/** The loop is sampled this often; an idle loop shows this much between samples, so it is subtracted. */
const LOOP_SAMPLING_MS = 10;

export interface StoreCounts {
  readonly messages: number;
  readonly deliveries: Record<string, number>;
}

const config = loadConfig(process.env);
const logDestination = pino.destination({
  dest: join(config.dataDir, 'gateway.log'),
  sync: false,
  mkdir: true,
});
const chosen = (process.env.BENCH_ADAPTERS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const definitions =
  chosen.length === 0
    ? [testHttpAdapter()]
    : chosen.map((name) => {
        const definition = adapters.find((a) => a.name === name);
        if (!definition) throw new Error(`BENCH_ADAPTERS: adapters/index.ts has no adapter ${name}`);
        return definition;
      });
const gateway = await createGateway({ config, adapters: definitions, logDestination });
const { url } = await gateway.start();

let bench: { clientId: string; token: string } | null = null;
let adminToken: string | null = null;
if (config.role !== 'worker') {
  bench = await issueToken('bench', ['messages:write']);
  if (chosen.length > 0) adminToken = (await issueToken('bench-admin', ['admin'])).token;
}

/** A new account and a token for it (TOTP codes are single-use per account, hence one account each). */
async function issueToken(name: string, scopes: string[]): Promise<{ clientId: string; token: string }> {
  const box = createSecretBox(
    loadOrCreateSecretKey({ keyBase64: config.secretKey, keyFile: join(config.dataDir, 'secret.key') }),
  );
  const account = await createAccount(gateway.store.db, box, {
    name,
    scopes,
    employers: ['*'],
    now: new Date(),
  });
  return { clientId: account.clientId, token: await accessToken(url, account) };
}

// One statement, so that both counts see the same commits.
const counts = async (): Promise<StoreCounts> => {
  const rows = await sql<{ status: string | null; n: number }>`
    select null as status, count(*) as n from messages
    union all select status, count(*) from deliveries group by status`.execute(gateway.store.db);
  const deliveries = rows.rows.filter((r) => r.status !== null).map((r) => [r.status, Number(r.n)]);
  return {
    messages: Number(rows.rows.find((r) => r.status === null)?.n ?? 0),
    deliveries: Object.fromEntries(deliveries),
  };
};

// The bench's own watch on the gateway's event loop (the gateway exports no such metric: an always-on monitor
// is a cost its users did not ask for). `loop` answers how long the loop was held since the previous call.
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
loopDelay.enable();
const loop = (): LoopHeld => {
  const held = (ns: number) => Math.max(0, ns / 1e6 - LOOP_SAMPLING_MS);
  const figures = { maxMs: held(loopDelay.max), p99Ms: held(loopDelay.percentile(99)) };
  loopDelay.reset();
  return figures;
};

serveParent(
  { url, token: bench?.token ?? null, clientId: bench?.clientId ?? null, adminToken } satisfies GatewayReady,
  { counts, loop, memory: () => process.memoryUsage() },
  async () => {
    await gateway.stop();
    logDestination.flushSync();
  },
);
