import { describe, expect, it } from 'vitest';
import { PLAN_LIMITS, validatePlan, type Plan } from '../../src/core/plan.js';
import { REVIEW_LIMITS, reviewLimitProblems, type Review } from '../../src/core/review.js';
import { planned, type PlanSubtask } from './builders.js';

const plan = (s: Partial<PlanSubtask>, notes = ''): Plan => ({ subtasks: [planned('s1', [], s)], coordination_notes: notes });
const files = (n: number, length = 10) => Array.from({ length: n }, (_, i) => `${i}/`.padEnd(length, 'f'));

describe('plan limits', () => {
  it('accepts every field at its limit', () => {
    const atLimit = plan(
      {
        title: 't'.repeat(PLAN_LIMITS.title),
        description: 'd'.repeat(PLAN_LIMITS.description),
        output_format: 'o'.repeat(PLAN_LIMITS.output_format),
        relevant_files: files(PLAN_LIMITS.relevant_files, PLAN_LIMITS.path),
      },
      'n'.repeat(PLAN_LIMITS.coordination_notes),
    );
    expect(validatePlan(atLimit)).toEqual([]);
  });

  it.each([
    ['title', { title: 't'.repeat(PLAN_LIMITS.title + 1) }, /Subtask 's1': title is 121 characters; the limit is 120\./],
    ['description', { description: 'd'.repeat(PLAN_LIMITS.description + 1) }, /description is 2,001 characters; the limit is 2,000\./],
    ['output_format', { output_format: 'o'.repeat(PLAN_LIMITS.output_format + 1) }, /output_format is 301 characters; the limit is 300\./],
    ['relevant_files', { relevant_files: files(PLAN_LIMITS.relevant_files + 1) }, /relevant_files lists 21 paths; the limit is 20\./],
    ['a path', { relevant_files: ['p'.repeat(PLAN_LIMITS.path + 1)] }, /relevant file 'p{60}…' \(301 characters\) is 301 characters; the limit is 300\./],
  ])('refuses a %s over its limit, naming the size and the limit', (_, fields, pattern) => {
    const problems = validatePlan(plan(fields));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('refuses coordination_notes over the limit', () => {
    expect(validatePlan(plan({}, 'n'.repeat(PLAN_LIMITS.coordination_notes + 1)))).toEqual([
      "The plan's coordination_notes is 4,001 characters; the limit is 4,000. Keep only what the later review needs.",
    ]);
  });

  it('quotes at most 60 characters of what a model wrote, whatever its size', () => {
    const huge = 'x'.repeat(5_000_000);
    const problems = validatePlan({ subtasks: [planned(huge, [huge], { relevant_files: [`../${huge}`] })], coordination_notes: '' });
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p.length).toBeLessThan(400);
  });
});

describe('review limits', () => {
  const review = (feedback: string, summary = 'ok'): Review => ({ verdict: 'revise', reviews: [{ subtask_id: 's1', verdict: 'revise', feedback }], summary });

  it('accepts feedback and summary at their limits', () => {
    expect(reviewLimitProblems(review('f'.repeat(REVIEW_LIMITS.feedback), 's'.repeat(REVIEW_LIMITS.summary)))).toEqual([]);
  });

  it('refuses feedback and a summary over their limits', () => {
    expect(reviewLimitProblems(review('f'.repeat(REVIEW_LIMITS.feedback + 1), 's'.repeat(REVIEW_LIMITS.summary + 1)))).toEqual([
      "The feedback on 's1' is 4,001 characters; the limit is 4,000. Say what to change more briefly.",
      'The summary is 1,001 characters; the limit is 1,000. One or two sentences.',
    ]);
  });
});
