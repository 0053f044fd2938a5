import { describeBackend } from '../helpers/backends.ts';
import { killAndRestartUnderLoad } from './durability-scenario.ts';

describeBackend('sqlite-embedded', 'durability', (backend) => {
  it('SIGKILL during a load of 5,000 messages: after a restart every accepted message is delivered, repeats only for those in flight', async function () {
    this.timeout(120_000);
    await killAndRestartUnderLoad(backend().env);
  });
});
