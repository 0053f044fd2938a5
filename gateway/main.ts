import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type {
  AdapterDefinition,
  AdapterMigration,
  CanonicalMessageInput,
  RetryPolicy,
} from './adapter-kit/index.ts';
import { createGuardedHttp } from './adapter-kit/http.ts';
import { ok, problem, type OperationHandlers } from './adapter-kit/api.ts';
import { projectPath } from './adapter-kit/project-files.ts';
import { createTokenService } from './auth/token.ts';
import {
  AccountValidationError,
  createAccount,
  disableAccount,
  findAccountView,
  listAccounts,
} from './auth/accounts.ts';
import type { Config } from './config/load-config.ts';
import type { Dispatcher, DueDelivery, PeriodicWork } from './dispatch/dispatcher.ts';
import { createEmbeddedPoller } from './dispatch/embedded-poller.ts';
import { openErrorLogFile } from './dispatch/error-log-file.ts';
import { claimDue, nextInOrderingGroup } from './dispatch/claims.ts';
import { createAttemptRunner } from './dispatch/run-attempt.ts';
import { buildApp } from './http/app.ts';
import { registerOperationalRoutes } from './http/health.ts';
import { BodyBudget } from './http/body-budget.ts';
import { createMetrics } from './http/metrics.ts';
import { createCanonicalValidator } from './ingest/canonical-validator.ts';
import { createIngest } from './ingest/post-message.ts';
import { createLogger, writeOnlyPropertyNames } from './logging.ts';
import { coreOperations } from './management/core-operations.ts';
import { adapterDeliveries } from './management/adapter-deliveries.ts';
import { replayDeliveries } from './management/replay.ts';
import { mergedOpenApiDocument } from './openapi-document.ts';
import { registerPortal } from './portal/serve.ts';
import type { LoadedAdapter } from './registry.ts';
import { createSecretBox, loadOrCreateSecretKey } from './security/secrets.ts';
import { createOutboundGuard } from './security/outbound-url-guard.ts';
import { openStore, type Store } from './store/db.ts';

export interface GatewayOptions {
  readonly config: Config;
  readonly adapters: readonly AdapterDefinition<any>[];
  /** Where logs go (tests capture them); stdout by default. */
  readonly logDestination?: DestinationStream;
  readonly now?: () => Date;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly log: Logger;
  /** Listens (roles api/all serve the API; worker serves health and metrics) and starts dispatch. */
  start(): Promise<{ url: string }>;
  /** SIGTERM path: stop taking work, let attempts finish (grace), close everything. */
  stop(): Promise<void>;
}

