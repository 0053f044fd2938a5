import { describeBackend } from '../helpers/backends.ts';
import { killAndRestartUnderLoad } from './durability-scenario.ts';

// durability.test.ts on PostgreSQL + BullMQ (Redis); skips when either is not installed.
describeBackend('postgres-bullmq', 'durability', (backend) => {
  it('SIGKILL during a load of 5,000 messages: after a restart every accepted message is delivered, repeats only for those in flight', async function () {
    this.timeout(120_000);
    await killAndRestartUnderLoad(backend().env);
  });
});
