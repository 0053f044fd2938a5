// Time-ordered ids: rows are appended to the primary-key B-trees instead of landing on random pages,
// which keeps the pages a commit writes few.
import { v7 as timeOrderedId } from 'uuid';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Attempt, Delivery, Evidence, Outcome } from '../adapter-kit/index.ts';
import { expectListeners, signalWithTimeout, type TimedSignal } from '../adapter-kit/abort.ts';
import { EVIDENCE_EXCERPT } from '../adapter-kit/http.ts';
import { nextAttemptAt } from '../adapter-kit/retry-policy.ts';
import { toCanonical } from '../ingest/post-message.ts';
import { redactJsonText } from '../logging.ts';
import type { LoadedAdapter } from '../registry.ts';
import type {
  AttemptOutcome,
  AttemptsTable,
  CoreDatabase,
  DeliveriesTable,
  DeliveryStatus,
  ErrorKind,
  ErrorLogTable,
} from '../store/schema.ts';
import {
  allColumns,
  insertRows,
  parameterList,
  powerOfTwoSlices,
  rowValues,
  runStatement,
  statementText,
  tuples,
} from '../store/bulk.ts';
import type { Dialect } from '../store/db.ts';
import type { ClaimedDelivery } from './claims.ts';
import type { ErrorLogFile } from './error-log-file.ts';
import type { Metrics } from '../http/metrics.ts';

export interface AttemptResult {
  readonly deliveryId: string;
  readonly status: DeliveryStatus;
  /** Epoch ms of the next attempt, when the delivery will be tried again. */
  readonly nextAttemptAt: number | null;
}

export interface AttemptRunner {
  /** The group of `size` attempts claimed together, to pass to `runOne` for each of them. */
  startGroup(adapter: LoadedAdapter, shutdown: AbortSignal, size: number): AttemptGroup;
  /** One attempt of one claimed delivery, recorded before it resolves. Never throws for adapter errors. */
  runOne(adapter: LoadedAdapter, claimed: ClaimedDelivery, group: AttemptGroup): Promise<AttemptResult>;
  /** One attempt of several deliveries through `deliverBatch` (periodic adapters). */
  runBatch(
    adapter: LoadedAdapter,
    claimed: readonly ClaimedDelivery[],
    shutdown: AbortSignal,
  ): Promise<AttemptResult[]>;
  /** Waits for every pending record to be committed, and stops renewing leases. */
  flush(): Promise<void>;
}

/**
 * Attempts claimed together: they share a memo (Attempt.memo) and one timeout signal, which starts
 * at the claim. One timer and one listener on the shutdown signal per claim instead of per attempt:
 * they were 4 % of the dispatcher's time at 5,000 deliveries/s (profile of the end-to-end bench).
 */
export class AttemptGroup {
  readonly memo = new Map<string, unknown>();
  readonly #timed: TimedSignal;
  #open: number;

