import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new signing secret in the Standard Webhooks form (`whsec_` + base64 of 32 random bytes). */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The key bytes of a secret as Standard Webhooks libraries read it: the base64 after `whsec_`.
 * A secret without the prefix (a WebSub subscriber's own `hub.secret`) is used as UTF-8 bytes,
 * which is what `new Webhook(secret, { format: 'raw' })` expects on the receiving side.
 */
function keyOf(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * `webhook-id`, `webhook-timestamp`, `webhook-signature` per the Standard Webhooks specification:
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one space-separated signature per valid secret
 * (so that a receiver holding either secret accepts it while a rotation overlaps).
 */
export function standardWebhooksHeaders(
  messageId: string,
  now: Date,
  body: string,
  secrets: readonly string[],
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000).toString();
  const signed = `${messageId}.${timestamp}.${body}`;
  const signatures = secrets.map(
    (secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed, 'utf8').digest('base64')}`,
  );
  return {
    'webhook-id': messageId,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}
