// Planning shared by plan_task, run_workflow and plan revisions: the plan call with its repair
// round, the rows a new plan becomes, and the files the host asked the planner to read.
import type { CoreDeps } from './deps.js';
import { fileUnreadable, invalidInput, modelOutputInvalid, type PlanexecError } from './errors.js';
import { toStrictJsonSchema } from './json-schema.js';
import { modelRequest, NEW_THREAD, structuredPlannerCall, type CallOptions, type PlannerThread, type StructuredResult } from './journal.js';
import { normalizePlan, normalizeRelativePath, PlanSchema, relativePathProblem, validatePlan, type Plan } from './plan.js';
import type { ModelRequest, WorkspaceFile } from './ports.js';
import { PLANNER_INSTRUCTIONS, renderPlanInput, type BaseCheck } from './prompts.js';
import { roleFor } from './routing.js';
import { goalLine, utf8Bytes } from './text.js';
import type { PlannedSubtask, PlanRecord, Role, Subtask, TokenBudget, Workflow } from './types.js';

/** The record of a workflow's first plan (version 1, active). */
export function firstPlan(workflowId: string, plan: Plan, responseId: string | null, now: number): PlanRecord {
  return { workflowId, version: 1, plan, responseId, status: 'active', feedback: null, changes: null, createdAt: now };
}

/** A workflow row before it has a plan (phase planning, plan version 0), reading files under `root`. */
export function newWorkflow(id: string, request: string, context: string | null, budget: TokenBudget, root: string | null, now: number): Workflow {
  return {
    id,
    request,
    goal: goalLine(request),
    context,
    phase: 'planning',
    planVersion: 0,
    plannerResponseId: null,
    coordinationNotes: '',
    budget,
    lockOwner: null,
    lastError: null,
    plannerSummary: null,
    files: [],
    plannerThread: 0,
    root,
    requester: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Asks the planner for a new workflow's plan, in a new thread; throws model_output_invalid if it
 * stays invalid. The caller stores the plan and `turns` (thread 0) with the workflow.
 */
export async function requestPlan(
  d: CoreDeps,
  workflowId: string,
  request: string,
  context: string | null,
  files: WorkspaceFile[],
  budget: TokenBudget,
  opts: CallOptions,
  baseChecks: readonly BaseCheck[] = [],
): Promise<StructuredResult<Plan>> {
  opts.onProgress?.({ message: `planning on ${d.settings.models.planner}`, progress: 0 });
  const input = renderPlanInput(request, context, files, baseChecks);
  return planCall(d, workflowId, budget, input, NEW_THREAD, 'Nothing was stored. Retry, or make the request narrower (fewer, larger pieces of work).', opts);
}

/** The request a new workflow's plan call sends (for checks made before it is sent). */
export function planRequest(d: CoreDeps, request: string, context: string | null, files: WorkspaceFile[]): ModelRequest {
  return { ...modelRequest(d, 'planner', PLANNER_INSTRUCTIONS, renderPlanInput(request, context, files)), format: { name: 'plan', schema: toStrictJsonSchema(PlanSchema) } };
}

/** A planner call answered in the plan schema, with its repair round; `hint` goes with the error if the plan stays invalid. */
export async function planCall(
  d: CoreDeps,
  workflowId: string,
  budget: TokenBudget,
  input: string,
  thread: PlannerThread,
  hint: string,
  opts: CallOptions,
): Promise<StructuredResult<Plan>> {
  const answer = await structuredPlannerCall(d, { workflowId, purpose: 'plan', budget }, input, thread, { name: 'plan', schema: PlanSchema }, validatePlan, opts);
  if (answer.problems.length) {
    throw modelOutputInvalid(`The planner's plan is still invalid after one repair round: ${answer.problems.join(' ')}`, hint, { problems: answer.problems });
  }
  // One file, one name: what is stored (and diffed, and shown) uses normal paths.
  return { ...answer, value: normalizePlan(answer.value) };
}

/** The rows of a new plan: every subtask fresh (see freshSubtask), in plan order (`position` 0, 1, ...). */
export function toSubtasks(workflowId: string, plan: Plan, now: number, ladder: readonly Role[]): Subtask[] {
  return plan.subtasks.map((p, position) => freshSubtask(workflowId, p, position, now, ladder));
}

/** A subtask of a plan that has not run yet: pending, attempt 1, on the ladder's first rung for it. */
export function freshSubtask(workflowId: string, p: PlannedSubtask, position: number, now: number, ladder: readonly Role[]): Subtask {
  return {
    ...p,
    workflowId,
    position,
    status: 'pending',
    attempts: 1,
    role: roleFor({ complexity: p.complexity, attempts: 1 }, ladder) ?? 'planner',
    model: null,
    feedback: null,
    output: null,
    leaseOwner: null,
    claimedFrom: null,
    updatedAt: now,
  };
}

/**
 * The files the host asked the planner to see, under `root`: they must exist; each and all together
 * are size-capped. Throws invalid_input (a bad path, or files without a root), path_outside_root,
 * file_unreadable.
 */
export async function readPlanFiles(d: CoreDeps, root: string | null, paths: string[]): Promise<WorkspaceFile[]> {
  for (const path of paths) {
    const problem = relativePathProblem(path);
    if (problem) throw invalidInput(`files: '${path}' ${problem}.`, 'List files as paths relative to the workspace root (PLANEXEC_ROOT).');
  }
  if (paths.length && root === null) throw noRoot();
  const out: WorkspaceFile[] = [];
  let remaining = d.settings.context.maxContextBytes;
  for (const path of [...new Set(paths.map(normalizeRelativePath))]) {
    const file = await d.files.read(root!, path, Math.min(d.settings.context.maxFileBytes, remaining));
    if (file.kind === 'missing') throw fileUnreadable(path, 'it does not exist');
    remaining -= utf8Bytes(file.content);
    out.push(file);
  }
  return out;
}

/** Files were asked for, but there is no workspace root to read them from. */
export function noRoot(): PlanexecError {
  return invalidInput(
    'There is no workspace root to read files from: PLANEXEC_ROOT is not set, the server was started in / or the home folder (never taken as a root), and the host named no MCP root.',
    'Set PLANEXEC_ROOT to the project folder in the planexec entry of your MCP host config (or use a host that sends MCP roots), then restart; or leave `files` out.',
  );
}

/** The root a new workflow reads from: the one the host gave for this session, else the configured one. */
export function rootFor(d: CoreDeps, sessionRoot: string | null | undefined): string | null {
  return sessionRoot ?? d.settings.root;
}