  constructor(shutdown: AbortSignal, timeoutMs: number, size: number) {
    this.#timed = signalWithTimeout(shutdown, timeoutMs);
    // Every attempt of the group hooks its outbound request onto this signal.
    expectListeners(this.#timed.signal, size);
    this.#open = size;
    // A claim that took nothing is over already; most claims of a lane that keeps up take nothing.
    if (size === 0) this.#timed.release();
  }

  get signal(): AbortSignal {
    return this.#timed.signal;
  }

  /** Each attempt of the group calls this once when it is over; the last one stops the timer. */
  attemptOver(): void {
    if (--this.#open === 0) this.#timed.release();
  }
}

export interface AttemptRunnerDeps {
  readonly db: Kysely<CoreDatabase>;
  readonly dialect: Dialect;
  readonly log: Logger;
  readonly now: () => Date;
  readonly workerId: string;
  /** The lease a claim takes; attempts in flight renew theirs every third of it. */
  readonly leaseMs: number;
  readonly secretNames: readonly string[];
  readonly errorLogFile: ErrorLogFile;
  readonly metrics: Metrics;
  readonly random?: () => number;
  /** After commit, for every delivery that finished (to wake the next one of its ordering group). */
  readonly onFinished: (finished: readonly ClaimedDelivery['row'][]) => void;
}

const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;

interface Record_ {
  readonly claimed: ClaimedDelivery;
  readonly attempt: AttemptsTable;
  readonly status: DeliveryStatus;
  readonly failures: number;
  readonly finishedAt: number | null;
  readonly error: ErrorLogTable | undefined;
}

/**
 * The one place where outcomes become state (STYLE.md §4): every attempt leaves an attempt row
 * with its redacted evidence, the delivery's status and next time, and an error-log entry when the
 * outcome is permanent, exhausted or a bug — written even when the adapter throws. Records of
 * concurrent attempts are committed together.
 */
export function createAttemptRunner(deps: AttemptRunnerDeps): AttemptRunner {
  const random = deps.random ?? Math.random;
  const writer = createRecordWriter(deps);
  const leases = createLeaseKeeper(deps);

  function toDelivery(claimed: ClaimedDelivery): Delivery {
    const { row, message } = claimed;
    return {
      id: row.id,
      adapter: row.adapter,
      target: row.target,
      ...(row.ordering_key !== null ? { orderingKey: row.ordering_key } : {}),
      sequence: row.sequence,
      message: toCanonical(message, JSON.parse(message.envelope) as Record<string, unknown>),
    };
  }

  function attemptFor(
    claimed: ClaimedDelivery,
    now: Date,
    adapter: LoadedAdapter,
    group: AttemptGroup,
  ): Attempt {
    let log: Logger | undefined;
    return {
      number: claimed.row.attempts + 1,
      now,
      signal: group.signal,
      memo: group.memo,
      // Made on first use: a pino child costs a pass over the redaction paths, and most attempts log nothing.
      get log() {
        log ??= deps.log.child({
          messageId: claimed.row.message_id,
          deliveryId: claimed.row.id,
          adapter: adapter.name,
        });
        return log;
      },
    };
  }

  const startGroup = (adapter: LoadedAdapter, shutdown: AbortSignal, size: number): AttemptGroup =>
    new AttemptGroup(shutdown, adapter.definition.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS, size);

  async function settle(
    adapter: LoadedAdapter,
    claimed: ClaimedDelivery,
    delivery: Delivery,
    attempt: Attempt,
    result: { outcome: Outcome } | { thrown: unknown },
    durationMs: number,
  ): Promise<AttemptResult> {
    const nowMs = attempt.now.getTime();
    const kind: AttemptOutcome = 'outcome' in result ? result.outcome.kind : 'internal';
    let status: DeliveryStatus;
    let next: number | null = null;
    let errorKind: ErrorKind | undefined;
    let failures = claimed.row.failures;
    const outcome = 'outcome' in result ? result.outcome : undefined;
    if (outcome?.kind === 'transient' && outcome.deferred && outcome.retryAfterMs !== undefined) {
      status = 'retrying';
      next = nowMs + Math.max(0, outcome.retryAfterMs);
    } else if (kind === 'delivered') status = 'delivered';
    else if (kind === 'rejected') ((status = 'failed'), (errorKind = 'rejected'));
    else if (kind === 'skipped') ((status = 'skipped'), (errorKind = 'skipped'));
    else {
      const policy = (await adapter.instance.retryPolicyFor?.(delivery)) ?? adapter.retryPolicy();
      const retryAfter =
        'outcome' in result && result.outcome.kind === 'transient' ? result.outcome.retryAfterMs : undefined;
      failures += 1;
      const at = nextAttemptAt(policy, failures, attempt.now, retryAfter, random);
      next = at === null ? null : at.getTime();
      status = at === null ? 'failed' : 'retrying';
      if (kind === 'internal') errorKind = 'internal';
      else if (at === null) errorKind = 'exhausted';
    }

    const described = describe(result, deps.secretNames);
    const attemptRow: AttemptsTable = {
      id: timeOrderedId(),
      delivery_id: claimed.row.id,
      number: attempt.number,
      started_at: nowMs,
      duration_ms: Math.round(durationMs),
      outcome: kind,
      reason: described.reason,
      code: described.code,
      request_summary: described.evidence?.request?.summary ?? null,
      request_body: described.evidence?.request?.body ?? null,
      response_status: described.evidence?.response?.status?.toString() ?? null,
      response_body: described.evidence?.response?.body ?? null,
      next_attempt_at: next,
    };
    const alert = outcome?.kind === 'transient' ? outcome.alert : undefined;
    if (errorKind === undefined && alert) errorKind = 'alert';
    const error: ErrorLogTable | undefined =
      errorKind === undefined
        ? undefined
        : {
            id: timeOrderedId(),
            delivery_id: claimed.row.id,
            message_id: claimed.row.message_id,
            adapter: adapter.name,
            message_type: claimed.message.type,
            kind: errorKind,
            code: errorKind === 'alert' ? (alert?.code ?? null) : described.code,
            reason: errorKind === 'alert' ? (alert?.detail ?? '') : (described.reason ?? kind),
            partner_status: attemptRow.response_status,
            partner_answer: attemptRow.response_body,
            attempt_number: attempt.number,
            created_at: nowMs,
            resolved_at: null,
            resolved_note: null,
            resolved_by: null,
          };

    if ('thrown' in result) attempt.log.error({ err: result.thrown }, 'delivery_attempt_crashed');
    else if (errorKind !== undefined && errorKind !== 'alert')
      attempt.log.warn({ kind: errorKind, reason: described.reason }, 'delivery_attempt_failed');
    deps.metrics.attempts.inc({ adapter: adapter.name, outcome: kind });
    deps.metrics.attemptSeconds.observe({ adapter: adapter.name }, durationMs / 1000);

    const finishedAt = status === 'delivered' || status === 'failed' || status === 'skipped' ? nowMs : null;
    await writer.write({ claimed, attempt: attemptRow, status, failures, finishedAt, error });
    return { deliveryId: claimed.row.id, status, nextAttemptAt: next };
  }

  return {
    startGroup,

    async runOne(adapter, claimed, group) {
      const delivery = toDelivery(claimed);
      const attempt = attemptFor(claimed, deps.now(), adapter, group);
      const started = performance.now();
      let result: { outcome: Outcome } | { thrown: unknown };
      leases.hold([claimed.row.id]);
      try {
        result = { outcome: await adapter.instance.deliver(delivery, attempt) };
      } catch (thrown) {
        result = { thrown };
      } finally {
        group.attemptOver();
      }
      try {
        return await settle(adapter, claimed, delivery, attempt, result, performance.now() - started);
      } finally {
        leases.release([claimed.row.id]);
      }
    },

    async runBatch(adapter, claimed, shutdown) {
      if (claimed.length === 0) return [];
      const first = claimed[0] as ClaimedDelivery;
      const deliveries = claimed.map(toDelivery);
      const group = startGroup(adapter, shutdown, 1);
      const attempt = attemptFor(first, deps.now(), adapter, group);
      const started = performance.now();
      let results: Array<{ outcome: Outcome } | { thrown: unknown }>;
      const ids = claimed.map((c) => c.row.id);
      leases.hold(ids);
      try {
        const outcomes = adapter.instance.deliverBatch
          ? await adapter.instance.deliverBatch(deliveries, attempt)
          : await Promise.all(deliveries.map((d) => adapter.instance.deliver(d, attempt)));
        if (outcomes.length !== deliveries.length)
          throw new Error(
            `deliverBatch returned ${outcomes.length} outcomes for ${deliveries.length} deliveries`,
          );
        results = outcomes.map((outcome) => ({ outcome }));
      } catch (thrown) {
        results = deliveries.map(() => ({ thrown }));
      } finally {
        group.attemptOver();
      }
      const duration = performance.now() - started;
      try {
        return await Promise.all(
          claimed.map((c, i) =>
            settle(
              adapter,
              c,
              deliveries[i] as Delivery,
              { ...attempt, number: c.row.attempts + 1 },
              results[i] as { outcome: Outcome },
              duration,
            ),
          ),
        );
      } finally {
        leases.release(ids);
      }
    },

    flush: async () => {
      await writer.flush();
      leases.stop();
    },
  };
}

function describe(
  result: { outcome: Outcome } | { thrown: unknown },
  secretNames: readonly string[],
): { reason: string | null; code: string | null; evidence: Evidence | undefined } {
  if ('thrown' in result) {
    const error = result.thrown as Error;
    return {
      reason: `internal error: ${error?.message ?? String(result.thrown)}`,
      code: 'internal',
      evidence: undefined,
    };
  }
  const outcome = result.outcome;
  const evidence = scrub(outcome.evidence, secretNames);
  switch (outcome.kind) {
    case 'delivered':
      return { reason: null, code: null, evidence };
    case 'transient':
      return { reason: outcome.reason, code: null, evidence };
    case 'rejected':
      return { reason: outcome.reason, code: outcome.code ?? null, evidence };
    case 'skipped':
      return { reason: `${outcome.rule}: ${outcome.detail}`, code: outcome.rule, evidence };
  }
}

function scrub(evidence: Evidence | undefined, secretNames: readonly string[]): Evidence | undefined {
  if (!evidence) return undefined;
  const cut = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : redactJsonText(text, secretNames).slice(0, EVIDENCE_EXCERPT);
  const requestBody = cut(evidence.request?.body);
  const responseBody = cut(evidence.response?.body);
  return {
    ...(evidence.request
      ? {
          request: {
            summary: evidence.request.summary.slice(0, 500),
            ...(requestBody !== undefined ? { body: requestBody } : {}),
          },
        }
      : {}),
    ...(evidence.response
      ? {
          response: {
            ...(evidence.response.status !== undefined ? { status: evidence.response.status } : {}),
            ...(responseBody !== undefined ? { body: responseBody } : {}),
          },
        }
      : {}),
  };
}

const RECORD_LINGER_MS = 2;

const ATTEMPT_COLUMNS = allColumns<AttemptsTable>()([
  'id',
  'delivery_id',
  'number',
  'started_at',
  'duration_ms',
  'outcome',
  'reason',
  'code',
  'request_summary',
  'request_body',
  'response_status',
  'response_body',
  'next_attempt_at',
]);

/** What an attempt changes on its delivery: the columns of both record writers' values. */
const RECORD_COLUMNS = [
  'id',
  'status',
  'attempts',
  'failures',
  'next_attempt_at',
  'last_outcome',
  'last_reason',
  'last_status',
  'updated_at',
  'finished_at',
] as const;

function recordRow(record: Record_): Pick<DeliveriesTable, (typeof RECORD_COLUMNS)[number]> {
  const { attempt } = record;
  return {
    id: record.claimed.row.id,
    status: record.status,
    attempts: attempt.number,
    failures: record.failures,
    next_attempt_at: attempt.next_attempt_at,
    last_outcome: attempt.outcome,
    last_reason: attempt.reason,
    last_status: attempt.response_status,
    updated_at: attempt.started_at + attempt.duration_ms,
    finished_at: record.finishedAt,
  };
}

/** The records' rows as the CTE `v` that the record statements read (SQLite: one tuple each). */
const recordValuesSqlite = (rows: number): string =>
  `with v (${RECORD_COLUMNS.join(', ')}) as (values ${tuples('sqlite', rows, RECORD_COLUMNS.length)})`;

function recordStatementSqlite(rows: number): string {
  return statementText(
    `records:deliveries:sqlite:${rows}`,
    () => `
      ${recordValuesSqlite(rows)}
      update deliveries set status = v.status, attempts = v.attempts, failures = v.failures,
        next_attempt_at = v.next_attempt_at, lease_until = null, leased_by = null,
        last_outcome = v.last_outcome, last_reason = v.last_reason, last_status = v.last_status,
        updated_at = v.updated_at, finished_at = v.finished_at
      from v
      -- A worker whose lease ran out must not overwrite the state written by its successor.
      where deliveries.id = v.id and deliveries.leased_by = ${parameterList('sqlite', 1, rows * RECORD_COLUMNS.length)}`,
  );
}

/**
 * A delivery that ended resolves its open alerts, at its own end time: the same rule on both dialects.
 * An alert is written by the record of an earlier attempt, so a delivery that ended at its first has none.
 */
const RESOLVE_ALERTS = `
  update error_log set resolved_at = v.finished_at, resolved_note = 'delivery ' || v.status, resolved_by = 'koppel'
  from v
  where error_log.delivery_id = v.id and v.finished_at is not null and v.attempts > 1 and error_log.kind = 'alert'
    and error_log.resolved_at is null`;

/** The records whose delivery may have open alerts to resolve (RESOLVE_ALERTS). */
const mayResolveAlerts = (record: Record_): boolean =>
  record.finishedAt !== null && record.attempt.number > 1;

/** Group commit for attempt records: concurrent attempts share one transaction. */
function createRecordWriter(deps: AttemptRunnerDeps) {
  let queue: Array<{ record: Record_; done: () => void; failed: (e: unknown) => void }> = [];
  let scheduled = false;
  let chain: Promise<void> = Promise.resolve();

  const commit = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const written = new Set<string>();
    try {
      const records = batch.map((b) => b.record);
      const write = async (db: Kysely<CoreDatabase>): Promise<void> => {
        await (deps.dialect === 'postgres' ? writeRecordsPostgres : writeRecordsSqlite)(
          db,
          records,
          deps.workerId,
        );
        for (const id of await writeErrors(db, records)) written.add(id);
      };
      // On PostgreSQL a group without error entries is one statement, atomic without a transaction:
      // one round trip instead of five.
      const commitOver = deps.metrics.storeCommitSeconds.startTimer({ work: 'attempts' });
      try {
        if (deps.dialect === 'postgres' && records.every((r) => !r.error)) await write(deps.db);
        else await deps.db.transaction().execute(write);
      } finally {
        commitOver();
      }
      for (const { record } of batch) {
        const entry = record.error;
        if (!entry || !written.has(entry.id)) continue;
        deps.errorLogFile.append(entry);
        if (entry.kind === 'alert') {
          deps.log.error(
            {
              messageId: entry.message_id,
              deliveryId: entry.delivery_id,
              adapter: entry.adapter,
              code: entry.code,
              detail: entry.reason,
            },
            'delivery_alert_raised',
          );
        }
      }
      for (const b of batch) b.done();
      const finished = batch.filter((b) => b.record.finishedAt !== null).map((b) => b.record.claimed.row);
      if (finished.length > 0) deps.onFinished(finished);
    } catch (error) {
      deps.log.error({ err: error, count: batch.length }, 'attempt_records_not_written');
      for (const b of batch) b.failed(error);
    }
  };

  return {
    write(record: Record_): Promise<void> {
      return new Promise<void>((done, failed) => {
        queue.push({ record, done, failed });
        if (!scheduled) {
          scheduled = true;
          // A short linger gathers the records of attempts finishing together into one commit: a commit
          // costs about as much as a hundred record writes, and nobody waits on an attempt's record.
          setTimeout(() => {
            scheduled = false;
            chain = chain.then(commit);
          }, RECORD_LINGER_MS);
        }
      });
    },
    async flush(): Promise<void> {
      while (queue.length > 0 || scheduled) await new Promise((r) => setImmediate(r));
      await chain;
    },
  };
}

/** Each delivery's new state, its attempt, and the alerts its end resolves: SQLite, in the caller's transaction. */
async function writeRecordsSqlite(db: Kysely<CoreDatabase>, records: readonly Record_[], workerId: string) {
  for (const slice of powerOfTwoSlices(records)) {
    await runStatement(db, recordStatementSqlite(slice.length), [
      ...rowValues(slice.map(recordRow), RECORD_COLUMNS),
      workerId,
    ]);
  }
  await insertRows(
    db,
    'sqlite',
    'attempts',
    ATTEMPT_COLUMNS,
    records.map((r) => r.attempt),
  );
  // Most deliveries end at their first attempt: for those the statement would change nothing (3,213
  // statements, 4 % of SQLite's time in the end-to-end bench, changed no row).
  for (const slice of powerOfTwoSlices(records.filter(mayResolveAlerts))) {
    const text = statementText(
      `records:alerts:sqlite:${slice.length}`,
      () => `${recordValuesSqlite(slice.length)} ${RESOLVE_ALERTS}`,
    );
    await runStatement(db, text, rowValues(slice.map(recordRow), RECORD_COLUMNS));
  }
}

/**
 * The same on PostgreSQL as one statement, whatever the number of records: the rows travel as two
 * JSON parameters, so the text never changes and the three writes are one round trip.
 */
async function writeRecordsPostgres(db: Kysely<CoreDatabase>, records: readonly Record_[], workerId: string) {
  await runStatement(db, RECORDS_POSTGRES, [
    JSON.stringify(records.map(recordRow)),
    JSON.stringify(records.map((r) => r.attempt)),
    workerId,
    records.map((r) => r.claimed.row.id),
  ]);
}

const RECORDS_POSTGRES = `
  with v as (
    select * from jsonb_to_recordset($1::jsonb) as v (id text, status text, attempts integer, failures integer,
      next_attempt_at bigint, last_outcome text, last_reason text, last_status text, updated_at bigint,
      finished_at bigint)
  ), changed as (
    update deliveries set status = v.status, attempts = v.attempts, failures = v.failures,
      next_attempt_at = v.next_attempt_at, lease_until = null, leased_by = null, last_outcome = v.last_outcome,
      last_reason = v.last_reason, last_status = v.last_status, updated_at = v.updated_at,
      finished_at = v.finished_at
    from v
    -- A worker whose lease ran out must not overwrite the state written by its successor. The id list
    -- repeats v's ids so that the primary key drives the join: planning from stale statistics (a
    -- table that grew faster than autovacuum analysed it), PostgreSQL read the whole table instead,
    -- 2.8 against 0.5 ms for 13 records among 20,000 deliveries (EXPLAIN ANALYZE).
    where deliveries.id = v.id and deliveries.id = any($4::text[]) and deliveries.leased_by = $3
    returning deliveries.id
  ), recorded as (
    insert into attempts (${ATTEMPT_COLUMNS.join(', ')})
    select ${ATTEMPT_COLUMNS.join(', ')} from jsonb_populate_recordset(null::attempts, $2::jsonb)
    returning id
  ), resolved as (${RESOLVE_ALERTS}
    returning error_log.id
  )
  select (select count(*) from changed) as changed, (select count(*) from recorded) as recorded`;

/** Error-log entries of the records; an alert only when none is open for its delivery and code. Written ids. */
async function writeErrors(db: Kysely<CoreDatabase>, records: readonly Record_[]): Promise<string[]> {
  const errors: ErrorLogTable[] = [];
  for (const record of records) {
    const entry = record.error;
    if (!entry) continue;
    // An alert is raised once per delivery and code, not on every attempt while it waits.
    if (entry.kind === 'alert' && (await openAlert(db, entry))) continue;
    errors.push(entry);
  }
  if (errors.length > 0) await db.insertInto('error_log').values(errors).execute();
  return errors.map((e) => e.id);
}

async function openAlert(trx: Kysely<CoreDatabase>, entry: ErrorLogTable): Promise<boolean> {
  const row = await trx
    .selectFrom('error_log')
    .select('id')
    .where('delivery_id', '=', entry.delivery_id)
    .where('kind', '=', 'alert')
    .where('code', '=', entry.code)
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Keeps the leases of attempts in flight alive, so that a slow attempt is not taken again by
 * another worker (or by this one) while it still runs: one UPDATE every third of the lease for all
 * of this worker's attempts in flight. A worker that dies stops renewing, and its deliveries are
 * taken again once their lease runs out.
 */
function createLeaseKeeper(deps: AttemptRunnerDeps) {
  const held = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const renew = async (): Promise<void> => {
    for (const slice of powerOfTwoSlices([...held])) {
      await deps.db
        .updateTable('deliveries')
        .set({ lease_until: deps.now().getTime() + deps.leaseMs })
        .where('id', 'in', slice)
        .where('leased_by', '=', deps.workerId)
        .where('status', '=', 'active')
        .execute();
    }
  };
  return {
    hold(ids: readonly string[]): void {
      for (const id of ids) held.add(id);
      timer ??= setInterval(
        () => {
          renew().catch((error: unknown) => deps.log.warn({ err: error }, 'lease_renewal_failed'));
        },
        Math.max(250, Math.floor(deps.leaseMs / 3)),
      );
      timer.unref();
    },
    release(ids: readonly string[]): void {
      for (const id of ids) held.delete(id);
      if (held.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
      held.clear();
    },
  };
}
