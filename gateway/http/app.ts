import { randomUUID } from 'node:crypto';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { OpenAPIBackend, type Context } from 'openapi-backend';
import type { Logger } from 'pino';
import type {
  ApiRequest,
  ApiResponse,
  OperationHandlers,
  Principal,
  ProblemFieldError,
} from '../adapter-kit/api.ts';
import { isStoreUnavailable } from '../store/db.ts';
import type { BodyBudget } from './body-budget.ts';
import { completeProblem, problemBody, PROBLEM_MEDIA_TYPE } from './problem.ts';

export interface AppDeps {
  readonly log: Logger;
  /** The merged OpenAPI document (core + adapters). */
  readonly document: Record<string, unknown>;
  readonly handlers: OperationHandlers;
  readonly verifyBearer: (token: string) => Promise<Principal | null>;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  /** Admits ingest posts before their body is read. */
  readonly ingestBudget: BodyBudget;
  /** Extra non-API routes (health, metrics, portal), registered before the catch-all. */
  readonly extraRoutes?: (app: FastifyInstance) => void;
  /** Operations answered with 503 (a `worker` process serves no API). */
  readonly serving: () => boolean;
}

/**
 * Operations whose handler judges the body: the canonical validator (envelope + data, every pointer
 * at once), and the token endpoint, which must answer in RFC 6749's error format, not a problem.
 */
const VALIDATED_BY_HANDLER = new Set(['messages.post', 'messages.postBatch', 'oauth2.token']);
const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];
const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** A store that did not answer is usually back within seconds (a restart, a failover, a lock released). */
const STORE_RETRY_AFTER_SECONDS = 5;
// Invalid UTF-8 must be refused, not turned into U+FFFD and stored; a BOM stays and fails JSON.parse.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// An escaped NUL (an odd number of backslashes before u0000): PostgreSQL text cannot hold U+0000.
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/**
 * openapi-backend as the gateway routes and validates with it. Not quick, it also checks the document
 * against the OpenAPI schema and compiles every validator when initialised.
 */
export function openApiBackend(document: unknown, options: { readonly quick: boolean }): OpenAPIBackend {
  return new OpenAPIBackend({
    definition: document as never,
    strict: true,
    quick: options.quick,
    validate: (c: Context) => !VALIDATED_BY_HANDLER.has(c.operation?.operationId ?? ''),
    ajvOpts: { allErrors: true, strict: false },
    customizeAjv: (ajv) => {
      addFormats.default(ajv);
      return ajv;
    },
    coerceTypes: true,
  });
}

