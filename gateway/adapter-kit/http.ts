import { Agent, request as undiciRequest, errors as undiciErrors } from 'undici';
import type { OutboundGuard } from '../security/outbound-url-guard.ts';
import type { Evidence, Outcome } from './outcome.ts';
import { delivered, rejected, skipped, transient } from './outcome.ts';
import { signalWithTimeout } from './abort.ts';

/** Outbound HTTP for adapters: the URL guard, a timeout, keep-alive, and no redirects. */
export interface GuardedHttp {
  send(request: HttpRequest): Promise<HttpResponse | HttpFailure>;
  /** The guard's verdict on a URL before any connection: `null` when it may be tried, else the reason. */
  checkUrl(url: string): string | null;
  close(): Promise<void>;
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text, cut at `maxBodyBytes` (64 KiB). */
  readonly body: string;
  readonly durationMs: number;
}

export interface HttpFailure {
  readonly kind: 'failure';
  /** `refused`: the guard said no; `timeout`; `aborted` (shutdown); `connection` (DNS, refused, reset, TLS). */
  readonly failure: 'refused' | 'timeout' | 'aborted' | 'connection';
  readonly message: string;
}

const MAX_BODY_BYTES = 64 * 1024;
/** What the error log keeps of a body: enough to read the partner's complaint, not a whole document. */
export const EVIDENCE_EXCERPT = 2048;

export function createGuardedHttp(guard: OutboundGuard, defaultTimeoutMs = 15_000): GuardedHttp {
  const agent = new Agent({
    connect: { lookup: guard.lookup, timeout: defaultTimeoutMs },
    keepAliveTimeout: 10_000,
    connections: 256,
  });

  async function send(request: HttpRequest): Promise<HttpResponse | HttpFailure> {
    const refusal = guard.checkUrl(request.url);
    if (refusal !== null) return { kind: 'failure', failure: 'refused', message: refusal };
    const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
    const timeout = signalWithTimeout(request.signal, timeoutMs);
    const signal = timeout.signal;
    const started = performance.now();
    try {
      const response = await undiciRequest(request.url, {
        method: request.method,
        headers: { ...request.headers },
        body: request.body ?? null,
        dispatcher: agent,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await readCapped(response.body);
      return {
        kind: 'response',
        status: response.statusCode,
        headers: response.headers,
        body,
        durationMs: performance.now() - started,
      };
    } catch (error) {
      return describeFailure(error, timeout.timedOut, request.signal?.aborted ?? false);
    } finally {
      timeout.release();
    }
  }

  return { send, checkUrl: (url) => guard.checkUrl(url), close: () => agent.close() };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

function describeFailure(error: unknown, timedOut: boolean, aborted: boolean): HttpFailure {
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  if (code === 'EKOPPELREFUSED') return { kind: 'failure', failure: 'refused', message: err.message };
  if (
    timedOut ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return { kind: 'failure', failure: 'timeout', message: 'no answer within the timeout' };
  }
  if (aborted) return { kind: 'failure', failure: 'aborted', message: 'aborted' };
  return { kind: 'failure', failure: 'connection', message: code ? `${code}: ${err.message}` : err.message };
}

/** Seconds or an HTTP date, as RFC 9110 allows; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  // Only the IMF-fixdate form: Date.parse would read "-5" or "Dec 2099" as dates too.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text.trim())) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * The default HTTP classification (STYLE.md §4): 2xx delivered; connection failures, timeouts,
 * 408, 425, 429 and 5xx transient (Retry-After passed on); other answers rejected; a URL the guard
 * refuses is skipped. Adapters whose sources say otherwise adjust the result (webhooks retries
 * every non-2xx except 410).
 */
export function classifyHttp(
  result: HttpResponse | HttpFailure,
  request: Evidence['request'],
  now: Date,
): Outcome {
  if (result.kind === 'failure') {
    const evidence: Evidence = { ...(request ? { request } : {}), response: { status: result.failure } };
    if (result.failure === 'refused') return skipped('outbound-url-refused', result.message, evidence);
    return transient(result.message, evidence);
  }
  const evidence: Evidence = {
    ...(request ? { request } : {}),
    response: { status: result.status, body: result.body.slice(0, EVIDENCE_EXCERPT) },
  };
  const status = result.status;
  if (status >= 200 && status < 300) return delivered(evidence);
  if (status >= 500 || status === 408 || status === 425 || status === 429) {
    return transient(`HTTP ${status}`, evidence, parseRetryAfter(result.headers['retry-after'], now));
  }
  return rejected(`HTTP ${status}`, evidence, `http-${status}`);
}
