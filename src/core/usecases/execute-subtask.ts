import { buildExecutorContext, type ContextPacket } from '../context.js';
import { checkBudget, reservationFor } from '../budget.js';
import type { CoreDeps } from '../deps.js';
import { dependenciesIncomplete, invalidTransition, nothingToDo, PlanexecError } from '../errors.js';
import { beginCall, completeCall, failCall, modelRequest, sumUsage, type CallOptions, type CallUsage } from '../journal.js';
import { missingDependencies, readySubtasks } from '../plan.js';
import { roleFor } from '../routing.js';
import { clipBytes } from '../text.js';
import type { Phase, Role, Subtask, SubtaskStatus, Workflow } from '../types.js';
import { derivePhase, findSubtask, isEnded, loadWorkflow, nextStep } from '../workflow.js';

export interface ExecuteSubtaskInput {
  workflow_id: string;
  subtask_id?: string | undefined;
  notes?: string | undefined;
  force?: boolean | undefined;
}

export interface ExecuteOptions extends CallOptions {
  /** Called once the subtask is claimed (status running), before the model is called. */
  onClaimed?: ((workflowId: string, subtaskId: string) => void) | undefined;
}

export interface ExecuteSubtaskResult {
  workflow_id: string;
  subtask_id: string;
  status: SubtaskStatus;
  /** False when a completed subtask's stored output is returned without a model call. */
  executed: boolean;
  attempt: number;
  output: string;
  output_truncated: boolean;
  model: string | null;
  role: Role;
  usage: CallUsage;
  /** What the model was shown; `tokens` is the provider's count of the whole prompt. */
  context: ContextPacket | null;
  phase: Phase;
  ready: string[];
  next: string;
}

/** Another process or call claimed or changed the subtask first. */
export function changedConcurrently(subtaskId: string): PlanexecError {
  return new PlanexecError(
    'invalid_transition',
    `Subtask '${subtaskId}' was claimed or changed by another call while this one prepared it.`,
    'Check workflow_status; call execute_subtask again if it is still pending.',
    { reason: 'concurrent', subtask_id: subtaskId },
  );
}

/** The subtask is still running under this process's claim. */
function stillOurs(d: CoreDeps, workflowId: string, subtaskId: string): boolean {
  const s = d.store.listSubtasks(workflowId).find((x) => x.id === subtaskId);
  return s?.status === 'running' && s.leaseOwner === d.owner;
}

/** True for the errors that mean "someone else is on it", which a scheduler can skip. */
export function isConcurrent(error: unknown): boolean {
  return error instanceof PlanexecError && error.details.reason === 'concurrent';
}

