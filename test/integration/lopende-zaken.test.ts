import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lopendeZaken } from '../../adapters/lopende-zaken/index.ts';
import type { LopendeZakenSettings } from '../../adapters/lopende-zaken/settings.ts';
import { describeAdapterConformance } from '../conformance/adapter-conformance.ts';
import { makeTestCa, type TestCa } from '../helpers/certs.ts';
import { exampleData, startGateway, type TestGateway } from '../helpers/gateway.ts';
import {
  findPartnerContracts,
  requirePartnerContracts,
  startValidatieServer,
  startZakLk01Server,
  VALIDATIE_ACTION,
  ZAK_LK01_ACTION,
  type PartnerContracts,
  type ValidatiePartner,
  type ZakLk01Partner,
  KOPPEL_TEST_OIN,
  lopendeZakenSettingsFor,
} from '../helpers/servers/soap-partner.ts';

const BSN = '999990019';
const OTHER_BSN = '999993653';

function settingsFor(
  ca: TestCa,
  contracts: PartnerContracts,
  zaken: ZakLk01Partner,
  validatie: ValidatiePartner,
  profile: '2W-be' | '2W-be-S' = '2W-be',
): LopendeZakenSettings {
  return lopendeZakenSettingsFor(ca, contracts, zaken, validatie, { profile, timeoutMs: 5000 });
}

interface Change {
  readonly zaak?: string;
  readonly bsn?: string;
  readonly authentiek?: boolean;
  readonly informeren?: boolean;
  readonly status?: string;
  readonly volgnummer?: number;
  readonly at?: string;
}

function statusEvent(change: Change = {}): Record<string, unknown> {
  const data = structuredClone(exampleData('nl.zaken.zaak-status-gezet')) as Record<string, any>;
  if (change.zaak) data.zaak.identificatie = change.zaak;
  data.zaak.initiator.bsn = change.bsn ?? BSN;
  data.zaak.initiator.authentiek = change.authentiek ?? true;
  data.status.statustype.informeren = change.informeren ?? true;
  if (change.status) data.status.statustype.omschrijving = change.status;
  if (change.volgnummer) data.status.statustype.volgnummer = change.volgnummer;
  if (change.at) data.status.datumStatusGezet = change.at;
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'urn:nld:oin:00000001002220647000:systeem:zaaksysteem',
    type: 'nl.zaken.zaak-status-gezet',
    time: '2025-04-01T14:30:00+02:00',
    datacontenttype: 'application/json',
    data,
  };
}

