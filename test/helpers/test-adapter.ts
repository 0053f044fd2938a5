import { classifyHttp, type AdapterDefinition } from '../../gateway/adapter-kit/index.ts';

export interface TestHttpSettings {
  /** Where to POST; one delivery per URL. */
  readonly urls: readonly string[];
  readonly token?: string;
}

/**
 * The adapter that proves the core's contract before real adapters exist, and drives the core's
 * benchmarks: it POSTs `{ id, type, data }` to each configured URL and classifies with the kit.
 * A message whose `subject` is `crash` makes it throw, as a bug would; one whose `subject` is `alert`
 * raises an alert with every transient outcome, as an adapter does for a change that waits too long.
 */
export function testHttpAdapter(
  accepts: readonly string[] = ['nl.accounts.account-gewijzigd'],
): AdapterDefinition<TestHttpSettings> {
  return {
    name: 'test-http',
    accepts,
    settingsSchema: {
      type: 'object',
      required: ['urls'],
      properties: {
        urls: { type: 'array', items: { type: 'string' } },
        token: { type: 'string', writeOnly: true },
      },
    },
    retry: { delaysMs: [100, 200], afterLast: 'fail', jitter: 0, retryAfter: 'clamp' },
    attemptTimeoutMs: 5000,
    async create(ctx) {
      return {
        async plan() {
          return ctx.settings.urls.map((url, i) => ({ target: `url-${i}`, label: url }));
        },
        async deliver(delivery, attempt) {
          if (delivery.message.subject === 'crash') throw new TypeError('a bug in the test adapter');
          const url = ctx.settings.urls[Number(delivery.target.slice(4))] ?? '';
          const body = JSON.stringify({
            id: delivery.message.id,
            type: delivery.message.type,
            data: delivery.message.data,
          });
          const result = await ctx.http.send({
            method: 'POST',
            url,
            headers: {
              'content-type': 'application/json',
              'x-koppel-message-id': delivery.message.id,
              'x-koppel-sequence': String(delivery.sequence),
              ...(ctx.settings.token ? { authorization: `Bearer ${ctx.settings.token}` } : {}),
            },
            body,
            signal: attempt.signal,
          });
          const outcome = classifyHttp(result, { summary: `POST ${url}`, body }, attempt.now);
          if (delivery.message.subject === 'alert' && outcome.kind === 'transient')
            return { ...outcome, alert: { code: 'partner-waiting', detail: 'the partner keeps refusing' } };
          return outcome;
        },
        async health() {
          const url = ctx.settings.urls[0];
          if (!url) return { ok: true };
          const result = await ctx.http.send({ method: 'GET', url, timeoutMs: 1000 });
          return result.kind === 'response' ? { ok: true } : { ok: false, detail: result.message };
        },
        async close() {},
      };
    },
  };
}

/** startGateway's adapter options: the test adapter, one delivery per URL of `urls`. */
export function withTestAdapter(urls: readonly string[], accepts?: readonly string[]) {
  return {
    adapters: [testHttpAdapter(accepts)],
    adapterSettings: { 'test-http': { urls } satisfies TestHttpSettings },
  };
}
