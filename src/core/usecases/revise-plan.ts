// Versioned plans: plan_task with a workflow_id and feedback has the planner revise the plan in its
// own thread and stores the result as plan version N+1. Subtasks the new plan keeps (same id, same
// description) keep their status and results; nothing is deleted. A revision that would drop
// completed or approved work is only proposed, until confirm_plan_version applies it.
import type { CoreDeps } from '../deps.js';
import { checkTexts, invalidInput, invalidTransition, notFound } from '../errors.js';
import { precheckPlannerBudget, sumUsage, type CallOptions } from '../journal.js';
import { isDone, readySubtasks, type Plan } from '../plan.js';
import { renderReplanInput } from '../prompts.js';
import { roleFor } from '../routing.js';
import type { PlanChanges, PlanRecord, Subtask, Workflow } from '../types.js';
import { changesView, plannedSubtaskView } from '../views.js';
import { derivePhase, handedOver, isEnded, isNewThread, loadWorkflow, nextStep, plannerThreadOf, threadState, withWorkflowLock } from '../workflow.js';
import { compactIfNeeded } from './compact.js';
import type { Store } from '../ports.js';
import { freshSubtask, planCall } from '../planning.js';
import type { PlanTaskInput, PlanTaskResult } from './plan-task.js';

/**
 * plan_task with a workflow_id: with `feedback`, the planner revises the plan in its own thread (a
 * new plan version, applied unless it would drop completed work or something is running: then it
 * waits as a proposal); with `confirm_plan_version`, a proposal is applied. The planner call runs
 * under the workflow's lock and is tracked, so cancel_workflow stops it. Throws not_found,
 * invalid_input, invalid_transition (no plan yet, running subtasks, locked, not a proposal),
 * budget_exceeded, model_output_invalid (the plan is unchanged), provider errors, storage_unavailable.
 */
export async function revisePlan(d: CoreDeps, input: PlanTaskInput & { workflow_id: string }, opts: CallOptions): Promise<PlanTaskResult> {
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  if (input.request?.trim() || input.files?.length) {
    throw invalidInput('A revision takes feedback, not a new request or files.', 'Pass workflow_id with feedback (or confirm_plan_version); start a new workflow without workflow_id.');
  }
  if (input.checks !== undefined || input.changes !== undefined) {
    throw invalidInput(
      'checks and changes are chosen when a workflow starts, not in a revision.',
      'Leave them out of this call; to change them, start a new workflow (plan_task without workflow_id).',
    );
  }
  if (input.feedback !== undefined && input.confirm_plan_version === undefined) checkTexts(['feedback', input.feedback, true]);
  const feedback = input.feedback?.trim() ?? '';
  if (input.confirm_plan_version !== undefined && feedback) {
    throw invalidInput('Give either feedback (for a new revision) or confirm_plan_version (to apply a proposed one), not both.', 'Send them in two calls.');
  }
  if (input.confirm_plan_version === undefined && !feedback) {
    throw invalidInput('feedback is empty: say how the plan should change.', 'Pass feedback with the workflow_id, or confirm_plan_version to apply a proposed revision.');
  }
  if (workflow.planVersion === 0) throw invalidTransition(`Workflow ${workflow.id} has no plan yet.`, `Run it with run_workflow {"workflow_id":"${workflow.id}"}.`);
  const running = subtasks.filter((s) => s.status === 'running');
  if (running.length) throw runningNow(running.map((s) => s.id));
  // A refused confirmation writes nothing, not even the lock: check the version before taking it.
  if (input.confirm_plan_version !== undefined) await proposal(d, workflow, input.confirm_plan_version);
  else await precheckPlannerBudget(d, workflow, renderReplanInput(feedback, workflow.planVersion, subtasks, null));
  return withWorkflowLock(d, workflow.id, opts.lockToken, async (token) => {
    if (input.confirm_plan_version !== undefined) return confirm(d, workflow, input.confirm_plan_version);
    const op = d.runtime.track(workflow.id, opts.signal);
    try {
      return await propose(d, workflow, subtasks, feedback, token, { ...opts, signal: op.signal });
    } finally {
      op.done();
    }
  });
}

