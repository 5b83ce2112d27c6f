// Compaction of the planner's thread: when the next planner call would carry more than a threshold
// (PLANEXEC_COMPACT_AT of the planner context limit, or once, of the planner budget), the planner first
// writes a compact state summary, and the thread starts over from it.
import { z } from 'zod';
import { threadTokens, tokensUsed } from '../budget.js';
import { modelOutputInvalid } from '../errors.js';
import type { CoreDeps } from '../deps.js';
import { structuredPlannerCall, type CallOptions } from '../journal.js';
import { COMPACT_INPUT } from '../prompts.js';
import type { ModelCall, Workflow } from '../types.js';
import { plannerThreadOf } from '../workflow.js';

/** The planner's answer to a compaction (Task: compact): the state summary the new thread starts from. */
export const CompactionSchema = z.object({
  summary: z.string().describe('The compact state summary a fresh conversation continues from.'),
});

/**
 * Whether the planner thread should be compacted before a call that continues it with `nextInput`:
 * when that call would carry more than `at` of the configured context limit, or, once per
 * workflow, when it would take the planner's budget past `at` of its limit (so the rest of the
 * budget is spent on short threads, as the article's should_compact does).
 */
export async function compactionDue(d: CoreDeps, workflow: Workflow, nextInput: string): Promise<boolean> {
  const { contextLimit, at } = d.settings.compaction;
  const limit = workflow.budget.planner_tokens;
  if (contextLimit === undefined && limit === undefined) return false;
  const turns = await d.store.workflows.listTurns(workflow.id, workflow.plannerThread);
  if (!workflow.plannerResponseId && turns.length === 0) return false;
  const calls = await d.store.calls.list(workflow.id);
  // The thread's size is what its last call carried (input, with the thread, plus its answer); its
  // instructions are replaced, not repeated, by the next call.
  const last = turns.at(-1)?.callId;
  const size = last !== undefined ? threadSize(calls, last) : threadTokens(calls, workflow.plannerResponseId);
  const next = size + d.tokens.count(nextInput);
  if (contextLimit !== undefined && next > at * contextLimit) return true;
  return limit !== undefined && workflow.plannerSummary === null && tokensUsed(calls, 'planner') + next > at * limit;
}

function threadSize(calls: readonly ModelCall[], callId: number): number {
  const call = calls.find((c) => c.id === callId);
  return call?.usage ? call.usage.input_tokens + call.usage.output_tokens : 0;
}

/**
 * Compacts the workflow's planner thread when compactionDue says so: the planner writes a state
 * summary (a `compact` call in the journal, appended to the old thread's record), and the workflow
 * moves to a new, empty thread that starts from that summary. Returns the workflow as it is after.
 * Throws model_output_invalid (nothing changed), budget_exceeded, provider errors, storage_unavailable.
 */
export async function compactIfNeeded(d: CoreDeps, workflow: Workflow, nextInput: string, opts: CallOptions): Promise<Workflow> {
  if (!(await compactionDue(d, workflow, nextInput))) return workflow;
  opts.onProgress?.({ message: `compacting the planner thread on ${d.settings.models.planner}`, progress: 0 });
  const answer = await structuredPlannerCall(
    d,
    { workflowId: workflow.id, purpose: 'compact', budget: workflow.budget },
    COMPACT_INPUT,
    plannerThreadOf(d, workflow),
    { name: 'compaction', schema: CompactionSchema },
    (value) => (value.summary.trim() ? [] : ['The summary is empty.']),
    opts,
  );
  if (answer.problems.length) {
    throw modelOutputInvalid('The planner could not write a state summary of its thread.', 'Nothing changed; retry. Raising PLANEXEC_PLANNER_CONTEXT_LIMIT postpones compaction.');
  }
  const patch = { plannerResponseId: null, plannerSummary: answer.value.summary, plannerThread: workflow.plannerThread + 1 };
  await d.store.transaction(async (tx) => {
    const now = d.clock.now();
    await tx.workflows.appendTurns(workflow.id, workflow.plannerThread, answer.turns, now);
    await tx.workflows.update(workflow.id, patch, now);
  });
  return { ...workflow, ...patch };
}
