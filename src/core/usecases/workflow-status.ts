import { limitOf, tokensUsed } from '../budget.js';
import type { ContextPacket } from '../context.js';
import { costOf, costOfGroups, unpricedModels, usageByModel, usageByRole, type Cost, type ModelUsage, type RoleUsage } from '../cost.js';
import type { CoreDeps } from '../deps.js';
import { invalidInput } from '../errors.js';
import { readySubtasks } from '../plan.js';
import { clip, clipBytes } from '../text.js';
import type { CheckResult, ModelCall, Phase, PlanChanges, Role, Subtask, SubtaskStatus } from '../types.js';
import { changesView, outputPage, runView, subtaskStatusView, type ChangesView, type RunView, type SubtaskStatusView } from '../views.js';
import { refusedChecks } from '../changes.js';
import { Runtime } from '../runtime.js';
import { findSubtask, loadWorkflow, nextStep } from '../workflow.js';

/** workflow_status's input (PRODUCT.md); `offset` is in characters of the subtask's output. */
export interface WorkflowStatusInput {
  workflow_id?: string | undefined;
  subtask_id?: string | undefined;
  offset?: number | undefined;
  /** Without workflow_id: list and total only the workflows this requester asked for (Workflow.requester). */
  requester?: string | undefined;
}

/** One subtask in full (workflow_status with subtask_id); `feedback` cut to 2,000 bytes. */
export interface SubtaskDetail {
  id: string;
  title: string;
  description: string;
  status: SubtaskStatus;
  attempts: number;
  role: Role;
  model: string | null;
  depends_on: string[];
  relevant_files: string[];
  output_format: string;
  feedback: string | null;
  /** A page of the output, from `output_offset`; `output_total` is its full length in characters. */
  output: string;
  output_offset: number;
  output_total: number;
  output_truncated: boolean;
  /** What the model saw on the latest execution: files (byte ranges, sha256), dependencies, tokens, truncations. */
  context: ContextPacket | null;
  /** Every execution, oldest first (`tokens` the prompt's input tokens, `created_at` ISO 8601); an editing attempt's with the checks it ran (output tails included). */
  executions: Array<RunView & { tokens: number | null; created_at: string; checks?: CheckResult[] }>;
}

/** One workflow in the list (workflow_status without workflow_id); updated_at is ISO 8601. */
export interface WorkflowListItem {
  workflow_id: string;
  phase: Phase;
  goal: string;
  subtasks: number;
  done: number;
  /** Who asked for it (Workflow.requester); null: not recorded. */
  requester: string | null;
  updated_at: string;
}

/**
 * The ledger of the workflows a listing covers (all stored workflows, or the requester's; not only
 * those listed): calls and tokens summed as usageByRole counts them, priced as `cost` is (costOf).
 */
export interface LedgerTotals {
  workflows: number;
  /** Completed calls. */
  calls: number;
  /** Tokens of every call that billed any. */
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost: Cost;
}

/**
 * workflow_status's answer: one workflow's fields (with workflow_id) or the list's (without); run_workflow
 * and cancel_workflow answer the one-workflow shape. `request` is cut to 2,000 characters.
 */
export interface WorkflowStatusResult {
  workflow_id?: string;
  request?: string;
  phase?: Phase;
  /** Why the workflow stopped, when it stopped on an error. */
  last_error?: string | null;
  /** A run (run_workflow, a review, a revision) is driving the workflow now, in this or another live planexec process. */
  active?: boolean;
  plan_version?: number;
  /** What the current plan version changed against the one before (null for the first plan). */
  plan_changes?: PlanChanges | null;
  /** A revision waiting for confirm_plan_version, if any. */
  proposed_plan?: { version: number; feedback: string | null; changes: PlanChanges | null } | null;
  subtasks?: SubtaskStatusView[];
  ready?: string[];
  /** The workflow's git worktree and branch (files changed, checks, merged), or why it has none. */
  changes?: ChangesView | null;
  usage?: Record<Role, RoleUsage>;
  /** Where the calls went: calls and tokens per role, provider and model (planner first). */
  calls_by_model?: ModelUsage[];
  /**
   * Tokens used against the workflow's budget, per role, as budget.ts counts them (input + output of every
   * call that billed any, plus what calls in flight reserve); limit null: none.
   */
  budget?: Record<Role, { used: number; limit: number | null }>;
  cost?: Cost;
  subtask?: SubtaskDetail;
  workflows?: WorkflowListItem[];
  /** With the list: the ledger of every workflow it covers. */
  totals?: LedgerTotals;
  /** Model calls of plans that never became a workflow (they were billed all the same). */
  unattached_usage?: { calls: number; input_tokens: number; cached_tokens: number; output_tokens: number };
  /** What makes a figure incomplete (a model missing from the price table), and what to do about it. */
  warnings?: string[];
  /** Things that happened that the host should know of (the provider lost the planner's thread; estimated usage). */
  notices?: string[];
  next: string;
}