describe('lopende-zaken: status changes to MijnOverheid over Digikoppeling WUS (mutual TLS)', function () {
  this.timeout(60_000);
  let contracts: PartnerContracts;
  let ca: TestCa;
  let zaken: ZakLk01Partner;
  let validatie: ValidatiePartner;
  const gateways: TestGateway[] = [];

  before(async function () {
    contracts = requirePartnerContracts(this);
    ca = makeTestCa();
    zaken = await startZakLk01Server({ ca, contracts });
    validatie = await startValidatieServer({ ca, contracts });
  });

  after(async () => {
    await zaken?.close();
    await validatie?.close();
  });

  beforeEach(() => {
    zaken.reset();
    validatie.reset();
  });

  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.stop();
    await zaken.start();
    await validatie.start();
  });

  /** A gateway with the adapter; the send interval is made short unless `interval` is null. */
  async function start(
    options: { profile?: '2W-be' | '2W-be-S'; interval?: number | null } = {},
  ): Promise<TestGateway> {
    const gw = await startGateway({
      adapters: [lopendeZaken],
      adapterSettings: { 'lopende-zaken': settingsFor(ca, contracts, zaken, validatie, options.profile) },
      env: { KOPPEL_RETRY_LOPENDE_ZAKEN: '50ms' },
    });
    gateways.push(gw);
    if (options.interval !== null) await setInterval(gw, options.interval ?? 100);
    else await startupRunDone(gw);
    return gw;
  }

  /** The run at start-up is over, so that changes posted now wait for the next one. */
  async function startupRunDone(gw: TestGateway): Promise<void> {
    await gw.eventually(async () => {
      const lease = await gw.gateway.store.db
        .selectFrom('job_leases')
        .selectAll()
        .where('name', '=', 'lopende-zaken:dispatch')
        .executeTakeFirst();
      return lease?.last_run_at != null && Number(lease.locked_until) === 0 ? true : undefined;
    });
  }

  async function setInterval(gw: TestGateway, intervalMs: number): Promise<void> {
    const admin = await gw.token(['admin']);
    const answer = await gw.request('PUT', '/v1/lopende-zaken/settings', {
      token: admin,
      body: { intervalMs },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }

  async function post(gw: TestGateway, change: Change = {}): Promise<string> {
    const answer = await gw.post(statusEvent(change));
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    return answer.body.id as string;
  }

  async function delivery(gw: TestGateway, messageId: string): Promise<Record<string, any>> {
    const answer = await gw.get(`/v1/messages/${messageId}`);
    const found = (answer.body.deliveries as Array<Record<string, any>>).find(
      (d) => d.adapter === 'lopende-zaken',
    );
    assert.ok(found, 'no lopende-zaken delivery');
    return found;
  }

  const settled = (gw: TestGateway, messageId: string, status: string) =>
    gw.eventually(async () => {
      const found = await delivery(gw, messageId);
      return found.status === status ? found : undefined;
    }, 20_000);

  const sentFor = (messageId: string) => zaken.requests.filter((r) => r.referentienummer === messageId);

  async function errorEntry(gw: TestGateway, deliveryId: string): Promise<Record<string, any>> {
    const answer = await gw.get('/v1/errors?adapter=lopende-zaken&limit=200');
    const entry = (answer.body.items as Array<Record<string, any>>).find((e) => e.deliveryId === deliveryId);
    assert.ok(entry, 'no error-log entry');
    return entry;
  }

  it('sends a zakLk01 with WS-Addressing over two-way TLS after a reachability check, and Bv03 delivers it', async () => {
    const gw = await start();
    const id = await post(gw);
    const done = await settled(gw, id, 'delivered');

    const [check] = validatie.requests;
    assert.ok(check);
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.bsns, [BSN]);
    assert.equal(check.berichtleverancierCode, KOPPEL_TEST_OIN);
    assert.equal(check.berichtTypeCode, 'LopendeZaken');
    assert.equal(check.addressing.action, VALIDATIE_ACTION);
    assert.equal(check.signature, undefined, 'the account check is 2W-be: not signed');

    const [sent] = sentFor(id);
    assert.ok(sent, 'MijnOverheid received no zakLk01');
    assert.deepEqual(sent.problems, []);
    assert.deepEqual(sent.schemaErrors, []);
    assert.equal(sent.clientCertificateSubject, 'koppel-test-client');
    assert.equal(sent.soapAction, ZAK_LK01_ACTION);
    assert.equal(sent.addressing.action, ZAK_LK01_ACTION);
    assert.equal(sent.addressing.to, `${zaken.url}?OIN=00000004003214345001`);
    assert.equal(sent.addressing.messageId, `urn:uuid:${id}`);
    assert.equal(
      sent.addressing.from,
      `http://www.w3.org/2005/08/addressing/anonymous?OIN=${KOPPEL_TEST_OIN}`,
    );
    assert.equal(
      sent.addressing.replyTo,
      `http://www.w3.org/2005/08/addressing/anonymous?OIN=${KOPPEL_TEST_OIN}`,
    );
    assert.equal(sent.signature, undefined, 'profile 2W-be does not sign');
    assert.equal(sent.zaakIdentificatie, 'ZAAK-2025-0000417');
    assert.match(
      sent.zakLk01,
      /<StUF:extraElement naam="verwijzing">https:\/\/mijn\.example-gemeente\.nl\/zaken\/ZAAK-2025-0000417</,
    );

    const evidence = done.attemptLog.at(-1);
    assert.equal(evidence.outcome, 'delivered');
    assert.ok(!JSON.stringify(done).includes(BSN), 'the BSN must not show in the delivery view');
  });

  it('profile 2W-be-S signs Body, addressing headers and Timestamp with SHA-256, verified by the partner', async () => {
    zaken.requireSignature = true;
    const gw = await start({ profile: '2W-be-S' });
    const id = await post(gw);
    await settled(gw, id, 'delivered');
    const [sent] = sentFor(id);
    assert.ok(sent?.signature?.valid, `signature not valid: ${sent?.signature?.error}`);
    assert.deepEqual([...(sent?.signature?.signed ?? [])].sort(), [
      'Action',
      'Body',
      'From',
      'MessageID',
      'ReplyTo',
      'Timestamp',
      'To',
    ]);
    assert.deepEqual(validatie.requests[0]?.signature, undefined, 'the account check stays unsigned');
  });

  it('a 2W-be-S partner refuses an unsigned zakLk01: rejected with its answer', async () => {
    zaken.requireSignature = true;
    const gw = await start();
    const id = await post(gw);
    const failed = await settled(gw, id, 'failed');
    assert.equal(failed.lastOutcome, 'rejected');
    assert.match(failed.lastReason, /unsigned/);
  });

  describe('rule 1: only an authentic BSN passing the elfproef, only a status that informs', () => {
    it('skips a non-authentic BSN, with the rule in the error log, its file and the API; nothing is checked or sent', async () => {
      const gw = await start();
      const id = await post(gw, { authentiek: false });
      const skipped = await settled(gw, id, 'skipped');
      const entry = await errorEntry(gw, skipped.id);
      assert.equal(entry.kind, 'skipped');
      assert.equal(entry.code, 'bsn-not-authentic');
      const file = readFileSync(join(gw.dataDir, 'error-log.jsonl'), 'utf8');
      assert.ok(
        file.includes(skipped.id) && file.includes('bsn-not-authentic'),
        'the skip is not in the error log file',
      );
      assert.equal(validatie.requests.length, 0);
      assert.equal(zaken.requests.length, 0);
    });

    it('skips a status whose type does not inform the initiator', async () => {
      const gw = await start();
      const id = await post(gw, { informeren: false });
      const skipped = await settled(gw, id, 'skipped');
      assert.equal((await errorEntry(gw, skipped.id)).code, 'status-not-informed');
      assert.equal(zaken.requests.length, 0);
    });

    it('a BSN failing the elfproef never gets in: ingest refuses it (the adapter checks again, see rules.test.ts)', async () => {
      const gw = await start();
      const answer = await gw.post(statusEvent({ bsn: '123456789' }));
      assert.equal(answer.status, 400);
    });
  });

  it('posting a change never waits for MijnOverheid (rule 2)', async () => {
    await zaken.stop();
    await validatie.stop();
    const gw = await start();
    const id = await post(gw);
    assert.ok(['pending', 'retrying', 'active'].includes((await delivery(gw, id)).status));
  });

  describe('rule 3: reachability at the time of the change', () => {
    it('not reachable then reachable: skipped, and still never sent after a retry from the error log', async () => {
      validatie.reachable.set(BSN, false);
      const gw = await start();
      const id = await post(gw);
      const skipped = await settled(gw, id, 'skipped');
      const entry = await errorEntry(gw, skipped.id);
      assert.equal(entry.code, 'bsn-not-reachable');

      validatie.reachable.set(BSN, true);
      const admin = await gw.token(['errors:write']);
      const retry = await gw.request('POST', `/v1/errors/${entry.id}/retry`, { token: admin });
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      const again = await gw.eventually(async () => {
        const found = await delivery(gw, id);
        return found.status === 'skipped' && found.attempts >= 2 ? found : undefined;
      });
      assert.equal(again.lastReason.startsWith('bsn-not-reachable'), true);
      assert.equal(sentFor(id).length, 0, 'a change whose BSN was unreachable at the time was sent');
      assert.equal(
        validatie.requests.length,
        1,
        'the verdict at the time of the change is kept, not asked again',
      );
    });

    it('batches the BSNs of one run into one ValidateAbonnementen call', async () => {
      validatie.reachable.set(OTHER_BSN, false);
      const gw = await start({ interval: null });
      const ids = [
        await post(gw, { zaak: 'ZAAK-2025-0000501' }),
        await post(gw, { zaak: 'ZAAK-2025-0000502', bsn: OTHER_BSN }),
        await post(gw, { zaak: 'ZAAK-2025-0000503' }),
      ];
      await setInterval(gw, 100);
      await settled(gw, ids[0] as string, 'delivered');
      await settled(gw, ids[1] as string, 'skipped');
      await settled(gw, ids[2] as string, 'delivered');
      assert.equal(validatie.requests.length, 1);
      assert.deepEqual([...(validatie.requests[0]?.bsns ?? [])].sort(), [OTHER_BSN, BSN].sort());
    });
  });

  describe('rule 4: unreachable services keep the change for a later run', () => {
    it('check service down, then up: the later run checks and sends', async () => {
      await validatie.stop();
      const gw = await start();
      const id = await post(gw);
      await gw.eventually(async () => ((await delivery(gw, id)).attempts >= 2 ? true : undefined));
      assert.equal((await delivery(gw, id)).lastOutcome, 'transient');
      await validatie.start();
      const done = await settled(gw, id, 'delivered');
      assert.equal(done.attemptLog[0].outcome, 'transient');
      assert.equal(sentFor(id).length, 1);
    });

    it('Digikoppeling down, then up: sent by a later run with the same MessageID and referentienummer', async () => {
      await zaken.stop();
      const gw = await start();
      const id = await post(gw);
      await gw.eventually(async () => ((await delivery(gw, id)).attempts >= 2 ? true : undefined));
      await zaken.start();
      await settled(gw, id, 'delivered');
      const [sent] = sentFor(id);
      assert.equal(sent?.addressing.messageId, `urn:uuid:${id}`);
    });

    for (const [family, partner] of [
      ['HTTP 503 without a fault', 'zaken'],
      ['soap:Server fault', 'zaken'],
      ['Digikoppeling 0051', 'zaken'],
      ['DependentServiceFault', 'validatie'],
      ['soap:Server fault of the check', 'validatie'],
    ] as const) {
      it(`${family} is transient: retried by the next run and delivered`, async () => {
        const answer = {
          'HTTP 503 without a fault': 'http-503',
          'soap:Server fault': 'server-fault',
          'Digikoppeling 0051': 'digikoppeling-0051',
          DependentServiceFault: 'dependent-service-fault',
          'soap:Server fault of the check': 'server-fault',
        } as const;
        (partner === 'zaken' ? zaken : validatie).failNext(answer[family]);
        const gw = await start();
        const id = await post(gw);
        const done = await settled(gw, id, 'delivered');
        assert.deepEqual(
          done.attemptLog.map((a: { outcome: string }) => a.outcome),
          ['transient', 'delivered'],
        );
      });
    }

    it('raises one alert in the error log once a change has waited longer than the alert age, resolved when sent', async () => {
      await zaken.stop();
      const gw = await start();
      const admin = await gw.token(['admin']);
      assert.equal(
        (
          await gw.request('PUT', '/v1/lopende-zaken/settings', {
            token: admin,
            body: { alertAfterMs: 1000 },
          })
        ).status,
        200,
      );
      const id = await post(gw);
      const alerts = async () =>
        (
          (await gw.get('/v1/errors?adapter=lopende-zaken&kind=alert')).body.items as Array<
            Record<string, any>
          >
        ).filter((e) => e.messageId === id);
      const alerted = await gw.eventually(async () => {
        const items = await alerts();
        return items.length > 0 ? items : undefined;
      });
      const first = (await delivery(gw, id)).attempts as number;
      await gw.eventually(async () =>
        ((await delivery(gw, id)).attempts as number) >= first + 2 ? true : undefined,
      );
      const open = await alerts();
      assert.equal(open.length, 1, 'one alert per change, not one per waiting attempt');
      const [alert] = open;
      assert.equal(alert?.id, alerted[0]?.id);
      assert.equal(alert?.code, 'lopende-zaken-change-waiting-long');
      assert.match(alert?.reason, /^ZAAK-2025-0000417 has waited \d+ s since \d{4}-\d\d-\d\dT[\d:.]+Z: /);
      assert.ok(!String(alert?.reason).includes(BSN), 'the alert must not show the BSN');
      assert.equal(alert?.resolvedAt, null);
      const lines = gw.logs
        .lines()
        .filter((line) => line.msg === 'delivery_alert_raised' && line.messageId === id);
      assert.equal(lines.length, 1, 'the alert must be logged once per change');
      assert.equal(lines[0]?.level, 50);
      assert.equal(lines[0]?.code, 'lopende-zaken-change-waiting-long');
      const file = readFileSync(join(gw.dataDir, 'error-log.jsonl'), 'utf8');
      assert.ok(
        file.includes(alert?.id) && file.includes('lopende-zaken-change-waiting-long'),
        'the alert is not in the error log file',
      );
      assert.equal(
        (await delivery(gw, id)).status,
        'retrying',
        'an alert does not end the change: it is kept',
      );

      await zaken.start();
      await settled(gw, id, 'delivered');
      const [resolved, ...more] = await gw.eventually(async () => {
        const items = await alerts();
        return items[0]?.resolvedAt ? items : undefined;
      });
      assert.equal(more.length, 0);
      assert.equal(resolved?.id, alert?.id);
      assert.equal(resolved?.resolvedNote, 'delivery delivered');
      assert.equal(
        (await gw.get('/v1/errors?adapter=lopende-zaken&kind=alert&resolved=false')).body.items.filter(
          (e: { messageId: string }) => e.messageId === id,
        ).length,
        0,
      );
    });
  });

  describe('rule 5: the partner says no: kept as rejected with its answer, retried by an admin', () => {
    for (const [family, partner, code] of [
      ['soap:Client fault', 'zaken', 'soap:Client'],
      ['Digikoppeling 0004 (not valid against the XSD)', 'zaken', 'digikoppeling:0004'],
      ['StUF Fo03', 'zaken', 'stuf:StUF058'],
      ['ApplicationFault of the check', 'validatie', 'ApplicationFault'],
    ] as const) {
      it(`${family} → rejected (${code}); the admin's retry sends it`, async () => {
        const answer = {
          'soap:Client fault': 'client-fault',
          'Digikoppeling 0004 (not valid against the XSD)': 'digikoppeling-0004',
          'StUF Fo03': 'fo03',
          'ApplicationFault of the check': 'application-fault',
        } as const;
        (partner === 'zaken' ? zaken : validatie).failNext(answer[family]);
        const gw = await start();
        const id = await post(gw);
        const failed = await settled(gw, id, 'failed');
        const entry = await errorEntry(gw, failed.id);
        assert.equal(entry.kind, 'rejected');
        assert.equal(entry.code, code);
        const detail = await gw.get(`/v1/errors/${entry.id}`);
        assert.ok(
          JSON.stringify(detail.body).includes(partner === 'zaken' ? 'Fault' : 'ApplicationFault'),
          'the partner answer is kept',
        );

        const admin = await gw.token(['errors:write']);
        assert.equal(
          (await gw.request('POST', `/v1/errors/${entry.id}/retry`, { token: admin })).status,
          202,
        );
        await settled(gw, id, 'delivered');
      });
    }
  });

  it('rule 6: changes of one zaak go out in status-date order, a later one never while an earlier one waits', async () => {
    zaken.failNext('server-fault', 2);
    const gw = await start({ interval: null });
    // Posted out of order: the later status first; its status date, not the posting order, decides.
    const later = await post(gw, {
      status: 'In behandeling',
      volgnummer: 2,
      at: '2025-04-02T10:00:00+02:00',
    });
    const earlier = await post(gw, { status: 'Ontvangen', volgnummer: 1, at: '2025-04-01T09:00:00Z' });
    await setInterval(gw, 100);
    await settled(gw, later, 'delivered');
    const order = zaken.requests.map((r) => (r.referentienummer === earlier ? 'earlier' : 'later'));
    assert.deepEqual(order, ['earlier', 'earlier', 'earlier', 'later']);
    assert.equal((await delivery(gw, earlier)).status, 'delivered');
  });

  it('the interval is an admin setting: default 5 minutes, and a shorter one takes effect for the next run', async () => {
    const gw = await start({ interval: null });
    const initial = await gw.get('/v1/lopende-zaken/settings');
    assert.deepEqual(initial.body, { intervalMs: 300_000, alertAfterMs: 86_400_000 });
    const id = await post(gw);
    // The run at start-up found nothing; the next is five minutes away. Let the scheduler look twice.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await delivery(gw, id)).attempts, 0);
    assert.equal(zaken.requests.length, 0);

    const admin = await gw.token(['admin']);
    const bad = await gw.request('PUT', '/v1/lopende-zaken/settings', {
      token: admin,
      body: { intervalMs: 5 },
    });
    assert.equal(bad.status, 400);
    await setInterval(gw, 200);
    assert.deepEqual((await gw.get('/v1/lopende-zaken/settings')).body, {
      intervalMs: 200,
      alertAfterMs: 86_400_000,
    });
    await settled(gw, id, 'delivered');
  });
});

