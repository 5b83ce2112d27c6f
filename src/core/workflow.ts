// Workflow state shared by the use cases: loading, the phase a set of subtasks implies, and the
// "what to call next" hint every tool result carries.
import type { CoreDeps } from './deps.js';
import { notFound, PlanexecError } from './errors.js';
import { Runtime } from './runtime.js';
import { readySubtasks } from './plan.js';
import type { PlannerThread } from './journal.js';
import type { Store } from './ports.js';
import { renderThreadState } from './prompts.js';
import type { Phase, Subtask, Workflow, WorkflowChanges } from './types.js';

/**
 * A workflow and the subtasks of its active plan, read from `store` (a transaction's handle, or by
 * default the root store). Throws not_found when there is no such workflow.
 */
export async function loadWorkflow(d: CoreDeps, id: string, store: Store = d.store): Promise<{ workflow: Workflow; subtasks: Subtask[] }> {
  // Both at once: one round trip on a database server.
  const [workflow, subtasks] = await Promise.all([store.workflows.get(id), store.workflows.listSubtasks(id)]);
  if (!workflow) throw notFound('Workflow', id, 'Call workflow_status without arguments to list recent workflows, or plan_task to start one.');
  return { workflow, subtasks };
}

/** The subtask `id` of the active plan; throws not_found naming the known ids. */
export function findSubtask(workflow: Workflow, subtasks: readonly Subtask[], id: string): Subtask {
  const s = subtasks.find((x) => x.id === id);
  if (!s) {
    throw notFound(`Subtask in workflow ${workflow.id}`, id, `Known subtask ids: ${subtasks.map((x) => x.id).join(', ')}.`);
  }
  return s;
}

/** Cancelled or failed: stopped until run_workflow resumes it. Nothing but a resume moves it on. */
export function isEnded(phase: Phase): boolean {
  return phase === 'cancelled' || phase === 'failed';
}

/** The phase the subtasks' statuses put a workflow in (the explicit end states are set elsewhere). */
export function derivePhase(subtasks: readonly Subtask[]): Phase {
  if (subtasks.some((s) => s.status === 'needs_human')) return 'needs_human';
  if (subtasks.every((s) => s.status === 'approved')) return 'completed';
  if (subtasks.some((s) => s.status === 'pending' || s.status === 'running' || s.status === 'failed')) return 'executing';
  return 'reviewing';
}

const call = (tool: string, args: Record<string, unknown>) => `${tool} ${JSON.stringify(args)}`;
const ids = (list: readonly Subtask[]) => list.map((s) => s.id).join(', ');

/**
 * One sentence telling the host what to call next. `active`: whether a run (in this or another live
 * planexec process) is driving the workflow now; when known to be false, a workflow left mid-way
 * (its run stopped with its client or its process) is pointed at the call that resumes it.
 */
export function nextStep(workflow: Workflow, subtasks: readonly Subtask[], active?: boolean, changes?: WorkflowChanges | null): string {
  const workflow_id = workflow.id;
  const branchPending = changes?.mode === 'worktree' && !changes.discarded && changes.head !== changes.base && changes.merged?.commit !== changes.head;
  if (active === true && (workflow.phase === 'planning' || workflow.phase === 'executing' || workflow.phase === 'reviewing')) {
    return `A run (run_workflow) is driving this workflow now: follow it with ${call('workflow_status', { workflow_id })}; cancel_workflow stops it.`;
  }
  if (active === false && workflow.phase === 'planning') {
    return `Nobody is planning this workflow now (the run that was planning it stopped with its client or its process). Resume it with ${call('run_workflow', { workflow_id })}.`;
  }
  switch (workflow.phase) {
    case 'completed':
      if (branchPending) {
        return `Every subtask is approved and the checks pass: bring branch ${changes!.branch} into your branch with ${call('merge_changes', { workflow_id })} (or drop it with discard_changes).`;
      }
      return `Nothing left to do: every subtask is approved. Read an output in full with ${call('workflow_status', { workflow_id, subtask_id: subtasks[0]?.id ?? 's1' })}.`;
    case 'cancelled':
      return `The workflow was cancelled; completed work is kept. Resume it with ${call('run_workflow', { workflow_id })}.`;
    case 'failed':
      return `The workflow stopped on an error (last_error); completed work is kept. Fix the cause, then resume with ${call('run_workflow', { workflow_id })}.`;
    case 'planning':
      return `The plan is being made; check ${call('workflow_status', { workflow_id })} again shortly.`;
    default:
      break;
  }
  const human = subtasks.filter((s) => s.status === 'needs_human');
  if (workflow.phase === 'needs_human' && human.length === 0) {
    const s = subtasks.find((x) => x.writes.length > 0) ?? subtasks[0];
    const decision = { subtask_id: s?.id ?? 's1', verdict: 'revise', feedback: 'what to change so the checks pass' };
    return `A human must decide (last_error says why): send a subtask back with ${call('review_results', { workflow_id, decisions: [decision] })}, fix the branch yourself and call review_results again, or drop it with discard_changes.`;
  }
  if (human.length) {
    const decision = { subtask_id: human[0]!.id, verdict: 'approve | revise | cancel', feedback: '...' };
    return `A human decision is needed on ${ids(human)}: read the planner's question with ${call('workflow_status', { workflow_id, subtask_id: human[0]!.id })}, then answer with ${call('review_results', { workflow_id, decisions: [decision] })}.`;
  }
  const ready = readySubtasks(subtasks);
  if (ready.length) {
    const more = ready.length > 1 ? ` (${ready.length} ready: ${ids(ready)})` : '';
    return `Call ${call('execute_subtask', { workflow_id, subtask_id: ready[0]!.id })}${more}.`;
  }
  const running = subtasks.filter((s) => s.status === 'running');
  if (running.length) return `Wait for ${ids(running)} to finish; check ${call('workflow_status', { workflow_id })}.`;
  if (active === false && ready.length === 0 && subtasks.some((s) => s.status === 'completed')) {
    return `Call ${call('review_results', { workflow_id })}, or let ${call('run_workflow', { workflow_id })} take it to the end.`;
  }
  const unreviewed = subtasks.filter((s) => s.status === 'completed');
  if (unreviewed.length) return `Call ${call('review_results', { workflow_id })} to review ${ids(unreviewed)}.`;
  const failed = subtasks.filter((s) => s.status === 'failed');
  if (failed.length) return `Subtasks ${ids(failed)} failed; retry one with ${call('execute_subtask', { workflow_id, subtask_id: failed[0]!.id })}.`;
  if (subtasks.length && subtasks.every((s) => s.status === 'approved')) {
    return `Every subtask is approved; the host checks must pass on the finished branch: call ${call('review_results', { workflow_id })} (or run_workflow) to run them.`;
  }
  return `Check ${call('workflow_status', { workflow_id })}.`;
}

