// run_workflow: plan (for a new request), then in waves: execute every ready subtask concurrently,
// review the wave in one planner call, re-execute what review sent back, and so on, until the
// workflow is completed, needs a human, fails or is cancelled. A run holds the workflow's lock;
// a second run on the same workflow (in this or another process) follows the first instead.
import type { CoreDeps } from '../deps.js';
import { checkTexts, invalidInput, invalidTransition, modelOutputInvalid, PlanexecError } from '../errors.js';
import type { CallOptions, ProgressEvent } from '../journal.js';
import { readySubtasks } from '../plan.js';
import type { WorkspaceFile } from '../ports.js';
import type { Subtask, TokenBudget } from '../types.js';
import { cacheGroups, runGroups } from '../wave.js';
import { derivePhase, isEnded, loadWorkflow, tryLockWorkflow, unlockWorkflow } from '../workflow.js';
import { executeSubtask, isConcurrent } from './execute-subtask.js';
import { firstPlan, newWorkflow, planRequest, readPlanFiles, requestPlan, rootFor, toSubtasks } from '../planning.js';
import { HandedOverError } from '../runtime.js';
import { abandonChanges, checkRequestChecks, prepareChanges } from '../changes.js';
import { splitCommand } from '../commands.js';
import { checkBudget, reservationFor } from '../budget.js';
import { reviewResults } from './review-results.js';
import { finalChecksDue } from './final-checks.js';
import { workflowStatus, type WorkflowStatusResult } from './workflow-status.js';

/** run_workflow's input (PRODUCT.md): a `request` to start or a `workflow_id` to continue, plus what the MCP layer adds. */
export interface RunWorkflowInput {
  request?: string | undefined;
  context?: string | undefined;
  files?: string[] | undefined;
  workflow_id?: string | undefined;
  budget?: TokenBudget | undefined;
  concurrency?: number | undefined;
  /** The workspace root the host named for this session (MCP roots); default: the configured root. */
  root?: string | null | undefined;
  /** Who asks, recorded on a new workflow (Workflow.requester); set by the MCP layer, never by the tool's caller. */
  requester?: string | null | undefined;
  /** 'off': no worktree even in a git repository (default: PLANEXEC_CHANGES). */
  changes?: 'worktree' | 'off' | undefined;
  /** Checks the host wants run after every subtask that changed files (added to PLANEXEC_CHECKS). */
  checks?: string[] | undefined;
}

/** CallOptions plus the hook the MCP layer ties a task (or a wait:false answer) to its workflow with. */
export interface RunOptions extends CallOptions {
  /** Called once the run has its workflow: created, locked, or being followed. */
  onStarted?: ((workflowId: string) => void) | undefined;
}

/** How often a run waits for work held by others (a follower, or subtasks running elsewhere). */
const POLL_MS = 250;
/** A subtask sent for review this many times without a verdict stops the run. */
const MAX_REVIEWS_WITHOUT_VERDICT = 3;

/**
 * run_workflow: plans a new request (or takes a workflow_id), then works it in waves until it is
 * completed, needs a human, fails or is cancelled; answers with the workflow_status shape (also when
 * its signal aborts: the workflow is then cancelled, or left as it is at shutdown). Holds the
 * workflow's lock; a second run follows the first. Before anything is stored it throws invalid_input,
 * not_found, model_unavailable (no API key), file_unreadable, path_outside_root, budget_exceeded,
 * git_failed (making the worktree), storage_unavailable; once it runs, whatever stopped it, the
 * message and hint saying how to resume (a PlanexecError keeps its code, anything else becomes
 * invalid_transition; the workflow is left failed, with last_error). A run whose process was taken
 * for dead (it stalled past its lease) throws HandedOverError and writes nothing: its view is out of
 * date, and the workflow belongs to whoever resumes it.
 */
