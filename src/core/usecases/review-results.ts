import type { CoreDeps } from '../deps.js';
import { invalidInput, invalidTransition, nothingToDo } from '../errors.js';
import { precheckPlannerBudget, structuredPlannerCall, sumUsage, type CallOptions, type CallUsage } from '../journal.js';
import { renderReviewInput } from '../prompts.js';
import { compactIfNeeded } from './compact.js';
import { reviewLimitProblems, ReviewSchema, worstVerdict, type Review } from '../review.js';
import { roleFor } from '../routing.js';
import { clip, clipBytes } from '../text.js';
import type { HumanDecision, Phase, ReviewRecord, Subtask, Verdict, Workflow } from '../types.js';
import { applyDecisions, askAbout } from './decide.js';
import { finalChecksDue, runFinalChecks } from './final-checks.js';
import { derivePhase, handedOver, isEnded, isNewThread, loadWorkflow, nextStep, plannerThreadOf, threadState, withWorkflowLock } from '../workflow.js';

/** review_results's input (PRODUCT.md): subtask_ids for the planner to review (default: every completed one), or a human's decisions. */
export interface ReviewResultsInput {
  workflow_id: string;
  subtask_ids?: string[] | undefined;
  /** A human's decisions, passed by the host: applied without a planner call. */
  decisions?: HumanDecision[] | undefined;
}

/** review_results's answer; `reviews[].feedback` is cut to 1,000 bytes (the whole is in workflow_status). */
export interface ReviewResultsResult {
  workflow_id: string;
  verdict: Verdict;
  reviews: ReviewRecord[];
  /** Subtasks sent for review that the planner did not judge; they stay completed. */
  unreviewed: string[];
  /** Decisions a human made in this call (passed by the host, or answered in an elicitation form). */
  decisions: HumanDecision[];
  summary: string;
  phase: Phase;
  usage: CallUsage;
  next: string;
}

/**
 * review_results: the planner reviews completed subtasks in its own thread (under the workflow's
 * lock, tracked for cancel_workflow) and its verdicts are applied in one transaction; or a human's
 * `decisions` are applied without a model call. With every subtask approved in a workflow whose host
 * checks have not passed at its head, the review is those checks on the finished branch (final-checks.ts).
 * Throws not_found, invalid_input, invalid_transition (ended workflow, not completed, locked by another
 * run), nothing_to_do, budget_exceeded (nothing written), model_output_invalid, git_failed (the final
 * checks), provider errors (cancelled when the signal aborts), storage_unavailable.
 */
export async function reviewResults(d: CoreDeps, input: ReviewResultsInput, opts: CallOptions = {}): Promise<ReviewResultsResult> {
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  if (isEnded(workflow.phase)) {
    throw invalidTransition(`Workflow ${workflow.id} is ${workflow.phase}.`, `Resume it with run_workflow {"workflow_id":"${workflow.id}"}.`);
  }
  if (input.decisions?.length) {
    if (input.subtask_ids?.length) throw invalidInput('Give either subtask_ids (for the planner to review) or decisions (a human\'s), not both.', 'Send the decisions on their own.');
    return decide(d, workflow.id, input.decisions);
  }
  const changes = await d.store.changes.get(workflow.id);
  // Everything approved, the branch not yet checked: this review is the host checks on the branch.
  const finishing = !input.subtask_ids?.length && subtasks.length > 0 && subtasks.every((s) => s.status === 'approved') && finalChecksDue(changes);
  const batch = finishing ? [] : pickBatch(workflow.id, subtasks, input.subtask_ids);
  // A review that cannot fit the budget is refused before the lock: a refused call writes nothing.
  if (!finishing) await precheckPlannerBudget(d, workflow, renderReviewInput(workflow.planVersion, reviewItems(d, batch)));
  // One planner thread per workflow: two reviews at once would fork it.
  return withWorkflowLock(d, workflow.id, opts.lockToken, async (token) => {
    const op = d.runtime.track(workflow.id, opts.signal);
    try {
      if (finishing) return await finish(d, workflow.id, token, { ...opts, signal: op.signal });
      return await review(d, workflow, batch, token, { ...opts, signal: op.signal });
    } finally {
      op.done();
    }
  });
}

