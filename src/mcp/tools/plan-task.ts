import { z } from 'zod';
import { callTool } from '../tool.js';
import { renderChanges } from './changes.js';
import { CallUsageRef, ChangesMode, HostChecks, input, Int, Phase, PlanChanges, PlannedSubtask, TokenBudget, ChangesRef, sameAs, WorkflowId } from '../schemas.js';

/**
 * plan_task's input (PRODUCT.md). Caps, in characters: request 100,000, context 200,000, feedback 50,000;
 * at most 50 files of 1-1,024 characters each. run_workflow reuses these fields.
 */
export const PlanTaskInput = input({
  request: z
    .string()
    .trim()
    .min(1, 'request must not be empty: describe the feature or change to plan')
    .max(100_000, 'request is over 100,000 characters: put long material in files and list them in `files`')
    .optional()
    .describe('What to build or change. Required to start a workflow.'),
  context: z.string().max(200_000, 'context is over 200,000 characters: list files in `files` instead').optional().describe('Constraints, conventions, decisions already made.'),
  files: z
    .array(z.string().min(1).max(1_024))
    .max(50, 'files lists more than 50 paths: name only what the planner must read')
    .optional()
    .describe('Paths under PLANEXEC_ROOT for the planner to read.'),
  budget: TokenBudget.optional().describe('Token budget per role for this workflow.'),
  workflow_id: WorkflowId.optional().describe('Revise this workflow\'s plan (with feedback) or apply a proposed one (with confirm_plan_version).'),
  feedback: z.string().max(50_000, 'feedback is over 50,000 characters').optional().describe('How the plan should change.'),
  confirm_plan_version: z.number().int().min(2).optional().describe('Apply this proposed plan version (one that drops completed work).'),
  checks: HostChecks.optional(),
  changes: ChangesMode.optional().describe('worktree (default in a git repository): edits on branch planexec/<workflow_id>; off: text only.'),
});

/** plan_task's answer (src/core/usecases/plan-task.ts PlanTaskResult). */
export const PlanTaskOutput = z.object({
  workflow_id: z.string(),
  phase: Phase,
  plan_version: Int(),
  subtasks: z.array(PlannedSubtask),
  ready: z.array(z.string()),
  coordination_notes: z.string(),
  plan_changes: sameAs<z.output<typeof PlanChanges>>('workflow_status `plan_changes`').nullable(),
  changes: ChangesRef.nullable(),
  requires_confirmation: z.boolean().describe('The revision drops completed work: it waits as proposed_version.'),
  proposed_version: Int().nullable(),
  usage: CallUsageRef,
  next: z.string(),
});
type Output = z.infer<typeof PlanTaskOutput>;

/** plan_task: the use case with the session's root (MCP roots) and requester added; errors become isError results. */
export const planTask = callTool({
  name: 'plan_task',
  title: 'Plan a task',
  description:
    'The planner model breaks a request into a dependency graph of subtasks (routine ones run on the cheap executor model, complex ones on the planner) and stores it as a new workflow. With workflow_id and feedback it revises that plan as a new version; completed work the new plan keeps is kept.',
  input: PlanTaskInput,
  output: PlanTaskOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  call: (ctx, args, extra) => ctx.run(extra, async (ctl): Promise<Output> => ctx.app.planTask({ ...args, root: await ctx.sessionRoot(), requester: ctx.requester(extra) }, ctl), render),
});

function render(r: Output): string {
  const lines = r.subtasks.map((s) => {
    const deps = s.depends_on.length ? ` (after ${s.depends_on.join(', ')})` : '';
    return `- ${s.id} ${s.title} [${s.complexity} -> ${s.role}]${deps}`;
  });
  const c = r.plan_changes;
  const changed = c ? [`Plan changes: added ${c.added.join(', ') || 'none'}; removed ${c.removed.join(', ') || 'none'}; changed ${c.changed.join(', ') || 'none'}; kept ${c.kept.length}.`] : [];
  const head = r.requires_confirmation
    ? `Proposed plan v${r.proposed_version} for ${r.workflow_id} (not applied: it drops completed work of ${c?.drops_work.join(', ')}).`
    : `Planned workflow ${r.workflow_id} (plan v${r.plan_version}): ${r.subtasks.length} subtask(s), ${r.ready.length} ready.`;
  return [
    head,
    ...changed,
    ...lines,
    ...(r.changes ? renderChanges(r.changes) : []),
    `Planner tokens: ${r.usage.input_tokens} in (${r.usage.cached_tokens} cached), ${r.usage.output_tokens} out.`,
    `Next: ${r.next}`,
  ].join('\n');
}