export async function runWorkflow(d: CoreDeps, input: RunWorkflowInput, opts: RunOptions = {}): Promise<WorkflowStatusResult> {
  requestOrWorkflow(input);
  // What this process kept while the storage refused it (a lock, claims, answers) goes first.
  await d.runtime.flush();
  await d.runtime.reap();
  const concurrency = input.concurrency ?? d.settings.concurrency;
  const token = d.runtime.newLockToken();
  let workflowId: string;
  let files: WorkspaceFile[] | null = null;

  if (input.request) {
    const request = input.request.trim();
    workflowId = d.ids.workflowId();
    const budget = { ...d.settings.defaultBudget, ...input.budget };
    // What can be checked before anything is stored is checked first: the model is reachable in
    // principle, the files exist, the plan call fits the budget. (The workflow is stored before
    // planning so that wait:false can answer with it; a later failure leaves it failed, resumable.)
    d.models.planner.ready?.();
    const root = rootFor(d, input.root);
    files = await readPlanFiles(d, root, input.files ?? []);
    const need = await reservationFor(d, workflowId, budget, planRequest(d, request, input.context ?? null, files));
    if (need !== null) await checkBudget(d, d.store, workflowId, budget, 'planner', need);
    const changes = await prepareChanges(d, workflowId, root, input, opts.signal);
    const id = workflowId;
    try {
      await d.store.transaction(async (tx) => {
        await tx.workflows.insert({ ...newWorkflow(id, request, input.context ?? null, budget, root, d.clock.now()), lockOwner: token, files: input.files ?? [], requester: input.requester ?? null });
        await tx.changes.insert(changes);
      });
    } catch (error) {
      await abandonChanges(d, changes);
      throw error;
    }
  } else {
    workflowId = input.workflow_id!;
    const { workflow } = await loadWorkflow(d, workflowId);
    if (workflow.phase === 'completed') {
      opts.onStarted?.(workflowId);
      return workflowStatus(d, { workflow_id: workflowId });
    }
    if (!(await tryLockWorkflow(d, workflowId, token))) {
      opts.onStarted?.(workflowId);
      const taken = await follow(d, workflowId, token, opts);
      if (!taken) return workflowStatus(d, { workflow_id: workflowId });
    }
    await resume(d, workflowId, input.budget);
  }
  opts.onStarted?.(workflowId);

  const op = d.runtime.track(workflowId, opts.signal);
  try {
    const { workflow } = await loadWorkflow(d, workflowId);
    if (workflow.planVersion === 0) await plan(d, workflowId, files, { ...opts, signal: op.signal });
    // drive() gives up when the lock is no longer ours (this process was taken for dead): then
    // follow whoever has it, and carry on if it is handed back.
    while (!(await drive(d, workflowId, concurrency, token, { ...opts, signal: op.signal }))) {
      if (!(await follow(d, workflowId, token, { ...opts, signal: op.signal }))) break;
    }
  } catch (error) {
    await stop(d, workflowId, token, error, op.signal);
    if (!op.signal.aborted) throw stoppedBy(workflowId, error);
  } finally {
    op.done();
    await unlockWorkflow(d, workflowId, token);
  }
  // Taken for dead: this run's view is out of date, and whoever resumes the workflow answers for it.
  if (op.signal.reason instanceof HandedOverError) throw op.signal.reason;
  return workflowStatus(d, { workflow_id: workflowId });
}

/**
 * What runWorkflow checks before it stores anything, for a caller that must store something first
 * (an MCP task row): the input, the workflow (for workflow_id), a configured model, the files, and
 * the first plan call against the budget. Writes nothing. Throws invalid_input, not_found,
 * model_unavailable, file_unreadable, path_outside_root, budget_exceeded.
 */
export async function checkRunInput(d: CoreDeps, input: RunWorkflowInput): Promise<void> {
  requestOrWorkflow(input);
  for (const check of input.checks ?? []) splitCommand(check);
  checkRequestChecks(d, input.checks);
  if (input.workflow_id) {
    await loadWorkflow(d, input.workflow_id);
    return;
  }
  d.models.planner.ready?.();
  const files = await readPlanFiles(d, rootFor(d, input.root), input.files ?? []);
  const budget = { ...d.settings.defaultBudget, ...input.budget };
  const workflowId = d.ids.workflowId();
  const need = await reservationFor(d, workflowId, budget, planRequest(d, input.request!.trim(), input.context ?? null, files));
  if (need !== null) await checkBudget(d, d.store, workflowId, budget, 'planner', need);
}

function requestOrWorkflow(input: RunWorkflowInput): void {
  if (input.request !== undefined) checkTexts(['request', input.request, true], ['context', input.context]);
  if (Boolean(input.request?.trim()) === Boolean(input.workflow_id)) {
    throw invalidInput('Give either `request` (to start a workflow) or `workflow_id` (to continue one), not both or neither.', 'To resume, pass only workflow_id.');
  }
  if (input.workflow_id && (input.checks !== undefined || input.changes !== undefined)) {
    throw invalidInput('checks and changes are chosen when a workflow starts, not when it is resumed.', 'Pass only workflow_id to resume it; start a new workflow (request) for other checks.');
  }
}