const RECENT = 20;
const FEEDBACK_BYTES = 2_000;

function bounded(text: string, bytes: number): string {
  const c = clipBytes(text, bytes);
  return c.truncated ? `${c.text} [cut: ${c.total} characters in all]` : c.text;
}
const REQUEST_CHARS = 2_000;

/**
 * workflow_status: one workflow (phase, subtasks and their runs, usage, budget, cost against the
 * planner model alone, optionally one subtask's output paged by `offset` characters), or without
 * workflow_id the most recent workflows (all, or one requester's) and the ledger's totals over all of
 * them. Reads only. Throws not_found, invalid_input, storage_unavailable.
 */
export async function workflowStatus(d: CoreDeps, input: WorkflowStatusInput): Promise<WorkflowStatusResult> {
  if (!input.workflow_id) {
    if (input.subtask_id) throw invalidInput('subtask_id needs a workflow_id.', 'Pass the workflow_id the subtask belongs to.');
    return listRecent(d, input.requester);
  }
  if (input.requester !== undefined) {
    throw invalidInput('requester filters the list of workflows, not one workflow.', 'Leave out workflow_id to list the requester\'s workflows, or leave out requester.');
  }
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  const active = workflow.lockOwner !== null && (await d.runtime.isAlive(Runtime.ownerOf(workflow.lockOwner)));
  const [calls, plans, runList, changes] = await Promise.all([
    d.store.calls.list(workflow.id),
    d.store.workflows.listPlans(workflow.id),
    d.store.workflows.listRuns(workflow.id),
    d.store.changes.get(workflow.id),
  ]);
  const proposed = plans.findLast((p) => p.status === 'proposed');
  const runs = new Map<string, RunView[]>();
  for (const r of runList) {
    const list = runs.get(r.subtaskId) ?? [];
    list.push(runView(r));
    runs.set(r.subtaskId, list);
  }
  const out: WorkflowStatusResult = {
    workflow_id: workflow.id,
    request: clip(workflow.request, REQUEST_CHARS).text,
    phase: workflow.phase,
    last_error: workflow.lastError,
    plan_version: workflow.planVersion,
    plan_changes: plans.find((p) => p.version === workflow.planVersion)?.changes ?? null,
    proposed_plan: proposed ? { version: proposed.version, feedback: proposed.feedback, changes: proposed.changes } : null,
    subtasks: subtasks.map((s) => subtaskStatusView(s, runs.get(s.id), refusedChecks(d, changes, s))),
    ready: readySubtasks(subtasks).map((s) => s.id),
    changes: changes ? changesView(changes) : null,
    usage: usageByRole(calls),
    calls_by_model: usageByModel(calls),
    budget: {
      planner: { used: tokensUsed(calls, 'planner'), limit: limitOf(workflow.budget, 'planner') ?? null },
      executor: { used: tokensUsed(calls, 'executor'), limit: limitOf(workflow.budget, 'executor') ?? null },
    },
    cost: costOf(calls, d.settings.prices, d.settings.models.planner, d.settings.providers.planner),
    active,
    next: nextStep(workflow, subtasks, active, changes),
  };
  const warnings = priceWarnings(d, out.cost!.unpriced_models);
  if (changes?.mode === 'off' && changes.hostChecks.length) {
    warnings.push(`The checks ${changes.hostChecks.map((c) => `\`${c}\``).join(', ')} are not run: ${changes.reason ?? 'changes are off'}. Checks run where executors edit a git worktree.`);
  }
  if (warnings.length) out.warnings = warnings;
  const notices = journalNotices(calls);
  if (notices.length) out.notices = notices;
  if (input.subtask_id) out.subtask = await detail(d, findSubtask(workflow, subtasks, input.subtask_id), workflow.id, input.offset ?? 0);
  return out;
}

async function detail(d: CoreDeps, s: Subtask, workflowId: string, offset: number): Promise<SubtaskDetail> {
  const executions = await d.store.workflows.listExecutions(workflowId, s.id);
  const page = outputPage(d, s.output ?? '', offset);
  const end = page.start + page.text.length;
  const rest = end < page.total ? `\n\n[output continues: ${page.total - end} more characters. Next page: workflow_status ${JSON.stringify({ workflow_id: workflowId, subtask_id: s.id, offset: end })}]` : '';
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    status: s.status,
    attempts: s.attempts,
    role: s.role,
    model: s.model,
    depends_on: s.depends_on,
    relevant_files: s.relevant_files,
    output_format: s.output_format,
    feedback: s.feedback === null ? null : bounded(s.feedback, FEEDBACK_BYTES),
    output: page.text + rest,
    output_offset: page.start,
    output_total: page.total,
    output_truncated: page.truncated,
    context: executions.at(-1)?.context ?? null,
    // An editing attempt's checks stay readable after a retry passed (its feedback is gone then).
    executions: executions.map((e) => ({
      ...runView(e),
      tokens: e.context.tokens ?? null,
      created_at: new Date(e.createdAt).toISOString(),
      ...(e.checks?.length ? { checks: e.checks } : {}),
    })),
  };
}

async function listRecent(d: CoreDeps, requester: string | undefined): Promise<WorkflowStatusResult> {
  const filter = { requester };
  const [summaries, ledger] = await Promise.all([d.store.workflows.list(RECENT, filter), d.store.calls.ledger(filter)]);
  const workflows = summaries.map(({ workflow, subtasks, done }) => ({
    workflow_id: workflow.id,
    phase: workflow.phase,
    goal: workflow.goal,
    subtasks,
    done,
    requester: workflow.requester,
    updated_at: new Date(workflow.updatedAt).toISOString(),
  }));
  const sum = (key: 'calls' | 'input_tokens' | 'cached_tokens' | 'output_tokens') => ledger.groups.reduce((n, g) => n + g[key], 0);
  const totals: LedgerTotals = {
    workflows: ledger.workflows,
    calls: sum('calls'),
    input_tokens: sum('input_tokens'),
    cached_tokens: sum('cached_tokens'),
    output_tokens: sum('output_tokens'),
    cost: costOfGroups(ledger.groups, d.settings.prices, d.settings.models.planner, d.settings.providers.planner),
  };
  const next = workflows.length
    ? 'Pass a workflow_id to see one workflow in full.'
    : requester === undefined
      ? 'No workflows yet: call plan_task with a request to start one.'
      : `No workflows of requester '${requester}': leave out requester to list everyone's.`;
  const out: WorkflowStatusResult = { workflows, totals, next };
  // Calls of plans that never became a workflow have no requester: shown only in the unfiltered list.
  if (requester === undefined) {
    const unattached = await d.store.calls.unattachedUsage();
    if (unattached.calls) out.unattached_usage = unattached;
  }
  const warnings = priceWarnings(d, totals.cost.unpriced_models);
  if (warnings.length) out.warnings = warnings;
  return out;
}

