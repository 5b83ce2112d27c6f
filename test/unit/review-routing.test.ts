import { describe, expect, it } from 'vitest';
import { ReviewSchema, worstVerdict } from '../../src/core/review.js';
import { roleFor } from '../../src/core/routing.js';

describe('worstVerdict', () => {
  it('worstVerdict of no verdicts is approve', async () => {
    expect(worstVerdict([])).toBe('approve');
  });

  it('worstVerdict ranks escalate over revise over approve, wherever they appear', async () => {
    expect(worstVerdict(['approve', 'approve'])).toBe('approve');
    expect(worstVerdict(['approve', 'revise', 'approve'])).toBe('revise');
    expect(worstVerdict(['revise', 'approve'])).toBe('revise');
    expect(worstVerdict(['escalate', 'revise', 'approve'])).toBe('escalate');
    expect(worstVerdict(['approve', 'revise', 'escalate'])).toBe('escalate');
    expect(worstVerdict(['revise', 'escalate', 'revise'])).toBe('escalate');
  });

  it('worstVerdict accepts any iterable, such as a generator', async () => {
    function* verdicts() {
      yield 'approve' as const;
      yield 'revise' as const;
    }
    expect(worstVerdict(verdicts())).toBe('revise');
  });
});

describe('ReviewSchema', () => {
  it('ReviewSchema accepts a review answer and rejects an unknown verdict', async () => {
    const answer = { verdict: 'revise', reviews: [{ subtask_id: 's1', verdict: 'revise', feedback: 'Add tests.' }], summary: 'Nearly there.' };
    expect(ReviewSchema.parse(answer)).toEqual(answer);
    expect(ReviewSchema.safeParse({ ...answer, verdict: 'maybe' }).success).toBe(false);
  });
});

describe('roleFor', () => {
  it('roleFor sends routine work to the executor and complex work to the planner', async () => {
    expect(roleFor({ complexity: 'routine', attempts: 1 })).toBe('executor');
    expect(roleFor({ complexity: 'complex', attempts: 1 })).toBe('planner');
  });

  it('roleFor climbs the default ladder: executor, executor with feedback, planner, then a human', async () => {
    expect([1, 2, 3, 4].map((attempts) => roleFor({ complexity: 'routine', attempts }))).toEqual(['executor', 'executor', 'planner', null]);
    expect([1, 2, 3, 4].map((attempts) => roleFor({ complexity: 'complex', attempts }))).toEqual(['planner', 'planner', 'planner', null]);
  });

  it('roleFor follows a configured ladder', async () => {
    const ladder = ['executor', 'planner'] as const;
    expect([1, 2, 3].map((attempts) => roleFor({ complexity: 'routine', attempts }, ladder))).toEqual(['executor', 'planner', null]);
  });
});
