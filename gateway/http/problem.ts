import catalogue from '../../schemas/problems/problem-types.json' with { type: 'json' };
import type { ApiResponse, ProblemFieldError } from '../adapter-kit/api.ts';

export interface ProblemType {
  readonly slug: string;
  readonly title: string;
  readonly status: number;
  readonly when: string;
}

const types = new Map<string, ProblemType>(catalogue.types.map((t) => [t.slug, t]));

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export function problemTypes(): readonly ProblemType[] {
  return [...types.values()];
}

export function problemUri(slug: string): string {
  return `urn:koppel:problem:${slug}`;
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly errors?: readonly ProblemFieldError[];
  readonly [extension: string]: unknown;
}

/** Builds the RFC 9457 body for a catalogued slug; an unknown slug is a bug and becomes `internal`. */
export function problemBody(
  slug: string,
  detail: string,
  extra: { errors?: readonly ProblemFieldError[]; instance?: string; status?: number } = {},
): ProblemBody {
  const type = types.get(slug) ?? types.get('internal');
  if (!type) throw new Error('problem catalogue lacks "internal"');
  return {
    type: problemUri(type.slug),
    title: type.title,
    status: extra.status ?? type.status,
    detail,
    ...(extra.instance ? { instance: extra.instance } : {}),
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
}

/** Completes a handler's `problem(slug, …)` answer (see adapter-kit/api.ts) into the full body. */
export function completeProblem(response: ApiResponse): ApiResponse {
  if (response.headers?.['content-type'] !== PROBLEM_MEDIA_TYPE) return response;
  const body = response.body as
    { type?: unknown; detail?: unknown; errors?: ProblemFieldError[] } | undefined;
  if (typeof body?.type !== 'string' || body.type.startsWith('urn:')) return response;
  return {
    ...response,
    headers: { ...response.headers, 'content-type': PROBLEM_MEDIA_TYPE },
    body: {
      ...body,
      ...problemBody(body.type, String(body.detail ?? ''), {
        status: response.status,
        ...(body.errors ? { errors: body.errors } : {}),
      }),
    },
  };
}
