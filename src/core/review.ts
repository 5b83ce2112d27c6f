// The planner's review answer and how verdicts combine.
import { z } from 'zod';
import type { Verdict } from './types.js';

const VerdictSchema = z.enum(['approve', 'revise', 'escalate']);

export const ReviewSchema = z.object({
  verdict: VerdictSchema.describe('Overall verdict: the most serious of the per-subtask verdicts.'),
  reviews: z.array(
    z.object({
      subtask_id: z.string(),
      verdict: VerdictSchema.describe('approve: done; revise: send back with feedback; escalate: a human must decide.'),
      feedback: z.string().describe('For revise: exactly what to change. For escalate: the question for the human.'),
    }),
  ),
  summary: z.string().describe('One or two sentences on the state of the work.'),
});
export type Review = z.infer<typeof ReviewSchema>;

const SEVERITY: Record<Verdict, number> = { approve: 0, revise: 1, escalate: 2 };

/** The most serious verdict: escalate over revise over approve. */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = 'approve';
  for (const v of verdicts) if (SEVERITY[v] > SEVERITY[worst]) worst = v;
  return worst;
}
