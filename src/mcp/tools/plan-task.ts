import { z } from 'zod';
import { CallUsage, Phase, PlannedSubtask, TokenBudget } from '../schemas.js';
import type { ToolContext } from '../server.js';

export const PlanTaskInput = z.object({
  request: z
    .string()
    .trim()
    .min(1, 'request must not be empty: describe the feature or change to plan')
    .max(100_000, 'request is over 100,000 characters: put long material in files and list them in `files`')
    .describe('What to build or change, as you would tell an engineer.'),
  context: z.string().max(200_000, 'context is over 200,000 characters: list files in `files` instead').optional().describe('Anything else the planner should know: constraints, conventions, decisions already made.'),
  files: z
    .array(z.string().min(1).max(1_024))
    .max(50, 'files lists more than 50 paths: name only what the planner must read')
    .optional()
    .describe('Workspace-relative paths (under PLANEXEC_ROOT) the planner should read.'),
  budget: TokenBudget.optional().describe('Token budgets per role for this workflow.'),
});

export const PlanTaskOutput = z.object({
  workflow_id: z.string(),
  phase: Phase,
  plan_version: z.number().int(),
  subtasks: z.array(PlannedSubtask),
  ready: z.array(z.string()).describe('Subtasks that can run now.'),
  coordination_notes: z.string(),
  usage: CallUsage,
  next: z.string().describe('What to call next.'),
});

export function registerPlanTask({ server, app, run }: ToolContext): void {
  server.registerTool(
    'plan_task',
    {
      title: 'Plan a task',
      description:
        'Have the planner model break a request into a dependency graph of subtasks and store it as a new workflow. Returns the workflow_id, the subtasks (routine ones run on the cheap executor model, complex ones on the planner model) and which are ready.',
      inputSchema: PlanTaskInput,
      outputSchema: PlanTaskOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) => run(extra, (ctl): Promise<z.infer<typeof PlanTaskOutput>> => app.planTask(args, ctl), render),
  );
}

function render(r: z.infer<typeof PlanTaskOutput>): string {
  const lines = r.subtasks.map((s) => {
    const deps = s.depends_on.length ? ` (after ${s.depends_on.join(', ')})` : '';
    return `- ${s.id} ${s.title} [${s.complexity} -> ${s.role}]${deps}`;
  });
  return [
    `Planned workflow ${r.workflow_id} (plan v${r.plan_version}): ${r.subtasks.length} subtask(s), ${r.ready.length} ready.`,
    ...lines,
    `Planner tokens: ${r.usage.input_tokens} in (${r.usage.cached_tokens} cached), ${r.usage.output_tokens} out.`,
    `Next: ${r.next}`,
  ].join('\n');
}
