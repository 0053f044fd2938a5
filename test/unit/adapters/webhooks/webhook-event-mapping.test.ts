import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { canonicalToWebhookEvent } from '../../../../mappings/webhook-event/canonical-to-webhook-event.ts';
import { ALL_TOPICS, TOPICS, topicOf, typeOfTopic } from '../../../../mappings/webhook-event/topics.ts';

describe('webhook-event mapping: properties', () => {
  const context = { id: 'a1', type: 'nl.accounts.account-gewijzigd', receivedAt: '2025-01-01T00:00:00.000Z' };

  it('gives the same bytes whatever order the sender put the keys in', () => {
    const a = canonicalToWebhookEvent({ b: 1, a: { y: [1, { d: 2, c: 3 }], x: null } }, context);
    const b = canonicalToWebhookEvent({ a: { x: null, y: [1, { c: 3, d: 2 }] }, b: 1 }, context);
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.body, b.value.body);
    assert.equal(
      a.value.body,
      '{"id":"a1","topic":"Accounts.Update","timestamp":"2025-01-01T00:00:00.000Z","data":{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}}',
    );
  });

  it('is { id, topic, timestamp, data } with the event time as timestamp when there is one', () => {
    const result = canonicalToWebhookEvent({ k: 'v' }, { ...context, time: '2024-12-31T23:00:00Z' });
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(JSON.parse(result.value.body)), ['id', 'topic', 'timestamp', 'data']);
    assert.equal(JSON.parse(result.value.body).timestamp, '2024-12-31T23:00:00Z');
  });

  it('maps every topic to one type and back', () => {
    assert.equal(new Set(ALL_TOPICS).size, Object.keys(TOPICS).length);
    for (const [type, topic] of Object.entries(TOPICS)) {
      assert.equal(topicOf(type), topic);
      assert.equal(typeOfTopic(topic), type);
    }
    assert.equal(topicOf('toString'), undefined);
    assert.equal(topicOf('nl.communicatie.email-verzocht'), undefined);
  });

  it('has a topic for every canonical type except mail requests', () => {
    const dir = new URL('../../../../schemas/canonical/', import.meta.url);
    const types = readdirSync(dir)
      .filter((f) => f.endsWith('.schema.json') && f !== 'envelope.schema.json')
      .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8'))['x-koppel-type'] as string);
    assert.deepEqual(
      types.filter((t) => topicOf(t) === undefined),
      ['nl.communicatie.email-verzocht'],
    );
  });
});
