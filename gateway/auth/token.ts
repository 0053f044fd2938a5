/**
 * `POST /oauth2/token` and bearer checks. OAuth2 client credentials (RFC 6749 §4.4), except that
 * the client secret is the API token immediately followed by the current 6-digit TOTP code. The
 * answer is a short-lived JWT (RFC 9068 shape, EdDSA/Ed25519) whose public keys are published at
 * `/.well-known/jwks.json`.
 *
 * Per process, in memory (documented limits, not bugs):
 * - failed attempts are counted per client id in a sliding window, so with N processes a client
 *   gets up to N × `maxFailures` tries per window;
 * - verified tokens are cached (token string → principal) so that a repeated bearer costs a map
 *   look-up on the hot path;
 * - disabled accounts are learnt from the store every `revocationRefreshSeconds`, so a token of a
 *   just-disabled account works at most that long in another process (`refreshRevocations()` makes
 *   it immediate in this one).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { verify as verifyTotp } from 'otplib';
import type { ApiResponse, Principal } from '../adapter-kit/api.ts';
import type { CoreDatabase } from '../store/schema.ts';
import type { CoreSecretBox } from '../security/secrets.ts';
import { claimTotpStep, findAccountCredentials, listDisabledClientIds } from './accounts.ts';

export const TOKEN_AUDIENCE = 'koppel';
const ALGORITHM = 'EdDSA';
const TOKEN_TYPE = 'at+jwt';
const TOTP_DIGITS = 6;
const TOTP_PERIOD_SECONDS = 30;
const MAX_CLIENT_ID_LENGTH = 200;
const MAX_SECRET_LENGTH = 500;
// Bounds the failure table against a flood of made-up client ids.
const MAX_TRACKED_CLIENTS = 10_000;
const KEYRING_TTL_MS = 5 * 60_000;
// An unknown `kid` triggers a reload (another process made a key), but not more often than this.
const UNKNOWN_KID_RELOAD_MS = 5_000;

export interface TokenServiceOptions {
  readonly db: Kysely<CoreDatabase>;
  readonly box: CoreSecretBox;
  readonly now: () => Date;
  /** Lifetime of an access token. Default 900 (15 minutes). */
  readonly ttlSeconds?: number;
  /** `iss` of issued tokens and the one `verify` accepts. Default `koppel`. */
  readonly issuer?: string;
  /** Failed attempts allowed per client id within the window before `slow_down`. Default 5 per 300 s. */
  readonly rateLimit?: { readonly maxFailures: number; readonly windowSeconds: number };
  /** Verified tokens kept in memory. Default 10 000. */
  readonly cacheSize?: number;
  /** How often the set of disabled accounts is re-read. Default 5 s. */
  readonly revocationRefreshSeconds?: number;
  /** Security events (`oauth2_token_issued`, `oauth2_token_refused`, `oauth2_token_rate_limited`); never secrets. */
  readonly log?: Pick<Logger, 'info' | 'warn'>;
}

export interface TokenGranted {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** RFC 6749 §5.2 error; `slow_down` (borrowed from RFC 8628) when too many attempts failed. */
export interface TokenRefused {
  readonly error:
    'invalid_client' | 'invalid_scope' | 'slow_down' | 'invalid_request' | 'unsupported_grant_type';
  readonly status: 400 | 401 | 429;
  readonly description: string;
  readonly retryAfterSeconds?: number;
}

export type TokenResult = TokenGranted | TokenRefused;

/** What the HTTP layer hands over for `POST /oauth2/token`. */
export interface TokenRequest {
  /** The `Authorization` header, when present (HTTP Basic client authentication, RFC 6749 §2.3.1). */
  readonly authorization?: string | undefined;
  /** The parsed body: an `application/x-www-form-urlencoded` form as an object, or a JSON object. */
  readonly body: unknown;
}

export interface TokenService {
  issue(clientId: string, clientSecret: string, requestedScope?: string): Promise<TokenResult>;
  /** The whole endpoint: parses grant type and client authentication, answers with RFC 6749 headers. */
  handleTokenRequest(request: TokenRequest): Promise<ApiResponse>;
  /** The principal of a valid token, else `null`. Takes the bare token or an `Authorization` header value. */
  verify(bearer: string): Promise<Principal | null>;
  /** Public keys for `/.well-known/jwks.json`. Creates the first signing key when there is none. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Re-reads disabled accounts now (call after disabling an account in this process). */
  refreshRevocations(): Promise<void>;
}

interface Keyring {
  readonly signingKid: string;
  readonly signingKey: CryptoKey;
  readonly publicKeys: ReadonlyMap<string, CryptoKey>;
  readonly loadedAt: number;
}

interface CachedPrincipal {
  readonly principal: Principal;
  readonly expiresAtMs: number;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { db, box, now } = options;
  const ttlSeconds = options.ttlSeconds ?? 900;
  const issuer = options.issuer ?? 'koppel';
  const maxFailures = options.rateLimit?.maxFailures ?? 5;
  const windowMs = (options.rateLimit?.windowSeconds ?? 300) * 1000;
  const cacheSize = options.cacheSize ?? 10_000;
  const revocationRefreshMs = (options.revocationRefreshSeconds ?? 5) * 1000;
  const log = options.log;

