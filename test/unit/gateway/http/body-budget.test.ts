import assert from 'node:assert/strict';
import { BodyBudget } from '../../../../gateway/http/body-budget.ts';

const settled = async (promise: Promise<void>): Promise<boolean> => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('ingest: the body budget', () => {
  it('admits bodies while they fit, and the next one once bytes come back', async () => {
    const budget = new BodyBudget(1000);
    const a = budget.take(600);
    const b = budget.take(300);
    const c = budget.take(300);
    assert.equal(await settled(a.admitted), true);
    assert.equal(await settled(b.admitted), true);
    assert.equal(await settled(c.admitted), false, '600 + 300 + 300 is over 1000');
    assert.deepEqual(budget.load, { heldBytes: 900, waiting: 1 });
    a.release();
    assert.equal(await settled(c.admitted), true);
    assert.deepEqual(budget.load, { heldBytes: 600, waiting: 0 });
  });

  it('admits in arrival order: a small body does not overtake a waiting large one', async () => {
    const budget = new BodyBudget(1000);
    const first = budget.take(900);
    const large = budget.take(500);
    const small = budget.take(50);
    assert.equal(await settled(small.admitted), false, 'waits behind the large one although it would fit');
    first.release();
    assert.equal(await settled(large.admitted), true);
    assert.equal(await settled(small.admitted), true);
  });

  it('reads a body larger than the budget alone', async () => {
    const budget = new BodyBudget(1000);
    const held = budget.take(100);
    const huge = budget.take(5000);
    assert.equal(await settled(huge.admitted), false);
    held.release();
    assert.equal(await settled(huge.admitted), true);
    assert.deepEqual(budget.load, { heldBytes: 5000, waiting: 0 });
  });

  it('lets a waiting post leave the queue when its client goes away, and counts every release once', async () => {
    const budget = new BodyBudget(1000);
    const held = budget.take(1000);
    const gone = budget.take(500);
    const next = budget.take(500);
    gone.release();
    assert.equal(await settled(gone.admitted), true, 'its request hook ends instead of hanging');
    assert.deepEqual(budget.load, { heldBytes: 1000, waiting: 1 });
    held.release();
    held.release();
    assert.equal(await settled(next.admitted), true);
    assert.deepEqual(budget.load, { heldBytes: 500, waiting: 0 });
    gone.release();
    next.release();
    assert.deepEqual(budget.load, { heldBytes: 0, waiting: 0 });
  });
});
