import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { finishWithinGrace } from '../../../../gateway/dispatch/dispatcher.ts';

function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino(sink), lines };
}

describe('dispatch: the shutdown grace', () => {
  it('lets work that finishes in time finish, and forces nothing', async () => {
    const { log, lines } = capturedLog();
    let forced = false;
    await finishWithinGrace(Promise.resolve(), 60_000, log, async () => {
      forced = true;
    });
    assert.equal(forced, false);
    assert.deepEqual(lines, []);
  });

  it('past the grace says so, forces, and returns only once the forced work has stopped', async () => {
    const { log, lines } = capturedLog();
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
      lines.map((l) => [l['msg'], l['graceMs']]),
      [['shutdown_grace_expired', 5]],
    );
  });
});
