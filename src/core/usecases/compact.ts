// Compaction of the planner's thread: when the next planner call would carry more than a threshold
// (PLANEXEC_COMPACT_AT of the planner context limit, or of the planner budget), the planner first
// writes a compact state summary, and the thread starts over from it.
import { z } from 'zod';
import { threadTokens, tokensUsed } from '../budget.js';
import { modelOutputInvalid } from '../errors.js';
import type { CoreDeps } from '../deps.js';
import { structuredPlannerCall, type CallOptions } from '../journal.js';
import { COMPACT_INPUT } from '../prompts.js';
import type { Workflow } from '../types.js';

export const CompactionSchema = z.object({
  summary: z.string().describe('The compact state summary a fresh conversation continues from.'),
});

/**
 * The input size at which the planner thread is compacted first: `at` of the smaller of the
 * configured context limit and what is left of the planner budget; null when neither bounds it.
 */
export function compactionThreshold(d: CoreDeps, workflow: Workflow): number | null {
  const limit = workflow.budget.planner_tokens;
  const left = limit === undefined ? undefined : Math.max(0, limit - tokensUsed(d.store.listCalls(workflow.id), 'planner'));
  const bounds = [d.settings.compaction.contextLimit, left].filter((x): x is number => x !== undefined);
  return bounds.length ? Math.floor(Math.min(...bounds) * d.settings.compaction.at) : null;
}

/**
 * Compacts the workflow's planner thread if continuing it with `nextInput` would pass the
 * threshold. Returns the workflow as it is afterwards (thread head null and a summary when it did).
 */
export async function compactIfNeeded(d: CoreDeps, workflow: Workflow, nextInput: string, opts: CallOptions): Promise<Workflow> {
  const threshold = compactionThreshold(d, workflow);
  if (threshold === null || !workflow.plannerResponseId) return workflow;
  const thread = threadTokens(d.store.listCalls(workflow.id), workflow.plannerResponseId);
  // The thread's last input already held the instructions; they are replaced, not repeated.
  if (thread + d.tokens.count(nextInput) <= threshold) return workflow;

  opts.onProgress?.({ message: `compacting the planner thread (${thread.toLocaleString('en-US')} tokens) on ${d.settings.models.planner}`, progress: 0 });
  const answer = await structuredPlannerCall(
    d,
    { workflowId: workflow.id, purpose: 'compact', budget: workflow.budget },
    COMPACT_INPUT,
    workflow.plannerResponseId,
    { name: 'compaction', schema: CompactionSchema },
    (value) => (value.summary.trim() ? [] : ['The summary is empty.']),
    opts,
  );
  if (answer.problems.length) {
    throw modelOutputInvalid('The planner could not write a state summary of its thread.', 'Nothing changed; retry. Raising PLANEXEC_PLANNER_CONTEXT_LIMIT postpones compaction.');
  }
  const patch = { plannerResponseId: null, plannerSummary: answer.value.summary };
  d.store.updateWorkflow(workflow.id, patch, d.clock.now());
  return { ...workflow, ...patch };
}
