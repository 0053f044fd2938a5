import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { adapters } from '../adapters/index.ts';
import { runAccountsCommand } from './cli/accounts.ts';
import { ConfigError, EXIT_CONFIG, loadConfig, type Config } from './config/load-config.ts';
import { createGateway } from './main.ts';
import { createSecretBox, loadOrCreateSecretKey } from './security/secrets.ts';
import { openStore } from './store/db.ts';
import type { AdapterMigration } from './adapter-kit/index.ts';

const USAGE = `usage: koppel <command>
  serve [--role all|api|worker]   run the gateway (default role from KOPPEL_ROLE)
  migrate                         apply database migrations and exit
  accounts create|list|disable    manage API accounts (koppel accounts --help)
  errors list [--adapter A] [--kind K] [--limit N] [--json]   read the error log`;

const EXIT_USAGE = 64;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let config: Config;
  try {
    config = loadConfig(command === 'serve' ? withRole(process.env, rest) : process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_CONFIG;
    }
    throw error;
  }
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate': {
      const store = openConfiguredStore(config);
      const applied = await store.migrate(adapterMigrations(config));
      process.stdout.write(
        applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`,
      );
      await store.close();
      return 0;
    }
    case 'accounts': {
      const store = openConfiguredStore(config);
      await store.migrate(adapterMigrations(config));
      const box = createSecretBox(
        loadOrCreateSecretKey({ keyBase64: config.secretKey, keyFile: join(config.dataDir, 'secret.key') }),
      );
      const code = await runAccountsCommand(rest, {
        store,
        box,
        now: () => new Date(),
        out: (line) => process.stdout.write(`${line}\n`),
      });
      await store.close();
      return code;
    }
    case 'errors':
      return errorsCommand(config, rest);
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === '--help' ? 0 : EXIT_USAGE;
  }
}

function withRole(env: NodeJS.ProcessEnv, args: string[]): NodeJS.ProcessEnv {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } } });
  return values.role ? { ...env, KOPPEL_ROLE: values.role } : env;
}

function openConfiguredStore(config: Config) {
  return openStore({
    sqliteFile: join(config.dataDir, 'koppel.sqlite'),
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(config.databaseSchema ? { databaseSchema: config.databaseSchema } : {}),
  });
}

function adapterMigrations(config: Config): Map<string, readonly AdapterMigration[]> {
  return new Map(
    adapters
      .filter((a) => config.adapters === undefined || config.adapters.includes(a.name))
      .map((a) => [a.name, a.migrations ?? []]),
  );
}

async function serve(config: Config): Promise<number> {
  const gateway = await createGateway({ config, adapters });
  await gateway.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      gateway.log.info({ signal }, 'shutdown_requested');
      gateway.stop().then(resolve, (error: unknown) => {
        gateway.log.error({ err: error }, 'shutdown_failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // The gateway has stopped and holds nothing. A connection a library could not close (BullMQ's
  // worker after a Redis outage, bullmq#4656) must not keep the process: it ends a second later at
  // the latest, and at once when nothing is left.
  setTimeout(() => process.exit(), 1000).unref();
  return 0;
}

async function errorsCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      adapter: { type: 'string' },
      kind: { type: 'string' },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] !== 'list' || !/^\d+$/.test(values.limit)) {
    process.stderr.write(
      'usage: koppel errors list [--adapter A] [--kind rejected|skipped|exhausted|internal] [--limit N] [--json]\n',
    );
    return EXIT_USAGE;
  }
  const store = openConfiguredStore(config);
  await store.migrate(adapterMigrations(config));
  let query = store.db
    .selectFrom('error_log')
    .selectAll()
    .orderBy('created_at', 'desc')
    .limit(Number(values.limit));
  if (values.adapter) query = query.where('adapter', '=', values.adapter);
  if (values.kind) query = query.where('kind', '=', values.kind as never);
  const rows = await query.execute();
  for (const row of rows) {
    const time = new Date(Number(row.created_at)).toISOString();
    process.stdout.write(
      values.json
        ? `${JSON.stringify(row)}\n`
        : `${time}  ${row.adapter.padEnd(16)} ${row.kind.padEnd(9)} ${row.resolved_at ? 'resolved ' : 'open     '} ${row.id}  ${row.reason}\n`,
    );
  }
  await store.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`koppel: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
