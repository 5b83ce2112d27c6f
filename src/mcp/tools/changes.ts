import { z } from 'zod';
import type { ChangesResult } from '../../core/usecases/merge-changes.js';
import { ChangesRef, input, Phase, WorkflowChangesOut, WorkflowId } from '../schemas.js';
import { callTool } from '../tool.js';

type ChangesOut = z.infer<typeof WorkflowChangesOut>;
type CheckOut = ChangesOut['base_checks'][number];

const ChangesOutput = z.object({ workflow_id: z.string(), phase: Phase, changes: ChangesRef, next: z.string() });
type Output = z.infer<typeof ChangesOutput>;

/** merge_changes (PRODUCT.md, "Changes"): the use case; a refused merge is an isError result naming the paths. */
export const mergeChanges = callTool({
  name: 'merge_changes',
  title: 'Merge a workflow\'s branch',
  description:
    "Bring branch planexec/<workflow_id> into the root repository's current branch (fast-forward or merge commit). Refused, naming the paths, when your uncommitted changes touch its files or it conflicts; never half-merged.",
  input: input({ workflow_id: WorkflowId }),
  output: ChangesOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  call: (ctx, args, extra) => ctx.run(extra, (): Promise<ChangesResult> => ctx.app.mergeChanges(args), render),
});

/** discard_changes (PRODUCT.md, "Changes"): the use case; approved, unmerged work needs confirm: true. */
export const discardChanges = callTool({
  name: 'discard_changes',
  title: 'Discard a workflow\'s branch',
  description: "Remove the workflow's worktree and branch (a workflow still going is cancelled). Approved work that was not merged needs confirm: true.",
  input: input({ workflow_id: WorkflowId, confirm: z.boolean().optional().describe('Needed to delete approved, unmerged work.') }),
  output: ChangesOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  call: (ctx, args, extra) => ctx.run(extra, (): Promise<ChangesResult> => ctx.app.discardChanges(args), render),
});

function render(r: Output): string {
  return [`Workflow ${r.workflow_id} [${r.phase}].`, ...renderChanges(r.changes), `Next: ${r.next}`].join('\n');
}

/** Lines describing a workflow's worktree, branch, files changed (+/-) and host checks, for the text renderings. */
export function renderChanges(c: ChangesOut): string[] {
  if (c.mode === 'off') return [`No changes to files: ${c.reason ?? 'changes are off'}.`];
  if (c.discarded) return [`Branch ${c.branch} and its worktree were discarded.`];
  const lines = [`Branch ${c.branch} (worktree ${c.worktree}), ${short(c.base)}..${short(c.head)}${c.merged ? `, merged into ${c.merged.branch ?? 'HEAD'} (${c.merged.mode})` : ''}.`];
  if (c.files.length) {
    const shown = c.files.slice(0, 30).map((f) => `  ${f.status[0]!.toUpperCase()} ${f.path} +${f.insertions} -${f.deletions}`);
    lines.push(`Files changed (${c.files.length}):`, ...shown);
    if (c.files.length > shown.length) lines.push(`  and ${c.files.length - shown.length} more`);
  } else {
    lines.push('No file changed yet.');
  }
  const checks = c.final_checks ?? c.base_checks;
  if (checks.length) lines.push(`Host checks ${c.final_checks ? 'on the finished branch' : 'on the base'}: ${checks.map(checkLine).join('; ')}.`);
  return lines;
}

/** One check as text: command, and how it ended. */
export function checkLine(c: CheckOut): string {
  return `${c.command} ${c.passed ? 'passed' : c.timed_out ? 'timed out' : `failed (exit ${c.exit_code ?? 'signal'})`}`;
}

const short = (commit: string | null) => commit?.slice(0, 10) ?? '?';