async function propose(d: CoreDeps, workflow: Workflow, subtasks: Subtask[], feedback: string, token: string, opts: CallOptions): Promise<PlanTaskResult> {
  const draft = renderReplanInput(feedback, workflow.planVersion, subtasks, null);
  const current = await compactIfNeeded(d, (await d.store.workflows.get(workflow.id)) ?? workflow, draft, opts);
  const state = (await isNewThread(d, current)) ? threadState(current, subtasks) : null;
  opts.onProgress?.({ message: `revising the plan on ${d.settings.models.planner}`, progress: 0 });
  const answer = await planCall(
    d,
    workflow.id,
    current.budget,
    renderReplanInput(feedback, workflow.planVersion, subtasks, state),
    plannerThreadOf(d, current),
    'The plan is unchanged. Retry with clearer feedback.',
    opts,
  );
  // Decide against the state as it is now, not as it was before the planner call: a subtask may
  // have completed (or started) meanwhile.
  const now = d.clock.now();
  const outcome = await d.store.transaction(async (tx) => {
    if ((await tx.workflows.get(workflow.id))?.lockOwner !== token) throw handedOver(workflow.id);
    await tx.workflows.appendTurns(workflow.id, current.plannerThread, answer.turns, now);
    const fresh = await tx.workflows.listSubtasks(workflow.id);
    const running = fresh.filter((s) => s.status === 'running').map((s) => s.id);
    const plans = await tx.workflows.listPlans(workflow.id);
    const version = Math.max(...plans.map((p) => p.version)) + 1;
    const changes = diffPlan(fresh, answer.value);
    const record: PlanRecord = { workflowId: workflow.id, version, plan: answer.value, responseId: answer.responseId, status: 'proposed', feedback, changes, createdAt: now };
    if (changes.drops_work.length === 0 && running.length === 0) {
      await apply(d, tx, workflow.id, { ...record, status: 'active' }, now, answer.responseId);
      return { proposed: false as const, changes };
    }
    // Dropping work needs an explicit yes, and nothing changes under a running subtask: keep the
    // revision as a proposal, the plan as it is.
    for (const p of plans) if (p.status === 'proposed') await tx.workflows.setPlanStatus(workflow.id, p.version, 'discarded');
    await tx.workflows.insertPlan(record);
    await tx.workflows.update(workflow.id, { plannerResponseId: answer.responseId }, now);
    return { proposed: true as const, changes, version, running };
  });
  if (!outcome.proposed) return result(d, await loadWorkflow(d, workflow.id), outcome.changes, answer.usage);

  const { changes, version, running } = outcome;
  const args = { workflow_id: workflow.id, confirm_plan_version: version };
  const why = [
    changes.drops_work.length ? `it drops completed work (${changes.drops_work.join(', ')}; their outputs stay in their history)` : '',
    running.length ? `${running.join(', ')} ${running.length === 1 ? 'is' : 'are'} running` : '',
  ].filter(Boolean);
  return {
    ...(await result(d, await loadWorkflow(d, workflow.id), changes, answer.usage)),
    subtasks: (await project(d, d.store, workflow.id, answer.value, now)).subtasks.map(plannedSubtaskView),
    ready: [],
    coordination_notes: answer.value.coordination_notes,
    requires_confirmation: true,
    proposed_version: version,
    next: `The revision is not applied yet: ${why.join(', and ')}. To apply it${running.length ? ' once nothing runs' : ''}, call plan_task ${JSON.stringify(args)}; to try other feedback, call plan_task with workflow_id and feedback again.`,
  };
}

/** The proposed plan `version` of the workflow; throws not_found, or invalid_transition when it is not a proposal. */
async function proposal(d: CoreDeps, workflow: Workflow, version: number): Promise<PlanRecord> {
  const record = await d.store.workflows.getPlan(workflow.id, version);
  if (!record) throw notFound(`Plan version of ${workflow.id}`, String(version), 'workflow_status shows the proposed version, if any.');
  if (record.status !== 'proposed') {
    throw invalidTransition(`Plan version ${version} of ${workflow.id} is ${record.status}, not proposed.`, 'Only the latest proposed revision can be confirmed.');
  }
  return record;
}

async function confirm(d: CoreDeps, workflow: Workflow, version: number): Promise<PlanTaskResult> {
  // Again under the lock: another call may have applied or discarded it meanwhile.
  const record = await proposal(d, workflow, version);
  const now = d.clock.now();
  const changes = await d.store.transaction(async (tx) => {
    const fresh = await tx.workflows.listSubtasks(workflow.id);
    const running = fresh.filter((s) => s.status === 'running').map((s) => s.id);
    if (running.length) throw runningNow(running);
    // The state may have moved on since the proposal: the changes are what it does now. The
    // planner's thread keeps its current head (later reviews stay in it).
    const current = diffPlan(fresh, record.plan as Plan);
    await apply(d, tx, workflow.id, { ...record, status: 'active', changes: current }, now, undefined);
    return current;
  });
  return result(d, await loadWorkflow(d, workflow.id), changes, sumUsage([]));
}

function runningNow(ids: string[]) {
  return invalidTransition(`Subtasks ${ids.join(', ')} are running; the plan cannot change under them.`, 'Wait for them, or stop the workflow with cancel_workflow, then revise.');
}

