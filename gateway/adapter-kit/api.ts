/**
 * Handlers for operations declared in OpenAPI documents. The core routes and validates the
 * request (openapi-backend) and checks the token's scope (the operation's `x-koppel-scope`)
 * before a handler runs, so a handler sees only well-formed, authorised input.
 */
export interface Principal {
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Employers the account may see; `['*']` for all. */
  readonly employers: readonly string[];
}

export interface ApiRequest {
  readonly operationId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  /** Absent only on partner routes, which check the partner's own credential. */
  readonly principal?: Principal;
}

export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type OperationHandler = (request: ApiRequest) => Promise<ApiResponse>;
export type OperationHandlers = Readonly<Record<string, OperationHandler>>;

export interface ProblemFieldError {
  /** JSON pointer into the request (`/body/url`, `/query/since`). */
  readonly pointer: string;
  readonly detail: string;
}

/**
 * An RFC 9457 problem answer. `type` is a slug from `schemas/problems/problem-types.json`
 * (the catalogue test fails on an unknown slug); the core turns it into the full URI and title.
 */
export function problem(
  type: string,
  status: number,
  detail: string,
  errors?: readonly ProblemFieldError[],
): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type, status, detail, ...(errors && errors.length > 0 ? { errors } : {}) },
  };
}

export function ok(body: unknown, status = 200, headers?: Readonly<Record<string, string>>): ApiResponse {
  return { status, body, ...(headers ? { headers } : {}) };
}