/** Warnings about figures that cannot be complete: models (configured or used) missing from the price table. */
export function priceWarnings(d: CoreDeps, usedUnpriced: readonly string[] = []): string[] {
  const models = [...new Set([...unpricedModels(d.settings.models, d.settings.prices), ...usedUnpriced])];
  return models.map(
    (m) => `Model '${m}' is not in the price table: its calls are left out of quota_units and usd (tokens are still counted). Add it under "prices" in the config file (PLANEXEC_CONFIG) with input, cached, output (USD per 1M tokens) and quota.`,
  );
}

/** What the journal says the host should know: threads sent again after the provider lost them, estimated usage. */
function journalNotices(calls: readonly ModelCall[]): string[] {
  const notices: string[] = [];
  const lost = calls.filter((c) => c.status === 'failed' && c.error?.startsWith('thread_lost:'));
  for (const c of lost.slice(-3)) {
    notices.push(`${new Date(c.endedAt ?? c.startedAt).toISOString()}: the provider no longer had the planner's thread (call ${c.id}); planexec started a new one from its own record of the thread, and the work went on.`);
  }
  const estimated = calls.filter((c) => c.usageEstimated);
  if (estimated.length) {
    notices.push(`${estimated.length} call(s) were billed without a usage report (cut off, timed out, cancelled or abandoned): their tokens are planexec's o200k estimate, counted in usage, budget and cost.`);
  }
  return notices;
}
