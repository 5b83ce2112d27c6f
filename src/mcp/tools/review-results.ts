import { z } from 'zod';
import { callTool } from '../tool.js';
import { CallUsageRef, input, Phase, SubtaskId, Verdict, WorkflowId } from '../schemas.js';

const Decision = input({
  subtask_id: SubtaskId,
  verdict: z.enum(['approve', 'revise', 'cancel']).describe('revise: run again with the feedback; cancel: stop the workflow.'),
  feedback: z.string().max(20_000, 'feedback is over 20,000 characters').default(''),
});

/** review_results's input (PRODUCT.md): at most 50 subtask_ids or 50 decisions, feedback at most 20,000 characters each. */
export const ReviewResultsInput = input({
  workflow_id: WorkflowId,
  subtask_ids: z.array(SubtaskId).max(50).optional().describe('Default: every completed subtask not yet reviewed.'),
  decisions: z
    .array(Decision)
    .min(1)
    .max(50)
    .optional()
    .describe("A human's decisions on subtasks that need one, passed by the host; applied without a model call."),
});

/** review_results's answer (src/core/usecases/review-results.ts ReviewResultsResult). */
export const ReviewResultsOutput = z.object({
  workflow_id: z.string(),
  verdict: Verdict,
  reviews: z.array(z.object({ subtask_id: z.string(), verdict: Verdict, feedback: z.string() })),
  unreviewed: z.array(z.string()).describe('Sent for review but given no verdict; still completed.'),
  decisions: z.array(z.object({ subtask_id: z.string(), verdict: z.enum(['approve', 'revise', 'cancel']), feedback: z.string() })).describe("A human's decisions made in this call."),
  summary: z.string(),
  phase: Phase,
  usage: CallUsageRef,
  next: z.string(),
});
type Output = z.infer<typeof ReviewResultsOutput>;

/** review_results: the use case, with the human asked through elicitation when the client can; errors become isError results. */
export const reviewResults = callTool({
  name: 'review_results',
  title: 'Review results',
  description:
    'The planner model reviews completed subtasks in the same conversation as its plan: approve -> approved; revise -> pending again with feedback for the next attempt; escalate -> needs a human decision.',
  input: ReviewResultsInput,
  output: ReviewResultsOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  call: (ctx, args, extra) => ctx.run(extra, (ctl): Promise<Output> => ctx.app.reviewResults(args, ctl), render),
});

function render(r: Output): string {
  const lines = r.reviews.map((v) => `- ${v.subtask_id}: ${v.verdict}${v.feedback ? ` — ${v.feedback}` : ''}`);
  const missing = r.unreviewed.length ? [`Not reviewed: ${r.unreviewed.join(', ')}.`] : [];
  for (const d of r.decisions) missing.push(`- ${d.subtask_id}: ${d.verdict} (a human's decision)${d.feedback ? ` — ${d.feedback}` : ''}`);
  return [`Review of ${r.workflow_id}: ${r.verdict}. ${r.summary}`, ...lines, ...missing, `Phase: ${r.phase}.`, `Next: ${r.next}`].join('\n');
}
