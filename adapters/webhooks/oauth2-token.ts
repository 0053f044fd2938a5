import {
  classifyHttp,
  skipped,
  transient,
  type GuardedHttp,
  type Outcome,
} from '../../gateway/adapter-kit/index.ts';

/** A recipient's OAuth2 client (RFC 6749 §4.4, client credentials, client_secret_basic). */
export interface OAuth2Client {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string;
  readonly audience?: string;
}

export type TokenResult =
  { readonly ok: true; readonly token: string } | { readonly ok: false; readonly outcome: Outcome };

interface CachedToken {
  readonly token: string;
  /** When to stop using it: shortly before the server's expiry, so it does not expire in flight. */
  readonly refreshAt: number;
}

/** Lifetime assumed when the server gives no `expires_in` (RFC 6749 makes it optional). */
const DEFAULT_LIFETIME_MS = 300_000;

/**
 * Access tokens per recipient, cached until shortly before they expire. Concurrent deliveries to
 * one recipient share a single token request. The cache key includes the recipient's version so
 * that changed credentials are never answered with a token of the old ones.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<TokenResult>>();

  constructor(
    private readonly http: GuardedHttp,
    private readonly refreshMarginMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A usable token. `rejected` is a token the resource server just answered 401 to: it is not
   * returned again, so the caller gets a fresh one (or one another delivery fetched meanwhile).
   */
  async token(
    key: string,
    client: OAuth2Client,
    now: Date,
    signal: AbortSignal,
    rejected?: string,
  ): Promise<TokenResult> {
    const cached = this.#tokens.get(key);
    if (cached && cached.token !== rejected && cached.refreshAt > now.getTime())
      return { ok: true, token: cached.token };
    const running = this.#inFlight.get(key);
    if (running) {
      const shared = await running;
      if (!shared.ok || shared.token !== rejected) return shared;
    }
    const fetching = this.#fetch(key, client, now, signal).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, fetching);
    return fetching;
  }

  /** Drops every token of a recipient (credentials changed, recipient deleted). */
  forget(keyPrefix: string): void {
    for (const key of this.#tokens.keys()) if (key.startsWith(keyPrefix)) this.#tokens.delete(key);
  }

  clear(): void {
    this.#tokens.clear();
  }

  async #fetch(key: string, client: OAuth2Client, now: Date, signal: AbortSignal): Promise<TokenResult> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (client.scope) form.set('scope', client.scope);
    if (client.audience) form.set('audience', client.audience);
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
    const basic = Buffer.from(
      `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
    ).toString('base64');
    const request = { summary: `POST ${client.tokenUrl} (token request)` };
    const result = await this.http.send({
      method: 'POST',
      url: client.tokenUrl,
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      timeoutMs: this.timeoutMs,
      signal,
    });
    const outcome = classifyHttp(result, request, now);
    if (outcome.kind === 'skipped') {
      return { ok: false, outcome: skipped(outcome.rule, `token URL: ${outcome.detail}`, outcome.evidence) };
    }
    // Webhooks retry every failure on their schedule (STYLE.md §4), a refused token request included:
    // the admin can fix the client's credentials at the authorisation server before the next try.
    if (outcome.kind !== 'delivered' || result.kind !== 'response') {
      const reason =
        outcome.kind === 'transient' || outcome.kind === 'rejected' ? outcome.reason : outcome.kind;
      return { ok: false, outcome: transient(`token request failed: ${reason}`, outcome.evidence) };
    }
    const parsed = readTokenResponse(result.body);
    if (parsed === null) {
      return { ok: false, outcome: transient('token response has no bearer access_token', outcome.evidence) };
    }
    const lifetimeMs = parsed.expiresIn !== undefined ? parsed.expiresIn * 1000 : DEFAULT_LIFETIME_MS;
    const margin = Math.min(this.refreshMarginMs, lifetimeMs / 2);
    this.#tokens.set(key, { token: parsed.token, refreshAt: now.getTime() + lifetimeMs - margin });
    return { ok: true, token: parsed.token };
  }
}

function readTokenResponse(body: string): { token: string; expiresIn?: number } | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const { access_token: token, token_type: type, expires_in: expiresIn } = json as Record<string, unknown>;
  if (typeof token !== 'string' || token === '') return null;
  if (typeof type !== 'string' || type.toLowerCase() !== 'bearer') return null;
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
    ? { token, expiresIn: seconds }
    : { token };
}
