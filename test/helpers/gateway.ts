import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessToken } from './access-token.ts';
import { captureLog } from './log-capture.ts';
import type { AdapterDefinition } from '../../gateway/adapter-kit/index.ts';
import { createAccount, KNOWN_SCOPES } from '../../gateway/auth/accounts.ts';
import { loadConfig } from '../../gateway/config/load-config.ts';
import { createGateway, type Gateway } from '../../gateway/main.ts';
import { createSecretBox, loadOrCreateSecretKey } from '../../gateway/security/secrets.ts';

export interface StartOptions {
  readonly adapters?: readonly AdapterDefinition<any>[];
  /** Extra environment (KOPPEL_RETRY_<NAME>, DATABASE_URL, REDIS_URL, …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Adapter name → settings, passed as KOPPEL_SETTINGS_<NAME>. */
  readonly adapterSettings?: Readonly<Record<string, unknown>>;
  readonly now?: () => Date;
  /** Reuse a data folder (restart tests); a fresh one by default. */
  readonly dataDir?: string;
}

export interface HttpAnswer<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface TestGateway {
  readonly baseUrl: string;
  readonly gateway: Gateway;
  readonly dataDir: string;
  /** A fresh API account (all scopes unless named) and a token for it. */
  token(scopes?: readonly string[], employers?: readonly string[]): Promise<string>;
  /** Creates an account and returns its credentials without fetching a token. */
  account(
    scopes?: readonly string[],
    employers?: readonly string[],
  ): Promise<{ clientId: string; apiToken: string; totpSecret: string }>;
  request<T = any>(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<HttpAnswer<T>>;
  /** POST /v1/messages with a token of scope messages:write. */
  post(event: unknown): Promise<HttpAnswer>;
  /** GET with an admin token. */
  get<T = any>(path: string): Promise<HttpAnswer<T>>;
  /** Polls `check` until it returns a value other than undefined (10 s by default). */
  eventually<T>(check: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  readonly logs: { lines(): Array<Record<string, unknown>>; text(): string };
  stop(): Promise<void>;
}

/** Every scope an account can have. */
export const ALL_SCOPES = KNOWN_SCOPES;

/**
 * The whole gateway in this process on 127.0.0.1:0 with a fresh SQLite file, captured logs and
 * loopback allowed outbound (Svix `start_svix_server`). Every test gets its own namespace.
 */
export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'koppel-test-'));
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    KOPPEL_DATA_DIR: dataDir,
    KOPPEL_LOG_LEVEL: 'info',
    KOPPEL_OUTBOUND_ALLOW: '127.0.0.0/8,::1',
    KOPPEL_POLL_INTERVAL_MS: '50',
    KOPPEL_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  };
  for (const [name, settings] of Object.entries(options.adapterSettings ?? {})) {
    env[`KOPPEL_SETTINGS_${name.toUpperCase().replace(/-/g, '_')}`] = JSON.stringify(settings);
  }
  const { destination, lines } = captureLog();
  const config = loadConfig(env);
  const gateway = await createGateway({
    config,
    adapters: options.adapters ?? [],
    logDestination: destination,
    ...(options.now ? { now: options.now } : {}),
  });
  const { url } = await gateway.start();
  const box = createSecretBox(
    loadOrCreateSecretKey({ keyBase64: config.secretKey, keyFile: join(dataDir, 'secret.key') }),
  );

  const request = async <T>(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpAnswer<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (metrics, HTML): the text is the body.
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };

  const account = async (scopes: readonly string[] = ALL_SCOPES, employers: readonly string[] = ['*']) =>
    createAccount(gateway.store.db, box, {
      name: `test ${Math.random().toString(36).slice(2, 8)}`,
      scopes,
      employers,
      now: new Date(),
    });

  const token = async (
    scopes: readonly string[] = ALL_SCOPES,
    employers: readonly string[] = ['*'],
  ): Promise<string> => {
    return accessToken(url, await account(scopes, employers));
  };

  let writer: string | undefined;
  let admin: string | undefined;
  return {
    baseUrl: url,
    gateway,
    dataDir,
    token,
    account,
    request,
    async post(event) {
      writer ??= await token(['messages:write']);
      return request('POST', '/v1/messages', { body: event, token: writer });
    },
    async get(path) {
      admin ??= await token();
      return request('GET', path, { token: admin });
    },
    async eventually(check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    logs: {
      lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
      text: () => lines.join('\n'),
    },
    async stop() {
      await gateway.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid CloudEvent of type nl.accounts.account-gewijzigd, from the canonical examples. */
export function accountChangedEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: `evt-${Math.random().toString(36).slice(2)}`,
    source: 'urn:nld:oin:00000001823288444000:systeem:test',
    type: 'nl.accounts.account-gewijzigd',
    time: '2026-11-23T10:00:00Z',
    datacontenttype: 'application/json',
    data: exampleData('nl.accounts.account-gewijzigd'),
    ...overrides,
  };
}

const EXAMPLES = new URL('../../schemas/canonical/examples/', import.meta.url).pathname;

/** The `data` of the first canonical example of a type (schemas/canonical/examples/<type>/). */
export function exampleData(type: string): unknown {
  const folder = join(EXAMPLES, type);
  const file = readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()[0];
  if (!file) throw new Error(`no example for ${type}`);
  return (JSON.parse(readFileSync(join(folder, file), 'utf8')) as { data: unknown }).data;
}