/**
 * Fastify carries HTTP; openapi-backend routes and validates against the OpenAPI documents, which
 * are the source of truth for paths, parameters and bodies (docs/decisions/0002-fastify-and-openapi-backend.md).
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Quick: validators are compiled on an operation's first request and the document is not checked
  // against the OpenAPI schema here (test/unit/gateway/openapi-document.test.ts does both). Compiling
  // all of them at start left ~90 MB of garbage that V8 kept as resident heap under load.
  const api = openApiBackend(deps.document, { quick: true });
  api.register({
    notFound: () => problemResponse('not-found', 'No route matches this path.'),
    methodNotAllowed: () => problemResponse('method-not-allowed', 'The route does not take this method.'),
    // Admission first: a caller without the right token learns nothing about the request's shape.
    validationFail: async (c: Context, request: FastifyRequest) => {
      const admitted = await admit(c.operation as unknown as OperationObject, request);
      if ('refused' in admitted) return admitted.refused;
      return problemResponse(
        'validation-failed',
        'The request does not match the API description.',
        fieldErrors(c),
      );
    },
  });
  for (const [operationId, handler] of Object.entries(deps.handlers)) {
    api.register(operationId, (c: Context, request: FastifyRequest) =>
      guarded(
        c.operation as unknown as OperationObject,
        c.request.params ?? {},
        c.request.query ?? {},
        request,
        handler,
      ),
    );
  }
  await api.init();

  /** Role, token, scope and media type, in that order: what decides before the request's shape does. */
  async function admit(
    operation: OperationObject,
    request: FastifyRequest,
  ): Promise<{ principal?: Principal } | { refused: ApiResponse }> {
    if (!deps.serving())
      return {
        refused: problemResponse('unavailable', 'This process does not serve the API (KOPPEL_ROLE=worker).'),
      };
    let principal: Principal | undefined;
    const publicOperation = Array.isArray(operation.security) && operation.security.length === 0;
    if (!publicOperation) {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match?.[1])
        return {
          refused: withChallenge(
            problemResponse(
              'unauthorized',
              'Send an access token from POST /oauth2/token as "Authorization: Bearer <token>".',
            ),
          ),
        };
      principal = (await deps.verifyBearer(match[1])) ?? undefined;
      if (!principal)
        return {
          refused: withChallenge(problemResponse('unauthorized', 'The access token is invalid or expired.')),
        };
      const scope = operation['x-koppel-scope'];
      if (scope && !principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
        return { refused: problemResponse('forbidden', `This operation needs the scope "${scope}".`) };
      }
    }
    const mediaTypes = Object.keys(operation.requestBody?.content ?? {});
    if (mediaTypes.length > 0 && request.body !== undefined) {
      const contentType =
        String(request.headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase() ?? '';
      if (!mediaTypes.includes(contentType)) {
        return {
          refused: problemResponse(
            'unsupported-media-type',
            `This route takes ${mediaTypes.join(' or ')}, not "${contentType || 'none'}".`,
          ),
        };
      }
    }
    return principal ? { principal } : {};
  }

  async function guarded(
    operation: OperationObject,
    params: Record<string, unknown>,
    query: Record<string, unknown>,
    request: FastifyRequest,
    handler: (r: ApiRequest) => Promise<ApiResponse>,
  ): Promise<ApiResponse> {
    const admitted = await admit(operation, request);
    if ('refused' in admitted) return admitted.refused;
    const { principal } = admitted;
    return handler({
      operationId: operation.operationId,
      params: params as Record<string, string>,
      query: query as Record<string, string | string[] | undefined>,
      headers: request.headers,
      body: request.body,
      ...(principal ? { principal } : {}),
    });
  }

  const app = Fastify({ logger: false, bodyLimit: DEFAULT_BODY_LIMIT });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    if ((body as Buffer).length === 0) return done(null, undefined);
    const malformed = (message: string) =>
      done(Object.assign(new Error(message), { statusCode: 400, code: 'KOPPEL_MALFORMED_JSON' }), undefined);
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      return malformed('The body is not valid UTF-8.');
    }
    if (ESCAPED_NUL.test(text))
      return malformed('The body contains U+0000 (NUL), which Koppel does not store.');
    try {
      done(null, JSON.parse(text));
    } catch {
      malformed('The body is not valid JSON.');
    }
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams((body as Buffer).toString('utf8'))));
    },
  );

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error.code === 'KOPPEL_MALFORMED_JSON')
      return sendProblem(reply, problemBody('malformed-json', error.message));
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendProblem(
        reply,
        problemBody('payload-too-large', 'The body is larger than this route accepts.'),
      );
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendProblem(
        reply,
        problemBody(
          'unsupported-media-type',
          `Unsupported Content-Type "${request.headers['content-type'] ?? ''}".`,
        ),
      );
    }
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return sendProblem(reply, problemBody('malformed-json', 'The body is empty or its length is wrong.'));
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(
        reply,
        problemBody('validation-failed', error.message, { status: error.statusCode }),
      );
    }
    if (isStoreUnavailable(error)) {
      deps.log.warn({ err: error, url: request.url }, 'store_unavailable');
      reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
      return sendProblem(
        reply,
        problemBody(
          'store-unavailable',
          'The store did not answer; nothing was stored. Send it again shortly.',
        ),
      );
    }
    const correlation = randomUUID();
    deps.log.error({ err: error, correlation, url: request.url }, 'request_failed');
    return sendProblem(
      reply,
      problemBody('internal', `An internal error occurred (correlation id ${correlation}).`),
    );
  });

  deps.extraRoutes?.(app);

  const send = (reply: FastifyReply, answer: ApiResponse): FastifyReply => {
    const response = completeProblem(answer);
    reply.code(response.status);
    for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
    if (response.body === undefined) return reply.send();
    if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) return reply.send(response.body);
    if (!response.headers?.['content-type']) reply.type('application/json');
    return reply.send(JSON.stringify(response.body));
  };
  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const [path, search] = splitUrl(request.url);
    const answer = (await api.handleRequest(
      {
        method: request.method,
        path,
        query: search,
        headers: request.headers as Record<string, string>,
        body: request.body,
      },
      request,
    )) as ApiResponse;
    return send(reply, answer);
  };
  // The hot routes skip openapi-backend's router: their operation is known, and their bodies are the
  // canonical validator's to judge. Admission (role, token, scope, media type) is the same code.
  const direct = (operationId: string) => {
    const operation = api.getOperation(operationId) as unknown as OperationObject | undefined;
    const handler = deps.handlers[operationId];
    if (!operation || !handler) throw new Error(`the OpenAPI documents lack ${operationId}`);
    return async (request: FastifyRequest, reply: FastifyReply) =>
      send(reply, await guarded(operation, {}, {}, request, handler));
  };
  // Before the body is read: a post waiting for room leaves its bytes in the socket.
  const withinBudget = (bodyLimit: number) => ({
    bodyLimit,
    onRequest: async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const length = Number(request.headers['content-length']);
      const ticket = deps.ingestBudget.take(
        Number.isSafeInteger(length) && length >= 0 ? Math.min(length, bodyLimit) : bodyLimit,
      );
      // 'close' comes once the response is sent, or when the client goes away, admitted or not.
      reply.raw.once('close', ticket.release);
      await ticket.admitted;
    },
  });
  app.post('/v1/messages', withinBudget(deps.maxMessageBytes), direct('messages.post'));
  app.post('/v1/messages/batch', withinBudget(deps.maxBatchBytes), direct('messages.postBatch'));
  app.all('/*', dispatch);
  return app;
}

