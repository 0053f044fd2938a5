import { describeAdapterConformance } from '../conformance/adapter-conformance.ts';
import { accountChangedEvent } from '../helpers/gateway.ts';
import { startHttpPartner } from '../helpers/servers/http-partner.ts';
import { testHttpAdapter } from '../helpers/test-adapter.ts';

// The core's own proof that the conformance suite can fail and pass: the test adapter against a loopback receiver.
describeAdapterConformance('test-http', async () => {
  const partner = await startHttpPartner();
  const token = 'conformance-secret-token-7f3a';
  return {
    adapter: testHttpAdapter(),
    settings: { urls: [partner.url], token },
    event: () => accountChangedEvent(),
    partner: {
      attemptedMessageIds: () =>
        partner.received
          .filter((r) => r.method === 'POST')
          .map((r) => String(r.headers['x-koppel-message-id'])),
      down: () => partner.down(),
      up: () => partner.up(),
      refuseNext: () => partner.respondOnceWith(400),
      openConnections: () => partner.openConnections(),
    },
    secrets: [token],
    stop: () => partner.stop(),
  };
});
