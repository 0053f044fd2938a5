import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql } from 'kysely';
import { pino } from 'pino';
import { claimDue } from '../../gateway/dispatch/claims.ts';
import { createCanonicalValidator } from '../../gateway/ingest/canonical-validator.ts';
import { createIngest } from '../../gateway/ingest/post-message.ts';
import { adapterDeliveries } from '../../gateway/management/adapter-deliveries.ts';
import { openStore, type Store, type StoreOptions } from '../../gateway/store/db.ts';
import * as core0001 from '../../gateway/store/migrations/0001-core.ts';
import type { DeliveriesTable, MessagesTable } from '../../gateway/store/schema.ts';
import { describeBackend, describeEachBackend, type Backend } from '../helpers/backends.ts';
import { accountChangedEvent } from '../helpers/gateway.ts';
import type { CanonicalMessage } from '../../gateway/adapter-kit/index.ts';
import type { LoadedAdapter } from '../../gateway/registry.ts';

const NO_ADAPTER_MIGRATIONS = new Map();
const DB_MODULE = new URL('../../gateway/store/db.ts', import.meta.url).pathname;

type Namespace = Pick<StoreOptions, 'sqliteFile' | 'databaseUrl' | 'databaseSchema'>;

function message(overrides: Partial<MessagesTable> = {}): MessagesTable {
  return {
    id: randomUUID(),
    source: 'urn:nld:oin:00000001823288444000:systeem:test',
    event_id: `evt-${randomUUID()}`,
    type: 'nl.accounts.account-gewijzigd',
    subject: null,
    event_time: null,
    received_at: 1_790_000_000_000,
    envelope: '{}',
    ...overrides,
  };
}

function delivery(messageId: string, overrides: Partial<DeliveriesTable> = {}): DeliveriesTable {
  return {
    id: randomUUID(),
    message_id: messageId,
    adapter: 'test-http',
    target: 'url-0',
    target_label: null,
    ordering_key: null,
    sequence_key: null,
    ordering_position: '2026-11-23T10:00:00Z',
    sequence: 1,
    status: 'pending',
    attempts: 0,
    failures: 0,
    next_attempt_at: 1_790_000_000_000,
    lease_until: null,
    leased_by: null,
    last_outcome: null,
    last_reason: null,
    last_status: null,
    created_at: 1_790_000_000_000,
    updated_at: 1_790_000_000_000,
    finished_at: null,
    ...overrides,
  };
}

/** Plans one delivery per message to target `t`, numbered per subject, as the webhooks adapter does. */
function sequencingAdapter(): LoadedAdapter {
  return {
    name: 'seq',
    definition: {} as LoadedAdapter['definition'],
    instance: {
      plan: async (m: CanonicalMessage) => [{ target: 't', sequenceKey: m.subject ?? 'none' }],
    } as unknown as LoadedAdapter['instance'],
    accepts: new Set([accountChangedEvent().type as string]),
    periodic: false,
    retryPolicy: () =>
      ({ delaysMs: [], afterLast: 'fail' }) as unknown as ReturnType<LoadedAdapter['retryPolicy']>,
    retryPolicySource: () => 'default',
  };
}

function ingestOn(store: Store) {
  return createIngest({
    db: store.db,
    dialect: store.dialect,
    validator: createCanonicalValidator(),
    adapters: () => [sequencingAdapter()],
    log: pino({ level: 'silent' }),
    now: () => new Date(),
    onCommitted: () => undefined,
  });
}

