import { buildExecutorContext, type ContextPacket, type ContextReport } from '../context.js';
import { checkBudget, reservationFor } from '../budget.js';
import type { CoreDeps } from '../deps.js';
import { checkTexts, dependenciesIncomplete, invalidTransition, nothingToDo, PlanexecError } from '../errors.js';
import { beginCall, completeCall, errorUsage, failCall, modelRequest, responseUsage, sumUsage, type CallOptions, type CallUsage } from '../journal.js';
import { missingDependencies, readySubtasks } from '../plan.js';
import { roleFor } from '../routing.js';
import type { ModelRequest, ModelResponse, Store } from '../ports.js';
import type { ChangedFile, CheckResult, Phase, RejectedEdit, Role, Subtask, SubtaskStatus, Workflow, WorkflowChanges } from '../types.js';
import { editsFiles, readRoot, recoverWorktree } from '../changes.js';
import { executeEdits } from './execute-edits.js';
import { outputPage } from '../views.js';
import { derivePhase, findSubtask, isEnded, loadWorkflow, nextStep } from '../workflow.js';

/** execute_subtask's input (PRODUCT.md); without subtask_id, the first ready subtask. */
export interface ExecuteSubtaskInput {
  workflow_id: string;
  subtask_id?: string | undefined;
  notes?: string | undefined;
  force?: boolean | undefined;
}

/** CallOptions plus the hook execute_subtask's wait:false answers on. */
export interface ExecuteOptions extends CallOptions {
  /** Called once the subtask is claimed (status running), before the model is called. */
  onClaimed?: ((workflowId: string, subtaskId: string) => void) | undefined;
}

/** execute_subtask's answer; `output` is one page (OUTPUT_PAGE_TOKENS, settings.resultBytes), the rest through workflow_status. */
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
  /** What the model was shown; `tokens` is the provider's count of the whole prompt (planexec's o200k estimate when it reported none). */
  context: ContextPacket | null;
  /** For a subtask that edits files: what this attempt changed (commit, files, refused edits). */
  changes?: { commit: string | null; rolled_back: boolean; files: ChangedFile[]; rejected: RejectedEdit[] } | null;
  /** For a subtask that edits files: how its checks ended. */
  checks?: CheckResult[];
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

/** The subtask is still running under this process's claim (read through `store`). */
export async function stillOurs(d: CoreDeps, store: Store, workflowId: string, subtaskId: string): Promise<boolean> {
  const s = (await store.workflows.listSubtasks(workflowId)).find((x) => x.id === subtaskId);
  return s?.status === 'running' && s.leaseOwner === d.owner;
}

/** True for the errors that mean "someone else is on it", which a scheduler can skip. */
export function isConcurrent(error: unknown): boolean {
  return error instanceof PlanexecError && error.details.reason === 'concurrent';
}

/** A subtask claimed by this process for one execution, with the request to send and its journal row. */
export interface Claim {
  workflow: Workflow;
  subtask: Subtask;
  role: Role;
  request: ModelRequest;
  report: ContextReport;
  callId: number;
  /** The workflow's changes (null for a workflow from before changes existed). */
  changes: WorkflowChanges | null;
  /** The subtask edits the worktree (see execute-edits.ts). */
  edit: boolean;
  /** Where its files are read (and, when it edits, written). */
  root: string | null;
  /** This claim moved the workflow's phase to executing (from phaseBefore, at workflowUpdatedAt). */
  reopened: boolean;
  phaseBefore: Phase;
  workflowUpdatedAt: number;
}

/**
 * Runs one subtask: claim it (checks, context, budget, journal row, status running), call the model,
 * record the result. A completed subtask returns its stored output unless `force` is set.
 * Throws: not_found, invalid_input (notes), invalid_transition (ended workflow, running or concurrent,
 * needs a human, ladder used up; `details.reason` 'concurrent' when another call or process has it),
 * dependencies_incomplete, nothing_to_do, budget_exceeded, path_outside_root, git_failed (an edit
 * subtask's worktree), the model provider's errors (the subtask is then as it was; cancelled when the
 * signal aborts), storage_unavailable (with `details.deferred` when an answer is kept to be written later).
 */
export async function executeSubtask(d: CoreDeps, input: ExecuteSubtaskInput, opts: ExecuteOptions = {}): Promise<ExecuteSubtaskResult> {
  const claimed = await claim(d, input);
  if ('stored' in claimed) return claimed.stored;
  opts.onClaimed?.(claimed.workflow.id, claimed.subtask.id);
  opts.onProgress?.({ message: `executing ${claimed.subtask.id} on ${claimed.request.model} (attempt ${claimed.subtask.attempts})`, progress: 0, total: 1 });
  if (claimed.edit) return executeEdits(d, claimed, opts);
  const response = await call(d, claimed, opts);
  return complete(d, claimed, response, opts);
}

