import { z } from 'zod';
import type { WorkflowStatusResult } from '../../core/usecases/workflow-status.js';
import { callTool } from '../tool.js';
import { input, Phase, SubtaskStatus, WorkflowId } from '../schemas.js';

/** cancel_workflow's input (PRODUCT.md). */
export const CancelWorkflowInput = input({ workflow_id: WorkflowId });

/** A compact status: what cancelling changed. workflow_status has the rest (usage, cost, runs). */
export const CancelWorkflowOutput = z.object({
  workflow_id: z.string(),
  phase: Phase,
  subtasks: z.array(z.object({ id: z.string(), status: SubtaskStatus })),
  next: z.string(),
});
type Output = z.infer<typeof CancelWorkflowOutput>;

/** cancel_workflow: the use case, answered in the compact shape above; errors become isError results. */
export const cancelWorkflow = callTool({
  name: 'cancel_workflow',
  title: 'Cancel a workflow',
  description:
    'Stop a workflow: nothing new starts, in-flight model calls and checks are aborted, running subtasks are released. Completed work is kept; run_workflow {workflow_id} resumes.',
  input: CancelWorkflowInput,
  output: CancelWorkflowOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  call: (ctx, args, extra) => ctx.run(extra, async (): Promise<Output> => compact(await ctx.app.cancelWorkflow(args)), render),
});

function compact(s: WorkflowStatusResult): Output {
  return { workflow_id: s.workflow_id!, phase: s.phase!, subtasks: (s.subtasks ?? []).map(({ id, status }) => ({ id, status })), next: s.next };
}

function render(r: Output): string {
  const counts = new Map<string, number>();
  for (const s of r.subtasks) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ') || 'no subtasks';
  return `Workflow ${r.workflow_id} is ${r.phase} (${summary}).\nNext: ${r.next}`;
}
