// The host's checks on the finished branch: when every subtask is approved, every host check must
// pass at the head for the workflow to be completed. Otherwise the failing output goes to one
// planner review, which revises or escalates; if it approves anyway, the workflow ends needs_human
// with the failing checks named (never a loop: a second failure at the same head goes to a human).
import { runChecks, withApplyLock } from '../changes.js';
import type { CoreDeps } from '../deps.js';
import { structuredPlannerCall, type CallOptions, type CallUsage } from '../journal.js';
import { renderFinalReviewInput } from '../prompts.js';
import { ReviewSchema } from '../review.js';
import { roleFor } from '../routing.js';
import type { CheckResult, Subtask, WorkflowChanges } from '../types.js';
import { derivePhase, handedOver, isEnded, isNewThread, plannerThreadOf, threadState } from '../workflow.js';
import { compactIfNeeded } from './compact.js';

/**
 * Whether a workflow whose subtasks are all approved still needs its final checks: it makes changes,
 * has host checks, and they have not all passed at its current head.
 */
export function finalChecksDue(changes: WorkflowChanges | null): boolean {
  if (!changes || changes.mode !== 'worktree' || changes.discarded || changes.hostChecks.length === 0) return false;
  const last = changes.finalChecks;
  return !(last && last.head === changes.head && last.results.every((r) => r.passed));
}

/** How the host's checks ended on the finished branch (runFinalChecks). */
export interface FinalOutcome {
  results: CheckResult[];
  /** The usage of the planner review of failing checks, when there was one. */
  usage: CallUsage | null;
}

/**
 * Runs the host's checks at the head (under the apply lock) and settles the workflow: completed when
 * all pass; otherwise one planner review of the failures (its verdicts applied as review_results
 * does), or needs_human when that review already happened at this head or sent nothing back. Call
 * holding the workflow's lock (`token`); the workflow's subtasks are all approved. Throws the
 * provider's errors, git_failed, storage errors, invalid_transition (the lock was lost).
 */
export async function runFinalChecks(d: CoreDeps, workflowId: string, token: string, opts: CallOptions): Promise<FinalOutcome> {
  opts.onProgress?.({ message: 'running the host checks on the finished branch', progress: 0 });
  const { results, head } = await withApplyLock(d, workflowId, opts.signal, async (changes) => ({
    results: await runChecks(d, changes, changes.hostChecks.map((command) => ({ command, source: 'host' as const })), opts.signal),
    head: changes.head!,
  }));
  if (opts.signal?.aborted) throw opts.signal.reason;
  const failing = results.filter((r) => !r.passed);
  const changes = (await d.store.changes.get(workflowId))!;
  const reviewedHere = changes.finalChecks?.head === head && changes.finalChecks.reviewed;
  if (failing.length === 0 || reviewedHere) {
    await settle(d, workflowId, token, head, results, reviewedHere, failing);
    return { results, usage: null };
  }

  // One planner review of the failures, in its own thread, as a review is.
  const subtasks = await d.store.workflows.listSubtasks(workflowId);
  const listed = subtasks.filter((s) => s.writes.length > 0);
  const wanted = new Set(listed.map((s) => s.id));
  const before = (await d.store.workflows.get(workflowId))!;
  // As every planner call on the thread: compacted first when it would carry too much.
  const workflow = await compactIfNeeded(d, before, renderFinalReviewInput(before.planVersion, failing, listed, null), opts);
  const state = (await isNewThread(d, workflow)) ? threadState(workflow, subtasks) : null;
  const answer = await structuredPlannerCall(
    d,
    { workflowId, purpose: 'review', budget: workflow.budget },
    renderFinalReviewInput(workflow.planVersion, failing, listed, state),
    plannerThreadOf(d, workflow),
    { name: 'review', schema: ReviewSchema },
    (review) => {
      const seen = new Set(review.reviews.map((r) => r.subtask_id));
      const missing = [...wanted].filter((id) => !seen.has(id));
      return missing.length ? [`There is no review for subtask(s) ${missing.join(', ')}; review every listed subtask.`] : [];
    },
    opts,
  );
  await d.store.transaction(async (tx) => {
    const now = d.clock.now();
    const current = (await tx.workflows.get(workflowId))!;
    if (current.lockOwner !== token) throw handedOver(workflowId);
    await tx.workflows.appendTurns(workflowId, current.plannerThread, answer.turns, now);
    const reviews = answer.value.reviews.filter((r) => wanted.has(r.subtask_id));
    await tx.workflows.insertReviews(workflowId, answer.callId, workflow.planVersion, reviews, now);
    const byId = new Map(subtasks.map((s) => [s.id, s]));
    let sentBack = 0;
    for (const r of reviews) {
      const s = byId.get(r.subtask_id)!;
      if (r.verdict === 'escalate') {
        await tx.workflows.updateSubtask(workflowId, s.id, { status: 'needs_human', feedback: r.feedback }, now);
        sentBack += 1;
      } else if (r.verdict === 'revise') {
        const attempts = s.attempts + 1;
        const role = roleFor({ complexity: s.complexity, attempts }, d.settings.ladder);
        const feedback = `${r.feedback}\n\nThese host checks fail on the branch:\n${failing.map((c) => `- \`${c.command}\`:\n${c.output_tail.trim()}`).join('\n')}`;
        await tx.workflows.updateSubtask(workflowId, s.id, role ? { status: 'pending', feedback, attempts, role } : { status: 'needs_human', feedback, attempts }, now);
        sentBack += 1;
      }
    }
    await tx.changes.update(workflowId, { finalChecks: { head, results, reviewed: true } }, now);
    const all = await tx.workflows.listSubtasks(workflowId);
    // Approved anyway: the checks still fail, so a human decides (never a loop).
    const phase = isEnded(current.phase) ? current.phase : sentBack === 0 ? 'needs_human' : derivePhase(all);
    const lastError = sentBack === 0 ? failingNote(failing) : null;
    await tx.workflows.update(workflowId, { phase, plannerResponseId: answer.responseId, ...(lastError ? { lastError } : {}) }, now);
  });
  return { results, usage: answer.usage };
}

async function settle(d: CoreDeps, workflowId: string, token: string, head: string, results: CheckResult[], reviewed: boolean, failing: CheckResult[]): Promise<void> {
  await d.store.transaction(async (tx) => {
    const now = d.clock.now();
    const current = (await tx.workflows.get(workflowId))!;
    if (current.lockOwner !== token) throw handedOver(workflowId);
    await tx.changes.update(workflowId, { finalChecks: { head, results, reviewed } }, now);
    if (isEnded(current.phase)) return;
    const all: Subtask[] = await tx.workflows.listSubtasks(workflowId);
    if (failing.length) await tx.workflows.update(workflowId, { phase: 'needs_human', lastError: failingNote(failing) }, now);
    else await tx.workflows.update(workflowId, { phase: derivePhase(all) }, now);
  });
}

function failingNote(failing: readonly CheckResult[]): string {
  return `Every subtask is approved, but these host checks fail on the branch: ${failing.map((c) => `\`${c.command}\``).join(', ')}. A human decides: fix it on the branch, revise a subtask (review_results decisions), or discard the changes.`;
}
