import { z } from 'zod';
import { CallUsage, Phase, SubtaskId, Verdict, WorkflowId } from '../schemas.js';
import type { ToolContext } from '../server.js';

export const ReviewResultsInput = z.object({
  workflow_id: WorkflowId,
  subtask_ids: z.array(SubtaskId).max(50).optional().describe('Default: every completed subtask not yet reviewed.'),
});

export const ReviewResultsOutput = z.object({
  workflow_id: z.string(),
  verdict: Verdict.describe('The most serious verdict of the reviews.'),
  reviews: z.array(z.object({ subtask_id: z.string(), verdict: Verdict, feedback: z.string() })),
  unreviewed: z.array(z.string()).describe('Subtasks sent for review that got no verdict; they stay completed.'),
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
  return [`Review of ${r.workflow_id}: ${r.verdict}. ${r.summary}`, ...lines, ...missing, `Phase: ${r.phase}.`, `Next: ${r.next}`].join('\n');
}
