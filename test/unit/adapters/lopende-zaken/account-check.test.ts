import assert from 'node:assert/strict';
import { checkReachability } from '../../../../adapters/lopende-zaken/account-check.ts';
import {
  createWusHttp,
  openWusService,
  type WusHttp,
  type WusService,
} from '../../../../adapters/lopende-zaken/transport.ts';
import { makeTestCa } from '../../../helpers/certs.ts';
import {
  requirePartnerContracts,
  startValidatieServer,
  type ValidatiePartner,
} from '../../../helpers/servers/soap-partner.ts';

describe('lopende-zaken account check (ValidateAbonnementen over mutual TLS)', function () {
  this.timeout(30_000);
  let partner: ValidatiePartner;
  let http: WusHttp;
  let service: WusService;
  const options = {
    berichtleverancierCode: '00000001234567890000',
    berichtTypeCode: 'LopendeZaken',
    batchSize: 250,
  };
  const signal = new AbortController().signal;

  before(async function () {
    const contracts = requirePartnerContracts(this);
    const ca = makeTestCa();
    partner = await startValidatieServer({ ca, contracts });
    http = createWusHttp(
      { key: ca.clientKeyPem, cert: ca.clientCertPem, ca: ca.caPem, minVersion: 'TLSv1.2' },
      5000,
    );
    // Logius' WSDL as published: its absolute xsd imports resolve in the folder beside it.
    service = await openWusService({
      wsdl: contracts.berichtenboxWsdl,
      schemaFolder: contracts.berichtenboxFolder,
      endpoint: partner.url,
      operation: 'ValidateAbonnementen',
      http,
      fromOin: '00000001234567890000',
    });
  });

  after(async () => {
    http?.agent.destroy();
    await partner?.close();
  });

  beforeEach(() => partner.reset());

  it('asks at most 250 distinct BSNs per call, and answers per BSN', async () => {
    const bsns = Array.from({ length: 501 }, (_, i) => String(100_000_000 + i));
    partner.reachable.set('100000007', false);
    const answers = await checkReachability(service, options, [...bsns, '100000007'], signal);
    assert.deepEqual(
      partner.requests.map((r) => r.bsns.length),
      [250, 250, 1],
    );
    assert.ok(partner.requests.every((r) => r.problems.length === 0));
    assert.deepEqual(answers.get('100000007'), { kind: 'answered', reachable: false });
    assert.deepEqual(answers.get('100000500'), { kind: 'answered', reachable: true });
    assert.equal(answers.size, 501);
  });

  it('a failed call fails only its own BSNs, with the classified reason', async () => {
    partner.failNext('dependent-service-fault');
    const bsns = Array.from({ length: 300 }, (_, i) => String(200_000_000 + i));
    const answers = await checkReachability(service, options, bsns, signal);
    const first = answers.get('200000000');
    assert.ok(
      first?.kind === 'failed' && first.outcome === 'transient' && first.code === 'DependentServiceFault',
    );
    assert.deepEqual(answers.get('200000299'), { kind: 'answered', reachable: true });
  });

  it('an ApplicationFault is the partner saying no', async () => {
    partner.failNext('application-fault');
    const answer = (await checkReachability(service, options, ['999993653'], signal)).get('999993653');
    assert.ok(
      answer?.kind === 'failed' && answer.outcome === 'rejected' && answer.code === 'ApplicationFault',
    );
  });

  it('the service down is transient', async () => {
    await partner.stop();
    try {
      const answer = (await checkReachability(service, options, ['999993653'], signal)).get('999993653');
      assert.ok(answer?.kind === 'failed' && answer.outcome === 'transient' && answer.code === 'connection');
    } finally {
      await partner.start();
    }
  });
});
