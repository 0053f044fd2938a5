import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of one process, served at /metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly ingested: Counter<'type'>;
  readonly attempts: Counter<'adapter' | 'outcome'>;
  readonly attemptSeconds: Histogram<'adapter'>;
  readonly queueDepth: Gauge<'adapter' | 'status'>;
  /** One group commit of the store: what every 202 of the group (ingest) or every recorded attempt waits for. */
  readonly storeCommitSeconds: Histogram<'work'>;
}

/** What ingest's body budget holds and how many posts wait for it (BodyBudget.load). */
export type IngestLoad = () => { readonly heldBytes: number; readonly waiting: number };

export function createMetrics(ingestLoad: IngestLoad): Metrics {
  const registry = new Registry();
  new Gauge({
    name: 'koppel_ingest_posts_waiting',
    help: 'Posts waiting, unread, for room in the ingest body budget (KOPPEL_INGEST_BUFFER_BYTES)',
    registers: [registry],
    collect() {
      this.set(ingestLoad().waiting);
    },
  });
  new Gauge({
    name: 'koppel_ingest_body_bytes_held',
    help: 'Bytes of ingest request bodies admitted and not yet answered',
    registers: [registry],
    collect() {
      this.set(ingestLoad().heldBytes);
    },
  });
  return {
    registry,
    ingested: new Counter({
      name: 'koppel_messages_ingested_total',
      help: 'Messages accepted (202), by canonical type',
      labelNames: ['type'],
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'koppel_delivery_attempts_total',
      help: 'Delivery attempts by adapter and outcome (delivered, transient, rejected, skipped, internal)',
      labelNames: ['adapter', 'outcome'],
      registers: [registry],
    }),
    attemptSeconds: new Histogram({
      name: 'koppel_delivery_attempt_duration_seconds',
      help: 'Duration of one delivery attempt',
      labelNames: ['adapter'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'koppel_deliveries',
      help: 'Deliveries not yet finished, by adapter and status (read from the store at scrape time)',
      labelNames: ['adapter', 'status'],
      registers: [registry],
    }),
    storeCommitSeconds: new Histogram({
      name: 'koppel_store_commit_duration_seconds',
      help: 'Duration of one group commit to the store: a group of posted messages (work="ingest") or of attempt records (work="attempts")',
      labelNames: ['work'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
