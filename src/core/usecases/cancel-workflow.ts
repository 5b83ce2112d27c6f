import type { CoreDeps } from '../deps.js';
import { invalidTransition } from '../errors.js';
import { loadWorkflow } from '../workflow.js';
import { workflowStatus, type WorkflowStatusResult } from './workflow-status.js';

/** cancel_workflow's input (PRODUCT.md). */
export interface CancelWorkflowInput {
  workflow_id: string;
}

/** How long cancel_workflow waits for this process's in-flight calls to settle before answering, ms. */
const SETTLE_MS = 3_000;

/**
 * cancel_workflow: phase cancelled, in-flight model calls aborted (here at once; in another process at
 * its next heartbeat), and each running subtask, as its execution gives up, back to the status it was
 * claimed from (pending; failed or completed for a retry or a forced run). Waits up to SETTLE_MS for
 * this process's calls to settle, then answers with workflow_status. Completed work is kept and
 * run_workflow resumes it. A cancelled workflow is not written again. Throws not_found,
 * invalid_transition (already completed), storage_unavailable.
 */
export async function cancelWorkflow(d: CoreDeps, input: CancelWorkflowInput): Promise<WorkflowStatusResult> {
  // Claims and answers this process kept while the storage refused them are written first.
  await d.runtime.flush();
  const { workflow } = await loadWorkflow(d, input.workflow_id);
  if (workflow.phase === 'completed') {
    throw invalidTransition(`Workflow ${workflow.id} is already completed; there is nothing to cancel.`, 'Nothing to do.');
  }
  if (workflow.phase !== 'cancelled') await d.store.workflows.update(workflow.id, { phase: 'cancelled', lastError: null }, d.clock.now());
  d.runtime.abort(workflow.id, 'the workflow was cancelled');
  await d.runtime.idle(workflow.id, SETTLE_MS);
  return workflowStatus(d, { workflow_id: workflow.id });
}
