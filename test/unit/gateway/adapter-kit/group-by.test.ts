import assert from 'node:assert/strict';
import { groupBy } from '../../../../gateway/adapter-kit/index.ts';

describe('adapter kit: groupBy', () => {
  it('groups by key in the order keys first appear, each group in the items’ order', () => {
    const items = [
      { key: 'b', n: 1 },
      { key: 'a', n: 2 },
      { key: 'b', n: 3 },
      { key: 'c', n: 4 },
      { key: 'a', n: 5 },
    ];
    const groups = groupBy(items, (item) => item.key);
    assert.deepEqual(
      [...groups].map(([key, group]) => [key, group.map((item) => item.n)]),
      [
        ['b', [1, 3]],
        ['a', [2, 5]],
        ['c', [4]],
      ],
    );
  });

  it('gives an empty map for no items', () => {
    assert.equal(groupBy([], () => 'k').size, 0);
  });
});