/** A cancelled, failed or needs_human workflow goes back to the phase its subtasks imply. */
async function resume(d: CoreDeps, workflowId: string, budget: TokenBudget | undefined): Promise<void> {
  await d.store.transaction(async (tx) => {
    const { workflow, subtasks } = await loadWorkflow(d, workflowId, tx);
    // Every subtask approved is not completed while the host's final checks are due (a run stopped in them).
    const derived = derivePhase(subtasks);
    const phase = workflow.planVersion === 0 ? 'planning' : derived === 'completed' && finalChecksDue(await tx.changes.get(workflowId)) ? 'reviewing' : derived;
    await tx.workflows.update(workflowId, { phase, lastError: null, ...(budget ? { budget: { ...workflow.budget, ...budget } } : {}) }, d.clock.now());
  });
}

/** Plans the workflow; `files` read already, or (on a resume) read again from the workflow's list. */
async function plan(d: CoreDeps, workflowId: string, files: WorkspaceFile[] | null, opts: CallOptions): Promise<void> {
  const { workflow } = await loadWorkflow(d, workflowId);
  const read = files ?? (await readPlanFiles(d, workflow.root, workflow.files));
  const changes = await d.store.changes.get(workflowId);
  const answer = await requestPlan(d, workflowId, workflow.request, workflow.context, read, workflow.budget, opts, changes?.baseChecks ?? []);
  const now = d.clock.now();
  await d.store.transaction(async (tx) => {
    await tx.workflows.insertPlan(firstPlan(workflowId, answer.value, answer.responseId, now));
    await tx.workflows.insertSubtasks(toSubtasks(workflowId, answer.value, now, d.settings.ladder));
    await tx.workflows.appendTurns(workflowId, workflow.plannerThread, answer.turns, now);
    const current = (await tx.workflows.get(workflowId))!.phase;
    const phase = isEnded(current) ? current : 'executing';
    await tx.workflows.update(workflowId, { phase, planVersion: 1, plannerResponseId: answer.responseId, coordinationNotes: answer.value.coordination_notes }, now);
  });
}

/** Works the workflow until nothing is left to do (true), or until its lock is no longer ours (false). */
async function drive(d: CoreDeps, workflowId: string, concurrency: number, token: string, opts: CallOptions): Promise<boolean> {
  const signal = opts.signal!;
  const unjudged = new Map<string, number>();
  for (;;) {
    if (signal.aborted) throw signal.reason;
    await d.runtime.reap();
    const { workflow, subtasks } = await loadWorkflow(d, workflowId);
    if (workflow.lockOwner !== token) return false;
    if (isEnded(workflow.phase) || workflow.phase === 'completed') return true;
    const report = (message: string) => opts.onProgress?.(progressOf(subtasks, message));

    const completed = subtasks.filter((s) => s.status === 'completed');
    if (completed.length) {
      report(`reviewing ${completed.map((s) => s.id).join(', ')} on ${d.settings.models.planner}`);
      const review = await reviewResults(d, { workflow_id: workflowId, subtask_ids: completed.map((s) => s.id) }, { ...opts, lockToken: token, onProgress: undefined });
      for (const id of review.unreviewed) {
        const times = (unjudged.get(id) ?? 0) + 1;
        unjudged.set(id, times);
        if (times >= MAX_REVIEWS_WITHOUT_VERDICT) {
          throw modelOutputInvalid(`The planner reviewed subtask '${id}' ${times} times without giving it a verdict.`, `Review it yourself with review_results {"workflow_id":"${workflowId}","subtask_ids":["${id}"]}.`);
        }
      }
      continue;
    }
    const ready = readySubtasks(subtasks);
    if (ready.length) {
      await runWave(d, workflowId, ready, concurrency, opts);
      continue;
    }
    const running = subtasks.filter((s) => s.status === 'running');
    if (running.length) {
      report(`waiting for ${running.map((s) => s.id).join(', ')}, running in another call or process`);
      await sleep(POLL_MS, signal);
      continue;
    }
    // Every subtask approved but the branch not checked yet (a run that stopped there, a human's approval).
    if (workflow.phase === 'reviewing' && subtasks.length && subtasks.every((s) => s.status === 'approved') && finalChecksDue(await d.store.changes.get(workflowId))) {
      report('running the host checks on the finished branch');
      await reviewResults(d, { workflow_id: workflowId }, { ...opts, lockToken: token, onProgress: undefined });
      continue;
    }
    return true; // completed, or only subtasks that need a human are left
  }
}

