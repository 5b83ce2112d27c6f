import { z } from 'zod';
import type { ToolContext } from '../server.js';
import { WorkflowId } from '../schemas.js';
import { renderStatus, WorkflowStatusOutput } from './workflow-status.js';

export const CancelWorkflowInput = z.object({ workflow_id: WorkflowId });

export function registerCancelWorkflow({ server, app, run }: ToolContext): void {
  server.registerTool(
    'cancel_workflow',
    {
      title: 'Cancel a workflow',
      description:
        'Stop a workflow: no new subtask starts, in-flight model calls are aborted, running subtasks go back to pending and the phase becomes cancelled. Completed work is kept; run_workflow {workflow_id} resumes it.',
      inputSchema: CancelWorkflowInput,
      outputSchema: WorkflowStatusOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) => run(extra, (): Promise<z.infer<typeof WorkflowStatusOutput>> => app.cancelWorkflow(args), renderStatus),
  );
}
