import {
  classifyHttp,
  rejected,
  transient,
  type Evidence,
  type GuardedHttp,
  type HttpResponse,
  type Outcome,
} from '../../gateway/adapter-kit/index.ts';
import { parseRetryAfter } from '../../gateway/adapter-kit/http.ts';
import type { OAuth2Client, TokenCache } from './oauth2-token.ts';
import { standardWebhooksHeaders } from './standard-webhooks-signature.ts';
import { websubLinks, websubSignature, type WebSubAlgorithm } from './websub-signature.ts';

/** One recipient, secrets opened, as the transport needs it. */
export interface SendTarget {
  readonly id: string;
  readonly url: string;
  readonly auth:
    | { readonly protocol: 'websub'; readonly algorithm: WebSubAlgorithm; readonly secret: string }
    | { readonly protocol: 'oauth2'; readonly client: OAuth2Client; readonly cacheKey: string };
  /** Secrets for Standard Webhooks signatures (current first), or undefined when not asked for. */
  readonly standardWebhooksSecrets?: readonly string[];
}

export interface SendInput {
  readonly target: SendTarget;
  readonly messageId: string;
  readonly topic: string;
  readonly body: string;
  readonly sequence: number;
  readonly hubUrl: string;
  readonly topicUrl: string;
  readonly now: Date;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

export interface SendResult {
  readonly outcome: Outcome;
  /** 410 Gone: the receiver ended its subscription (WebSub); the recipient is to be disabled. */
  readonly gone: boolean;
}

/**
 * One POST of a webhook event, signed per the recipient's protocol. With OAuth2, a 401 answer gets
 * one fresh token and one immediate second request within the same attempt (the cached token may
 * have been revoked early); a second 401 is classified like any other answer.
 */
export async function sendWebhook(
  http: GuardedHttp,
  tokens: TokenCache,
  input: SendInput,
): Promise<SendResult> {
  const { target } = input;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Koppel-Webhooks/1',
    'x-koppel-message-id': input.messageId,
    'x-koppel-topic': input.topic,
    'x-koppel-sequence': String(input.sequence),
  };
  if (target.standardWebhooksSecrets && target.standardWebhooksSecrets.length > 0) {
    Object.assign(
      headers,
      standardWebhooksHeaders(input.messageId, input.now, input.body, target.standardWebhooksSecrets),
    );
  }
  const request = { summary: `POST ${target.url}`, body: input.body };
  const post = (extra: Record<string, string>) =>
    http.send({
      method: 'POST',
      url: target.url,
      headers: { ...headers, ...extra },
      body: input.body,
      timeoutMs: input.timeoutMs,
      signal: input.signal,
    });

  if (target.auth.protocol === 'websub') {
    const result = await post({
      'x-hub-signature': websubSignature(input.body, target.auth.secret, target.auth.algorithm),
      link: websubLinks(input.hubUrl, input.topicUrl),
    });
    return classifyWebhook(result, request, input.now);
  }

  const { client, cacheKey } = target.auth;
  const first = await tokens.token(cacheKey, client, input.now, input.signal);
  if (!first.ok) return { outcome: first.outcome, gone: false };
  let result = await post({ authorization: `Bearer ${first.token}` });
  if (result.kind === 'response' && result.status === 401) {
    const fresh = await tokens.token(cacheKey, client, input.now, input.signal, first.token);
    if (!fresh.ok) return { outcome: fresh.outcome, gone: false };
    result = await post({ authorization: `Bearer ${fresh.token}` });
  }
  return classifyWebhook(result, request, input.now);
}

/**
 * The kit's HTTP classification, adjusted as the webhook sources ask (STYLE.md §4): every answer
 * other than 2xx is retried on the schedule, except 410 Gone, with which WebSub lets a subscriber
 * end its subscription. Retry-After is read on 429 and 503 only, the two answers that define it.
 */
export function classifyWebhook(
  result: Parameters<typeof classifyHttp>[0],
  request: Evidence['request'],
  now: Date,
): SendResult {
  const outcome = classifyHttp(result, request, now);
  if (result.kind !== 'response' || outcome.kind === 'delivered' || outcome.kind === 'skipped')
    return { outcome, gone: false };
  const evidence = outcome.evidence ?? {};
  if (result.status === 410) {
    return {
      outcome: rejected(
        'HTTP 410 Gone: the receiver ended the subscription; recipient disabled',
        evidence,
        'http-410',
      ),
      gone: true,
    };
  }
  return { outcome: transient(`HTTP ${result.status}`, evidence, retryAfterOf(result, now)), gone: false };
}

function retryAfterOf(response: HttpResponse, now: Date): number | undefined {
  return response.status === 429 || response.status === 503
    ? parseRetryAfter(response.headers['retry-after'], now)
    : undefined;
}
