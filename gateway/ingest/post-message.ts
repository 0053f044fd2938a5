// Time-ordered ids: rows are appended to the primary-key B-trees instead of landing on random pages,
// which keeps the pages a commit writes few.
import { v7 as timeOrderedId } from 'uuid';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { groupBy, type CanonicalMessage, type DeliveryTarget } from '../adapter-kit/index.ts';
import type {
  CoreDatabase,
  DeliveriesTable,
  DeliverySequencesTable,
  MessagesTable,
} from '../store/schema.ts';
import {
  allColumns,
  insertRows,
  insertStatement,
  parameterList,
  powerOfTwoSlices,
  rowValues,
  runStatement,
  runWrite,
  statementText,
} from '../store/bulk.ts';
import type { Dialect } from '../store/db.ts';
import { findAccountView } from '../auth/accounts.ts';
import type { LoadedAdapter } from '../registry.ts';
import type { CanonicalValidator, FieldError } from './canonical-validator.ts';

export interface PlannedDelivery {
  readonly id: string;
  readonly adapter: string;
  readonly target: string;
  readonly label: string | null;
  readonly status: 'pending';
  readonly dueAt: number;
}

export type IngestResult =
  | {
      readonly ok: true;
      readonly id: string;
      readonly duplicate: boolean;
      readonly deliveries: readonly PlannedDelivery[];
    }
  | { readonly ok: false; readonly status: 400 | 422; readonly errors: readonly FieldError[] };

export interface Ingest {
  post(event: unknown): Promise<IngestResult>;
  postMany(events: readonly unknown[]): Promise<IngestResult[]>;
  /** Resolves when every accepted message so far is committed. */
  flush(): Promise<void>;
}

export interface IngestDeps {
  readonly db: Kysely<CoreDatabase>;
  readonly dialect: Dialect;
  readonly validator: CanonicalValidator;
  readonly adapters: () => readonly LoadedAdapter[];
  readonly log: Logger;
  readonly now: () => Date;
  /** Called after commit with the deliveries that became due, so the dispatcher can start at once. */
  readonly onCommitted: (deliveries: readonly PlannedDelivery[]) => void;
  /**
   * Started before each group's commit (its planning reads and writes); the function it returns is called
   * once the commit is over, succeeded or failed. A Prometheus histogram's `startTimer`.
   */
  readonly startCommitTimer?: () => () => void;
}

interface Pending {
  readonly event: Record<string, unknown> & { id: string; source: string; type: string };
  resolve(result: IngestResult): void;
  reject(error: unknown): void;
}

/** Messages per transaction; beyond it the next group starts at once. */
const GROUP_LIMIT = 1000;

export const MESSAGE_COLUMNS = allColumns<MessagesTable>()([
  'id',
  'source',
  'event_id',
  'type',
  'subject',
  'event_time',
  'received_at',
  'envelope',
]);
const DELIVERY_COLUMNS = allColumns<DeliveriesTable>()([
  'id',
  'message_id',
  'adapter',
  'target',
  'target_label',
  'ordering_key',
  'sequence_key',
  'ordering_position',
  'sequence',
  'status',
  'attempts',
  'failures',
  'next_attempt_at',
  'lease_until',
  'leased_by',
  'last_outcome',
  'last_reason',
  'last_status',
  'created_at',
  'updated_at',
  'finished_at',
]);

const SEQUENCE_COLUMNS = allColumns<DeliverySequencesTable>()(['adapter', 'target', 'sequence_key', 'last']);

/** Adds the group's count to the key's last number, or starts the key at it. */
const RESERVE_ON_CONFLICT =
  'on conflict (adapter, target, sequence_key) do update set last = delivery_sequences.last + excluded.last';

/**
 * Validates, then stores each message with its planned deliveries. Concurrent posts are committed
 * together in one transaction (group commit): the 202 of every one of them is sent only after that
 * commit, so a 202 always means "stored", while the cost of a durable commit is shared.
 */
