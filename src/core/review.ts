// The planner's review answer and how verdicts combine.
import { z } from 'zod';
import type { Verdict } from './types.js';

const VerdictSchema = z.enum(['approve', 'revise', 'escalate']);

/**
 * What a review may hold, in characters (UTF-16 code units). Feedback goes to the executor as its
 * instructions for the next attempt (or to a human as the question), so it gets room; the summary
 * is a sentence or two. Stated in the schema's descriptions (strict mode has no maxLength) and
 * checked by reviewLimitProblems, whose messages go back to the planner in the repair round.
 */
export const REVIEW_LIMITS = { feedback: 4_000, summary: 1_000 } as const;

/** The planner's review answer (sent as a strict JSON schema; length limits in REVIEW_LIMITS, checked after). */
export const ReviewSchema = z.object({
  verdict: VerdictSchema.describe('Overall verdict: the most serious of the per-subtask verdicts.'),
  reviews: z.array(
    z.object({
      subtask_id: z.string(),
      verdict: VerdictSchema.describe('approve: done; revise: send back with feedback; escalate: a human must decide.'),
      feedback: z.string().describe(`For revise: exactly what to change. For escalate: the question for the human. At most ${REVIEW_LIMITS.feedback.toLocaleString('en-US')} characters.`),
    }),
  ),
  summary: z.string().describe(`One or two sentences on the state of the work (at most ${REVIEW_LIMITS.summary.toLocaleString('en-US')} characters).`),
});
/** A review answer as parsed. */
export type Review = z.infer<typeof ReviewSchema>;

const SEVERITY: Record<Verdict, number> = { approve: 0, revise: 1, escalate: 2 };

/** The most serious verdict: escalate over revise over approve. */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = 'approve';
  for (const v of verdicts) if (SEVERITY[v] > SEVERITY[worst]) worst = v;
  return worst;
}

/** Fields of a review over REVIEW_LIMITS, one sentence each, phrased for the planner's repair round. */
export function reviewLimitProblems(review: Review): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const problems: string[] = [];
  for (const r of review.reviews) {
    if (r.feedback.length > REVIEW_LIMITS.feedback) {
      const id = r.subtask_id.length <= 60 ? r.subtask_id : `${r.subtask_id.slice(0, 60)}…`;
      problems.push(`The feedback on '${id}' is ${n(r.feedback.length)} characters; the limit is ${n(REVIEW_LIMITS.feedback)}. Say what to change more briefly.`);
    }
  }
  if (review.summary.length > REVIEW_LIMITS.summary) problems.push(`The summary is ${n(review.summary.length)} characters; the limit is ${n(REVIEW_LIMITS.summary)}. One or two sentences.`);
  return problems;
}
