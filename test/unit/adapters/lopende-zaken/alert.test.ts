import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALERT_CODE, duration, withAlert } from '../../../../adapters/lopende-zaken/alert.ts';
import {
  delivered,
  rejected,
  skipped,
  transient,
  type Delivery,
} from '../../../../gateway/adapter-kit/index.ts';

const data = JSON.parse(
  readFileSync(
    new URL('../../../../mappings/lopende-zaken/golden/status-ontvangen.input.json', import.meta.url),
    'utf8',
  ),
) as {
  zaak: { identificatie: string };
};
const receivedAt = new Date('2025-04-01T12:00:00.000Z');
const delivery = {
  id: 'd1',
  adapter: 'lopende-zaken',
  target: 'mijnoverheid',
  message: {
    id: 'm1',
    type: 'nl.zaken.zaak-status-gezet',
    source: 'urn:test',
    eventId: 'e1',
    receivedAt,
    data,
    envelope: {},
  },
} as unknown as Delivery;
const DAY = 86_400_000;
const after = (ms: number) => new Date(receivedAt.getTime() + ms);

describe('lopende-zaken rule 4: a change waiting too long raises an alert', () => {
  it('a transient outcome of a change older than the alert age carries the alert, with zaak, wait and reason', () => {
    const outcome = withAlert(
      transient('Digikoppeling: connection refused'),
      delivery,
      after(DAY + 2 * 3_600_000 + 5 * 60_000),
      DAY,
    );
    assert.equal(outcome.kind, 'transient');
    assert.deepEqual(outcome.kind === 'transient' ? outcome.alert : undefined, {
      code: ALERT_CODE,
      detail: `${data.zaak.identificatie} has waited 1 d 2 h 5 min since 2025-04-01T12:00:00.000Z: Digikoppeling: connection refused`,
    });
    assert.equal(outcome.reason, 'Digikoppeling: connection refused');
  });

  it('no alert up to the alert age', () => {
    const outcome = withAlert(transient('down'), delivery, after(DAY), DAY);
    assert.equal(outcome.kind === 'transient' ? outcome.alert : 'not transient', undefined);
  });

  it('an outcome that ends the change never carries an alert', () => {
    for (const outcome of [delivered(), rejected('no', {}), skipped('bsn-not-reachable', 'no')]) {
      assert.equal(withAlert(outcome, delivery, after(2 * DAY), DAY), outcome);
    }
  });

  for (const [ms, text] of [
    [1500, '1 s'],
    [60_000, '1 min'],
    [3_600_000, '1 h'],
    [DAY + 60_000, '1 d 1 min'],
  ] as const) {
    it(`duration ${ms} ms → ${text}`, () => assert.equal(duration(ms), text));
  }
});