/** Runs the host's checks on the finished branch and reports how the workflow stands after them. */
async function finish(d: CoreDeps, workflowId: string, token: string, opts: CallOptions, before: ReviewResultsResult | null = null): Promise<ReviewResultsResult> {
  const outcome = await runFinalChecks(d, workflowId, token, opts);
  const { workflow, subtasks } = await loadWorkflow(d, workflowId);
  const changes = await d.store.changes.get(workflowId);
  const failing = outcome.results.filter((r) => !r.passed).map((r) => `\`${r.command}\``);
  const sentBack = subtasks.filter((s) => s.status !== 'approved');
  const summary = failing.length
    ? `The host checks ${failing.join(', ')} fail on the finished branch; ${sentBack.length ? `sent back: ${sentBack.map((s) => s.id).join(', ')}` : 'a human decides'}.`
    : 'Every host check passes on the finished branch.';
  const zero = sumUsage([]);
  const add = (a: CallUsage, b: CallUsage): CallUsage => ({
    calls: a.calls + b.calls,
    input_tokens: a.input_tokens + b.input_tokens,
    cached_tokens: a.cached_tokens + b.cached_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
  });
  const usage = add(before?.usage ?? zero, outcome.usage ?? zero);
  return {
    workflow_id: workflowId,
    verdict: before && before.verdict !== 'approve' ? before.verdict : failing.length ? (sentBack.some((s) => s.status === 'needs_human') || sentBack.length === 0 ? 'escalate' : 'revise') : 'approve',
    reviews: before?.reviews ?? [],
    unreviewed: before?.unreviewed ?? [],
    decisions: before?.decisions ?? [],
    summary: before ? `${before.summary} ${summary}` : summary,
    phase: workflow.phase,
    usage,
    next: nextStep(workflow, subtasks, undefined, changes),
  };
}

/** The subtasks of a review with their outputs clipped to settings.reviewOutputChars. */
function reviewItems(d: CoreDeps, batch: readonly Subtask[]) {
  return batch.map((subtask) => {
    const out = clip(subtask.output ?? '', d.settings.reviewOutputChars);
    return { subtask, output: out.text, outputTruncated: out.truncated };
  });
}

async function review(d: CoreDeps, workflow: Workflow, batch: Subtask[], token: string, opts: CallOptions): Promise<ReviewResultsResult> {
  const items = reviewItems(d, batch);
  const wanted = new Set(batch.map((s) => s.id));
  // The planner thread may have moved on since we read the workflow (an earlier review), and may
  // need compacting before it takes this review.
  const plain = renderReviewInput(workflow.planVersion, items);
  const current = await compactIfNeeded(d, (await d.store.workflows.get(workflow.id)) ?? workflow, plain, opts);
  // A thread that starts over (after a compaction) is first told the summary and every subtask's state.
  const state = (await isNewThread(d, current)) ? threadState(current, await d.store.workflows.listSubtasks(workflow.id)) : null;
  opts.onProgress?.({ message: `reviewing ${batch.map((s) => s.id).join(', ')} on ${d.settings.models.planner}`, progress: 0, total: 1 });

  const answer = await structuredPlannerCall(
    d,
    { workflowId: workflow.id, purpose: 'review', budget: current.budget },
    state ? renderReviewInput(workflow.planVersion, items, state) : plain,
    plannerThreadOf(d, current),
    { name: 'review', schema: ReviewSchema },
    (review) => [...reviewProblems(review, wanted), ...reviewLimitProblems(review)],
    opts,
  );

  const thread = current.plannerThread;
  // Later reviews of the same subtask win; reviews of subtasks outside the batch are ignored.
  const bySubtask = new Map<string, ReviewRecord>();
  for (const r of answer.value.reviews) if (wanted.has(r.subtask_id)) bySubtask.set(r.subtask_id, r);

  const after = await d.store.transaction(async (tx) => {
    const now = d.clock.now();
    const locked = (await tx.workflows.get(workflow.id))!;
    // This process was taken for dead while the planner reviewed: the workflow is another's now.
    if (locked.lockOwner !== token) throw handedOver(workflow.id);
    await tx.workflows.appendTurns(workflow.id, thread, answer.turns, now);
    // A subtask re-executed while the planner was reviewing keeps its new output unjudged.
    const latest = new Map((await tx.workflows.listSubtasks(workflow.id)).map((s) => [s.id, s]));
    for (const s of batch) {
      const fresh = latest.get(s.id);
      if (fresh?.status !== 'completed' || fresh.updatedAt !== s.updatedAt) bySubtask.delete(s.id);
    }
    const reviews = [...bySubtask.values()];
    await tx.workflows.insertReviews(workflow.id, answer.callId, workflow.planVersion, reviews, now);
    for (const r of reviews) {
      const s = latest.get(r.subtask_id)!;
      if (r.verdict === 'approve') await tx.workflows.updateSubtask(workflow.id, s.id, { status: 'approved', feedback: null }, now);
      else if (r.verdict === 'escalate') await tx.workflows.updateSubtask(workflow.id, s.id, { status: 'needs_human', feedback: r.feedback }, now);
      else {
        // revise: the next attempt climbs the ladder; past its last rung a human decides.
        const attempts = s.attempts + 1;
        const role = roleFor({ complexity: s.complexity, attempts }, d.settings.ladder);
        await tx.workflows.updateSubtask(workflow.id, s.id, role ? { status: 'pending', feedback: r.feedback, attempts, role } : { status: 'needs_human', feedback: r.feedback, attempts }, now);
      }
    }
    const all = await tx.workflows.listSubtasks(workflow.id);
    const derived = derivePhase(all);
    // All approved: completed only once the host checks pass on the branch (run below).
    const phase = derived === 'completed' && finalChecksDue(await tx.changes.get(workflow.id)) ? 'reviewing' : derived;
    const current = (await tx.workflows.get(workflow.id))!;
    const kept = isEnded(current.phase) ? current.phase : phase;
    await tx.workflows.update(workflow.id, { phase: kept, plannerResponseId: answer.responseId }, now);
    return { workflow: { ...current, phase: kept, plannerResponseId: answer.responseId }, subtasks: all, reviews };
  });
  const { reviews } = after;
  opts.onProgress?.({ message: `review done: ${reviews.map((r) => `${r.subtask_id} ${r.verdict}`).join(', ') || 'no verdicts'}`, progress: 1, total: 1 });

  // Subtasks that now need a human: ask right away when the host can.
  const needHuman = after.subtasks.filter((s) => s.status === 'needs_human' && wanted.has(s.id)).map((s) => s.id);
  // The form closes if the workflow is cancelled meanwhile (opts.signal is the tracked operation's).
  const decisions = opts.askHuman && needHuman.length ? await askAbout(d, workflow.id, needHuman, opts.askHuman, opts.signal) : [];
  const final = decisions.length ? await loadWorkflow(d, workflow.id) : after;
  const changes = await d.store.changes.get(workflow.id);

  const reviewed: ReviewResultsResult = {
    workflow_id: workflow.id,
    // Feedback is stored whole (the executor sees it all); the result shows a bounded part of each.
    // With no review left to apply (all re-executed meanwhile, or none given), the planner's own verdict stands.
    verdict: reviews.length ? worstVerdict(reviews.map((r) => r.verdict)) : answer.value.verdict,
    reviews: reviews.map((r) => ({ ...r, feedback: boundedFeedback(r.feedback) })),
    unreviewed: batch.filter((s) => !bySubtask.has(s.id)).map((s) => s.id),
    decisions,
    summary: answer.value.summary,
    phase: final.workflow.phase,
    usage: answer.usage,
    next: nextStep(final.workflow, final.subtasks, undefined, changes),
  };
  if (final.workflow.phase === 'reviewing' && final.subtasks.every((s) => s.status === 'approved') && finalChecksDue(changes)) {
    return finish(d, workflow.id, token, opts, reviewed);
  }
  return reviewed;
}

