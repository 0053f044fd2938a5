import { end, session, start } from './session.ts';

/** An RFC 9457 problem (or an OAuth2 error) answered by the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body:
      { title?: string; detail?: string; error?: string; error_description?: string } | undefined,
  ) {
    super(body?.detail ?? body?.error_description ?? body?.title ?? `HTTP ${status}`);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = session()?.token;
  if (!token) throw new ApiError(401, { detail: 'not signed in' });
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    cache: 'no-store',
    credentials: 'omit',
  });
  const parsed = await readJson(response);
  if (response.status === 401) end('expired');
  if (!response.ok) throw new ApiError(response.status, parsed as ApiError['body']);
  return parsed as T;
}

/** GET without a token, for the public parts of the API. */
export async function publicGet<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'omit' });
  const parsed = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, parsed as ApiError['body']);
  return parsed as T;
}

/** POST /oauth2/token: the client secret is the API token immediately followed by the TOTP code. */
export async function signIn(clientId: string, apiToken: string, code: string): Promise<void> {
  const response = await fetch('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: `${apiToken}${code}`,
    }).toString(),
    cache: 'no-store',
    // Without credentials a 401 with `WWW-Authenticate: Basic` cannot pop up the browser's own
    // password dialog; the portal sends bearer tokens, never cookies or HTTP auth.
    credentials: 'omit',
  });
  const parsed = (await readJson(response)) as {
    access_token: string;
    expires_in: number;
    scope: string;
  } & ApiError['body'];
  if (!response.ok) throw new ApiError(response.status, parsed);
  start(parsed.access_token, clientId, parsed.scope, parsed.expires_in);
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

/** The management API's shapes the portal reads (schemas/openapi/management.v1.yaml). */
export interface Attempt {
  number: number;
  startedAt: string;
  durationMs: number | null;
  outcome: 'delivered' | 'transient' | 'rejected' | 'skipped' | 'internal';
  reason: string | null;
  code: string | null;
  request: { summary: string; body: string | null } | null;
  response: { status: string | null; body: string | null } | null;
  nextAttemptAt: string | null;
}

export interface Delivery {
  id: string;
  messageId: string;
  adapter: string;
  target: string;
  label: string | null;
  status: 'pending' | 'retrying' | 'active' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  nextAttemptAt: string | null;
  lastOutcome: string | null;
  lastReason: string | null;
  createdAt: string;
  updatedAt: string;
  attemptLog?: Attempt[];
}

export interface MessageDetail {
  id: string;
  type: string;
  source: string;
  eventId: string;
  subject?: string | null;
  receivedAt: string;
  event: unknown;
  deliveries: Delivery[];
}

export interface ErrorEntry {
  id: string;
  adapter: string;
  kind: 'rejected' | 'skipped' | 'exhausted' | 'internal';
  code: string | null;
  reason: string;
  partnerStatus: string | null;
  partnerAnswer: string | null;
  messageId: string;
  messageType: string;
  deliveryId: string;
  attemptNumber: number;
  createdAt: string;
  resolvedAt: string | null;
  resolvedNote: string | null;
  resolvedBy: string | null;
}

export interface ErrorDetail extends ErrorEntry {
  message?: MessageDetail;
  delivery?: Delivery;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface Adapter {
  name: string;
  accepts: string[];
  dispatch: 'continuous' | 'periodic';
  retryPolicy: {
    delaysMs: number[];
    afterLast: 'fail' | 'repeat-last';
    jitter?: number;
    retryAfter?: string;
  };
  retryPolicySource: 'default' | 'environment' | 'api';
  health: { ok: boolean; detail?: string };
  counts: { pending: number; delivered: number; failed: number; skipped: number };
}

export interface HourlyBucket {
  hour: string;
  delivered: number;
  failed: number;
  skipped: number;
}