// store.pg.test.ts: the SQLite half always runs, the PostgreSQL half needs the server.
describeEachBackend('store', (backend: () => Backend) => {
  const stores: Store[] = [];
  const dirs: string[] = [];
  afterEach(async function () {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh namespace: a new SQLite file, or a new PostgreSQL schema (not created yet when `fresh`). */
  function namespace(fresh = false): Namespace {
    const { env } = backend();
    const dir = mkdtempSync(join(tmpdir(), 'koppel-store-'));
    dirs.push(dir);
    const schema = fresh ? `${env.KOPPEL_DATABASE_SCHEMA}_new` : env.KOPPEL_DATABASE_SCHEMA;
    return {
      sqliteFile: join(dir, 'koppel.sqlite'),
      ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
      ...(schema ? { databaseSchema: schema } : {}),
    };
  }

  function open(where: Namespace): Store {
    const store = openStore({ ...where, poolSize: 2 });
    stores.push(store);
    return store;
  }

  it('applies the migrations once: a second run finds nothing to do', async function () {
    const where = namespace();
    assert.deepEqual(await open(where).migrate(NO_ADAPTER_MIGRATIONS), [
      'core/0001-core',
      'core/0002-delivery-sequences',
    ]);
    assert.deepEqual(await open(where).migrate(NO_ADAPTER_MIGRATIONS), []);
  });

  it('migrates safely from two processes at once on the same namespace', async function () {
    this.timeout(60_000);
    const where = namespace(true);
    // Both children load first and then migrate at the same instant.
    const startAt = Date.now() + 4000;
    const migrateInChild = () =>
      new Promise<string[]>((resolve, reject) => {
        const script = `
          const { openStore } = await import(${JSON.stringify(DB_MODULE)});
          const store = openStore(JSON.parse(process.env.STORE_OPTIONS));
          await new Promise((resolve) => setTimeout(resolve, Number(process.env.START_AT) - Date.now()));
          const items = { name: '0001-items', up: (db) => db.schema.createTable('test_http_items').addColumn('id', 'text', (c) => c.primaryKey()).execute() };
          process.stdout.write(JSON.stringify(await store.migrate(new Map([['test-http', [items]]]))));
          await store.close();`;
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script],
          {
            env: {
              PATH: process.env.PATH ?? '',
              STORE_OPTIONS: JSON.stringify(where),
              START_AT: String(startAt),
            },
          },
          (error, stdout, stderr) =>
            error
              ? reject(new Error(`${error.message}\n${stderr}`))
              : resolve(JSON.parse(stdout) as string[]),
        );
      });
    const [first, second] = await Promise.all([migrateInChild(), migrateInChild()]);
    assert.deepEqual(
      [...first, ...second].sort(),
      ['core/0001-core', 'core/0002-delivery-sequences', 'test-http/0001-items'],
      'each migration applied by exactly one process',
    );
    const store = open(where);
    await store.db.insertInto('messages').values(message()).execute();
    assert.deepEqual(
      await store.db
        .selectFrom('test_http_items' as never)
        .selectAll()
        .execute(),
      [],
    );
  });

  it('round-trips a message, its delivery and an attempt with the same queries and types', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const m = message({ subject: 'zaak-1', event_time: '2026-11-23T10:00:00Z' });
    const d = delivery(m.id, { ordering_key: 'zaak-1' });
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('messages').values(m).execute();
      await trx.insertInto('deliveries').values(d).execute();
      await trx
        .insertInto('attempts')
        .values({
          id: randomUUID(),
          delivery_id: d.id,
          number: 1,
          started_at: 1_790_000_000_123,
          duration_ms: 12,
          outcome: 'delivered',
          reason: null,
          code: null,
          request_summary: 'POST http://127.0.0.1/hook',
          request_body: '{"id":"x"}',
          response_status: '200',
          response_body: 'ok',
          next_attempt_at: null,
        })
        .execute();
    });
    const row = await store.db
      .selectFrom('deliveries')
      .innerJoin('messages', 'messages.id', 'deliveries.message_id')
      .innerJoin('attempts', 'attempts.delivery_id', 'deliveries.id')
      .select([
        'messages.received_at',
        'messages.subject',
        'deliveries.next_attempt_at',
        'deliveries.ordering_key',
        'attempts.started_at',
        'attempts.duration_ms',
      ])
      .where('deliveries.id', '=', d.id)
      .executeTakeFirstOrThrow();
    // Epoch milliseconds are bigint in PostgreSQL and come back as numbers, as in SQLite.
    assert.deepEqual(row, {
      received_at: 1_790_000_000_000,
      subject: 'zaak-1',
      next_attempt_at: 1_790_000_000_000,
      ordering_key: 'zaak-1',
      started_at: 1_790_000_000_123,
      duration_ms: 12,
    });
  });

  it('keeps (source, event_id) unique, and ON CONFLICT DO NOTHING returns no row', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const first = message();
    await store.db.insertInto('messages').values(first).execute();
    const again = { ...message(), source: first.source, event_id: first.event_id };
    await assert.rejects(store.db.insertInto('messages').values(again).execute(), /unique/i);
    const inserted = await store.db
      .insertInto('messages')
      .values(again)
      .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
      .returning('id')
      .execute();
    assert.deepEqual(inserted, []);
  });

  it('ingests a group that repeats a stored event: the new events are stored, the repeat is the first message', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const ingest = createIngest({
      db: store.db,
      dialect: store.dialect,
      validator: createCanonicalValidator(),
      adapters: () => [],
      log: pino({ level: 'silent' }),
      now: () => new Date(),
      onCommitted: () => undefined,
    });
    const stored = accountChangedEvent();
    const [first] = await ingest.postMany([stored]);
    assert.ok(first?.ok);
    // One group, one insert of four rows of which one is a repeat: fewer rows changed than given.
    const results = await ingest.postMany([
      accountChangedEvent(),
      stored,
      accountChangedEvent(),
      accountChangedEvent(),
    ]);
    assert.deepEqual(
      results.map((r) => r.ok && r.duplicate),
      [false, true, false, false],
    );
    const ids = results.map((r) => (r.ok ? r.id : ''));
    assert.equal(ids[1], first.id);
    const rows = await store.db.selectFrom('messages').select('id').execute();
    assert.deepEqual(rows.map((r) => r.id).sort(), [first.id, ids[0], ids[2], ids[3]].sort());
  });

  it('stores each group with its deliveries, numbered per sequence key on from the groups before', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const ingest = ingestOn(store);
    const event = (subject: string) => ({ ...accountChangedEvent(), subject });
    const first = await ingest.postMany([event('a'), event('b'), event('a')]);
    const second = await ingest.postMany([event('a'), event('b')]);
    const results = [...first, ...second];
    assert.ok(results.every((r) => r.ok && !r.duplicate && r.deliveries.length === 1));
    const rows = await store.db
      .selectFrom('deliveries')
      .innerJoin('messages', 'messages.id', 'deliveries.message_id')
      .select(['messages.id', 'deliveries.sequence_key', 'deliveries.sequence', 'deliveries.status'])
      .execute();
    const sequenceOf = new Map(rows.map((r) => [r.id, `${r.sequence_key}:${r.sequence}:${r.status}`]));
    assert.deepEqual(
      results.map((r) => (r.ok ? sequenceOf.get(r.id) : undefined)),
      ['a:1:pending', 'b:1:pending', 'a:2:pending', 'a:3:pending', 'b:2:pending'],
    );
  });

  it('numbers on from the deliveries stored before the sequence table existed', async function () {
    const where = namespace();
    const store = open(where);
    // The store as the first migration left it, with a numbered delivery in it.
    const { error } = await new Migrator({
      db: store.db,
      provider: { getMigrations: async () => ({ 'core/0001-core': core0001 }) },
      migrationTableName: 'koppel_migrations',
      migrationLockTableName: 'koppel_migrations_lock',
      ...(where.databaseSchema !== undefined ? { migrationTableSchema: where.databaseSchema } : {}),
    }).migrateToLatest();
    assert.ifError(error);
    const earlier = message();
    await store.db.insertInto('messages').values(earlier).execute();
    await store.db
      .insertInto('deliveries')
      .values(delivery(earlier.id, { adapter: 'seq', target: 't', sequence_key: 'a', sequence: 41 }))
      .execute();

    assert.deepEqual(await store.migrate(NO_ADAPTER_MIGRATIONS), ['core/0002-delivery-sequences']);
    const [result] = await ingestOn(store).postMany([{ ...accountChangedEvent(), subject: 'a' }]);
    assert.ok(result?.ok);
    const row = await store.db
      .selectFrom('deliveries')
      .select('sequence')
      .where('message_id', '=', result.id)
      .executeTakeFirstOrThrow();
    assert.equal(Number(row.sequence), 42);
  });

  it('claims due deliveries, re-takes expired leases and holds later ones of an ordering key', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const now = 1_790_000_100_000;
    const [m, m2] = [message(), message()];
    await store.db.insertInto('messages').values([m, m2]).execute();
    const due = delivery(m.id, { target: 'due' });
    const notYet = delivery(m.id, { target: 'not-yet', next_attempt_at: now + 1000 });
    const orphaned = delivery(m.id, {
      target: 'orphaned',
      status: 'active',
      leased_by: 'dead',
      lease_until: now - 1,
    });
    const leased = delivery(m.id, {
      target: 'leased',
      status: 'active',
      leased_by: 'alive',
      lease_until: now + 1000,
    });
    const first = delivery(m.id, {
      target: 'ordered',
      ordering_key: 'k',
      ordering_position: '1',
      status: 'retrying',
      next_attempt_at: now + 5000,
    });
    const second = delivery(m2.id, { target: 'ordered', ordering_key: 'k', ordering_position: '2' });
    await store.db.insertInto('deliveries').values([due, notYet, orphaned, leased, first, second]).execute();

    const claimed = await claimDue(store.db, store.dialect, {
      adapter: 'test-http',
      workerId: 'me',
      nowMs: now,
      leaseMs: 2000,
      limit: 10,
    });
    assert.deepEqual(claimed.map((c) => c.row.target).sort(), ['due', 'orphaned']);
    const messages = await store.db.selectFrom('messages').selectAll().execute();
    for (const c of claimed)
      assert.deepEqual(
        c.message,
        messages.find((m) => m.id === c.row.message_id),
        'each claimed delivery comes with its message, every column',
      );
    const stored = await store.db
      .selectFrom('deliveries')
      .select(['status', 'leased_by', 'lease_until'])
      .where(
        'id',
        'in',
        claimed.map((c) => c.row.id),
      )
      .execute();
    assert.deepEqual(
      stored,
      claimed.map(() => ({ status: 'active', leased_by: 'me', lease_until: now + 2000 })),
    );
    assert.deepEqual(
      await claimDue(store.db, store.dialect, {
        adapter: 'test-http',
        workerId: 'other',
        nowMs: now,
        leaseMs: 2000,
        limit: 10,
      }),
      [],
    );
  });

  it('shows an adapter its own deliveries only, filtered, newest first, with attempts and failure counts', async function () {
    const store = open(namespace());
    await store.migrate(NO_ADAPTER_MIGRATIONS);
    const mine = adapterDeliveries(store.db, 'webhooks');
    const m = message({ type: 'nl.verzuim.verzuimmelding-gedaan', envelope: '{"data":{"x":1}}' });
    const at = (n: number) => 1_790_000_000_000 + n;
    const rows = [
      delivery(m.id, { adapter: 'webhooks', target: 'r1', status: 'delivered', created_at: at(1) }),
      delivery(m.id, {
        adapter: 'webhooks',
        target: 'r2',
        status: 'skipped',
        last_reason: 'not-authorised: no access to WG-1',
        created_at: at(2),
      }),
      delivery(m.id, {
        adapter: 'webhooks',
        target: 'r3',
        status: 'skipped',
        last_reason: 'recipient-deleted: gone',
        created_at: at(3),
      }),
      delivery(m.id, {
        adapter: 'webhooks',
        target: 'r4',
        status: 'failed',
        finished_at: at(10),
        created_at: at(4),
      }),
      delivery(m.id, {
        adapter: 'webhooks',
        target: 'r4',
        status: 'failed',
        finished_at: at(11),
        created_at: at(5),
      }),
      delivery(m.id, {
        adapter: 'smtp',
        target: 'r1',
        status: 'failed',
        finished_at: at(10),
        created_at: at(6),
      }),
    ];
    // One message, several targets: (message, adapter, target) stays unique.
    rows[4] = { ...(rows[4] as DeliveriesTable), target: 'r5' };
    await store.db.insertInto('messages').values(m).execute();
    await store.db.insertInto('deliveries').values(rows).execute();
    await store.db
      .insertInto('attempts')
      .values(
        [2, 1].map((number) => ({
          id: randomUUID(),
          delivery_id: (rows[0] as DeliveriesTable).id,
          number,
          started_at: at(number),
          duration_ms: 3,
          outcome: number === 2 ? 'delivered' : 'transient',
          reason: null,
          code: null,
          request_summary: null,
          request_body: null,
          response_status: number === 2 ? '204' : '503',
          response_body: null,
          next_attempt_at: null,
        })),
      )
      .execute();

    const targets = async (filter: Parameters<typeof mine.list>[0], limit = 10) =>
      (await mine.list(filter, { limit })).map((d) => d.target);
    assert.deepEqual(await targets({}), ['r5', 'r4', 'r3', 'r2', 'r1'], 'newest first, no smtp delivery');
    assert.deepEqual(
      await targets({ anyOf: [{ states: ['skipped'], reasonStartsWith: 'not-authorised:' }] }),
      ['r2'],
    );
    assert.deepEqual(
      await targets({
        anyOf: [{ states: ['failed'] }, { states: ['skipped'], reasonNotStartsWith: 'not-authorised:' }],
      }),
      ['r5', 'r4', 'r3'],
    );
    assert.deepEqual(await targets({ target: 'r1', messageType: 'nl.verzuim.verzuimmelding-gedaan' }), [
      'r1',
    ]);
    assert.deepEqual(await targets({ createdFrom: at(2), createdUntil: at(4) }), ['r3', 'r2']);
    const first = await mine.list({}, { limit: 2 });
    const last = first[first.length - 1] as (typeof first)[number];
    const next = await mine.list({}, { after: { createdAt: last.createdAt, id: last.id }, limit: 10 });
    assert.deepEqual(
      next.map((d) => d.target),
      ['r3', 'r2', 'r1'],
      'the page after the keyset',
    );

    const detail = await mine.get((rows[0] as DeliveriesTable).id);
    assert.deepEqual(detail?.message.envelope, { data: { x: 1 } });
    assert.deepEqual(
      detail?.attemptLog.map((a) => [a.number, a.responseStatus]),
      [
        [1, '503'],
        [2, '204'],
      ],
    );
    assert.equal(await mine.get((rows[5] as DeliveriesTable).id), undefined, 'another adapter’s delivery');
    assert.deepEqual(await mine.ids({ target: 'r4', states: ['failed'] }), [(rows[3] as DeliveriesTable).id]);
    assert.deepEqual(
      (await mine.failuresByTarget(at(0), at(10))).map((f) => [f.target, f.failures]),
      [['r4', 1]],
      'failures finished in (after, until], of this adapter',
    );
  });
});

