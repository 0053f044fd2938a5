import assert from 'node:assert/strict';
import { pino } from 'pino';
import { finishWithinGrace } from '../../../../gateway/dispatch/dispatcher.ts';
import { captureLog } from '../../../helpers/log-capture.ts';

function capturedLog() {
  const captured = captureLog();
  return { log: pino(captured.destination), records: () => captured.records() };
}

describe('dispatch: the shutdown grace', () => {
  it('lets work that finishes in time finish, and forces nothing', async () => {
    const { log, records } = capturedLog();
    let forced = false;
    await finishWithinGrace(Promise.resolve(), 60_000, log, async () => {
      forced = true;
    });
    assert.equal(forced, false);
    assert.deepEqual(records(), []);
  });

  it('past the grace says so, forces, and returns only once the forced work has stopped', async () => {
    const { log, records } = capturedLog();
    let release!: () => void;
    const inFlight = new Promise<void>((resolve) => (release = resolve));
    let stopped = false;
    await finishWithinGrace(inFlight, 5, log, async () => {
      release();
      await inFlight;
      stopped = true;
    });
    assert.equal(stopped, true);
    assert.deepEqual(
      records().map((l) => [l['msg'], l['graceMs']]),
      [['shutdown_grace_expired', 5]],
    );
  });
});