  const failures = new Map<string, number[]>();
  const verified = new Map<string, CachedPrincipal>();
  let disabled: ReadonlySet<string> | undefined;
  /** When the set was last asked for: a store that does not answer is asked again after the interval, not on every request. */
  let disabledAskedAt = 0;
  let disabledLoading: Promise<void> | undefined;
  let keyring: Keyring | undefined;
  let keyringLoading: Promise<Keyring> | undefined;
  let lastUnknownKidReload = Number.NEGATIVE_INFINITY;

  function recentFailures(clientId: string, nowMs: number): number[] {
    const list = (failures.get(clientId) ?? []).filter((at) => at > nowMs - windowMs);
    if (list.length === 0) failures.delete(clientId);
    else failures.set(clientId, list);
    return list;
  }

  function recordFailure(clientId: string, nowMs: number): void {
    const list = recentFailures(clientId, nowMs);
    list.push(nowMs);
    failures.delete(clientId);
    failures.set(clientId, list);
    if (failures.size > MAX_TRACKED_CLIENTS) {
      const oldest = failures.keys().next().value;
      if (oldest !== undefined) failures.delete(oldest);
    }
  }

  function refuse(
    clientId: string,
    reason: string,
    nowMs: number,
    description = 'client authentication failed',
  ): TokenRefused {
    recordFailure(clientId, nowMs);
    log?.warn({ event: 'oauth2_token_refused', clientId, reason }, 'oauth2_token_refused');
    return { error: 'invalid_client', status: 401, description };
  }

  async function loadKeyring(): Promise<Keyring> {
    let rows = await readKeys();
    if (rows.length === 0) {
      await createSigningKey();
      // Two processes may both have created one; each re-reads and signs with the newest, and both
      // keys are published, so tokens of either verify everywhere.
      rows = await readKeys();
    }
    const newest = rows[0];
    if (!newest) throw new Error('no signing key in the store after creating one');
    const publicKeys = new Map<string, CryptoKey>();
    for (const row of rows)
      publicKeys.set(row.kid, (await importJWK(JSON.parse(row.public_jwk) as JWK, ALGORITHM)) as CryptoKey);
    const privateJwk = JSON.parse(box.open(newest.private_jwk)) as JWK;
    const signingKey = (await importJWK(privateJwk, ALGORITHM)) as CryptoKey;
    return { signingKid: newest.kid, signingKey, publicKeys, loadedAt: now().getTime() };
  }

  function readKeys() {
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
  }