export function createIngest(deps: IngestDeps): Ingest {
  let queue: Pending[] = [];
  let scheduled = false;
  let running: Promise<void> = Promise.resolve();

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      running = running.then(drain);
    });
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const group = queue.slice(0, GROUP_LIMIT);
      queue = queue.slice(group.length);
      const commitOver = deps.startCommitTimer?.();
      const committing = commitGroup(
        deps,
        group.map((p) => p.event),
      ).finally(() => commitOver?.());
      try {
        const { results, planned } = await committing;
        group.forEach((p, i) => p.resolve(results[i] as IngestResult));
        if (planned.length > 0) deps.onCommitted(planned);
      } catch (error) {
        deps.log.error({ err: error, count: group.length }, 'ingest_commit_failed');
        for (const p of group) p.reject(error);
      }
    }
  };

  const enqueue = (event: unknown): Promise<IngestResult> => {
    const verdict = deps.validator.validate(event);
    if (!verdict.ok) return Promise.resolve({ ok: false, status: verdict.status, errors: verdict.errors });
    return new Promise<IngestResult>((resolve, reject) => {
      queue.push({ event: event as Pending['event'], resolve, reject });
      schedule();
    });
  };

  return {
    post: enqueue,
    postMany: (events) => Promise.all(events.map(enqueue)),
    flush: async () => {
      while (queue.length > 0 || scheduled) await new Promise((r) => setImmediate(r));
      await running;
    },
  };
}

type Fresh = { index: number; row: MessagesTable; message: CanonicalMessage };

/** A group of accepted events as rows: new messages, and repeats of an earlier event of the same group. */
interface PreparedGroup {
  readonly nowMs: number;
  /** The delivery rows' default ordering position: the group's receive time. */
  readonly receivedPosition: string;
  readonly fresh: readonly Fresh[];
  readonly repeats: ReadonlyArray<{ index: number; earlier: number }>;
  readonly size: number;
}

async function commitGroup(
  deps: IngestDeps,
  events: readonly Pending['event'][],
): Promise<{ results: IngestResult[]; planned: PlannedDelivery[] }> {
  const group = prepareGroup(events, deps.now());
  if (deps.dialect === 'postgres') {
    const written = await commitInOneStatement(deps, group);
    if (written) return written;
  }
  return deps.db.transaction().execute(async (trx) => {
    const results: IngestResult[] = new Array(group.size);
    // Insert first: a (source, id) stored before, by this process or another, makes its row a no-op,
    // and only those rows are looked up afterwards. Duplicates are rare; a look-up before every insert
    // cost a statement per group.
    const inserted = new Set<string>();
    for (const slice of powerOfTwoSlices(group.fresh)) {
      const ids = await insertMessages(
        trx,
        deps.dialect,
        slice.map((f) => f.row),
      );
      for (const id of ids) inserted.add(id);
    }
    const known = group.fresh.filter((f) => !inserted.has(f.row.id));
    if (known.length > 0) await findDuplicates(trx, deps.dialect, known, results);
    const stored = group.fresh.filter((f) => inserted.has(f.row.id));
    const { rows, planned } = await planDeliveries(deps, trx, group, stored, results, 'from-store');
    await insertRows(trx, deps.dialect, 'deliveries', DELIVERY_COLUMNS, rows);
    answerRepeats(group, results);
    return { results, planned };
  });
}

/** A validated event as its messages row, with a new Koppel message id. */
export function messageRow(event: Pending['event'], receivedAt: number): MessagesTable {
  return {
    id: timeOrderedId(),
    source: event.source,
    event_id: event.id,
    type: event.type,
    subject: typeof event.subject === 'string' ? event.subject : null,
    event_time: typeof event.time === 'string' ? event.time : null,
    received_at: receivedAt,
    envelope: JSON.stringify(event),
  };
}

function prepareGroup(events: readonly Pending['event'][], now: Date): PreparedGroup {
  const nowMs = now.getTime();
  const fresh: Fresh[] = [];
  const inGroup = new Map<string, number>();
  const repeats: Array<{ index: number; earlier: number }> = [];
  for (let index = 0; index < events.length; index++) {
    const event = events[index] as Pending['event'];
    const key = `${event.source}\u0000${event.id}`;
    const earlier = inGroup.get(key);
    if (earlier !== undefined) {
      repeats.push({ index, earlier });
      continue;
    }
    const row = messageRow(event, nowMs);
    inGroup.set(key, fresh.length);
    fresh.push({ index, row, message: toCanonical(row, event) });
  }
  return { nowMs, receivedPosition: now.toISOString(), fresh, repeats, size: events.length };
}

/**
 * PostgreSQL: the group's messages and deliveries in one statement, atomic without a transaction, and
 * the adapters' plan read before it, the sequence numbers added by the statement itself: the plan's
 * reads and one round trip where the transaction took seven (BEGIN, two inserts, the plan's reads,
 * COMMIT); at 500 messages/s each round trip costs the acknowledgement about a millisecond. Under
 * READ COMMITTED every statement of a transaction read its own snapshot anyway, so reading the plan
 * outside one sees no less consistent a store. The statement writes nothing when a message of the
 * group was stored before; `undefined` then, and the caller takes the transactional path.
 */
