import { z } from 'zod';
import { CallUsage, Phase, PlanChanges, PlannedSubtask, TokenBudget, WorkflowId } from '../schemas.js';
import type { ToolContext } from '../server.js';

export const PlanTaskInput = z.object({
  request: z
    .string()
    .trim()
    .min(1, 'request must not be empty: describe the feature or change to plan')
    .max(100_000, 'request is over 100,000 characters: put long material in files and list them in `files`')
    .optional()
    .describe('What to build or change, as you would tell an engineer. Required to start a workflow; leave it out to revise one.'),
  context: z.string().max(200_000, 'context is over 200,000 characters: list files in `files` instead').optional().describe('Anything else the planner should know: constraints, conventions, decisions already made.'),
  files: z
    .array(z.string().min(1).max(1_024))
    .max(50, 'files lists more than 50 paths: name only what the planner must read')
    .optional()
    .describe('Workspace-relative paths (under PLANEXEC_ROOT) the planner should read.'),
  budget: TokenBudget.optional().describe('Token budgets per role for this workflow.'),
  workflow_id: WorkflowId.optional().describe('Revise the plan of this workflow (with feedback), or apply a proposed revision (with confirm_plan_version).'),
  feedback: z.string().max(50_000, 'feedback is over 50,000 characters').optional().describe('How the plan should change. The revision becomes plan version N+1; kept subtasks keep their results.'),
  confirm_plan_version: z
    .number()
    .int()
    .min(2)
    .optional()
    .describe('Apply this proposed plan version: needed when a revision drops completed or approved work.'),
});

export const PlanTaskOutput = z.object({
  workflow_id: z.string(),
  phase: Phase,
  plan_version: z.number().int(),
  subtasks: z.array(PlannedSubtask),
  ready: z.array(z.string()).describe('Subtasks that can run now.'),
  coordination_notes: z.string(),
  changes: PlanChanges.nullable().describe('For a revision: what it changes against the previous plan.'),
  requires_confirmation: z.boolean().describe('true: the revision would drop completed work; it waits as proposed_version until confirmed.'),
  proposed_version: z.number().int().nullable(),
  usage: CallUsage,
  next: z.string().describe('What to call next.'),
});

export function registerPlanTask({ server, app, run, sessionRoot }: ToolContext): void {
  server.registerTool(
    'plan_task',
    {
      title: 'Plan a task',
      description:
        'Have the planner model break a request into a dependency graph of subtasks and store it as a new workflow. Returns the workflow_id, the subtasks (routine ones run on the cheap executor model, complex ones on the planner model) and which are ready. With workflow_id and feedback, the planner revises that plan instead (a new plan version; completed work the new plan keeps is kept).',
      inputSchema: PlanTaskInput,
      outputSchema: PlanTaskOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) => run(extra, async (ctl): Promise<z.infer<typeof PlanTaskOutput>> => app.planTask({ ...args, root: await sessionRoot() }, ctl), render),
  );
}

function render(r: z.infer<typeof PlanTaskOutput>): string {
  const lines = r.subtasks.map((s) => {
    const deps = s.depends_on.length ? ` (after ${s.depends_on.join(', ')})` : '';
    return `- ${s.id} ${s.title} [${s.complexity} -> ${s.role}]${deps}`;
  });
  const c = r.changes;
  const changed = c ? [`Changes: added ${c.added.join(', ') || 'none'}; removed ${c.removed.join(', ') || 'none'}; changed ${c.changed.join(', ') || 'none'}; kept ${c.kept.length}.`] : [];
  const head = r.requires_confirmation
    ? `Proposed plan v${r.proposed_version} for ${r.workflow_id} (not applied: it drops completed work of ${c?.drops_work.join(', ')}).`
    : `Planned workflow ${r.workflow_id} (plan v${r.plan_version}): ${r.subtasks.length} subtask(s), ${r.ready.length} ready.`;
  return [
    head,
    ...changed,
    ...lines,
    `Planner tokens: ${r.usage.input_tokens} in (${r.usage.cached_tokens} cached), ${r.usage.output_tokens} out.`,
    `Next: ${r.next}`,
  ].join('\n');
}
