import { z } from 'zod';
import { CallUsage, Phase, SubtaskId, Verdict, WorkflowId } from '../schemas.js';
import type { ToolContext } from '../server.js';

const Decision = z.object({
  subtask_id: SubtaskId,
  verdict: z.enum(['approve', 'revise', 'cancel']).describe('approve: accept as is; revise: run again with the feedback; cancel: stop the workflow.'),
  feedback: z.string().max(20_000, 'feedback is over 20,000 characters').default('').describe('For revise: what to change.'),
});

export const ReviewResultsInput = z.object({
  workflow_id: WorkflowId,
  subtask_ids: z.array(SubtaskId).max(50).optional().describe('Default: every completed subtask not yet reviewed.'),
  decisions: z
    .array(Decision)
    .min(1)
    .max(50)
    .optional()
    .describe("A human's decisions on subtasks that need one (phase needs_human), passed by the host on the human's behalf. Applied without a model call."),
});

export const ReviewResultsOutput = z.object({
  workflow_id: z.string(),
  verdict: Verdict.describe('The most serious verdict of the reviews.'),
  reviews: z.array(z.object({ subtask_id: z.string(), verdict: Verdict, feedback: z.string() })),
  unreviewed: z.array(z.string()).describe('Subtasks sent for review that got no verdict; they stay completed.'),
  decisions: z.array(z.object({ subtask_id: z.string(), verdict: z.enum(['approve', 'revise', 'cancel']), feedback: z.string() })).describe('Decisions a human made in this call.'),
  summary: z.string(),
  phase: Phase,
  usage: CallUsage,
  next: z.string(),
});

export function registerReviewResults({ server, app, run }: ToolContext): void {
  server.registerTool(
    'review_results',
    {
      title: 'Review results',
      description:
        'Have the planner model review completed subtasks in the same conversation as its plan. approve -> approved; revise -> back to pending with feedback for the next attempt; escalate -> needs a human decision.',
      inputSchema: ReviewResultsInput,
      outputSchema: ReviewResultsOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) => run(extra, (ctl): Promise<z.infer<typeof ReviewResultsOutput>> => app.reviewResults(args, ctl), render),
  );
}

function render(r: z.infer<typeof ReviewResultsOutput>): string {
  const lines = r.reviews.map((v) => `- ${v.subtask_id}: ${v.verdict}${v.feedback ? ` — ${v.feedback}` : ''}`);
  const missing = r.unreviewed.length ? [`Not reviewed: ${r.unreviewed.join(', ')}.`] : [];
  for (const d of r.decisions) missing.push(`- ${d.subtask_id}: ${d.verdict} (a human's decision)${d.feedback ? ` — ${d.feedback}` : ''}`);
  return [`Review of ${r.workflow_id}: ${r.verdict}. ${r.summary}`, ...lines, ...missing, `Phase: ${r.phase}.`, `Next: ${r.next}`].join('\n');
}
