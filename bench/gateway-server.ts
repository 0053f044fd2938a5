/**
 * The gateway under test, alone in its process: configured by the environment exactly as
 * `koppel serve` is, with the test adapter (KOPPEL_SETTINGS_TEST_HTTP), logs at the configured level
 * to a file in the data folder. Once it listens it hands the parent its URL and a bearer token of
 * scope messages:write (an account made in its own store, as an operator would).
 */
import { join } from 'node:path';
import { sql } from 'kysely';
import { generate } from 'otplib';
import { pino } from 'pino';
import { createAccount } from '../gateway/auth/accounts.ts';
import { loadConfig } from '../gateway/config/load-config.ts';
import { createGateway } from '../gateway/main.ts';
import { createSecretBox, loadOrCreateSecretKey } from '../gateway/security/secrets.ts';
import { testHttpAdapter } from '../test/helpers/test-adapter.ts';
import { serveParent } from './child.ts';

export interface GatewayReady {
  readonly url: string;
  /** `null` in a `worker` process, which serves no API. */
  readonly token: string | null;
}

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
const gateway = await createGateway({ config, adapters: [testHttpAdapter()], logDestination });
const { url } = await gateway.start();

let token: string | null = null;
if (config.role !== 'worker') {
  const box = createSecretBox(
    loadOrCreateSecretKey({ keyBase64: config.secretKey, keyFile: join(config.dataDir, 'secret.key') }),
  );
  const account = await createAccount(gateway.store.db, box, {
    name: 'bench',
    scopes: ['messages:write'],
    employers: ['*'],
    now: new Date(),
  });
  const code = await generate({ secret: account.totpSecret });
  const answer = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: account.clientId,
      client_secret: `${account.apiToken}${code}`,
    }),
  });
  if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${await answer.text()}`);
  token = ((await answer.json()) as { access_token: string }).access_token;
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

serveParent(
  { url, token } satisfies GatewayReady,
  { counts, memory: () => process.memoryUsage() },
  async () => {
    await gateway.stop();
    logDestination.flushSync();
  },
);