async function commitInOneStatement(
  deps: IngestDeps,
  group: PreparedGroup,
): Promise<{ results: IngestResult[]; planned: PlannedDelivery[] } | undefined> {
  const results: IngestResult[] = new Array(group.size);
  const { rows, planned } = await planDeliveries(deps, deps.db, group, group.fresh, results, 'in-statement');
  const [written] = await runStatement<{ known: number; stored: number }>(deps.db, INGEST_POSTGRES, [
    JSON.stringify(group.fresh.map((f) => f.row)),
    JSON.stringify(rows),
  ]);
  if (written === undefined || written.known > 0) return undefined;
  if (written.stored < group.fresh.length) {
    // Another process stored one of these (source, id) between the check and the insert: those rows
    // and their deliveries were skipped, and the answer is the other process's message.
    const found = await runStatement<{ id: string }>(deps.db, 'select id from messages where id = any($1)', [
      group.fresh.map((f) => f.row.id),
    ]);
    const inserted = new Set(found.map((row) => row.id));
    const skipped = group.fresh.filter((f) => !inserted.has(f.row.id));
    await findDuplicates(deps.db, deps.dialect, skipped, results);
    const gone = new Set(skipped.map((f) => f.row.id));
    const unplanned = new Set(rows.filter((row) => gone.has(row.message_id)).map((row) => row.id));
    answerRepeats(group, results);
    return { results, planned: planned.filter((d) => !unplanned.has(d.id)) };
  }
  answerRepeats(group, results);
  return { results, planned };
}

/**
 * The group's deliveries of stored messages, each with its number within its key (`within`, in the
 * order the rows carry) and the number of its key's deliveries in the group (`count`).
 */
const KEPT_DELIVERIES = `
  select p.*,
    row_number() over (partition by p.adapter, p.target, p.sequence_key order by p.sequence) as within,
    count(*) over (partition by p.adapter, p.target, p.sequence_key) as count
  from planned_input p
  where p.message_id in (select id from stored)`;

/** A delivery's number: on from the key's last number before this group, as `reserved` returns it. */
const SEQUENCE_IN_STATEMENT = `case when k.sequence_key is null then k.sequence else r.last - k.count + k.within end`;

/**
 * The group's messages and deliveries, and the reservation of the deliveries' numbers, in one
 * statement. Keys are locked in byte order ("C"); the transactional path sorts them by UTF-16 code unit,
 * the same order for every key without characters beyond U+FFFF. Two groups that still wait for each
 * other end in PostgreSQL's deadlock error for one of them, whose posts are then answered with an error.
 */
const INGEST_POSTGRES = `
  with input as (
    select * from jsonb_populate_recordset(null::messages, $1::jsonb)
  ), planned_input as materialized (
    select * from jsonb_populate_recordset(null::deliveries, $2::jsonb)
  ), known as (
    select 1 from messages join input using (source, event_id) limit 1
  ), stored as (
    insert into messages (${MESSAGE_COLUMNS.join(', ')})
    select ${MESSAGE_COLUMNS.join(', ')} from input
    where not exists (select 1 from known)
    on conflict (source, event_id) do nothing
    returning id
  ), kept as materialized (${KEPT_DELIVERIES}
  ), reserved as (
    insert into delivery_sequences (${SEQUENCE_COLUMNS.join(', ')})
    select adapter, target, sequence_key, count(*) from kept
    where sequence_key is not null
    group by adapter, target, sequence_key
    order by adapter collate "C", target collate "C", sequence_key collate "C"
    ${RESERVE_ON_CONFLICT}
    returning adapter, target, sequence_key, last
  ), planned as (
    insert into deliveries (${DELIVERY_COLUMNS.join(', ')})
    select ${DELIVERY_COLUMNS.map((column) => (column === 'sequence' ? SEQUENCE_IN_STATEMENT : `k.${column}`)).join(', ')}
    from kept k
    left join reserved r using (adapter, target, sequence_key)
  )
  select (select count(*) from known) as known, (select count(*) from stored) as stored`;

/**
 * Asks every adapter for its targets of each stored message, numbers them (on from the stored numbers,
 * or within the group for a statement that adds those itself), and answers each stored message with
 * its planned deliveries; the delivery rows to insert.
 */