/** The host passes a human's decisions: applied at once, no model call. */
async function decide(d: CoreDeps, workflowId: string, decisions: HumanDecision[]): Promise<ReviewResultsResult> {
  const after = await applyDecisions(d, workflowId, decisions, 'host');
  const verdicts = decisions.map((x) => x.verdict);
  return {
    workflow_id: workflowId,
    // A cancel is reported as escalate: a human stopped the work.
    verdict: verdicts.includes('cancel') ? 'escalate' : verdicts.includes('revise') ? 'revise' : 'approve',
    reviews: [],
    unreviewed: [],
    decisions,
    summary: `Decided by a human: ${decisions.map((x) => `${x.subtask_id} ${x.verdict}`).join(', ')}.`,
    phase: after.workflow.phase,
    usage: sumUsage([]),
    next: nextStep(after.workflow, after.subtasks),
  };
}

const FEEDBACK_BYTES = 1_000;

function boundedFeedback(text: string): string {
  const c = clipBytes(text, FEEDBACK_BYTES);
  return c.truncated ? `${c.text} [cut: the whole feedback is in workflow_status with subtask_id]` : c.text;
}

function pickBatch(workflowId: string, subtasks: Subtask[], ids: string[] | undefined): Subtask[] {
  if (!ids || ids.length === 0) {
    const batch = subtasks.filter((s) => s.status === 'completed');
    if (batch.length === 0) {
      throw nothingToDo(`Workflow ${workflowId} has no completed, unreviewed subtask.`, `Execute the pending subtasks first (execute_subtask {"workflow_id":"${workflowId}"}).`);
    }
    return batch;
  }
  const unknown = ids.filter((id) => !subtasks.some((s) => s.id === id));
  if (unknown.length) {
    throw invalidInput(`subtask_ids: unknown subtask(s) ${unknown.join(', ')}.`, `Known ids: ${subtasks.map((s) => s.id).join(', ')}.`);
  }
  const notReady = subtasks.filter((s) => ids.includes(s.id) && s.status !== 'completed');
  if (notReady.length) {
    throw invalidTransition(
      `Only completed subtasks can be reviewed; ${notReady.map((s) => `'${s.id}' is ${s.status}`).join(', ')}.`,
      'Execute them first, or leave subtask_ids out to review everything completed.',
    );
  }
  return subtasks.filter((s) => ids.includes(s.id));
}

function reviewProblems(review: Review, wanted: ReadonlySet<string>): string[] {
  const seen = new Set(review.reviews.map((r) => r.subtask_id));
  const missing = [...wanted].filter((id) => !seen.has(id));
  return missing.length ? [`There is no review for subtask(s) ${missing.join(', ')}; review every listed subtask.`] : [];
}
