import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  newSigningSecret,
  standardWebhooksHeaders,
} from '../../../../adapters/webhooks/standard-webhooks-signature.ts';
import { websubLinks, websubSignature } from '../../../../adapters/webhooks/websub-signature.ts';

/** What a WebSub subscriber does (WebSub §8): recompute the HMAC over the raw body, compare in constant time. */
function subscriberAccepts(header: string, body: string, secret: string): boolean {
  const [method, hex] = header.split('=');
  if ((method !== 'sha256' && method !== 'sha1') || hex === undefined) return false;
  const expected = createHmac(method, secret).update(Buffer.from(body, 'utf8')).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhooks: WebSub signature', () => {
  const body =
    '{"id":"m-1","topic":"Accounts.Update","timestamp":"2025-01-01T00:00:00Z","data":{"naam":"Zoë ✓"}}';

  it('is sha256=<hex HMAC of the exact body bytes>, checked by an independent verifier', () => {
    const secret = newSigningSecret();
    const header = websubSignature(body, secret);
    assert.match(header, /^sha256=[0-9a-f]{64}$/);
    assert.ok(subscriberAccepts(header, body, secret));
    assert.ok(!subscriberAccepts(header, body.replace('Zoë', 'Zoe'), secret), 'one changed byte fails');
    assert.ok(!subscriberAccepts(header, body, newSigningSecret()), 'another secret fails');
  });

  it('uses sha1 only when asked', () => {
    const header = websubSignature(body, 'subscriber-secret', 'sha1');
    assert.match(header, /^sha1=[0-9a-f]{40}$/);
    assert.ok(subscriberAccepts(header, body, 'subscriber-secret'));
  });

  it('links the hub and the topic', () => {
    assert.equal(
      websubLinks(
        'https://koppel.example/websub/hub',
        'https://koppel.example/websub/topics/Accounts.Update',
      ),
      '<https://koppel.example/websub/hub>; rel="hub", <https://koppel.example/websub/topics/Accounts.Update>; rel="self"',
    );
  });
});

describe('webhooks: Standard Webhooks signature', () => {
  const body = '{"id":"m-2","topic":"Absences.Create","timestamp":"2025-01-01T00:00:00Z","data":{}}';

  it('verifies with the standardwebhooks package', () => {
    const secret = newSigningSecret();
    const headers = standardWebhooksHeaders('m-2', new Date(), body, [secret]);
    assert.equal(headers['webhook-id'], 'm-2');
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(newSigningSecret()).verify(body, headers), /No matching signature/);
    assert.throws(
      () => new Webhook(secret).verify(body.replace('{}', '{"x":1}'), headers),
      /No matching signature/,
    );
  });

  it('carries one signature per secret while a rotation overlaps, each accepted on its own', () => {
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const headers = standardWebhooksHeaders('m-2', new Date(), body, [current, previous]);
    assert.equal(headers['webhook-signature']?.split(' ').length, 2);
    assert.doesNotThrow(() => new Webhook(current).verify(body, headers));
    assert.doesNotThrow(() => new Webhook(previous).verify(body, headers));
  });

  it('is refused by the receiver when the timestamp is stale (replay protection on their side)', () => {
    const secret = newSigningSecret();
    const headers = standardWebhooksHeaders('m-2', new Date(Date.now() - 3_600_000), body, [secret]);
    assert.throws(() => new Webhook(secret).verify(body, headers), /timestamp too old/i);
  });

  it("signs with a subscriber's own (unprefixed) secret as raw bytes", () => {
    const headers = standardWebhooksHeaders('m-2', new Date(), body, ['plain text secret']);
    assert.doesNotThrow(() => new Webhook('plain text secret', { format: 'raw' }).verify(body, headers));
  });
});