const SCHEMAS_DIR = projectPath('schemas');
const RETRY_OVERRIDE_KEY = 'retry-policy';
const OVERRIDE_REFRESH_MS = 5000;

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const secretNames = writeOnlyPropertyNames([join(SCHEMAS_DIR, 'adapters'), join(SCHEMAS_DIR, 'config')]);
  const log = createLogger(config.logLevel, secretNames, options.logDestination);

  const unknown = (config.adapters ?? []).filter((name) => !options.adapters.some((a) => a.name === name));
  if (unknown.length > 0) throw new Error(`KOPPEL_ADAPTERS names unknown adapters: ${unknown.join(', ')}`);
  const settingsAjv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats.default(settingsAjv);
  const enabled: Array<{ definition: AdapterDefinition<any>; settings: unknown }> = [];
  for (const definition of options.adapters) {
    if (config.adapters !== undefined && !config.adapters.includes(definition.name)) continue;
    const given = config.adapterSettings.get(definition.name);
    const settings = structuredClone(given ?? {});
    const validate = settingsAjv.compile(definition.settingsSchema);
    if (validate(settings)) {
      enabled.push({ definition, settings });
      continue;
    }
    // An adapter that needs settings nobody gave is simply not in use; one that was asked for is an error.
    if (given === undefined && config.adapters === undefined) {
      log.info(
        {
          adapter: definition.name,
          settings: `KOPPEL_SETTINGS_${definition.name.toUpperCase().replace(/-/g, '_')}`,
        },
        'adapter_not_configured',
      );
      continue;
    }
    const problems = (validate.errors ?? [])
      .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`)
      .join('; ');
    throw new Error(`settings of adapter ${definition.name} are invalid: ${problems}`);
  }

  const store = openStore({
    sqliteFile: join(config.dataDir, 'koppel.sqlite'),
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(config.databaseSchema ? { databaseSchema: config.databaseSchema } : {}),
    poolSize: config.databasePoolSize,
    onConnectionLost: (error) => log.warn({ err: error }, 'database_connection_lost'),
  });
  const migrations = new Map<string, readonly AdapterMigration[]>(
    enabled.map(({ definition }) => [definition.name, definition.migrations ?? []]),
  );
  const applied = await store.migrate(migrations);
  if (applied.length > 0) log.info({ migrations: applied }, 'migrations_applied');

  const box = createSecretBox(
    loadOrCreateSecretKey({ keyBase64: config.secretKey, keyFile: join(config.dataDir, 'secret.key') }),
  );
  const tokens = createTokenService({ db: store.db, box, now, ttlSeconds: config.tokenTtlSeconds, log });
  const validator = createCanonicalValidator();
  const ingestBudget = new BodyBudget(config.ingestBufferBytes);
  const metrics = createMetrics(() => ingestBudget.load);
  const http = createGuardedHttp(createOutboundGuard(config.outboundAllow));
  const errorLogFile = openErrorLogFile(config.errorLogFile);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const apiOverrides = new Map<string, RetryPolicy>();
  const loadOverrides = async (): Promise<void> => {
    const rows = await store.db
      .selectFrom('settings')
      .select(['scope', 'value'])
      .where('key', '=', RETRY_OVERRIDE_KEY)
      .execute();
    apiOverrides.clear();
    for (const row of rows) apiOverrides.set(row.scope, JSON.parse(row.value) as RetryPolicy);
  };
  await loadOverrides();

  let dispatcher: Dispatcher | undefined;
  const wake = (deliveries: readonly DueDelivery[]): void => dispatcher?.wake(deliveries);
  const loaded: LoadedAdapter[] = [];
  const ingest = createIngest({
    db: store.db,
    dialect: store.dialect,
    validator,
    adapters: () => loaded,
    log,
    now,
    onCommitted: (planned) =>
      wake(planned.map((p) => ({ id: p.id, adapter: p.adapter, dueAt: p.dueAt, fresh: true }))),
    startCommitTimer: () => metrics.storeCommitSeconds.startTimer({ work: 'ingest' }),
  });

  for (const { definition, settings } of enabled) {
    const instance = await definition.create({
      settings,
      log: log.child({ adapter: definition.name }),
      http,
      db: store.db,
      dialect: store.dialect,
      secrets: box,
      now,
      employerPointer: (type) => validator.employerPointer(type),
      account: (clientId) => findAccountView(store.db, clientId),
      publicUrl: config.publicUrl,
      post: async (message: CanonicalMessageInput) => {
        const result = await ingest.post(message);
        if (!result.ok)
          throw new Error(
            `message refused: ${result.errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`,
          );
        return { id: result.id, duplicate: result.duplicate };
      },
      deliveries: adapterDeliveries(store.db, definition.name),
      retryDeliveries: async (ids) => {
        const due = await replayDeliveries(store.db, ids, now().getTime());
        wake(due);
        return due.length;
      },
      runtimeSettings: {
        get: async <T>(key: string) => {
          const row = await store.db
            .selectFrom('settings')
            .select('value')
            .where('scope', '=', definition.name)
            .where('key', '=', key)
            .executeTakeFirst();
          return row ? (JSON.parse(row.value) as T) : undefined;
        },
        set: (key, value) => putSetting(store, definition.name, key, value, now()),
      },
    });
    const envOverride = config.retryOverrides.get(definition.name);
    loaded.push({
      name: definition.name,
      definition,
      instance,
      accepts: new Set(definition.accepts),
      periodic: instance.dispatch?.mode === 'periodic',
      retryPolicy: () =>
        apiOverrides.get(definition.name) ??
        (envOverride
          ? {
              ...definition.retry,
              delaysMs: envOverride.delaysMs,
              afterLast: envOverride.repeatLast ? 'repeat-last' : definition.retry.afterLast,
            }
          : definition.retry),
      retryPolicySource: () =>
        apiOverrides.has(definition.name) ? 'api' : envOverride ? 'environment' : 'default',
    });
  }

  const runner = createAttemptRunner({
    db: store.db,
    dialect: store.dialect,
    log,
    now,
    workerId,
    leaseMs: config.leaseMs,
    secretNames,
    errorLogFile,
    metrics,
    onFinished: (rows) => {
      for (const row of rows) {
        if (row.ordering_key === null) continue;
        nextInOrderingGroup(store.db, row)
          .then(
            (next) =>
              next &&
              wake([
                { id: next.id, adapter: row.adapter, dueAt: Number(next.next_attempt_at ?? now().getTime()) },
              ]),
          )
          .catch((error: unknown) => log.error({ err: error }, 'ordering_wake_failed'));
      }
    },
  });

  const shutdown = new AbortController();
  const periodic: PeriodicWork[] = loaded.flatMap((adapter) => {
    const jobs: PeriodicWork[] = (adapter.instance.jobs ?? []).map((job) => ({
      name: `${adapter.name}:${job.name}`,
      intervalMs: () => job.intervalMs(),
      run: (at, signal) => job.run(at, signal),
    }));
    const mode = adapter.instance.dispatch;
    if (mode?.mode === 'periodic') {
      jobs.push({
        name: `${adapter.name}:dispatch`,
        intervalMs: () => mode.intervalMs(),
        run: async () => {
          // Each tick sends everything due, batch after batch, in ordering order.
          for (;;) {
            const claimed = await claimDue(store.db, store.dialect, {
              adapter: adapter.name,
              workerId,
              nowMs: now().getTime(),
              leaseMs: config.leaseMs,
              limit: mode.batchSize,
            });
            if (claimed.length === 0) return;
            await runner.runBatch(adapter, claimed, shutdown.signal);
            if (claimed.length < mode.batchSize) return;
          }
        },
      });
    }
    return jobs;
  });

  const works = config.role !== 'api';
  const dispatchParts = {
    db: store.db,
    dialect: store.dialect,
    adapters: loaded,
    periodic,
    runner,
    log,
    now,
    workerId,
    concurrency: config.concurrency,
    leaseMs: config.leaseMs,
  };
  if (config.redisUrl) {
    // BullMQ and ioredis (~15 MB resident) are loaded only by gateways that use Redis.
    const { createBullmqDispatcher } = await import('./dispatch/bullmq-dispatcher.ts');
    dispatcher = createBullmqDispatcher({
      ...dispatchParts,
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      sweepIntervalMs: config.sweepIntervalMs,
      work: works,
    });
  } else if (works) {
    dispatcher = createEmbeddedPoller({
      ...dispatchParts,
      pollIntervalMs: config.pollIntervalMs,
    });
  }

  const adapterHandlers: Record<string, OperationHandlers[string]> = {};
  for (const adapter of loaded) {
    Object.assign(adapterHandlers, adapter.instance.management ?? {}, adapter.instance.inbound ?? {});
  }
  const document = mergedOpenApiDocument(loaded.map((a) => a.name));
  const handlers: OperationHandlers = {
    ...coreOperations({
      db: store.db,
      ingest,
      validator,
      adapters: () => loaded,
      now,
      wake,
      onIngested: (type) => metrics.ingested.inc({ type }),
      setRetryPolicy: async (adapter, policy) => {
        if (policy === undefined) {
          await store.db
            .deleteFrom('settings')
            .where('scope', '=', adapter)
            .where('key', '=', RETRY_OVERRIDE_KEY)
            .execute();
        } else {
          await putSetting(store, adapter, RETRY_OVERRIDE_KEY, policy, now());
        }
        await loadOverrides();
      },
    }),
    'oauth2.token': (request) =>
      tokens.handleTokenRequest({
        authorization:
          typeof request.headers.authorization === 'string' ? request.headers.authorization : undefined,
        body: request.body,
      }),
    'oauth2.jwks': async () => ok(await tokens.jwks(), 200, { 'cache-control': 'public, max-age=300' }),
    'meta.openapi': async () => ok(document),
    'accounts.list': async () => ok({ items: await listAccounts(store.db) }),
    'accounts.create': async (request) => {
      const body = request.body as { name: string; scopes: string[]; employers?: string[] };
      try {
        return ok(
          await createAccount(store.db, box, {
            name: body.name,
            scopes: body.scopes,
            employers: body.employers ?? ['*'],
            now: now(),
          }),
          201,
        );
      } catch (error) {
        if (!(error instanceof AccountValidationError)) throw error;
        return problem(
          'validation-failed',
          400,
          error.message,
          error.errors.map((e) => ({ pointer: `/body${e.pointer}`, detail: e.detail })),
        );
      }
    },
    'accounts.disable': async (request) => {
      const clientId = request.params.clientId ?? '';
      if (!(await disableAccount(store.db, clientId, now())))
        return problem('not-found', 404, 'No account with this client id.');
      await tokens.refreshRevocations();
      const account = (await listAccounts(store.db)).find((a) => a.clientId === clientId);
      return ok(account);
    },
    ...adapterHandlers,
  };

  const app = await buildApp({
    log,
    document,
    handlers,
    verifyBearer: (token) => tokens.verify(token),
    maxMessageBytes: config.maxMessageBytes,
    maxBatchBytes: config.maxBatchBytes,
    ingestBudget,
    serving: () => config.role !== 'worker',
    extraRoutes: (fastify) => {
      registerOperationalRoutes(fastify, {
        store,
        metrics,
        dispatcherHealthy: () => dispatcher?.healthy() ?? Promise.resolve(true),
        adapters: () => loaded,
      });
      // A worker serves no API, so a portal there could only show errors.
      if (config.role !== 'worker') registerPortal(fastify);
    },
  });

  const overrideTimer = setInterval(() => {
    loadOverrides().catch((error: unknown) => log.warn({ err: error }, 'retry_overrides_not_loaded'));
  }, OVERRIDE_REFRESH_MS);
  overrideTimer.unref();

  let stopped: Promise<void> | undefined;
  return {
    app,
    store,
    log,
    async start() {
      await app.listen({ port: config.port, host: config.host });
      await dispatcher?.start();
      const address = app.server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      log.info(
        {
          url,
          role: config.role,
          store: store.dialect,
          queue: config.redisUrl ? 'bullmq' : 'embedded',
          adapters: loaded.map((a) => a.name),
        },
        'gateway_started',
      );
      return { url };
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(overrideTimer);
        await app.close();
        await ingest.flush();
        await dispatcher?.stop(config.shutdownGraceMs);
        shutdown.abort();
        await runner.flush();
        for (const adapter of loaded)
          await adapter.instance
            .close()
            .catch((error: unknown) =>
              log.error({ err: error, adapter: adapter.name }, 'adapter_close_failed'),
            );
        await http.close();
        await errorLogFile.close();
        await store.close();
        log.info('gateway_stopped');
      })();
      return stopped;
    },
  };
}

async function putSetting(store: Store, scope: string, key: string, value: unknown, at: Date): Promise<void> {
  const text = JSON.stringify(value);
  await store.db
    .insertInto('settings')
    .values({ scope, key, value: text, updated_at: at.getTime() })
    .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({ value: text, updated_at: at.getTime() }))
    .execute();
}
