import { z } from 'zod';
import { callTool } from '../tool.js';
import { CallUsage, ChangesRef, CheckRef, RunState, ContextPacket, Cost, input, Int, ModelUsage, Phase, PlanChanges, Role, RoleUsage, sameAs, sameValuesAs, SubtaskId, SubtaskState, SubtaskStatus, WorkflowChangesOut, WorkflowId } from '../schemas.js';
import { PHASES } from '../../core/types.js';
import { REQUESTER_CHARS } from '../requester.js';
import { renderChanges } from './changes.js';

/** workflow_status's input (PRODUCT.md); `offset` in characters of the subtask's output. */
export const WorkflowStatusInput = input({
  workflow_id: WorkflowId.optional().describe('Leave out to list recent workflows.'),
  subtask_id: SubtaskId.optional().describe('Also this subtask in full, its output paged.'),
  offset: z.number().int().min(0).optional().describe('Where the output page starts, in characters.'),
  requester: z.string().trim().min(1).max(REQUESTER_CHARS).optional().describe("Only this requester's workflows."),
});

const Used = z.object({ used: Int(), limit: Int().nullable() });

/** One workflow's state: what run_workflow answers, and workflow_status with a workflow_id. */
export const WorkflowStateOutput = z.object({
  workflow_id: z.string().optional(),
  request: z.string().optional(),
  phase: Phase.optional(),
  last_error: z.string().nullable().optional(),
  active: z.boolean().optional().describe('A run drives it now.'),
  plan_version: Int().optional(),
  plan_changes: PlanChanges.nullable().optional(),
  proposed_plan: z
    .object({ version: Int(), feedback: z.string().nullable(), changes: sameAs<z.output<typeof PlanChanges>>('`plan_changes`').nullable() })
    .nullable()
    .optional()
    .describe('Waits for plan_task confirm_plan_version.'),
  subtasks: z.array(SubtaskState).optional(),
  ready: z.array(z.string()).optional(),
  changes: WorkflowChangesOut.nullable().optional(),
  usage: z.record(Role, RoleUsage).optional(),
  budget: z.record(Role, Used).optional().describe('Tokens used per role (limit null: none).'),
  cost: Cost.optional(),
  warnings: z.array(z.string()).optional(),
  notices: z.array(z.string()).optional(),
  next: z.string(),
});

/**
 * run_workflow's answer: the state above, its nested objects referring to workflow_status's (sameAs),
 * so that tools/list spells each shape once.
 */
export const RunStateOutput = WorkflowStateOutput.extend({
  plan_changes: sameAs<z.output<typeof PlanChanges>>('workflow_status `plan_changes`').nullable().optional(),
  proposed_plan: sameAs<NonNullable<z.output<typeof WorkflowStateOutput>['proposed_plan']>>('workflow_status `proposed_plan`').nullable().optional(),
  subtasks: z.array(sameAs<z.output<typeof SubtaskState>>('workflow_status `subtasks[]`')).optional(),
  changes: ChangesRef.nullable().optional(),
  usage: sameAs<NonNullable<z.output<typeof WorkflowStateOutput>['usage']>>('workflow_status `usage`').optional(),
  budget: sameAs<NonNullable<z.output<typeof WorkflowStateOutput>['budget']>>('workflow_status `budget`').optional(),
  cost: sameAs<z.output<typeof Cost>>('workflow_status `cost`').optional(),
});

/** workflow_status: a workflow's state, with subtask_id also one subtask in full, or without workflow_id the recent workflows. */
export const WorkflowStatusOutput = WorkflowStateOutput.extend({
  // Declared here only (run_workflow's answer carries it too): tools/list is sent to every host.
  calls_by_model: z.array(ModelUsage).optional(),
  subtask: z
    .object({
      id: z.string(),
      title: z.string(),
      description: z.string(),
      status: SubtaskStatus,
      attempts: Int(),
      role: Role,
      model: z.string().nullable(),
      depends_on: z.array(z.string()),
      relevant_files: z.array(z.string()),
      output_format: z.string(),
      feedback: z.string().nullable(),
      output: z.string(),
      output_offset: Int(),
      output_total: Int(),
      output_truncated: z.boolean(),
      context: ContextPacket.nullable(),
      executions: z.array(RunState.extend({ tokens: Int().nullable(), created_at: z.string(), checks: z.array(CheckRef).optional() })),
    })
    .optional(),
  workflows: z
    .array(z.object({ workflow_id: z.string(), phase: sameValuesAs(PHASES, '`phase`'), goal: z.string(), subtasks: Int(), done: Int(), requester: z.string().nullable(), updated_at: z.string() }))
    .optional(),
  totals: CallUsage.extend({ workflows: Int(), cost: sameAs<z.output<typeof Cost>>('`cost`') }).optional(),
  unattached_usage: CallUsage.optional().describe('Calls of plans that never became a workflow.'),
});
/** workflow_status's answer as typed (the core's WorkflowStatusResult fits it). */
export type StatusOutput = z.infer<typeof WorkflowStatusOutput>;

/** workflow_status: the use case (read only), rendered by renderStatus; errors become isError results. */
export const workflowStatus = callTool({
  name: 'workflow_status',
  title: 'Workflow status',
  description:
    "A workflow's phase, subtasks, tokens per role and cost against the planner model alone; with subtask_id also that subtask's output (paged). Without workflow_id: recent workflows and totals over all.",
  input: WorkflowStatusInput,
  output: WorkflowStatusOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  call: (ctx, args, extra) => ctx.run(extra, (): Promise<StatusOutput> => ctx.app.workflowStatus(args), renderStatus),
});

