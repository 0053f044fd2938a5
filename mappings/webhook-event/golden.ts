import type { GoldenSpec } from '../kit.ts';
import { canonicalToWebhookEvent, type WebhookEventContext } from './canonical-to-webhook-event.ts';

/** The expected file is the exact body bytes that are signed and sent. */
export const golden: GoldenSpec = {
  inputType: (context) => (context as WebhookEventContext).type,
  extension: 'json',
  run(input, context) {
    const result = canonicalToWebhookEvent(input, context as WebhookEventContext);
    return result.ok ? { ok: true, value: result.value.body } : result;
  },
};
