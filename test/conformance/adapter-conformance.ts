import assert from 'node:assert/strict';
import type { AdapterDefinition } from '../../gateway/adapter-kit/index.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/**
 * What an adapter's integration test hands the conformance suite: the adapter, wired to a real
 * partner server on loopback that the suite can switch off, back on, and make say "no".
 */
export interface ConformanceHarness {
  readonly adapter: AdapterDefinition<any>;
  /** Settings of the adapter (KOPPEL_SETTINGS_<NAME>). */
  readonly settings: unknown;
  /** Extra environment; the suite sets KOPPEL_RETRY_<NAME> to short delays unless given here. */
  readonly env?: Readonly<Record<string, string>>;
  /** After the gateway started: create recipients, verify senders … through the API. */
  prepare?(gw: TestGateway): Promise<void>;
  /** A valid CloudEvent (a fresh `id` on each call) for which the adapter plans at least one delivery. */
  event(): Record<string, unknown>;
  readonly partner: {
    /** The Koppel message id of every attempt the partner saw, refused ones included, in order. */
    attemptedMessageIds(): readonly string[];
    down(): Promise<void>;
    up(): Promise<void>;
    /** The partner answers its next call with a definite "no" (HTTP 400, SOAP Client fault, SMTP 550 …). */
    refuseNext(): void;
    /** Connections from Koppel the partner still holds open. */
    openConnections(): number;
  };
  /** After the partner's "no", the admin fixes its cause before retrying (webhooks: enable the recipient a 410 disabled). */
  fixRefusal?(gw: TestGateway): Promise<void>;
  /** For periodic adapters: bring the next send forward (e.g. set the interval short through the API). */
  tick?(gw: TestGateway): Promise<void>;
  /** Secret values configured in this harness; none may show in logs, evidence or API answers. */
  readonly secrets: readonly string[];
  /** Management paths (GET) whose answers are scanned for secrets too. */
  readonly managementPaths?: readonly string[];
  stop(): Promise<void>;
}

const SHORT_RETRY = '100ms,200ms,400ms+';

/**
 * The suite every adapter runs against its real partner server (STYLE.md rule 6; BullMQ's
 * adapter-conformance, Redpanda's StreamTests): delivered with the stable message id; transient
 * while the partner is down and delivered once it is back; rejected on the partner's "no"; a
 * retry of the same delivery carries the same message id; no secret anywhere; health follows the
 * partner; close() leaves no connection open.
 */
