import assert from 'node:assert/strict';
import { memoised } from '../../../../gateway/adapter-kit/index.ts';

describe('adapter kit: memoised', () => {
  it('loads a key once for concurrent callers of one group, and again in a new group', async () => {
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { loads };
    };
    const group = new Map<string, unknown>();
    const [a, b] = await Promise.all([memoised(group, 'k', load), memoised(group, 'k', load)]);
    assert.equal(loads, 1);
    assert.equal(a, b);
    assert.deepEqual(await memoised(new Map(), 'k', load), { loads: 2 });
  });

  it('keeps a failed load for the group: every caller sees the same error', async () => {
    const group = new Map<string, unknown>();
    let loads = 0;
    const failing = async () => {
      loads++;
      throw new Error('store unreachable');
    };
    await assert.rejects(memoised(group, 'k', failing), /store unreachable/);
    await assert.rejects(memoised(group, 'k', failing), /store unreachable/);
    assert.equal(loads, 1);
  });
});