/**
 * Executes one wave: at most `concurrency` at a time, ordered for the prefix cache (see wave.ts).
 * After a failure no new subtask starts; those running finish.
 */
async function runWave(d: CoreDeps, workflowId: string, wave: Subtask[], concurrency: number, opts: CallOptions): Promise<void> {
  const signal = opts.signal!;
  const failures: unknown[] = [];
  const options = { concurrency, prime: d.settings.cachePriming, stopped: () => signal.aborted || failures.length > 0 };
  await runGroups(cacheGroups(wave), options, async (subtask) => {
    try {
      await executeSubtask(d, { workflow_id: workflowId, subtask_id: subtask.id }, {
        signal,
        onProgress: (event) => {
          if (event.progress > 0) return;
          void loadWorkflow(d, workflowId).then(
            ({ subtasks }) => opts.onProgress?.(progressOf(subtasks, event.message)),
            () => undefined,
          );
        },
      });
    } catch (error) {
      if (!isConcurrent(error)) failures.push(error);
    }
  });
  if (signal.aborted) throw signal.reason;
  if (failures.length) throw failures[0];
}

/** Another live operation holds the lock: report its progress until it lets go. True if we then took over. */
async function follow(d: CoreDeps, workflowId: string, token: string, opts: RunOptions): Promise<boolean> {
  const signal = opts.signal ?? new AbortController().signal;
  for (;;) {
    const { workflow, subtasks } = await loadWorkflow(d, workflowId);
    opts.onProgress?.(progressOf(subtasks, `another run is driving ${workflowId} (phase ${workflow.phase}); following it`));
    await sleep(POLL_MS, signal);
    await d.runtime.reap();
    if (!(await tryLockWorkflow(d, workflowId, token))) continue;
    // The other run let go. If it ended the workflow (completed, failed, cancelled), report that;
    // if it went away mid-way (its process died), carry on in its place.
    const phase = (await d.store.workflows.get(workflowId))?.phase;
    if (phase === 'completed' || (phase && isEnded(phase))) {
      await unlockWorkflow(d, workflowId, token);
      return false;
    }
    return true;
  }
}

/**
 * Records why a run stopped: cancelled when its signal fired, failed on an error. A server shutting
 * down leaves the phase as it is, for the next run to resume; so does a run whose process was taken
 * for dead (its workflow belongs to the process that took it over). Completed work always stays.
 */
async function stop(d: CoreDeps, workflowId: string, token: string, error: unknown, signal: AbortSignal): Promise<void> {
  if (d.runtime.stopping || signal.reason instanceof HandedOverError || error instanceof HandedOverError) return;
  const message = d.redact(error instanceof Error ? error.message : String(error));
  const aborted = signal.aborted;
  // The storage may be what stopped the run: then this is kept and written, before the lock is let
  // go (the deferred writes keep their order), as soon as the database is back.
  await d.runtime.settle(`recording why the run of ${workflowId} stopped`, () =>
    d.store.transaction(async (tx) => {
      const current = await tx.workflows.get(workflowId);
      // Only the run that holds the lock speaks for the workflow.
      if (!current || current.phase === 'cancelled' || current.lockOwner !== token) return;
      await tx.workflows.update(workflowId, aborted ? { phase: 'cancelled' } : { phase: 'failed', lastError: message }, d.clock.now());
    }),
  );
}

function stoppedBy(workflowId: string, error: unknown): PlanexecError {
  const resume = `Completed work is kept; fix the cause, then resume with run_workflow {"workflow_id":"${workflowId}"}.`;
  if (error instanceof PlanexecError) return new PlanexecError(error.code, `Workflow ${workflowId} stopped: ${error.message}`, `${error.hint} ${resume}`, error.details);
  return invalidTransition(`Workflow ${workflowId} stopped: ${error instanceof Error ? error.message : String(error)}`, resume);
}

function progressOf(subtasks: readonly Subtask[], message: string): ProgressEvent {
  const done = subtasks.filter((s) => s.status === 'completed' || s.status === 'approved').length;
  return { message: `${message}, ${done} of ${subtasks.length} done`, progress: done, total: subtasks.length };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