async function planDeliveries(
  deps: IngestDeps,
  db: Kysely<CoreDatabase>,
  group: PreparedGroup,
  stored: readonly Fresh[],
  results: IngestResult[],
  numbering: 'from-store' | 'in-statement',
): Promise<{ rows: DeliveriesTable[]; planned: PlannedDelivery[] }> {
  const memo = new Map<string, unknown>();
  const plans: Array<{ message: Fresh; adapter: LoadedAdapter; target: DeliveryTarget }> = [];
  for (const f of stored) {
    for (const adapter of deps.adapters()) {
      if (!adapter.accepts.has(f.row.type)) continue;
      const targets = await adapter.instance.plan(f.message, {
        db,
        memo,
        account: (clientId) => findAccountView(db, clientId),
      });
      for (const target of uniqueTargets(targets)) plans.push({ message: f, adapter, target });
    }
  }
  const sequences =
    numbering === 'in-statement'
      ? SequenceAllocator.fromZero()
      : await SequenceAllocator.reserve(db, deps.dialect, plans);
  const rows: DeliveriesTable[] = [];
  const planned: PlannedDelivery[] = [];
  const byMessage = new Map<string, PlannedDelivery[]>(stored.map((f) => [f.row.id, []]));
  for (const { message, adapter, target } of plans) {
    const row = deliveryRow(
      message.row.id,
      adapter.name,
      target,
      group.nowMs,
      group.receivedPosition,
      sequences.next(adapter.name, target),
    );
    rows.push(row);
    const plannedDelivery: PlannedDelivery = {
      id: row.id,
      adapter: row.adapter,
      target: row.target,
      label: row.target_label,
      status: 'pending',
      dueAt: group.nowMs,
    };
    byMessage.get(message.row.id)?.push(plannedDelivery);
    if (!adapter.periodic) planned.push(plannedDelivery);
  }
  for (const f of stored) {
    results[f.index] = {
      ok: true,
      id: f.row.id,
      duplicate: false,
      deliveries: byMessage.get(f.row.id) ?? [],
    };
  }
  return { rows, planned };
}

/** A repeat within the group gets the answer of its first: its own id, or that of a message stored earlier. */
function answerRepeats(group: PreparedGroup, results: IngestResult[]): void {
  for (const { index, earlier } of group.repeats) {
    const first = results[(group.fresh[earlier] as Fresh).index] as Extract<IngestResult, { ok: true }>;
    results[index] = { ok: true, id: first.id, duplicate: true, deliveries: [] };
  }
}

/**
 * Inserts the rows, skipping those whose (source, id) is stored already; the ids of those inserted.
 * The count of changed rows answers the usual case, where all were inserted: asking for the ids
 * instead (RETURNING) cost SQLite 1.1 µs a message. Only a slice that met a duplicate is read back.
 */
async function insertMessages(
  trx: Kysely<CoreDatabase>,
  dialect: Dialect,
  rows: readonly MessagesTable[],
): Promise<readonly string[]> {
  const text = insertStatement(
    dialect,
    'messages',
    MESSAGE_COLUMNS,
    rows.length,
    'on conflict (source, event_id) do nothing',
  );
  const ids = rows.map((row) => row.id);
  if ((await runWrite(trx, text, rowValues(rows, MESSAGE_COLUMNS))) === rows.length) return ids;
  // The ids are new, so those that exist now are the rows this statement inserted.
  const found = await runStatement<{ id: string }>(
    trx,
    statementText(
      `ingest:inserted:${dialect}:${rows.length}`,
      () => `select id from messages where id in (${parameterList(dialect, rows.length)})`,
    ),
    ids,
  );
  return found.map((row) => row.id);
}

/** Marks results of messages whose (source, id) was stored before, answering with the first message. */
async function findDuplicates(
  trx: Kysely<CoreDatabase>,
  dialect: Dialect,
  fresh: ReadonlyArray<{ index: number; row: MessagesTable }>,
  results: IngestResult[],
): Promise<void> {
  // Per source, so that the (source, event_id) unique index answers: event ids alone would scan.
  for (const [source, group] of groupBy(fresh, (f) => f.row.source)) {
    for (const slice of powerOfTwoSlices(group)) {
      const text = statementText(
        `ingest:duplicates:${dialect}:${slice.length}`,
        () =>
          `select id, event_id from messages where source = ${parameterList(dialect, 1)}
            and event_id in (${parameterList(dialect, slice.length, 1)})`,
      );
      const existing = await runStatement<{ id: string; event_id: string }>(trx, text, [
        source,
        ...slice.map((f) => f.row.event_id),
      ]);
      if (existing.length === 0) continue;
      const known = new Map(existing.map((e) => [e.event_id, e.id]));
      for (const f of slice) {
        const id = known.get(f.row.event_id);
        if (id !== undefined) results[f.index] = { ok: true, id, duplicate: true, deliveries: [] };
      }
    }
  }
}

