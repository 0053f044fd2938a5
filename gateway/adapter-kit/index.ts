/**
 * The adapter contract: the only part of `gateway/` that adapters import.
 *
 * Terminology, used the same way in code, API, logs and README:
 * - **message**: one canonical CloudEvent accepted by ingest (`202`). It has a Koppel id
 *   (`message.id`, a UUID minted by Koppel) and the sender's (`source`, `eventId`) pair, which is
 *   unique: posting it again returns the first message.
 * - **target**: one receiving end inside an adapter (a webhook recipient, a mail server, Logius).
 *   An adapter's `plan()` names the targets of a message; the string is opaque to the core.
 * - **delivery**: one (message, adapter, target) triple, created once in the ingest transaction
 *   and never duplicated: retries and replays are further *attempts* of the same delivery.
 * - **attempt**: one call of `deliver()` for a delivery. Every attempt leaves a row with its
 *   evidence, written even when the adapter throws.
 * - **outcome**: what an attempt returns; its `kind` says what happens next (see `Outcome`).
 * - **error-log entry**: written by the core for every `rejected`, `skipped`, exhausted
 *   `transient` and internal (thrown) attempt. Admins read, retry and resolve them.
 *
 * Rules for adapters (checked by `test/architecture/imports.test.ts`):
 * - import only `gateway/adapter-kit`, `mappings/` and `schemas/types`;
 * - never import another adapter: post a canonical message through `ctx.post` instead;
 * - never read the clock: use `attempt.now` (or the `now` passed to a job);
 * - return an `Outcome`; throw only when our own code is wrong. A throw is recorded as an
 *   `internal` attempt and retried like `transient`, so nothing is lost.
 *
 * @see docs/decisions/0001-outcomes-not-exceptions.md
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Outcome } from './outcome.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { GuardedHttp } from './http.ts';
import type { AdapterDeliveries } from './deliveries.ts';

export type { Outcome, Evidence } from './outcome.ts';
export type {
  AdapterDeliveries,
  AttemptView,
  DeliveryFilter,
  DeliveryState,
  DeliveryView,
} from './deliveries.ts';
export { delivered, transient, deferred, rejected, skipped } from './outcome.ts';
export type { RetryPolicy } from './retry-policy.ts';
export { hours, minutes, seconds } from './retry-policy.ts';
export type { GuardedHttp, HttpResponse, HttpRequest } from './http.ts';
export { classifyHttp } from './http.ts';
export type {
  ApiRequest,
  ApiResponse,
  OperationHandler,
  OperationHandlers,
  Principal,
  ProblemFieldError,
} from './api.ts';
export { problem, ok } from './api.ts';
export { isValidBsn, isValidRsin } from './bsn.ts';

/** A canonical message as adapters see it: the accepted CloudEvent plus Koppel's id. */
export interface CanonicalMessage {
  /** Koppel's message id (UUID). Stable across retries and replays: receivers de-duplicate on it. */
  readonly id: string;
  /** CloudEvents `type`, e.g. `nl.zaken.zaak-status-gezet`. */
  readonly type: string;
  /** CloudEvents `source`, a URN (`urn:nld:oin:<OIN>:systeem:<naam>`). */
  readonly source: string;
  /** CloudEvents `id` as the sender gave it. */
  readonly eventId: string;
  /** CloudEvents `subject`: a technical id, never a BSN. */
  readonly subject?: string;
  /** CloudEvents `time` (ISO 8601), when the sender says the event happened. */
  readonly time?: string;
  /** When Koppel accepted the message. */
  readonly receivedAt: Date;
  /** The `data` member, already valid against `schemas/canonical/<type>.schema.json`. */
  readonly data: unknown;
  /** The whole CloudEvent as posted (extension attributes included). */
  readonly envelope: Readonly<Record<string, unknown>>;
}

/** What `plan()` returns: one per delivery to create. */
export interface DeliveryTarget {
  /** Opaque to the core; unique per (message, adapter). Use `'default'` for single-target adapters. */
  readonly target: string;
  /** Human label shown in the management API and portal (a recipient's URL, a server's name). */
  readonly label?: string;
  /**
   * Deliveries of one adapter and target that share an `orderingKey` are attempted strictly in
   * `orderingPosition` order: a delivery is not claimed while an earlier one with the same key is
   * still pending, retrying or in flight (Lopende Zaken: statuses of one zaak in date order).
   * Holding back is strict: one failing delivery delays the later ones of its key until it ends.
   */
  readonly orderingKey?: string;
  /**
   * The core numbers deliveries per (adapter, target, sequenceKey) in `Delivery.sequence`, without
   * holding any back, so that a receiver can put events of one subject back in order (webhooks).
   * Defaults to `orderingKey`.
   */
  readonly sequenceKey?: string;
  /** Sortable string (ISO 8601 timestamps sort correctly). Defaults to the ingest time. */
  readonly orderingPosition?: string;
}

