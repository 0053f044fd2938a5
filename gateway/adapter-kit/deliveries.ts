/**
 * An adapter's view of its own deliveries. The core owns the deliveries, messages and attempts tables;
 * an adapter's management API (a delivery log, a resend, a daily notice) reads them through this,
 * always limited to the adapter's own deliveries, and changes them only through `retryDeliveries`.
 */
export type DeliveryState = 'pending' | 'retrying' | 'active' | 'delivered' | 'failed' | 'skipped';

export interface AdapterDeliveries {
  /** Ids of deliveries to `target` in one of `states`, created at or after `createdSince`; oldest first. */
  ids(filter: {
    readonly target: string;
    readonly states: readonly DeliveryState[];
    readonly createdSince?: number;
  }): Promise<string[]>;
  /** Newest first by (createdAt, id); at most `limit`, after the keyset `after`. */
  list(
    filter: DeliveryFilter,
    page: { readonly after?: { readonly createdAt: number; readonly id: string }; readonly limit: number },
  ): Promise<DeliveryView[]>;
  /** One delivery with its attempts, oldest first. */
  get(id: string): Promise<(DeliveryView & { readonly attemptLog: readonly AttemptView[] }) | undefined>;
  /** Deliveries that failed in (after, until], counted per target. */
  failuresByTarget(
    after: number,
    until: number,
  ): Promise<Array<{ readonly target: string; readonly label: string | null; readonly failures: number }>>;
}

export interface DeliveryFilter {
  readonly target?: string;
  readonly messageType?: string;
  /** Any of these clauses: a state, optionally narrowed by how the last reason starts. */
  readonly anyOf?: ReadonlyArray<{
    readonly states: readonly DeliveryState[];
    readonly reasonStartsWith?: string;
    readonly reasonNotStartsWith?: string;
  }>;
  readonly createdFrom?: number;
  readonly createdUntil?: number;
}

export interface DeliveryView {
  readonly id: string;
  readonly target: string;
  readonly targetLabel: string | null;
  readonly sequence: number;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastReason: string | null;
  /** The partner's last status (an HTTP status code, an SMTP reply …) as text. */
  readonly lastStatus: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly message: {
    readonly id: string;
    readonly type: string;
    readonly receivedAt: number;
    /** The CloudEvent as stored. */
    readonly envelope: Record<string, unknown>;
  };
}

export interface AttemptView {
  readonly number: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: string;
  readonly reason: string | null;
  readonly responseStatus: string | null;
  readonly responseBody: string | null;
  readonly nextAttemptAt: number | null;
}