/** The text rendering of a workflow_status answer (run_workflow answers the same shape). */
export function renderStatus(r: StatusOutput): string {
  if (r.workflows) {
    const u = r.unattached_usage;
    const extra = u ? [`Plans that never became a workflow used ${u.calls} calls, ${u.input_tokens} tokens in and ${u.output_tokens} out.`] : [];
    if (r.totals) extra.unshift(totalsLine(r.totals));
    extra.push(...(r.warnings ?? []).map((w) => `Warning: ${w}`));
    const by = (w: (typeof r.workflows)[number]) => (w.requester === null ? '' : ` (by ${w.requester})`);
    return [...r.workflows.map((w) => `- ${w.workflow_id} [${w.phase}] ${w.done}/${w.subtasks} done${by(w)} — ${w.goal}`), ...extra, r.next].join('\n');
  }
  const lines = [`Workflow ${r.workflow_id} [${r.phase}], plan v${r.plan_version}: ${r.request?.split('\n')[0] ?? ''}`];
  if (r.last_error) lines.push(`Stopped on: ${r.last_error}`);
  const pc = r.plan_changes;
  if (pc) lines.push(`Plan v${r.plan_version} changed: added ${pc.added.join(', ') || 'none'}; removed ${pc.removed.join(', ') || 'none'}; changed ${pc.changed.join(', ') || 'none'}.`);
  if (r.proposed_plan) lines.push(`Proposed plan v${r.proposed_plan.version} waits for confirmation (it drops completed work of ${r.proposed_plan.changes?.drops_work.join(', ') ?? '?'}).`);
  for (const s of r.subtasks ?? []) {
    const runs = s.runs.length ? `; ran: ${s.runs.map(runLine).join(', ')}` : '';
    lines.push(`- ${s.id} ${s.title}: ${s.status} (${s.role}, attempt ${s.attempts}${runs})`);
    if (s.refused_checks?.length) lines.push(`  Not allowed, not run: ${s.refused_checks.join('; ')} (PLANEXEC_ALLOWED_CHECKS)`);
  }
  if (r.changes) lines.push(...renderChanges(r.changes));
  if (r.budget) {
    const b = (x: { used: number; limit: number | null }) => (x.limit === null ? `${x.used} (no budget)` : `${x.used} of ${x.limit}`);
    lines.push(`Budget: planner ${b(r.budget.planner)} tokens; executor ${b(r.budget.executor)} tokens.`);
  }
  if (r.usage && r.cost) {
    const u = r.usage;
    lines.push(
      `Planner: ${u.planner.calls} calls, ${u.planner.input_tokens} in (${u.planner.cached_tokens} cached), ${u.planner.output_tokens} out. ` +
        `Executor: ${u.executor.calls} calls, ${u.executor.input_tokens} in (${u.executor.cached_tokens} cached), ${u.executor.output_tokens} out.`,
      `Cost: ${costLine(r.cost)}`,
    );
  }
  if (r.calls_by_model?.length) {
    lines.push(`Calls: ${r.calls_by_model.map((m) => `${m.role} ${m.provider}/${m.model} ${m.calls} (${m.input_tokens} in, ${m.output_tokens} out)`).join('; ')}.`);
  }
  for (const w of r.warnings ?? []) lines.push(`Warning: ${w}`);
  for (const n of r.notices ?? []) lines.push(`Note: ${n}`);
  if (r.subtask) {
    const s = r.subtask;
    lines.push('', `Subtask ${s.id} (${s.status}, attempt ${s.attempts}): ${s.title}`, s.description);
    if (s.feedback) lines.push(`Feedback: ${s.feedback}`);
    const ctx = s.context;
    if (ctx) {
      const files = ctx.files.map((f) => `${f.path} [${f.range[0]}, ${f.range[1]})${f.truncated ? ' truncated' : ''}${f.missing ? ' missing' : ''}`).join('; ');
      lines.push(`Latest execution saw ${ctx.tokens} tokens; files: ${files || 'none'}; dependencies: ${ctx.dependencies.map((x) => x.subtask_id).join(', ') || 'none'}.`);
    }
    lines.push(`Output (from character ${s.output_offset} of ${s.output_total}):`, s.output);
  }
  lines.push(`Next: ${r.next}`);
  return lines.join('\n');
}

function totalsLine(t: NonNullable<StatusOutput['totals']>): string {
  return (
    `Totals over ${t.workflows} workflow(s): ${t.calls} calls, ${t.input_tokens} tokens in (${t.cached_tokens} cached), ${t.output_tokens} out; ` +
    costLine(t.cost)
  );
}

/** A Cost in one line: quota units and USD against the planner-only baseline. */
function costLine(c: z.output<typeof Cost>): string {
  return (
    `${c.quota_units ?? '?'} quota units vs ${c.baseline_quota_units ?? '?'} planner-only (${c.savings_pct ?? '?'}% saved); ` +
    `$${c.usd ?? '?'} vs $${c.baseline_usd ?? '?'}${c.usd_savings_pct === null ? '' : ` (${c.usd_savings_pct}% saved)`}.` +
    (c.subscription_calls ? ` ${c.subscription_calls} call(s) on a subscription (codex): quota units, no USD.` : '') +
    (c.unpriced_models.length ? ` Not priced: ${c.unpriced_models.join(', ')}.` : '')
  );
}

function runLine(x: z.infer<typeof SubtaskState>['runs'][number]): string {
  const edit = x.commit === undefined ? '' : x.commit ? ` ${x.commit.slice(0, 10)}` : ' no commit';
  const failed = x.failed_checks?.length ? ` (failed: ${x.failed_checks.join(', ')})` : '';
  return `#${x.attempt} ${x.model}${edit}${failed}`;
}