/** One delivery as handed to `deliver()`. */
export interface Delivery {
  /** Delivery id (UUID); the BullMQ job id too. Stable for the life of the delivery. */
  readonly id: string;
  readonly adapter: string;
  readonly target: string;
  readonly orderingKey?: string;
  /** 1-based number of this delivery among its (adapter, target, sequenceKey); for receivers' ordering. */
  readonly sequence: number;
  readonly message: CanonicalMessage;
}

/** The attempt being made. */
export interface Attempt {
  /** 1-based; a replay from the error log continues the count. */
  readonly number: number;
  /** The only clock an adapter sees. */
  readonly now: Date;
  /** Aborted on the per-attempt timeout and on shutdown; pass it to every I/O call. */
  readonly signal: AbortSignal;
  /** Log bound to messageId, deliveryId and adapter. */
  readonly log: Logger;
  /**
   * Shared by the attempts the dispatcher claimed together (at most its concurrency, started within
   * the same milliseconds): send-time look-ups (a recipient, an account) may be kept here with
   * `memoised`, so that they are read once per claim instead of once per attempt.
   */
  readonly memo: Map<string, unknown>;
}

/** An API account as adapters see it: what authorisation needs, never its secrets. */
export interface AccountView {
  readonly clientId: string;
  /** Employer ids the account may see; `'*'` for all. */
  readonly employers: readonly string[];
  readonly disabled: boolean;
}

/**
 * Read access offered to `plan()`: inside the ingest transaction on SQLite; on PostgreSQL just before
 * the one statement that writes the group (READ COMMITTED gives each statement its own snapshot either way).
 */
export interface PlanContext {
  /** The API account with this client id, read as `db` reads; accounts are the core's tables. */
  account(clientId: string): Promise<AccountView | undefined>;
  /** The ingest's connection. Read only: `plan()` must not write. */
  readonly db: Kysely<any>;
  /**
   * Lives for one ingest group, which commits many messages together: a lookup that every message of
   * the group needs (a topic's subscribers) is read once and kept here, by a key the adapter chooses,
   * so that the whole group is planned from the same answer.
   */
  readonly memo: Map<string, unknown>;
}

/**
 * The value kept in `memo` under `key`, or the result of `load()`, kept there for the rest of the
 * group. The promise is kept, so that concurrent callers share one load.
 */
export function memoised<T>(memo: Map<string, unknown>, key: string, load: () => Promise<T>): Promise<T> {
  let value = memo.get(key) as Promise<T> | undefined;
  if (value === undefined) {
    value = load();
    memo.set(key, value);
  }
  return value;
}

/** The items by key, each group in the items' order (Map.groupBy, which Node 20 lacks). */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Work an adapter wants done on a timer, once per cluster (BullMQ job scheduler or a store lease). */
export interface PeriodicJob {
  /** Unique within the adapter; the cluster-wide name is `<adapter>:<name>`. */
  readonly name: string;
  /** Read before each scheduling, so an admin's change of interval takes effect at the next run. */
  intervalMs(): Promise<number>;
  run(now: Date, signal: AbortSignal): Promise<void>;
}

/**
 * How the core hands deliveries to an adapter.
 * - `continuous` (default): as soon as they are due, up to `concurrency` at a time.
 * - `periodic`: only when the adapter's tick fires (every `intervalMs()`), in batches of up to
 *   `batchSize`, through `deliverBatch` when the adapter has it. Lopende Zaken sends this way.
 */
export type DispatchMode =
  | { readonly mode: 'continuous'; readonly concurrency?: number }
  | { readonly mode: 'periodic'; intervalMs(): Promise<number>; readonly batchSize: number };

export interface AdapterHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