function uniqueTargets(targets: readonly DeliveryTarget[]): DeliveryTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => (seen.has(t.target) ? false : (seen.add(t.target), true)));
}

function deliveryRow(
  messageId: string,
  adapter: string,
  target: DeliveryTarget,
  nowMs: number,
  receivedPosition: string,
  sequence: number,
): DeliveriesTable {
  return {
    id: timeOrderedId(),
    message_id: messageId,
    adapter,
    target: target.target,
    target_label: target.label ?? null,
    ordering_key: target.orderingKey ?? null,
    sequence_key: sequenceKeyOf(target) ?? null,
    ordering_position: target.orderingPosition ?? receivedPosition,
    sequence,
    status: 'pending',
    attempts: 0,
    failures: 0,
    next_attempt_at: nowMs,
    lease_until: null,
    leased_by: null,
    last_outcome: null,
    last_reason: null,
    last_status: null,
    created_at: nowMs,
    updated_at: nowMs,
    finished_at: null,
  };
}

/**
 * Numbers deliveries per (adapter, target, sequence key), on from the key's row in
 * delivery_sequences. The group's numbers are reserved before they are used, by adding their count
 * to that row: the upsert locks it, so a second process ingesting for the key waits for the first to
 * commit and counts on from it.
 */
class SequenceAllocator {
  private constructor(private readonly last: Map<string, number>) {}

  /** Numbers within the group only, for a statement that reserves them itself. */
  static fromZero(): SequenceAllocator {
    return new SequenceAllocator(new Map());
  }

  /** Reserves the numbers of the group's deliveries: one upsert per slice of keys. */
  static async reserve(
    trx: Kysely<CoreDatabase>,
    dialect: Dialect,
    plans: ReadonlyArray<{ adapter: { name: string }; target: DeliveryTarget }>,
  ): Promise<SequenceAllocator> {
    const counts = new Map<string, DeliverySequencesTable>();
    for (const { adapter, target } of plans) {
      const sequenceKey = sequenceKeyOf(target);
      if (sequenceKey === undefined) continue;
      const key = sequenceMapKey(adapter.name, target.target, sequenceKey);
      const entry = counts.get(key);
      if (entry) entry.last++;
      else
        counts.set(key, { adapter: adapter.name, target: target.target, sequence_key: sequenceKey, last: 1 });
    }
    // Rows locked in one order by every group, so that two transactions never wait for each other.
    const keys = [...counts.keys()].sort();
    const base = new Map<string, number>();
    for (const slice of powerOfTwoSlices(keys)) {
      const rows = slice.map((key) => counts.get(key) as DeliverySequencesTable);
      const text = insertStatement(
        dialect,
        'delivery_sequences',
        SEQUENCE_COLUMNS,
        rows.length,
        `${RESERVE_ON_CONFLICT} returning adapter, target, sequence_key, last`,
      );
      const reserved = await runStatement<DeliverySequencesTable>(
        trx,
        text,
        rowValues(rows, SEQUENCE_COLUMNS),
      );
      for (const row of reserved) {
        const key = sequenceMapKey(row.adapter, row.target, row.sequence_key);
        base.set(key, Number(row.last) - (counts.get(key) as DeliverySequencesTable).last);
      }
    }
    return new SequenceAllocator(base);
  }

  next(adapter: string, target: DeliveryTarget): number {
    const sequenceKey = sequenceKeyOf(target);
    if (sequenceKey === undefined) return 1;
    const key = sequenceMapKey(adapter, target.target, sequenceKey);
    const next = (this.last.get(key) ?? 0) + 1;
    this.last.set(key, next);
    return next;
  }
}

const sequenceKeyOf = (target: DeliveryTarget): string | undefined =>
  target.sequenceKey ?? target.orderingKey;

const sequenceMapKey = (adapter: string, target: string, sequenceKey: string): string =>
  `${adapter}\u0000${target}\u0000${sequenceKey}`;

export function toCanonical(row: MessagesTable, envelope: Record<string, unknown>): CanonicalMessage {
  return {
    id: row.id,
    type: row.type,
    source: row.source,
    eventId: row.event_id,
    ...(row.subject !== null ? { subject: row.subject } : {}),
    ...(row.event_time !== null ? { time: row.event_time } : {}),
    receivedAt: new Date(Number(row.received_at)),
    data: envelope.data,
    envelope,
  };
}