export function describeAdapterConformance(
  name: string,
  makeHarness: () => Promise<ConformanceHarness>,
): void {
  describe(`adapter conformance: ${name}`, function () {
    this.timeout(60_000);
    let harness: ConformanceHarness;
    let gw: TestGateway;

    const envName = (adapter: string) => `KOPPEL_RETRY_${adapter.toUpperCase().replace(/-/g, '_')}`;

    before(async () => {
      harness = await makeHarness();
      gw = await startGateway({
        adapters: [harness.adapter],
        adapterSettings: { [harness.adapter.name]: harness.settings },
        env: { [envName(harness.adapter.name)]: SHORT_RETRY, ...harness.env },
      });
      await harness.prepare?.(gw);
    });

    after(async () => {
      await gw?.stop();
      await harness?.stop();
    });

    const deliveriesOf = async (messageId: string) => {
      const answer = await gw.get(`/v1/messages/${messageId}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return (answer.body.deliveries as Array<Record<string, any>>).filter(
        (d) => d.adapter === harness.adapter.name,
      );
    };

    const postAndPlan = async (): Promise<string> => {
      const answer = await gw.post(harness.event());
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      const planned = (answer.body.deliveries as Array<{ adapter: string }>).filter(
        (d) => d.adapter === harness.adapter.name,
      );
      assert.ok(planned.length > 0, 'the adapter planned no delivery for the harness event');
      await harness.tick?.(gw);
      return answer.body.id as string;
    };

    const waitForStatus = (messageId: string, statuses: readonly string[]) =>
      gw.eventually(async () => {
        const deliveries = await deliveriesOf(messageId);
        return deliveries.every((d) => statuses.includes(d.status)) ? deliveries : undefined;
      }, 30_000);

    it('delivers, and the partner sees the Koppel message id', async () => {
      const id = await postAndPlan();
      const deliveries = await waitForStatus(id, ['delivered']);
      assert.ok(deliveries.every((d) => d.attemptLog.at(-1).outcome === 'delivered'));
      assert.ok(harness.partner.attemptedMessageIds().includes(id), 'the partner did not see the message id');
    });

    it('is transient while the partner is down, and delivers once it is back', async () => {
      await harness.partner.down();
      try {
        const id = await postAndPlan();
        await gw.eventually(async () => {
          const deliveries = await deliveriesOf(id);
          return deliveries.some((d) =>
            d.attemptLog.some((a: { outcome: string }) => a.outcome === 'transient'),
          )
            ? true
            : undefined;
        }, 30_000);
        const health = await gw.get(`/v1/adapters/${harness.adapter.name}`);
        assert.equal(health.body.health.ok, false, 'health() should be false while the partner is down');
        await harness.partner.up();
        await harness.tick?.(gw);
        const deliveries = await waitForStatus(id, ['delivered']);
        assert.ok(deliveries.every((d) => d.attempts >= 2));
        const healthAfter = await gw.get(`/v1/adapters/${harness.adapter.name}`);
        assert.equal(healthAfter.body.health.ok, true, 'health() should be true once the partner is back');
      } finally {
        await harness.partner.up();
      }
    });

    it('records the partner\'s "no" as rejected, and a retry of the same delivery carries the same message id', async () => {
      harness.partner.refuseNext();
      const id = await postAndPlan();
      const [failed] = await waitForStatus(id, ['failed']);
      assert.equal(failed?.lastOutcome, 'rejected');
      const errors = await gw.get(`/v1/errors?adapter=${harness.adapter.name}&kind=rejected`);
      const entry = (errors.body.items as Array<{ id: string; deliveryId: string }>).find(
        (e) => e.deliveryId === failed?.id,
      );
      assert.ok(entry, 'no error-log entry for the rejected delivery');

      await harness.fixRefusal?.(gw);
      const admin = await gw.token(['errors:write']);
      const retry = await gw.request('POST', `/v1/errors/${entry.id}/retry`, { token: admin });
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      await harness.tick?.(gw);
      const [again] = await waitForStatus(id, ['delivered']);
      assert.equal(again?.id, failed?.id, 'a retry must not create a second delivery');
      const seen = harness.partner.attemptedMessageIds().filter((m) => m === id);
      assert.ok(
        seen.length >= 2,
        `the partner saw the message id ${seen.length} time(s), expected the refused and the retried attempt`,
      );
    });

    it('shows no secret in logs, evidence or API answers', async () => {
      const messages = await gw.get('/v1/messages?limit=200');
      const answers = [
        JSON.stringify(messages.body),
        JSON.stringify((await gw.get('/v1/errors?limit=200')).body),
      ];
      for (const item of messages.body.items as Array<{ id: string }>)
        answers.push(JSON.stringify((await gw.get(`/v1/messages/${item.id}`)).body));
      for (const path of harness.managementPaths ?? [])
        answers.push(JSON.stringify((await gw.get(path)).body));
      answers.push(JSON.stringify((await gw.get(`/v1/adapters/${harness.adapter.name}`)).body));
      const logs = gw.logs.text();
      for (const secret of harness.secrets) {
        assert.ok(secret.length >= 6, 'harness secrets must be real values');
        assert.ok(!logs.includes(secret), `a secret appears in the logs`);
        for (const answer of answers)
          assert.ok(!answer.includes(secret), 'a secret appears in an API answer');
      }
    });

    it('close() leaves no connection open at the partner', async () => {
      await gw.stop();
      await gw.eventually(async () => (harness.partner.openConnections() === 0 ? true : undefined), 5000);
    });
  });
}