/** The workflow is coordinated by another live operation (run_workflow or a review). */
export function workflowBusy(workflowId: string): PlanexecError {
  return new PlanexecError(
    'invalid_transition',
    `Workflow ${workflowId} is being coordinated by another operation (run_workflow or a review, possibly in another planexec process).`,
    `Wait for it and follow it with workflow_status {"workflow_id":"${workflowId}"}, or stop it with cancel_workflow.`,
    { reason: 'locked' },
  );
}

/** The workflow's lock was taken from this process (it was taken for dead) while it worked: nothing of its result was applied. */
export function handedOver(workflowId: string): PlanexecError {
  return new PlanexecError(
    'invalid_transition',
    `Workflow ${workflowId} was taken over by another planexec process while this one worked (it missed its heartbeat); this result was not applied.`,
    `Follow it with workflow_status {"workflow_id":"${workflowId}"}.`,
    { reason: 'concurrent' },
  );
}

/**
 * Takes the workflow's lock for `token` if it is free, already ours, or held by a dead process.
 * Returns false when another live operation holds it. Never touches anything else of the workflow.
 */
export function tryLockWorkflow(d: CoreDeps, workflowId: string, token: string): Promise<boolean> {
  return d.store.transaction(async (tx) => {
    const holder = (await tx.workflows.get(workflowId))?.lockOwner ?? null;
    if (holder === token) return true;
    if (holder !== null && (await d.runtime.isAlive(Runtime.ownerOf(holder), tx))) return false;
    return tx.workflows.casLock(workflowId, holder, token);
  });
}

/**
 * Lets go of the workflow's lock if `token` still holds it. When the storage refuses (StorageError),
 * the release is kept and retried at each heartbeat (Runtime.settle): never throws StorageError, and
 * the lock of a live process is not left held once the database is back.
 */
export async function unlockWorkflow(d: CoreDeps, workflowId: string, token: string): Promise<void> {
  await d.runtime.settle(`letting go of the lock of workflow ${workflowId}`, () => d.store.workflows.casLock(workflowId, token, null));
}

/** Runs `fn` holding the workflow's lock: the caller's (`held`), or one taken for the duration. */
export async function withWorkflowLock<T>(d: CoreDeps, workflowId: string, held: string | undefined, fn: (token: string) => Promise<T>): Promise<T> {
  if (held) return fn(held);
  const token = d.runtime.newLockToken();
  if (!(await tryLockWorkflow(d, workflowId, token))) throw workflowBusy(workflowId);
  try {
    return await fn(token);
  } finally {
    await unlockWorkflow(d, workflowId, token);
  }
}

/**
 * The workflow's current planner thread: the provider's handle (previous_response_id), planexec's
 * record of its turns, and the state a thread sent again without a record starts from.
 */
export function plannerThreadOf(d: CoreDeps, workflow: Workflow): PlannerThread {
  return {
    head: workflow.plannerResponseId,
    turns: () => d.store.workflows.listTurns(workflow.id, workflow.plannerThread),
    state: async () => threadState(workflow, await d.store.workflows.listSubtasks(workflow.id)),
  };
}

/** renderThreadState for a workflow: its summary (after a compaction), request, notes and subtasks. */
export function threadState(workflow: Workflow, subtasks: readonly Subtask[]): string {
  const { plannerSummary: summary, request, coordinationNotes, planVersion } = workflow;
  return renderThreadState({ summary, request, coordinationNotes, planVersion, subtasks });
}

/**
 * Whether the workflow's current planner thread has nothing in it yet (a new thread after a
 * compaction): its first message must then carry the state. A thread begun by an older planexec has
 * a provider head but no record: not new.
 */
export async function isNewThread(d: CoreDeps, workflow: Workflow): Promise<boolean> {
  if (workflow.plannerResponseId !== null) return false;
  return (await d.store.workflows.listTurns(workflow.id, workflow.plannerThread)).length === 0;
}
