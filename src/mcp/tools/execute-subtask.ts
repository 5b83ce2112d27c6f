import { z } from 'zod';
import { callTool } from '../tool.js';
import { sameAs, AttemptChangesOut, CallUsageRef, CheckRef, ContextPacket, input, Int, Phase, Role, SubtaskId, SubtaskStatus, WorkflowId } from '../schemas.js';
import { checkLine } from './changes.js';

/** execute_subtask's input (PRODUCT.md): notes at most 20,000 characters; `wait` is the MCP layer's own (not in the core's input). */
export const ExecuteSubtaskInput = input({
  workflow_id: WorkflowId,
  subtask_id: SubtaskId.optional().describe('Default: the first ready subtask.'),
  notes: z.string().max(20_000, 'notes are over 20,000 characters: keep them to what this subtask needs').optional().describe('Extra instructions for this execution only.'),
  force: z.boolean().optional().describe('Run a completed subtask again (earlier outputs stay in its history).'),
  wait: z.boolean().optional().describe('false: answer once the subtask is claimed (status running); follow it with workflow_status.'),
});

/** execute_subtask's answer (src/core/usecases/execute-subtask.ts ExecuteSubtaskResult). */
export const ExecuteSubtaskOutput = z.object({
  workflow_id: z.string(),
  subtask_id: z.string(),
  status: SubtaskStatus,
  executed: z.boolean().describe('false: already completed; the stored output is returned.'),
  attempt: Int(),
  output: z.string(),
  output_truncated: z.boolean(),
  model: z.string().nullable(),
  role: Role,
  usage: CallUsageRef,
  context: sameAs<z.output<typeof ContextPacket>>('workflow_status `subtask.context`').nullable(),
  changes: AttemptChangesOut.nullable().optional().describe('Editing subtasks: what this attempt changed on the branch.'),
  checks: z.array(CheckRef).optional(),
  phase: Phase,
  ready: z.array(z.string()),
  next: z.string(),
});
type Output = z.infer<typeof ExecuteSubtaskOutput>;

/**
 * execute_subtask: runs the use case (its errors become isError results). With wait:false it answers once
 * the subtask is claimed (status running) and the execution goes on detached from the request; errors
 * before the claim are this call's, later ones are logged and left in the workflow's state.
 */
export const executeSubtask = callTool({
  name: 'execute_subtask',
  title: 'Execute a subtask',
  description:
    'Run one subtask with only the context it needs: its description, relevant files, review feedback and its direct dependencies\' outputs. Routine subtasks run on the executor model, complex ones on the planner. Refuses while dependencies are incomplete.',
  input: ExecuteSubtaskInput,
  output: ExecuteSubtaskOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  call: (ctx, args, extra) =>
    ctx.run(
      extra,
      async (ctl): Promise<Output> => {
        if (args.wait !== false) return ctx.app.executeSubtask(args, ctl);
        // Answer once the subtask is claimed; errors before that (bad input) are this call's errors.
        let claimed: (ids: [string, string]) => void = () => undefined;
        const onClaimed = new Promise<[string, string]>((resolve) => (claimed = resolve));
        const work = ctx.detach((signal) => ctx.app.executeSubtask(args, { signal, onClaimed: (w, s) => claimed([w, s]) }));
        work.catch((error: unknown) => ctx.log.warn({ err: error }, 'a background execution (wait: false) failed'));
        const first = await Promise.race([onClaimed.then((ids) => ({ ids })), work.then((done) => ({ done }))]);
        return 'done' in first ? first.done : ctx.app.subtaskSnapshot(...first.ids);
      },
      render,
    ),
});

function render(r: Output): string {
  if (r.status === 'running') return `Subtask ${r.subtask_id} of ${r.workflow_id} is running in the background on the ${r.role} model.\nNext: ${r.next}`;
  const how = r.executed
    ? `${r.status} on ${r.model} (attempt ${r.attempt}; ${r.usage.input_tokens} tokens in, ${r.usage.cached_tokens} cached, ${r.usage.output_tokens} out)`
    : `already ${r.status}; stored output returned (pass force: true to run it again)`;
  const edits: string[] = [];
  const c = r.changes;
  if (c) {
    const files = c.files.map((f) => `${f.path} +${f.insertions} -${f.deletions}`).join(', ') || 'no file';
    edits.push(c.commit ? `Committed ${c.commit.slice(0, 10)}: ${files}.` : c.rolled_back ? `Rolled back (a check failed): ${files}.` : 'Nothing was committed.');
    for (const x of c.rejected) edits.push(`Refused: ${x.path}: ${x.reason}`);
  }
  if (r.checks?.length) edits.push(`Checks: ${r.checks.map(checkLine).join('; ')}.`);
  return [`Subtask ${r.subtask_id} of ${r.workflow_id}: ${how}.`, ...edits, '', r.output, '', `Next: ${r.next}`].join('\n');
}
