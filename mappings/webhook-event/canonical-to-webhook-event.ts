import { topicOf, type Topic } from './topics.ts';
import { unmappable, type Mapped } from '../kit.ts';

/** The envelope facts the body needs besides `data` (the golden `<case>.context.json`). */
export interface WebhookEventContext {
  /** Koppel's message id: the receiver's de-duplication key. */
  readonly id: string;
  readonly type: string;
  /** CloudEvents `time`, when the sender says the event happened. */
  readonly time?: string;
  /** When Koppel accepted the message (ISO 8601); the timestamp when `time` is absent. */
  readonly receivedAt: string;
}

export type WebhookEventMapped = Mapped<{ readonly topic: Topic; readonly body: string }>;

/**
 * `{ id, topic, timestamp, data }` as the exact bytes to sign and send. The body depends on the
 * message only (not on the attempt), so every attempt, resend and the webhook log carry the same
 * bytes; attempt-specific values (the Standard Webhooks timestamp, the sequence number) travel in
 * headers. Keys of `data` are sorted so that the bytes do not depend on how the sender ordered them.
 */
export function canonicalToWebhookEvent(data: unknown, context: WebhookEventContext): WebhookEventMapped {
  const topic = topicOf(context.type);
  if (topic === undefined) return unmappable(`no-topic:${context.type}`);
  const timestamp = context.time ?? context.receivedAt;
  const body = `{"id":${JSON.stringify(context.id)},"topic":${JSON.stringify(topic)},"timestamp":${JSON.stringify(
    timestamp,
  )},"data":${stableJson(data)}}`;
  return { ok: true, value: { topic, body } };
}

/** JSON with sorted keys, built as one string: the entry arrays of a map-and-join were the adapter's main garbage. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += `${i > 0 ? ',' : ''}${item === undefined ? 'null' : stableJson(item)}`;
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  let out = '';
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item !== undefined) out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${stableJson(item)}`;
  }
  return `{${out}}`;
}