/** Checks the subtask can run, builds its context and claims it (status running) with its journal row, in one transaction. */
async function claim(d: CoreDeps, input: ExecuteSubtaskInput): Promise<Claim | { stored: ExecuteSubtaskResult }> {
  checkTexts(['notes', input.notes]);
  await d.runtime.reap();
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  if (isEnded(workflow.phase)) {
    throw invalidTransition(`Workflow ${workflow.id} is ${workflow.phase}.`, `Resume it with run_workflow {"workflow_id":"${workflow.id}"}.`);
  }
  const subtask = input.subtask_id ? findSubtask(workflow, subtasks, input.subtask_id) : firstReady(workflow, subtasks);

  if ((subtask.status === 'completed' || subtask.status === 'approved') && !input.force) {
    return { stored: result(d, workflow, subtasks, subtask, { executed: false, usage: sumUsage([]), context: null }) };
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
  // A process that died applying an attempt may have left its files in the worktree: reset them
  // before they are read for this one (its context, and the files its edits apply to).
  const changes = await recoverWorktree(d, await d.store.changes.get(workflow.id));
  const edit = editsFiles(subtask, changes);
  const root = readRoot(workflow, changes);
  const context = await buildExecutorContext({
    workflow,
    subtask,
    all: subtasks,
    notes: input.notes?.trim() || null,
    files: d.files,
    limits: d.settings.context,
    root,
    edit,
  });
  const request = modelRequest(d, role, context.instructions, context.input, 'executor');
  if (edit && d.models[role].capabilities.applyPatchTool && !d.runtime.refusesPatchTool(request.model)) request.applyPatch = true;
  const need = await reservationFor(d, workflow.id, workflow.budget, request);

  // Claim the subtask and journal the call in one transaction, after checking that nobody claimed
  // or changed it since we read it. If this process dies, the claim returns it to `claimedFrom`.
  return d.store.transaction(async (tx) => {
    const current = (await tx.workflows.get(workflow.id))!;
    const fresh = (await tx.workflows.listSubtasks(workflow.id)).find((s) => s.id === subtask.id);
    if (isEnded(current.phase)) throw invalidTransition(`Workflow ${workflow.id} is ${current.phase}.`, `Resume it with run_workflow {"workflow_id":"${workflow.id}"}.`);
    if (!fresh || fresh.status !== subtask.status || fresh.updatedAt !== subtask.updatedAt) throw changedConcurrently(subtask.id);
    if (need !== null) await checkBudget(d, tx, workflow.id, current.budget, role, need);
    const now = d.clock.now();
    await tx.workflows.updateSubtask(workflow.id, subtask.id, { status: 'running', leaseOwner: d.owner, claimedFrom: subtask.status }, now);
    const reopened = current.phase !== 'executing' && current.phase !== 'needs_human';
    if (reopened) await tx.workflows.update(workflow.id, { phase: 'executing' }, now);
    const callId = await beginCall(d, tx, { workflowId: workflow.id, subtaskId: subtask.id, purpose: 'execute', role }, request, need);
    return { workflow, subtask, role, request, report: context.report, callId, changes, edit, root, reopened, phaseBefore: current.phase, workflowUpdatedAt: current.updatedAt };
  });
}

/** Sends the claimed request. On failure the journal keeps the failed call and the subtask goes back exactly as it was. */
async function call(d: CoreDeps, c: Claim, opts: ExecuteOptions): Promise<ModelResponse> {
  const op = d.runtime.track(c.workflow.id, opts.signal);
  try {
    // Cancelled while the claim was made: the row is settled as failed with nothing billed.
    op.signal.throwIfAborted();
    return await d.models[c.role].generate({ ...c.request, signal: op.signal });
  } catch (error) {
    await releaseClaim(d, c, error, c.callId);
    throw error;
  } finally {
    op.done();
  }
}

/**
 * Puts a claimed subtask back exactly as it was after its execution failed (the journal keeps the
 * failed call `callId`, if given). The workflow's phase goes back only if the claim changed it and
 * nobody (cancel_workflow) changed it since. If another process took the subtask over meanwhile,
 * it is theirs: left alone.
 */
export async function releaseClaim(d: CoreDeps, c: Claim, error: unknown, callId: number | null): Promise<void> {
  // Inside the kept write: estimating the usage may read the journal, which may be what fails.
  const release = async () => {
    const billed = callId === null ? null : await errorUsage(d, error, c.request, c.workflow.id);
    await d.store.transaction(async (tx) => {
      if (callId !== null && billed) await failCall(d, tx, callId, error, billed);
      if (!(await stillOurs(d, tx, c.workflow.id, c.subtask.id))) return;
      await tx.workflows.updateSubtask(c.workflow.id, c.subtask.id, { status: c.subtask.status, leaseOwner: null, claimedFrom: null }, c.subtask.updatedAt);
      if (c.reopened && (await tx.workflows.get(c.workflow.id))?.phase === 'executing') {
        await tx.workflows.update(c.workflow.id, { phase: c.phaseBefore }, c.workflowUpdatedAt);
      }
    });
  };
  await persist(d, `releasing ${c.subtask.id} of ${c.workflow.id} after its execution failed`, release);
}

/**
 * Runs a write that settles a model call, in order with the writes kept before it (Runtime.inOrder:
 * while some wait for the storage, it waits behind them). If the storage refuses it (disk full,
 * read-only, locked), the write is kept and retried at each heartbeat until it goes through (so the
 * answer is not lost and the call not billed again), and the caller gets storage_unavailable with
 * `details.deferred`. Throws what the write throws other than StorageError.
 */
export async function persist<T>(d: CoreDeps, what: string, write: () => Promise<T>): Promise<T> {
  const done = await d.runtime.inOrder(what, write);
  if (done.written) return done.value;
  const { error } = done;
  throw new PlanexecError(
    error.code,
    `${error.message} (while ${what})`,
    `${error.hint} planexec keeps what the model answered and writes it as soon as the database takes writes again; do not run the subtask again meanwhile.`,
    { ...error.details, deferred: true },
  );
}

/** Records the answer: the journal row, the execution, and (while the claim is still ours) the subtask completed. */
async function complete(d: CoreDeps, c: Claim, response: ModelResponse, opts: ExecuteOptions): Promise<ExecuteSubtaskResult> {
  const { workflow, subtask, role, request } = c;
  const billed = await responseUsage(d, response, request, workflow.id);
  const report: ContextPacket = { tokens: billed.usage!.input_tokens, ...c.report };
  const record = () => d.store.transaction(async (tx) => {
    await completeCall(d, tx, c.callId, response, billed);
    const now = d.clock.now();
    const ours = await stillOurs(d, tx, workflow.id, subtask.id);
    await tx.workflows.insertExecution({
      workflowId: workflow.id,
      subtaskId: subtask.id,
      attempt: subtask.attempts,
      callId: c.callId,
      role,
      model: request.model,
      output: response.text,
      context: report,
      changes: null,
      checks: null,
      createdAt: now,
    });
    // Taken over by another process while this call ran: the output stays in the history only.
    if (!ours) return null;
    await tx.workflows.updateSubtask(workflow.id, subtask.id, { status: 'completed', output: response.text, model: request.model, role, leaseOwner: null, claimedFrom: null }, now);
    const all = await tx.workflows.listSubtasks(workflow.id);
    const current = (await tx.workflows.get(workflow.id))!;
    // A result that lands after cancel_workflow is kept, and the workflow stays cancelled.
    const phase = isEnded(current.phase) ? current.phase : derivePhase(all);
    await tx.workflows.update(workflow.id, { phase }, now);
    return { workflow: { ...current, phase }, subtasks: all };
  });
  const after = await persist(d, `recording the answer of ${subtask.id} of ${workflow.id}`, record);
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
  return result(d, after.workflow, after.subtasks, done, { executed: true, usage: sumUsage([billed.usage!]), context: report });
}

/** The execute_subtask answer for a subtask whose execution was just started in the background (wait: false). */
export async function subtaskSnapshot(d: CoreDeps, workflowId: string, subtaskId: string): Promise<ExecuteSubtaskResult> {
  const { workflow, subtasks } = await loadWorkflow(d, workflowId);
  const subtask = findSubtask(workflow, subtasks, subtaskId);
  return result(d, workflow, subtasks, subtask, { executed: true, usage: sumUsage([]), context: null });
}

function firstReady(workflow: Workflow, subtasks: Subtask[]): Subtask {
  const ready = readySubtasks(subtasks)[0];
  if (ready) return ready;
  throw nothingToDo(`No subtask of workflow ${workflow.id} is ready to execute.`, nextStep(workflow, subtasks));
}

/** The execute_subtask answer for a subtask as it is in `subtasks` now. */
export function result(
  d: CoreDeps,
  workflow: Workflow,
  subtasks: Subtask[],
  subtask: Subtask,
  extra: Pick<ExecuteSubtaskResult, 'executed' | 'usage' | 'context'> &
    Partial<Pick<ExecuteSubtaskResult, 'changes' | 'checks'>> & {
      /** An attempt that failed (its edits did not apply, or its checks failed): what it did, and its number. */
      failed?: { output: string; attempt: number };
    },
): ExecuteSubtaskResult {
  const output = outputPage(d, extra.failed?.output ?? subtask.output ?? '');
  // The stored output pages through workflow_status; a failed attempt's record is not the subtask's output.
  const marker = !output.truncated
    ? ''
    : extra.failed
      ? `\n\n[output cut: ${output.text.length} of ${output.total} characters shown]`
      : `\n\n[output truncated: ${output.text.length} of ${output.total} characters shown. Get the rest with workflow_status ${JSON.stringify({ workflow_id: workflow.id, subtask_id: subtask.id, offset: output.text.length })}]`;
  return {
    workflow_id: workflow.id,
    subtask_id: subtask.id,
    status: subtask.status,
    executed: extra.executed,
    attempt: extra.failed?.attempt ?? subtask.attempts,
    output: output.text + marker,
    output_truncated: output.truncated,
    model: subtask.model,
    role: subtask.role,
    usage: extra.usage,
    context: extra.context,
    ...(extra.changes !== undefined ? { changes: extra.changes } : {}),
    ...(extra.checks !== undefined ? { checks: extra.checks } : {}),
    phase: workflow.phase,
    ready: readySubtasks(subtasks).map((s) => s.id),
    next: nextStep(workflow, subtasks),
  };
}