/** The running adapter, made by `AdapterDefinition.create()`. */
export interface AdapterInstance {
  /**
   * Called while the ingest group is written, for each accepted message of a type in `accepts`.
   * Reads only, from `ctx.db`; no partner is called. Returns the targets that get a delivery
   * (none is fine: a webhook topic without subscribers).
   */
  plan(message: CanonicalMessage, ctx: PlanContext): Promise<readonly DeliveryTarget[]>;
  /**
   * One attempt. Idempotent per `delivery.id`: give the partner `delivery.message.id` as the
   * stable key. Returns an Outcome; throws only on a bug.
   */
  deliver(delivery: Delivery, attempt: Attempt): Promise<Outcome>;
  /**
   * Optional, for `dispatch.mode === 'periodic'`: one attempt for several deliveries at once
   * (a batched partner check). Returns one outcome per delivery, in the same order.
   */
  deliverBatch?(deliveries: readonly Delivery[], attempt: Attempt): Promise<readonly Outcome[]>;
  /** A retry policy for this delivery instead of the adapter's (a webhook recipient's own schedule). */
  retryPolicyFor?(delivery: Delivery): Promise<RetryPolicy | undefined>;
  /** Handlers for operationIds `<name>.*` of `schemas/openapi/adapters/<name>.v1.yaml` (under /v1). */
  readonly management?: import('./api.ts').OperationHandlers;
  /** Handlers for operationIds of `schemas/openapi/partners/<name>.v1.yaml` (under /partners/<name>). */
  readonly inbound?: import('./api.ts').OperationHandlers;
  readonly jobs?: readonly PeriodicJob[];
  /** How deliveries reach `deliver`; continuous when absent. */
  readonly dispatch?: DispatchMode;
  /** The partner's reachability, shown in /readyz details and GET /v1/adapters. Never fatal. */
  health(): Promise<AdapterHealth>;
  /** Frees sockets, pools and timers. After it resolves no handle of the adapter is open. */
  close(): Promise<void>;
}

/** The input of `ctx.post`: a CloudEvent without Koppel's id. */
export interface CanonicalMessageInput {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly datacontenttype?: 'application/json';
  readonly data: unknown;
}

/** A migration owned by an adapter; tables it creates are prefixed with the adapter's name (`webhooks_…`). */
export interface AdapterMigration {
  /** `NNNN-title`; ordered within the adapter. */
  readonly name: string;
  up(db: Kysely<any>): Promise<void>;
}

export interface AdapterContext<S> {
  /** Validated against the settings schema, defaults applied, secrets decrypted. */
  readonly settings: S;
  /** pino child with `{ adapter }`. */
  readonly log: Logger;
  /** Outbound HTTP with the URL guard, timeouts and keep-alive. */
  readonly http: GuardedHttp;
  /** The store (SQLite or PostgreSQL) through Kysely. Adapters touch only their own tables (checked by test/architecture). */
  readonly db: Kysely<any>;
  /** `'sqlite' | 'postgres'`, for the rare query that must differ. */
  readonly dialect: 'sqlite' | 'postgres';
  /** Encrypts and decrypts secrets at rest (AES-256-GCM with KOPPEL_SECRET_KEY). */
  readonly secrets: SecretBox;
  /** Posts a canonical message through ingest (validation, planning, one transaction). */
  post(message: CanonicalMessageInput): Promise<{ readonly id: string; readonly duplicate: boolean }>;
  /** Makes the named deliveries due now (after a resend or a recover) and wakes the dispatcher. */
  retryDeliveries(deliveryIds: readonly string[]): Promise<number>;
  /** This adapter's deliveries, read-only: the core's tables are never queried by adapters. */
  readonly deliveries: AdapterDeliveries;
  /** Reads and writes adapter-level settings an admin can change at run time (JSON values). */
  readonly runtimeSettings: RuntimeSettings;
  /** The API account with this client id (a webhook recipient's bound user), or undefined. */
  account(clientId: string): Promise<AccountView | undefined>;
  /** The clock for code outside an attempt (management handlers, jobs). Tests inject it. */
  now(): Date;
  /** The JSON pointer of the employer id in messages of a canonical type (`x-koppel-employer`), if it has one. */
  employerPointer(type: string): string | undefined;
  /** KOPPEL_PUBLIC_URL: how partners reach Koppel (WebSub Link headers, links in mails). */
  readonly publicUrl: string;
}

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export interface RuntimeSettings {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** An adapter as listed in `adapters/index.ts`. */
export interface AdapterDefinition<S = unknown> {
  /** kebab-case; the same string in folder, registry, config keys, logs and routes. */
  readonly name: string;
  /** CloudEvents `type` values this adapter plans deliveries for. */
  readonly accepts: readonly string[];
  /** `schemas/adapters/<name>.settings.schema.json`, parsed. Secrets carry `writeOnly: true`. */
  readonly settingsSchema: Readonly<Record<string, unknown>>;
  /** Default policy; `KOPPEL_RETRY_<NAME>` and `PUT /v1/adapters/{name}/retry-policy` override it. */
  readonly retry: RetryPolicy;
  /** Per-attempt timeout; the attempt's signal aborts after it. Default 30 s. */
  readonly attemptTimeoutMs?: number;
  readonly migrations?: readonly AdapterMigration[];
  create(ctx: AdapterContext<S>): Promise<AdapterInstance>;
}
