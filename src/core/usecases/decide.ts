// Human decisions on subtasks that need one (escalated by review, or past the last rung of the
// ladder): asked through the host (MCP elicitation) when it can, or passed to review_results as
// `decisions` by the host on the human's behalf.
import type { CoreDeps } from '../deps.js';
import { checkTexts, invalidInput, invalidTransition } from '../errors.js';
import { roleFor } from '../routing.js';
import { clip } from '../text.js';
import type { AskHuman, HumanDecision, Subtask, Workflow } from '../types.js';
import { derivePhase, findSubtask, isEnded, loadWorkflow } from '../workflow.js';
import { finalChecksDue } from './final-checks.js';

// An approved subtask can be sent back by a human too (a finished branch whose checks fail, say).
const DECIDABLE = new Set(['needs_human', 'completed', 'approved']);
const QUESTION_OUTPUT_CHARS = 1_500;

/**
 * Applies human decisions in one transaction: approve -> approved; revise -> pending with the
 * notes as feedback, for another attempt (a human can grant one past the ladder: it runs on the
 * last rung); cancel -> the workflow is cancelled. All or nothing: throws invalid_input (feedback that
 * cannot go to a model, a subtask decided twice), not_found (workflow or subtask), invalid_transition
 * (a subtask that is not needs_human, completed or approved), storage_unavailable.
 */
export function applyDecisions(d: CoreDeps, workflowId: string, decisions: HumanDecision[], via: 'elicitation' | 'host'): Promise<{ workflow: Workflow; subtasks: Subtask[] }> {
  checkTexts(...decisions.map((x): [string, string] => [`decisions feedback for ${x.subtask_id}`, x.feedback]));
  return d.store.transaction(async (tx) => {
    const { workflow, subtasks } = await loadWorkflow(d, workflowId, tx);
    const seen = new Set<string>();
    for (const decision of decisions) {
      if (seen.has(decision.subtask_id)) throw invalidInput(`decisions: subtask '${decision.subtask_id}' is decided twice.`, 'Give one decision per subtask.');
      seen.add(decision.subtask_id);
      const s = findSubtask(workflow, subtasks, decision.subtask_id);
      if (!DECIDABLE.has(s.status)) {
        throw invalidTransition(
          `Subtask '${s.id}' is ${s.status}; only a subtask that needs a human (or a completed one) can be decided.`,
          'Check workflow_status for the subtasks that need a decision.',
        );
      }
    }
    const now = d.clock.now();
    const ladder = d.settings.ladder;
    let cancelled = false;
    for (const decision of decisions) {
      const s = subtasks.find((x) => x.id === decision.subtask_id)!;
      await tx.workflows.insertDecision(workflowId, decision, via, now);
      if (decision.verdict === 'approve') await tx.workflows.updateSubtask(workflowId, s.id, { status: 'approved', feedback: null }, now);
      else if (decision.verdict === 'revise') {
        // A human can grant an attempt past the ladder: it runs on the last rung.
        const attempts = s.attempts + 1;
        const role = roleFor({ complexity: s.complexity, attempts }, ladder) ?? ladder.at(-1) ?? 'planner';
        await tx.workflows.updateSubtask(workflowId, s.id, { status: 'pending', attempts, role, feedback: decision.feedback.trim() || s.feedback }, now);
      } else cancelled = true;
    }
    const after = await tx.workflows.listSubtasks(workflowId);
    // A decision that lands after cancel_workflow (or a failure) does not reopen the workflow.
    const derived = derivePhase(after);
    // All approved: completed only once the host checks pass on the branch (review_results runs them).
    const settled = derived === 'completed' && finalChecksDue(await tx.changes.get(workflowId)) ? 'reviewing' : derived;
    const phase = cancelled ? 'cancelled' : isEnded(workflow.phase) ? workflow.phase : settled;
    await tx.workflows.update(workflowId, { phase }, now);
    return { workflow: { ...workflow, phase }, subtasks: after };
  });
}

/**
 * Asks the human about each subtask of `ids` that needs a decision, applying each answer as it
 * comes. Stops at a cancel; skips what no longer needs a decision and what the human left unanswered,
 * and asks nothing more once `signal` aborts. Returns the decisions made. Throws as applyDecisions.
 */
export async function askAbout(d: CoreDeps, workflowId: string, ids: string[], ask: AskHuman, signal?: AbortSignal): Promise<HumanDecision[]> {
  const made: HumanDecision[] = [];
  for (const id of ids) {
    const { workflow, subtasks } = await loadWorkflow(d, workflowId);
    const s = subtasks.find((x) => x.id === id);
    if (!s || s.status !== 'needs_human' || isEnded(workflow.phase) || signal?.aborted) continue;
    const answer = await ask({
      workflowId,
      subtaskId: s.id,
      title: s.title,
      question: s.feedback ?? 'The planner asked for a human decision.',
      output: clip(s.output ?? '', QUESTION_OUTPUT_CHARS).text,
    }, signal);
    if (!answer || signal?.aborted) continue;
    const decision = { ...answer, subtask_id: s.id };
    await applyDecisions(d, workflowId, [decision], 'elicitation');
    made.push(decision);
    if (decision.verdict === 'cancel') break;
  }
  return made;
}