interface OperationObject {
  readonly operationId: string;
  readonly security?: unknown[];
  readonly 'x-koppel-scope'?: string;
  readonly requestBody?: { readonly content?: Record<string, unknown> };
}

function splitUrl(url: string): [string, string] {
  const index = url.indexOf('?');
  return index < 0 ? [url, ''] : [url.slice(0, index), url.slice(index + 1)];
}

function sendProblem(reply: FastifyReply, body: ReturnType<typeof problemBody>): FastifyReply {
  return reply.code(body.status).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(body));
}

export function problemResponse(
  slug: string,
  detail: string,
  errors?: readonly ProblemFieldError[],
): ApiResponse {
  const body = problemBody(slug, detail, errors ? { errors } : {});
  return { status: body.status, headers: { 'content-type': PROBLEM_MEDIA_TYPE }, body };
}

function withChallenge(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...response.headers, 'www-authenticate': 'Bearer realm="koppel"' } };
}

/** openapi-backend's Ajv errors as `{ pointer, detail }` into the request: `/body/note`, `/query/limit`. */
function fieldErrors(c: Context): ProblemFieldError[] {
  return (c.validation.errors ?? []).map((error) => {
    let pointer = error.instancePath.replace(/^\/requestBody/, '/body');
    if (pointer === '') pointer = '/body';
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string')
      pointer += `/${params.missingProperty}`;
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      return { pointer: `${pointer}/${params.additionalProperty}`, detail: 'is not an allowed property' };
    }
    if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      return { pointer, detail: `must be one of ${params.allowedValues.join(', ')}` };
    }
    return { pointer, detail: error.message ?? 'is invalid' };
  });
}
