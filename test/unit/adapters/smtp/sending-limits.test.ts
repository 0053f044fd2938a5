import assert from 'node:assert/strict';
import { reserveSend, releaseSend, pruneSendCounts } from '../../../../adapters/smtp/sending-limits.ts';
import { startSmtpHarness, type SmtpHarness } from './context.ts';

describe('adapters/smtp/sending-limits (SQLite)', () => {
  let h: SmtpHarness;
  const at = Date.parse('2025-04-01T10:00:30.000Z');
  beforeEach(async () => {
    h = await startSmtpHarness({});
  });
  afterEach(() => h.close());

  it('allows exactly the limit per window, counted in the database across parallel callers', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => reserveSend(h.db, 's1', { perMinute: 5 }, at)),
    );
    assert.equal(results.filter((r) => r.ok).length, 5);
    const refused = results.find((r) => !r.ok);
    assert.deepEqual(refused, {
      ok: false,
      period: 'minute',
      limit: 5,
      windowEnd: Date.parse('2025-04-01T10:01:00.000Z'),
    });
    assert.equal(
      (await reserveSend(h.db, 's1', { perMinute: 5 }, Date.parse('2025-04-01T10:01:00.000Z'))).ok,
      true,
    );
    assert.equal((await reserveSend(h.db, 's2', { perMinute: 5 }, at)).ok, true, 'servers count apart');
  });

  it('names the latest window end when several limits are reached, and counts nothing then', async () => {
    assert.equal((await reserveSend(h.db, 's', { perMinute: 1, perDay: 1 }, at)).ok, true);
    const refused = await reserveSend(h.db, 's', { perMinute: 1, perDay: 1 }, at + 60_000);
    assert.deepEqual(refused, {
      ok: false,
      period: 'day',
      limit: 1,
      windowEnd: Date.parse('2025-04-02T00:00:00.000Z'),
    });
    const minute = await h.db
      .selectFrom('smtp_send_counts')
      .select('count')
      .where('period', '=', 'minute')
      .where('window_start', '=', at - 30_000 + 60_000)
      .executeTakeFirst();
    assert.equal(minute?.count ?? 0, 0, 'the refused reservation left no count behind');
  });

  it('gives a reservation back, and prunes old windows', async () => {
    await reserveSend(h.db, 's', { perHour: 1 }, at);
    assert.equal((await reserveSend(h.db, 's', { perHour: 1 }, at)).ok, false);
    await releaseSend(h.db, 's', { perHour: 1 }, at);
    assert.equal((await reserveSend(h.db, 's', { perHour: 1 }, at)).ok, true);
    await pruneSendCounts(h.db, at + 3 * 86_400_000);
    assert.equal((await h.db.selectFrom('smtp_send_counts').selectAll().execute()).length, 0);
  });

  it('does not touch the database without limits', async () => {
    assert.deepEqual(await reserveSend(h.db, 's', {}, at), { ok: true, at });
    assert.equal((await h.db.selectFrom('smtp_send_counts').selectAll().execute()).length, 0);
  });
});