export async function executeSubtask(d: CoreDeps, input: ExecuteSubtaskInput, opts: ExecuteOptions = {}): Promise<ExecuteSubtaskResult> {
  d.runtime.reap();
  const { workflow, subtasks } = loadWorkflow(d, input.workflow_id);
  if (isEnded(workflow.phase)) {
    throw invalidTransition(`Workflow ${workflow.id} is ${workflow.phase}.`, `Resume it with run_workflow {"workflow_id":"${workflow.id}"}.`);
  }
  const subtask = input.subtask_id ? findSubtask(workflow, subtasks, input.subtask_id) : firstReady(workflow, subtasks);

  if ((subtask.status === 'completed' || subtask.status === 'approved') && !input.force) {
    return result(d, workflow, subtasks, subtask, { executed: false, usage: sumUsage([]), context: null });
  }
  if (subtask.status === 'running') {
    throw new PlanexecError('invalid_transition', `Subtask '${subtask.id}' is already running.`, `Wait for it; check workflow_status {"workflow_id":"${workflow.id}"}.`, {
      reason: 'concurrent',
      subtask_id: subtask.id,
    });
  }
  if (subtask.status === 'needs_human') {
    throw invalidTransition(
      `Subtask '${subtask.id}' is waiting for a human decision.`,
      `Read the planner's question with workflow_status {"workflow_id":"${workflow.id}","subtask_id":"${subtask.id}"}.`,
    );
  }
  const missing = missingDependencies(subtask, subtasks);
  if (missing.length) {
    throw dependenciesIncomplete(subtask.id, missing, `Execute ${missing.map((m) => `'${m}'`).join(', ')} first (execute_subtask with that subtask_id).`);
  }

  // Past the ladder only a human's revise makes a subtask pending again; it runs on the rung it was given.
  const role = roleFor(subtask, d.settings.ladder) ?? (subtask.attempts > d.settings.ladder.length ? subtask.role : null);
  if (role === null) {
    throw invalidTransition(`Subtask '${subtask.id}' has used every rung of the escalation ladder.`, 'A human must decide: answer with review_results decisions.');
  }
  const context = await buildExecutorContext({
    workflow,
    subtask,
    all: subtasks,
    notes: input.notes?.trim() || null,
    files: d.files,
    limits: d.settings.context,
  });
  const request = modelRequest(d, role, context.instructions, context.input, 'executor');
  const need = reservationFor(d, workflow.id, workflow.budget, request);

  // Claim the subtask and journal the call in one transaction, after checking that nobody claimed
  // or changed it since we read it. If this process dies, the claim returns it to `claimedFrom`.
  const claim = d.store.transaction(() => {
    const fresh = d.store.listSubtasks(workflow.id).find((s) => s.id === subtask.id);
    const current = d.store.getWorkflow(workflow.id)!;
    if (isEnded(current.phase)) throw invalidTransition(`Workflow ${workflow.id} is ${current.phase}.`, `Resume it with run_workflow {"workflow_id":"${workflow.id}"}.`);
    if (!fresh || fresh.status !== subtask.status || fresh.updatedAt !== subtask.updatedAt) throw changedConcurrently(subtask.id);
    if (need !== null) checkBudget(d, workflow.id, current.budget, role, need);
    const now = d.clock.now();
    d.store.updateSubtask(workflow.id, subtask.id, { status: 'running', leaseOwner: d.owner, claimedFrom: subtask.status }, now);
    const reopened = current.phase !== 'executing' && current.phase !== 'needs_human';
    if (reopened) d.store.updateWorkflow(workflow.id, { phase: 'executing' }, now);
    const callId = beginCall(d, { workflowId: workflow.id, subtaskId: subtask.id, purpose: 'execute', role }, request.model, need);
    return { callId, reopened, phaseBefore: current.phase, workflowUpdatedAt: current.updatedAt };
  });
  const { callId } = claim;
  opts.onClaimed?.(workflow.id, subtask.id);
  opts.onProgress?.({ message: `executing ${subtask.id} on ${request.model} (attempt ${subtask.attempts})`, progress: 0, total: 1 });

  const op = d.runtime.track(workflow.id, opts.signal);
  let response;
  try {
    response = await d.models.generate({ ...request, signal: op.signal });
  } catch (error) {
    // Put the subtask back exactly as it was; the journal keeps the failed call. The workflow's
    // phase goes back only if this call changed it and nobody (cancel_workflow) changed it since.
    // If another process took the subtask over meanwhile, it is theirs: leave it alone.
    d.store.transaction(() => {
      failCall(d, callId, error);
      if (!stillOurs(d, workflow.id, subtask.id)) return;
      d.store.updateSubtask(workflow.id, subtask.id, { status: subtask.status, leaseOwner: null, claimedFrom: null }, subtask.updatedAt);
      if (claim.reopened && d.store.getWorkflow(workflow.id)?.phase === 'executing') {
        d.store.updateWorkflow(workflow.id, { phase: claim.phaseBefore }, claim.workflowUpdatedAt);
      }
    });
    throw error;
  } finally {
    op.done();
  }

  const report: ContextPacket = { tokens: response.usage.input_tokens, ...context.report };
  const after = d.store.transaction(() => {
    completeCall(d, callId, response);
    const now = d.clock.now();
    const ours = stillOurs(d, workflow.id, subtask.id);
    d.store.insertExecution({
      workflowId: workflow.id,
      subtaskId: subtask.id,
      attempt: subtask.attempts,
      callId,
      role,
      model: request.model,
      output: response.text,
      context: report,
      createdAt: now,
    });
    // Taken over by another process while this call ran: the output stays in the history only.
    if (!ours) return null;
    d.store.updateSubtask(workflow.id, subtask.id, { status: 'completed', output: response.text, model: request.model, role, leaseOwner: null, claimedFrom: null }, now);
    const all = d.store.listSubtasks(workflow.id);
    const current = d.store.getWorkflow(workflow.id)!;
    // A result that lands after cancel_workflow is kept, and the workflow stays cancelled.
    const phase = isEnded(current.phase) ? current.phase : derivePhase(all);
    d.store.updateWorkflow(workflow.id, { phase }, now);
    return { workflow: { ...current, phase }, subtasks: all };
  });
  if (!after) {
    throw new PlanexecError(
      'invalid_transition',
      `Subtask '${subtask.id}' was taken over by another process while this call ran (this one missed its heartbeat); this answer is kept in its history.`,
      'Check workflow_status for its current state.',
      { reason: 'concurrent', subtask_id: subtask.id },
    );
  }
  opts.onProgress?.({ message: `${subtask.id} completed on ${request.model}`, progress: 1, total: 1 });
  const done = findSubtask(after.workflow, after.subtasks, subtask.id);
  return result(d, after.workflow, after.subtasks, done, { executed: true, usage: sumUsage([response]), context: report });
}

/** The execute_subtask answer for a subtask whose execution was just started in the background (wait: false). */
export function subtaskSnapshot(d: CoreDeps, workflowId: string, subtaskId: string): ExecuteSubtaskResult {
  const { workflow, subtasks } = loadWorkflow(d, workflowId);
  const subtask = findSubtask(workflow, subtasks, subtaskId);
  return result(d, workflow, subtasks, subtask, { executed: true, usage: sumUsage([]), context: null });
}

function firstReady(workflow: Workflow, subtasks: Subtask[]): Subtask {
  const ready = readySubtasks(subtasks)[0];
  if (ready) return ready;
  throw nothingToDo(`No subtask of workflow ${workflow.id} is ready to execute.`, nextStep(workflow, subtasks));
}

function result(
  d: CoreDeps,
  workflow: Workflow,
  subtasks: Subtask[],
  subtask: Subtask,
  extra: Pick<ExecuteSubtaskResult, 'executed' | 'usage' | 'context'>,
): ExecuteSubtaskResult {
  const output = clipBytes(subtask.output ?? '', d.settings.resultBytes);
  const marker = output.truncated
    ? `\n\n[output truncated: ${output.text.length} of ${output.total} characters shown. Get the rest with workflow_status ${JSON.stringify({ workflow_id: workflow.id, subtask_id: subtask.id, offset: output.text.length })}]`
    : '';
  return {
    workflow_id: workflow.id,
    subtask_id: subtask.id,
    status: subtask.status,
    executed: extra.executed,
    attempt: subtask.attempts,
    output: output.text + marker,
    output_truncated: output.truncated,
    model: subtask.model,
    role: subtask.role,
    usage: extra.usage,
    context: extra.context,
    phase: workflow.phase,
    ready: readySubtasks(subtasks).map((s) => s.id),
    next: nextStep(workflow, subtasks),
  };
}
