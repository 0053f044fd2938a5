import assert from 'node:assert/strict';
import {
  nextAttemptAt,
  parseDelayList,
  type RetryPolicy,
} from '../../../../gateway/adapter-kit/retry-policy.ts';

const NOW = new Date('2026-01-05T10:00:00.000Z');
const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  delaysMs: [1000, 5000, 60_000],
  afterLast: 'fail',
  jitter: 0,
  retryAfter: 'clamp',
  ...overrides,
});
/** Milliseconds from NOW to the answer, or null when the policy is exhausted. */
const delayOf = (
  p: RetryPolicy,
  attempt: number,
  retryAfterMs?: number,
  random?: () => number,
): number | null => {
  const at = nextAttemptAt(p, attempt, NOW, retryAfterMs, random);
  return at === null ? null : at.getTime() - NOW.getTime();
};

describe('adapter-kit/retry-policy', () => {
  describe('nextAttemptAt', () => {
    const schedule: Array<[string, RetryPolicy, number, number | null]> = [
      ['first delay after attempt 1', policy(), 1, 1000],
      ['second delay after attempt 2', policy(), 2, 5000],
      ['last delay after attempt 3', policy(), 3, 60_000],
      ['exhausted after the last delay (fail)', policy(), 4, null],
      ['still exhausted far beyond', policy(), 40, null],
      ['repeat-last after the last delay', policy({ afterLast: 'repeat-last' }), 4, 60_000],
      ['repeat-last forever', policy({ afterLast: 'repeat-last' }), 1000, 60_000],
      ['a single delay, fail', policy({ delaysMs: [50] }), 2, null],
      ['a single delay, repeat-last', policy({ delaysMs: [50], afterLast: 'repeat-last' }), 7, 50],
      ['a zero delay is due at once', policy({ delaysMs: [0, 10] }), 1, 0],
      ['no delays at all: exhausted at once', policy({ delaysMs: [] }), 1, null],
      [
        'no delays with repeat-last: still exhausted',
        policy({ delaysMs: [], afterLast: 'repeat-last' }),
        1,
        null,
      ],
    ];
    for (const [name, p, attempt, expected] of schedule) {
      it(`${name}: attempt ${attempt} → ${expected === null ? 'null' : `${expected} ms`}`, () => {
        assert.equal(delayOf(p, attempt), expected);
      });
    }

    it('answers a Date relative to the given now, not the wall clock', () => {
      const at = nextAttemptAt(policy(), 1, new Date('2000-01-01T00:00:00Z'), undefined);
      assert.equal(at?.toISOString(), '2000-01-01T00:00:01.000Z');
    });

    describe('jitter', () => {
      const jittered = policy({ delaysMs: [10_000], jitter: 0.2 });
      const cases: Array<[number, number]> = [
        [0, 8000], // lowest random → delay × (1 − jitter)
        [0.25, 9000],
        [0.5, 10_000], // the middle is the scheduled delay
        [0.75, 11_000],
        [0.999999, 11_999.996], // highest random stays below delay × (1 + jitter)
      ];
      for (const [r, expected] of cases) {
        it(`random ${r} → ${Math.round(expected)} ms`, () => {
          assert.equal(
            delayOf(jittered, 1, undefined, () => r),
            Math.round(expected),
          );
        });
      }

      it('stays within ±jitter for every random in [0, 1)', () => {
        for (let i = 0; i < 1000; i++) {
          const r = i / 1000;
          const d = delayOf(jittered, 1, undefined, () => r);
          assert.ok(d !== null && d >= 8000 && d <= 12_000, `random ${r} gave ${d}`);
        }
      });

      it('does not call random when jitter is 0', () => {
        const d = delayOf(policy(), 1, undefined, () => {
          throw new Error('random called');
        });
        assert.equal(d, 1000);
      });

      it('applies to repeat-last delays too', () => {
        const p = policy({ delaysMs: [100, 1000], afterLast: 'repeat-last', jitter: 0.1 });
        assert.equal(
          delayOf(p, 9, undefined, () => 0),
          900,
        );
      });

      it('is not applied when exhausted', () => {
        assert.equal(
          delayOf(policy({ jitter: 0.2 }), 4, undefined, () => 0.5),
          null,
        );
      });
    });

    describe('Retry-After (clamp to [delay, 2 × delay])', () => {
      const p = policy({ delaysMs: [10_000] });
      const cases: Array<[string, number | undefined, number]> = [
        ['absent: the scheduled delay', undefined, 10_000],
        ['shorter than the delay: the delay', 2000, 10_000],
        ['equal to the delay', 10_000, 10_000],
        ['between delay and 2 × delay: honoured', 15_000, 15_000],
        ['exactly 2 × delay', 20_000, 20_000],
        ['longer than 2 × delay: 2 × delay', 3_600_000, 20_000],
        ['zero: the scheduled delay', 0, 10_000],
        ['negative: the scheduled delay', -5000, 10_000],
      ];
      for (const [name, retryAfter, expected] of cases) {
        it(`${name} (${String(retryAfter)} → ${expected})`, () =>
          assert.equal(delayOf(p, 1, retryAfter), expected));
      }

      it('is ignored when the policy says ignore', () => {
        assert.equal(delayOf(policy({ delaysMs: [10_000], retryAfter: 'ignore' }), 1, 15_000), 10_000);
      });

      it('keeps within [delay, 2 × delay] of the scheduled delay even with jitter', () => {
        const withJitter = policy({ delaysMs: [10_000], jitter: 0.2 });
        for (const r of [0, 0.5, 0.9999]) {
          assert.equal(
            delayOf(withJitter, 1, 15_000, () => r),
            15_000,
          );
          assert.equal(
            delayOf(withJitter, 1, 1, () => r),
            10_000,
          );
          assert.equal(
            delayOf(withJitter, 1, 1e9, () => r),
            20_000,
          );
        }
      });

      it('does not revive an exhausted policy', () => {
        assert.equal(delayOf(policy(), 4, 1000), null);
      });

      it('uses the delay of the attempt it follows', () => {
        assert.equal(delayOf(policy(), 2, 7000), 7000);
        assert.equal(delayOf(policy(), 2, 70_000), 10_000);
      });
    });
  });

  describe('parseDelayList', () => {
    const good: Array<[string, number[], boolean]> = [
      ['50ms,100ms', [50, 100], false],
      ['1h,2h,6h,24h', [3_600_000, 7_200_000, 21_600_000, 86_400_000], false],
      ['30s', [30_000], false],
      ['5m', [300_000], false],
      ['1d', [86_400_000], false],
      ['1.5s', [1500], false],
      ['0ms', [0], false],
      ['50ms,100ms+', [50, 100], true],
      ['1h+', [3_600_000], true],
      [' 50ms , 100ms ', [50, 100], false],
      ['  10s,20s+  ', [10_000, 20_000], true],
    ];
    for (const [text, delaysMs, repeatLast] of good) {
      it(`"${text}" → ${delaysMs.join(',')}${repeatLast ? ' repeat-last' : ''}`, () => {
        assert.deepEqual(parseDelayList(text), { delaysMs, repeatLast });
      });
    }

    const bad = [
      '',
      '+',
      '50',
      'ms',
      '50 ms ms',
      '-5ms',
      '5MS',
      '5w',
      '1e3ms',
      '50ms,,100ms',
      '50ms,',
      ',50ms',
      '50ms++',
      'fast',
      '5m;10m',
    ];
    for (const text of bad) {
      it(`refuses "${text}" with a readable error`, () => {
        const result = parseDelayList(text);
        assert.ok('error' in result, `expected an error for "${text}", got ${JSON.stringify(result)}`);
        assert.match(result.error, /is not a delay like/);
      });
    }
  });
});