// Only PostgreSQL lets two processes write at once; SQLite serialises them on its write lock.
describeBackend('sqlite-embedded', 'store on a SQLite file another process holds', () => {
  it('opens it once the other process lets go, within the busy timeout, instead of failing at once', async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(join(tmpdir(), 'koppel-store-'));
    const file = join(dir, 'koppel.sqlite');
    // A second process holds a write transaction on the fresh file (still in rollback-journal mode) for
    // half a second, as another process opening the same file at the same moment can. SQLite answered the
    // switch to WAL with SQLITE_BUSY at once (the full suite's two-process migration test hit it once).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('begin immediate');
         process.stdout.write('locked\\n');
         setTimeout(() => { db.exec('commit'); db.close(); }, 500);`,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
      });
      const store = openStore({ sqliteFile: file });
      try {
        assert.equal(await store.ping(), true);
        assert.deepEqual(
          await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db).then((r) => r.rows),
          [{ journal_mode: 'wal' }],
        );
      } finally {
        await store.close();
      }
    } finally {
      holder.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeBackend('postgres-bullmq', 'ingest beside another process', (backend: () => Backend) => {
  it("answers an event that another process stores while the group is written with that process's message, planning nothing for it", async function () {
    const { env } = backend();
    const where = {
      sqliteFile: ':memory:',
      databaseUrl: env.DATABASE_URL as string,
      databaseSchema: env.KOPPEL_DATABASE_SCHEMA as string,
    };
    const [store, other] = [openStore({ ...where, poolSize: 2 }), openStore({ ...where, poolSize: 2 })];
    try {
      await store.migrate(NO_ADAPTER_MIGRATIONS);
      const contested = accountChangedEvent();
      const alongside = accountChangedEvent();
      const otherId = randomUUID();
      let answered: Awaited<ReturnType<ReturnType<typeof ingestOn>['postMany']>> | undefined;
      // The other process's insert is not committed yet: this group's check cannot see it, and its
      // insert of the same (source, id) waits for that commit, then skips the row.
      await other.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('messages')
          .values(
            message({ id: otherId, source: contested.source as string, event_id: contested.id as string }),
          )
          .execute();
        void ingestOn(store)
          .postMany([alongside, contested])
          .then((results) => (answered = results));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(answered, undefined, 'the group waits for the other process to commit');
      });
      while (answered === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      const [mine, theirs] = answered;
      assert.ok(mine?.ok && !mine.duplicate && mine.deliveries.length === 1);
      assert.deepEqual(theirs, { ok: true, id: otherId, duplicate: true, deliveries: [] });
      const deliveries = await store.db.selectFrom('deliveries').select('message_id').execute();
      assert.deepEqual(
        deliveries.map((d) => d.message_id),
        [mine.id],
      );
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });
});

describeBackend('postgres-bullmq', 'ingest numbering on PostgreSQL', (backend: () => Backend) => {
  it('numbers the deliveries of one key once each and without gaps when two processes ingest for it at once', async function () {
    this.timeout(60_000);
    const { env } = backend();
    // Two stores with their own connections, as two API processes have.
    const [one, two] = [1, 2].map(() =>
      openStore({
        sqliteFile: ':memory:',
        databaseUrl: env.DATABASE_URL as string,
        databaseSchema: env.KOPPEL_DATABASE_SCHEMA as string,
        poolSize: 4,
      }),
    ) as [Store, Store];
    try {
      await one.migrate(NO_ADAPTER_MIGRATIONS);
      const groups = 100;
      const perGroup = 5;
      // Each process posts its groups one after the other, so that the two processes' statements overlap.
      const post = async (store: Store) => {
        const ingest = ingestOn(store);
        for (let g = 0; g < groups; g++) {
          const results = await ingest.postMany(
            Array.from({ length: perGroup }, () => ({ ...accountChangedEvent(), subject: 'one-employer' })),
          );
          assert.ok(results.every((r) => r.ok && !r.duplicate));
        }
      };
      await Promise.all([post(one), post(two)]);
      const rows = await one.db
        .selectFrom('deliveries')
        .select('sequence')
        .where('sequence_key', '=', 'one-employer')
        .orderBy('sequence')
        .execute();
      const total = 2 * groups * perGroup;
      assert.equal(rows.length, total);
      const numbers = rows.map((r) => Number(r.sequence));
      // Sorted, as many as deliveries, none repeated, from 1 to their count: each number once, no gaps.
      const repeated = numbers.filter((n, i) => n === numbers[i - 1]).length;
      assert.deepEqual(
        { repeated, first: numbers[0], last: numbers.at(-1) },
        { repeated: 0, first: 1, last: total },
      );
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