// The core's adapter conformance suite against the same two partners.
const conformanceContracts = findPartnerContracts();
if (!('missing' in conformanceContracts)) {
  describeAdapterConformance('lopende-zaken', async () => {
    const ca = makeTestCa();
    const zaken = await startZakLk01Server({ ca, contracts: conformanceContracts });
    const validatie = await startValidatieServer({ ca, contracts: conformanceContracts });
    const keyLine = ca.clientKeyPem.split('\n')[1] ?? '';
    return {
      adapter: lopendeZaken,
      settings: settingsFor(ca, conformanceContracts, zaken, validatie, '2W-be-S'),
      event: () => statusEvent(),
      partner: {
        attemptedMessageIds: () => zaken.requests.map((r) => r.referentienummer ?? ''),
        down: () => zaken.stop(),
        up: () => zaken.start(),
        refuseNext: () => zaken.failNext('client-fault'),
        openConnections: () => zaken.openConnections() + validatie.openConnections(),
      },
      tick: async (gw) => {
        const admin = await gw.token(['admin']);
        await gw.request('PUT', '/v1/lopende-zaken/settings', { token: admin, body: { intervalMs: 100 } });
      },
      secrets: [keyLine],
      managementPaths: ['/v1/lopende-zaken/settings'],
      stop: async () => {
        await zaken.close();
        await validatie.close();
      },
    };
  });
} else if (process.env.KOPPEL_REQUIRE_SERVERS === '1') {
  throw new Error(
    `partner contracts not found (${conformanceContracts.missing}); set KOPPEL_PARTNER_CONTRACTS`,
  );
}
