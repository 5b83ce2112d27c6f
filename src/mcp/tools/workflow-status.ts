import { z } from 'zod';
import { CallUsage, ContextPacket, Cost, Phase, PlanChanges, Role, RoleUsage, SubtaskId, SubtaskState, SubtaskStatus, WorkflowId } from '../schemas.js';
import type { ToolContext } from '../server.js';

export const WorkflowStatusInput = z.object({
  workflow_id: WorkflowId.optional().describe('Leave out to list the most recent workflows.'),
  subtask_id: SubtaskId.optional().describe('Also show this subtask in full: its output (paged), feedback and inputs.'),
  offset: z.number().int().min(0).optional().describe('Where the output page starts, in characters (for long outputs).'),
});

export const WorkflowStatusOutput = z.object({
  workflow_id: z.string().optional(),
  request: z.string().optional(),
  phase: Phase.optional(),
  last_error: z.string().nullable().optional().describe('Why the workflow stopped, when it stopped on an error.'),
  active: z.boolean().optional().describe('A run is driving the workflow now (in this or another live planexec process).'),
  plan_version: z.number().int().optional(),
  plan_changes: PlanChanges.nullable().optional().describe('What the current plan version changed against the previous one.'),
  proposed_plan: z
    .object({ version: z.number().int(), feedback: z.string().nullable(), changes: PlanChanges.nullable() })
    .nullable()
    .optional()
    .describe('A revision waiting for plan_task {workflow_id, confirm_plan_version}.'),
  subtasks: z.array(SubtaskState).optional(),
  ready: z.array(z.string()).optional(),
  usage: z.object({ planner: RoleUsage, executor: RoleUsage }).optional().describe('Per role, from the call journal.'),
  budget: z
    .object({
      planner: z.object({ used: z.number().int(), limit: z.number().int().nullable() }),
      executor: z.object({ used: z.number().int(), limit: z.number().int().nullable() }),
    })
    .optional()
    .describe('Tokens used against the workflow\'s budget per role (input + output of completed calls); limit null: no budget.'),
  cost: Cost.optional(),
  subtask: z
    .object({
      id: z.string(),
      title: z.string(),
      description: z.string(),
      status: SubtaskStatus,
      attempts: z.number().int(),
      role: Role,
      model: z.string().nullable(),
      depends_on: z.array(z.string()),
      relevant_files: z.array(z.string()),
      output_format: z.string(),
      feedback: z.string().nullable(),
      output: z.string(),
      output_offset: z.number().int(),
      output_total: z.number().int(),
      output_truncated: z.boolean(),
      context: ContextPacket.nullable().describe('What the model saw on the latest execution.'),
      executions: z.array(z.object({ attempt: z.number().int(), role: Role, model: z.string(), tokens: z.number().int().nullable(), created_at: z.string() })),
    })
    .optional(),
  workflows: z
    .array(z.object({ workflow_id: z.string(), phase: Phase, goal: z.string(), subtasks: z.number().int(), done: z.number().int(), updated_at: z.string() }))
    .optional()
    .describe('Without workflow_id: the most recent workflows.'),
  unattached_usage: CallUsage.optional().describe('Without workflow_id: model calls of plans that never became a workflow (billed all the same).'),
  warnings: z.array(z.string()).optional().describe('Why a figure is incomplete, and what to do.'),
  notices: z.array(z.string()).optional().describe('Events the host should know of.'),
  next: z.string(),
});

export function registerWorkflowStatus({ server, app, run }: ToolContext): void {
  server.registerTool(
    'workflow_status',
    {
      title: 'Workflow status',
      description:
        'Show a workflow: its phase, subtasks, tokens per role and the cost against running everything on the planner model alone. With subtask_id, also that subtask\'s full output (paged). Without workflow_id, list recent workflows.',
      inputSchema: WorkflowStatusInput,
      outputSchema: WorkflowStatusOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) => run(extra, (): Promise<z.infer<typeof WorkflowStatusOutput>> => app.workflowStatus(args), renderStatus),
  );
}

export function renderStatus(r: z.infer<typeof WorkflowStatusOutput>): string {
  if (r.workflows) {
    const u = r.unattached_usage;
    const extra = u ? [`Plans that never became a workflow used ${u.calls} calls, ${u.input_tokens} tokens in and ${u.output_tokens} out.`] : [];
    if (!r.workflows.length) return [...extra, r.next].join('\n');
    return [...r.workflows.map((w) => `- ${w.workflow_id} [${w.phase}] ${w.done}/${w.subtasks} done — ${w.goal}`), ...extra, r.next].join('\n');
  }
  const lines = [`Workflow ${r.workflow_id} [${r.phase}], plan v${r.plan_version}: ${r.request?.split('\n')[0] ?? ''}`];
  if (r.last_error) lines.push(`Stopped on: ${r.last_error}`);
  const pc = r.plan_changes;
  if (pc) lines.push(`Plan v${r.plan_version} changed: added ${pc.added.join(', ') || 'none'}; removed ${pc.removed.join(', ') || 'none'}; changed ${pc.changed.join(', ') || 'none'}.`);
  if (r.proposed_plan) lines.push(`Proposed plan v${r.proposed_plan.version} waits for confirmation (it drops completed work of ${r.proposed_plan.changes?.drops_work.join(', ') ?? '?'}).`);
  for (const s of r.subtasks ?? []) {
    const runs = s.runs.length ? `; ran: ${s.runs.map((x) => `#${x.attempt} ${x.model}`).join(', ')}` : '';
    lines.push(`- ${s.id} ${s.title}: ${s.status} (${s.role}, attempt ${s.attempts}${runs})`);
  }
  if (r.budget) {
    const b = (x: { used: number; limit: number | null }) => (x.limit === null ? `${x.used} (no budget)` : `${x.used} of ${x.limit}`);
    lines.push(`Budget: planner ${b(r.budget.planner)} tokens; executor ${b(r.budget.executor)} tokens.`);
  }
  if (r.usage && r.cost) {
    const u = r.usage;
    lines.push(
      `Planner: ${u.planner.calls} calls, ${u.planner.input_tokens} in (${u.planner.cached_tokens} cached), ${u.planner.output_tokens} out. ` +
        `Executor: ${u.executor.calls} calls, ${u.executor.input_tokens} in (${u.executor.cached_tokens} cached), ${u.executor.output_tokens} out.`,
      `Cost: ${r.cost.quota_units ?? '?'} quota units vs ${r.cost.baseline_quota_units ?? '?'} planner-only (${r.cost.savings_pct ?? '?'}% saved); ` +
        `$${r.cost.usd ?? '?'} vs $${r.cost.baseline_usd ?? '?'}.` +
        (r.cost.unpriced_models.length ? ` Not priced: ${r.cost.unpriced_models.join(', ')}.` : ''),
    );
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