  async function createSigningKey(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        private_jwk: box.seal(JSON.stringify(await exportJWK(privateKey))),
        public_jwk: JSON.stringify(publicJwk),
        created_at: now().getTime(),
        retired_at: null,
      })
      .execute();
  }

  function currentKeyring(force = false): Promise<Keyring> {
    if (!force && keyring && now().getTime() - keyring.loadedAt < KEYRING_TTL_MS)
      return Promise.resolve(keyring);
    keyringLoading ??= loadKeyring()
      .then((loaded) => (keyring = loaded))
      .finally(() => (keyringLoading = undefined));
    return keyringLoading;
  }

  async function publicKeyFor(kid: string | undefined): Promise<CryptoKey> {
    if (kid === undefined) throw new Error('token without kid');
    let ring = await currentKeyring();
    let key = ring.publicKeys.get(kid);
    const nowMs = now().getTime();
    if (!key && nowMs - lastUnknownKidReload >= UNKNOWN_KID_RELOAD_MS) {
      lastUnknownKidReload = nowMs;
      ring = await currentKeyring(true);
      key = ring.publicKeys.get(kid);
    }
    if (!key) throw new Error('unknown kid');
    return key;
  }

  function refreshRevocations(): Promise<void> {
    if (!disabledLoading) disabledAskedAt = now().getTime();
    disabledLoading ??= listDisabledClientIds(db)
      .then((ids) => {
        disabled = new Set(ids);
      })
      .finally(() => (disabledLoading = undefined));
    return disabledLoading;
  }

  async function disabledClients(nowMs: number): Promise<ReadonlySet<string>> {
    if (!disabled) await refreshRevocations();
    else if (nowMs - disabledAskedAt >= revocationRefreshMs) {
      // In the background: the hot path keeps answering from the previous set meanwhile.
      refreshRevocations().catch((error: unknown) =>
        log?.warn({ event: 'revocations_refresh_failed', err: error }, 'revocations_refresh_failed'),
      );
    }
    return disabled ?? new Set();
  }

  async function issue(
    clientId: string,
    clientSecret: string,
    requestedScope?: string,
  ): Promise<TokenResult> {
    const nowDate = now();
    const nowMs = nowDate.getTime();
    const key = clientId.slice(0, MAX_CLIENT_ID_LENGTH);
    const recent = recentFailures(key, nowMs);
    if (recent.length >= maxFailures) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((recent[0] ?? nowMs) + windowMs - nowMs) / 1000));
      log?.warn(
        { event: 'oauth2_token_rate_limited', clientId: key, retryAfterSeconds },
        'oauth2_token_rate_limited',
      );
      return {
        error: 'slow_down',
        status: 429,
        description: `too many failed attempts; retry after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      };
    }
    if (clientId.length > MAX_CLIENT_ID_LENGTH || clientSecret.length > MAX_SECRET_LENGTH)
      return refuse(key, 'oversized', nowMs);
    const apiToken = clientSecret.slice(0, -TOTP_DIGITS);
    const totpCode = clientSecret.slice(-TOTP_DIGITS);
    if (apiToken.length === 0 || !/^\d{6}$/.test(totpCode)) {
      return refuse(
        key,
        'malformed_secret',
        nowMs,
        'client secret must be the API token followed by the 6-digit TOTP code',
      );
    }
    const account = await findAccountCredentials(db, box, clientId);
    if (!account) return refuse(key, 'unknown_client', nowMs);
    if (!box.verifyToken(apiToken, account.tokenHash)) return refuse(key, 'wrong_api_token', nowMs);
    if (account.disabled) return refuse(key, 'disabled', nowMs);
    const totp = await verifyTotp({
      secret: account.totpSecret,
      token: totpCode,
      epoch: Math.floor(nowMs / 1000),
      period: TOTP_PERIOD_SECONDS,
      // One step either side for clock drift between the client and us.
      epochTolerance: TOTP_PERIOD_SECONDS,
    });
    // The functional API types TOTP and HOTP results together; a TOTP match always has `timeStep`.
    if (!totp.valid || !('timeStep' in totp)) return refuse(key, 'wrong_totp', nowMs);

    let scopes: readonly string[] = account.scopes;
    if (requestedScope !== undefined && requestedScope.trim() !== '') {
      const requested = [...new Set(requestedScope.trim().split(/\s+/))];
      const extra = requested.filter((scope) => !account.scopes.includes(scope));
      if (extra.length > 0) {
        log?.warn(
          { event: 'oauth2_token_refused', clientId, reason: 'invalid_scope' },
          'oauth2_token_refused',
        );
        return {
          error: 'invalid_scope',
          status: 400,
          description: `not granted to this account: ${extra.join(' ')}`,
        };
      }
      scopes = requested;
    }

    // A replay needs a correct token and a correct code, so it is not a guess and does not count
    // towards the rate limit; a client that asks twice within one TOTP step only has to wait.
    if (!(await claimTotpStep(db, clientId, totp.timeStep))) {
      log?.warn({ event: 'oauth2_token_refused', clientId, reason: 'replayed_totp' }, 'oauth2_token_refused');
      return {
        error: 'invalid_client',
        status: 401,
        description: 'this TOTP code (or a later one) was already used; wait for the next code',
      };
    }

    const ring = await currentKeyring();
    const iat = Math.floor(nowMs / 1000);
    const scope = scopes.join(' ');
    const accessToken = await new SignJWT({ scope, employers: [...account.employers], client_id: clientId })
      .setProtectedHeader({ alg: ALGORITHM, kid: ring.signingKid, typ: TOKEN_TYPE })
      .setIssuer(issuer)
      .setSubject(clientId)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSeconds)
      .setJti(randomUUID())
      .sign(ring.signingKey);
    log?.info({ event: 'oauth2_token_issued', clientId, scope }, 'oauth2_token_issued');
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ttlSeconds, scope };
  }

  async function verify(bearer: string): Promise<Principal | null> {
    const token =
      bearer.startsWith('Bearer ') || bearer.startsWith('bearer ') ? bearer.slice(7).trim() : bearer;
    if (token === '') return null;
    const nowMs = now().getTime();
    const revoked = await disabledClients(nowMs);
    const hit = verified.get(token);
    if (hit) {
      if (hit.expiresAtMs > nowMs && !revoked.has(hit.principal.clientId)) return hit.principal;
      verified.delete(token);
      return null;
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, (header) => publicKeyFor(header.kid), {
        issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: [ALGORITHM],
        typ: TOKEN_TYPE,
        currentDate: new Date(nowMs),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch {
      return null;
    }
    const { sub, exp, scope, employers } = payload;
    if (typeof sub !== 'string' || typeof exp !== 'number' || typeof scope !== 'string') return null;
    if (!Array.isArray(employers) || !employers.every((e): e is string => typeof e === 'string')) return null;
    if (revoked.has(sub)) return null;
    const principal: Principal = Object.freeze({
      clientId: sub,
      scopes: Object.freeze(scope.split(' ').filter((s) => s !== '')),
      employers: Object.freeze([...employers]),
    });
    if (verified.size >= cacheSize) {
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(token, { principal, expiresAtMs: exp * 1000 });
    return principal;
  }

  async function jwks(): Promise<{ keys: JWK[] }> {
    await currentKeyring();
    // Read fresh rather than from this process's keyring, so a key another process just made is
    // published at once.
    const rows = await readKeys();
    return { keys: rows.map((row) => JSON.parse(row.public_jwk) as JWK) };
  }

  async function handleTokenRequest(request: TokenRequest): Promise<ApiResponse> {
    const parsed = parseTokenRequest(request);
    const result =
      'error' in parsed ? parsed : await issue(parsed.clientId, parsed.clientSecret, parsed.scope);
    return tokenResponse(result, /^Basic\s/i.test(request.authorization ?? ''));
  }

  return { issue, handleTokenRequest, verify, jwks, refreshRevocations };
}

type ParsedTokenRequest = { clientId: string; clientSecret: string; scope?: string } | TokenRefused;

function parseTokenRequest(request: TokenRequest): ParsedTokenRequest {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return invalidRequest('the body must be a form (application/x-www-form-urlencoded) or a JSON object');
  }
  const field = (name: string): string | undefined | null => {
    const value = (body as Record<string, unknown>)[name];
    return value === undefined ? undefined : typeof value === 'string' ? value : null;
  };
  const grantType = field('grant_type');
  if (grantType === undefined || grantType === null) return invalidRequest('grant_type is required');
  if (grantType !== 'client_credentials') {
    return {
      error: 'unsupported_grant_type',
      status: 400,
      description: 'only grant_type=client_credentials is supported',
    };
  }
  const scope = field('scope');
  if (scope === null) return invalidRequest('scope must be a space-separated string');
  const bodyId = field('client_id');
  const bodySecret = field('client_secret');
  if (bodyId === null || bodySecret === null)
    return invalidRequest('client_id and client_secret must be strings');

  const authorization = request.authorization?.trim();
  if (authorization !== undefined && authorization !== '') {
    const [scheme, credentials] = authorization.split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'basic' || credentials === undefined) {
      return { error: 'invalid_client', status: 401, description: 'use HTTP Basic client authentication' };
    }
    if (bodySecret !== undefined) return invalidRequest('use one client authentication method, not both');
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return { error: 'invalid_client', status: 401, description: 'malformed HTTP Basic credentials' };
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined with ':'.
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || clientSecret === undefined) {
      return { error: 'invalid_client', status: 401, description: 'malformed HTTP Basic credentials' };
    }
    if (bodyId !== undefined && bodyId !== clientId)
      return invalidRequest('client_id in the body differs from HTTP Basic');
    return { clientId, clientSecret, ...(scope !== undefined ? { scope } : {}) };
  }
  if (bodyId === undefined || bodySecret === undefined) {
    return {
      error: 'invalid_client',
      status: 401,
      description: 'client authentication required (HTTP Basic, or client_id and client_secret)',
    };
  }
  return { clientId: bodyId, clientSecret: bodySecret, ...(scope !== undefined ? { scope } : {}) };
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function invalidRequest(description: string): TokenRefused {
  return { error: 'invalid_request', status: 400, description };
}

function tokenResponse(result: TokenResult, basicUsed: boolean): ApiResponse {
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache' };
  if (!('error' in result)) return { status: 200, headers, body: result };
  // RFC 6749 §5.2: the Basic challenge answers a client that used Basic. Sent to one that posted its
  // credentials in the body, it makes browsers pop up their own password dialog.
  if (result.status === 401 && basicUsed)
    headers['www-authenticate'] = 'Basic realm="koppel", charset="UTF-8"';
  if (result.retryAfterSeconds !== undefined) headers['retry-after'] = String(result.retryAfterSeconds);
  return {
    status: result.status,
    headers,
    body: { error: result.error, error_description: result.description },
  };
}
