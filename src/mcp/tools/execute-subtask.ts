import { z } from 'zod';
import { CallUsage, ContextPacket, Phase, Role, SubtaskId, SubtaskStatus, WorkflowId } from '../schemas.js';
import type { ToolContext } from '../server.js';

export const ExecuteSubtaskInput = z.object({
  workflow_id: WorkflowId,
  subtask_id: SubtaskId.optional().describe('Default: the first ready subtask.'),
  notes: z.string().max(20_000, 'notes are over 20,000 characters: keep them to what this subtask needs').optional().describe('Extra instructions for this execution only.'),
  force: z.boolean().optional().describe('Run a completed subtask again; the new output becomes current, earlier ones stay in its history.'),
  wait: z.boolean().optional().describe('false: answer as soon as the subtask is claimed (status running) and let it run in the background; follow it with workflow_status. Default true.'),
});

export const ExecuteSubtaskOutput = z.object({
  workflow_id: z.string(),
  subtask_id: z.string(),
  status: SubtaskStatus,
  executed: z.boolean().describe('false: the subtask was already completed and its stored output is returned.'),
  attempt: z.number().int(),
  output: z.string(),
  output_truncated: z.boolean(),
  model: z.string().nullable(),
  role: Role,
  usage: CallUsage,
  context: ContextPacket.nullable()
    .describe('What the model was shown; null when nothing was executed.'),
  phase: Phase,
  ready: z.array(z.string()),
  next: z.string(),
});

export function registerExecuteSubtask({ server, app, run, detach, log }: ToolContext): void {
  server.registerTool(
    'execute_subtask',
    {
      title: 'Execute a subtask',
      description:
        'Run one subtask of a workflow with only the context it needs: its description, relevant files, review feedback and the outputs of its direct dependencies. Routine subtasks run on the executor model, complex ones on the planner model. Refuses while dependencies are incomplete.',
      inputSchema: ExecuteSubtaskInput,
      outputSchema: ExecuteSubtaskOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) =>
      run(
        extra,
        async (ctl): Promise<z.infer<typeof ExecuteSubtaskOutput>> => {
          if (args.wait !== false) return app.executeSubtask(args, ctl);
          // Answer once the subtask is claimed; errors before that (bad input) are this call's errors.
          let claimed: (ids: [string, string]) => void = () => undefined;
          const onClaimed = new Promise<[string, string]>((resolve) => (claimed = resolve));
          const work = detach((signal) => app.executeSubtask(args, { signal, onClaimed: (w, s) => claimed([w, s]) }));
          work.catch((error: unknown) => log.warn({ err: error }, 'a background execution (wait: false) failed'));
          const first = await Promise.race([onClaimed.then((ids) => ({ ids })), work.then((done) => ({ done }))]);
          return 'done' in first ? first.done : app.subtaskSnapshot(...first.ids);
        },
        render,
      ),
  );
}

function render(r: z.infer<typeof ExecuteSubtaskOutput>): string {
  if (r.status === 'running') return `Subtask ${r.subtask_id} of ${r.workflow_id} is running in the background on the ${r.role} model.\nNext: ${r.next}`;
  const how = r.executed
    ? `${r.status} on ${r.model} (attempt ${r.attempt}; ${r.usage.input_tokens} tokens in, ${r.usage.cached_tokens} cached, ${r.usage.output_tokens} out)`
    : `already ${r.status}; stored output returned (pass force: true to run it again)`;
  return `Subtask ${r.subtask_id} of ${r.workflow_id}: ${how}.\n\n${r.output}\n\nNext: ${r.next}`;
}
