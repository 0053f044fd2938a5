/**
 * The whole gateway as a child process, so that tests can SIGKILL or SIGTERM a real one:
 * `node --import tsx test/helpers/gateway-process.ts`, configured by the environment as `koppel
 * serve` is (KOPPEL_SETTINGS_TEST_HTTP for the test adapter). Prints one JSON line
 * `{"url":…,"pid":…}` on stdout once it listens; logs go to stderr.
 */
import { loadConfig } from '../../gateway/config/load-config.ts';
import { createGateway } from '../../gateway/main.ts';
import { testHttpAdapter } from './test-adapter.ts';

const gateway = await createGateway({
  config: loadConfig(process.env),
  adapters: [testHttpAdapter()],
  logDestination: process.stderr,
});
const { url } = await gateway.start();
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  gateway.log.info({ signal: 'SIGTERM' }, 'shutdown_requested');
  gateway.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      gateway.log.error({ err: error }, 'shutdown_failed');
      process.exit(1);
    },
  );
});