/** What a new plan changes against the current subtasks. */
export function diffPlan(current: readonly Subtask[], plan: Plan): PlanChanges {
  const old = new Map(current.map((s) => [s.id, s]));
  const next = new Set(plan.subtasks.map((p) => p.id));
  const changes: PlanChanges = { added: [], removed: [], changed: [], kept: [], drops_work: [] };
  for (const p of plan.subtasks) {
    const before = old.get(p.id);
    if (!before) changes.added.push(p.id);
    else if (before.description === p.description) changes.kept.push(p.id);
    else changes.changed.push(p.id);
  }
  for (const s of current) if (!next.has(s.id)) changes.removed.push(s.id);
  changes.drops_work = [...changes.changed, ...changes.removed].filter((id) => isDone(old.get(id)!.status));
  return changes;
}

/** The subtasks the plan makes of the workflow's current ones (kept ones keep their state), and those it drops. */
async function project(d: CoreDeps, store: Store, workflowId: string, plan: Plan, now: number): Promise<{ subtasks: Subtask[]; removed: string[]; inserted: Set<string> }> {
  const all = new Map((await store.workflows.listAllSubtasks(workflowId)).map((s) => [s.id, s]));
  const ladder = d.settings.ladder;
  const inserted = new Set<string>();
  const subtasks = plan.subtasks.map((p, position): Subtask => {
    const before = all.get(p.id);
    if (!before) inserted.add(p.id);
    if (before && before.removedIn === null && before.description === p.description) {
      const role = before.status === 'pending' ? (roleFor({ complexity: p.complexity, attempts: before.attempts }, ladder) ?? before.role) : before.role;
      return { ...before, ...p, position, updatedAt: now, role };
    }
    // New, changed, or brought back: it starts over (earlier outputs stay in its history).
    return freshSubtask(workflowId, p, position, now, ladder);
  });
  const keep = new Set(plan.subtasks.map((p) => p.id));
  const removed = [...all.values()].filter((s) => s.removedIn === null && !keep.has(s.id)).map((s) => s.id);
  return { subtasks, removed, inserted };
}

/** Makes `record` the active plan, in the caller's transaction, nothing deleted. `head`: the planner thread's new head (undefined: keep it). */
async function apply(d: CoreDeps, tx: Store, workflowId: string, record: PlanRecord, now: number, head: string | null | undefined): Promise<void> {
  const plan = record.plan as Plan;
  for (const p of await tx.workflows.listPlans(workflowId)) {
    if (p.version === record.version) continue;
    if (p.status === 'active') await tx.workflows.setPlanStatus(workflowId, p.version, 'superseded');
    if (p.status === 'proposed') await tx.workflows.setPlanStatus(workflowId, p.version, 'discarded');
  }
  if (await tx.workflows.getPlan(workflowId, record.version)) await tx.workflows.setPlanStatus(workflowId, record.version, 'active');
  else await tx.workflows.insertPlan(record);

  const { subtasks, removed, inserted } = await project(d, tx, workflowId, plan, now);
  await tx.workflows.insertSubtasks(subtasks.filter((s) => inserted.has(s.id)));
  for (const s of subtasks) {
    if (inserted.has(s.id)) continue;
    const { position, title, description, depends_on, complexity, output_format, relevant_files, status, attempts, role, model, feedback, output } = s;
    await tx.workflows.updateSubtask(
      workflowId,
      s.id,
      { position, title, description, depends_on, complexity, output_format, relevant_files, status, attempts, role, model, feedback, output, removedIn: null },
      now,
    );
  }
  for (const id of removed) await tx.workflows.updateSubtask(workflowId, id, { removedIn: record.version }, now);

  const current = (await tx.workflows.get(workflowId))!;
  const ended = isEnded(current.phase);
  await tx.workflows.update(
    workflowId,
    {
      planVersion: record.version,
      plannerResponseId: head === undefined ? current.plannerResponseId : head,
      coordinationNotes: plan.coordination_notes,
      phase: ended ? current.phase : derivePhase(await tx.workflows.listSubtasks(workflowId)),
    },
    now,
  );
}

async function result(d: CoreDeps, state: { workflow: Workflow; subtasks: Subtask[] }, changes: PlanChanges, usage: PlanTaskResult['usage']): Promise<PlanTaskResult> {
  const { workflow, subtasks } = state;
  const workspace = await d.store.changes.get(workflow.id);
  return {
    workflow_id: workflow.id,
    phase: workflow.phase,
    plan_version: workflow.planVersion,
    subtasks: subtasks.map(plannedSubtaskView),
    ready: readySubtasks(subtasks).map((s) => s.id),
    coordination_notes: workflow.coordinationNotes,
    plan_changes: changes,
    changes: workspace ? changesView(workspace) : null,
    requires_confirmation: false,
    proposed_version: null,
    usage,
    next: nextStep(workflow, subtasks, undefined, workspace),
  };
}
