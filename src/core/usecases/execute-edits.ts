// An editing executor's attempt (a subtask with writes, in a workflow that makes changes): the model
// edits through the apply_patch tool (or a V4A patch in its answer, on providers without the tool);
// the operations are checked and applied in memory, failed or refused ones go back to the model in
// at most MAX_ROUNDS follow-ups; then, under the workflow's apply lock, the files are written, one
// commit is made with the attempt's trailers, and the checks run. An attempt whose checks fail is
// rolled back at once and goes back to the executor (next rung of the ladder) with the checks'
// output, without a planner review; one in which nothing applied has failed the same way.
import { attemptOutput, checkFeedback, checksFor, failingChecks, joinPath, patchOutputs, repoPaths, rootFiles, runChecks, unresolved, withApplyLock, writeOverlay, applyOperations, type AppliedOperation, type CommitProbe, type Overlay } from '../changes.js';
import type { ChangesDiff } from '../changes-ports.js';
import type { ContextPacket } from '../context.js';
import type { CoreDeps } from '../deps.js';
import { ModelCallError, PlanexecError } from '../errors.js';
import { completeCall, failCall, journaledCall, responseUsage, sumUsage } from '../journal.js';
import { parsePatch, PatchError, type PatchOperation } from '../patch/v4a.js';
import { normalizeRelativePath } from '../plan.js';
import type { ModelRequest, ModelResponse, Store } from '../ports.js';
import { roleFor } from '../routing.js';
import type { AttemptChanges, CheckResult, RejectedEdit, Subtask, Usage, Workflow, WorkflowChanges } from '../types.js';
import { derivePhase, findSubtask, isEnded } from '../workflow.js';
import { persist, releaseClaim, result, stillOurs, type Claim, type ExecuteOptions, type ExecuteSubtaskResult } from './execute-subtask.js';

/** Follow-up rounds after the first answer, for operations that failed or were refused. */
export const MAX_ROUNDS = 3;

interface Exchange {
  /** Every call's tokens, for the result's usage. */
  usages: Usage[];
  /** The executor's note: the text of its last answer, without a patch in it. */
  note: string;
  overlay: Overlay;
  applied: AppliedOperation[];
  /** The operations that applied, in order, to apply again if their files changed meanwhile. */
  okOps: Array<{ callId: string | null; operation: PatchOperation }>;
  /** Each file's text when the attempt first read it (null: absent): what its edits were made on. */
  baseline: Map<string, string | null>;
  /** The tokens the provider reported on the first call's prompt (the context packet's count). */
  firstInput: number;
  /** Journal row of the last call. */
  callId: number;
}

/**
 * Runs the claimed editing attempt to its end: the model exchange, then applying, committing and
 * checking. Throws what the model provider throws (the subtask is then as it was), git_failed,
 * storage_unavailable, and the cancellation when the signal aborts (the worktree is rolled back).
 */
export async function executeEdits(d: CoreDeps, c: Claim, opts: ExecuteOptions): Promise<ExecuteSubtaskResult> {
  const op = d.runtime.track(c.workflow.id, opts.signal);
  try {
    const exchange = await converse(d, c, op.signal);
    return await land(d, c, exchange, op.signal, opts);
  } finally {
    op.done();
  }
}

/** The model exchange: the first call (on the claim's journal row), then follow-ups for what failed. */
async function converse(d: CoreDeps, c: Claim, signal: AbortSignal): Promise<Exchange> {
  const provider = d.models[c.role];
  const exchange: Exchange = { usages: [], note: '', overlay: new Map(), applied: [], okOps: [], baseline: new Map(), firstInput: 0, callId: c.callId };
  const read = async (path: string) => {
    const text = await d.writer.readText(c.root!, path);
    if (!exchange.baseline.has(path)) exchange.baseline.set(path, text);
    return text;
  };
  // Which paths git would not commit: asked for the subtask's writes while the model answers, so
  // that an answer editing those very files waits for no git spawn.
  const probe = remembering(commitProbe(d, c.changes!));
  probe(c.subtask.writes.map(normalizeRelativePath)).catch(() => undefined);
  let request = c.request;
  let response: ModelResponse;
  try {
    signal.throwIfAborted();
    response = await provider.generate({ ...request, signal });
  } catch (error) {
    if (!(error instanceof ModelCallError && error.reason === 'tool_unsupported' && request.applyPatch)) {
      await releaseClaim(d, c, error, c.callId);
      throw error;
    }
    // The model does not take the tool: remember that, and ask for the patch in the answer text.
    d.runtime.rememberPatchToolRefusal(request.model);
    await settleFailed(d, c, error);
    request = { ...request, applyPatch: false };
    try {
      ({ callId: exchange.callId, response } = await journaledCall(d, meta(c), request, { signal }));
    } catch (retryError) {
      await releaseClaim(d, c, retryError, null);
      throw retryError;
    }
    exchange.usages.push((await responseUsage(d, response, request, c.workflow.id)).usage!);
  }
  if (exchange.callId === c.callId) {
    const billed = await responseUsage(d, response, request, c.workflow.id);
    // Billed: if the storage refuses the record, it is kept and written when it is back, and the
    // attempt goes on (what follows waits for the storage: untilStored).
    await d.runtime.settle(`recording the answer of ${c.subtask.id} of ${c.workflow.id}`, () => completeCall(d, d.store, c.callId, response, billed));
    exchange.usages.push(billed.usage!);
  }
  exchange.firstInput = exchange.usages[0]!.input_tokens;

  for (let round = 0; ; round++) {
    // A follow-up answered without any edit: the model has nothing more to correct.
    if (round > 0 && !response.patchCalls?.length && !response.text.includes('*** Begin Patch')) {
      exchange.note = response.text.trim() || exchange.note;
      break;
    }
    const { ops, note, malformed } = operationsOf(response, request);
    exchange.note = note;
    const applied = await applyOperations(ops, c.subtask.writes, exchange.overlay, read, probe);
    // One result per operation, in order.
    ops.forEach((op, i) => applied[i]!.ok && exchange.okOps.push(op));
    if (malformed) applied.push({ callId: null, path: '(patch)', ok: false, message: malformed, refused: false });
    exchange.applied.push(...applied);
    const failed = applied.filter((a) => !a.ok);
    if (failed.length === 0 || round >= MAX_ROUNDS) break;
    // Tell the model what failed and let it correct those edits (the others are applied already).
    const next = followUp(d, c, request, response, applied);
    try {
      // A StorageError from journaledCall means nothing was sent: wait for the storage rather than
      // drop the edits already made (and billed) in this attempt.
      ({ callId: exchange.callId, response } = await d.runtime.untilStored(() => journaledCall(d, meta(c), next, { signal }), signal));
    } catch (error) {
      await releaseClaim(d, c, error, null);
      throw error;
    }
    exchange.usages.push((await responseUsage(d, response, next, c.workflow.id)).usage!);
    request = next;
  }
  return exchange;
}

function meta(c: Claim) {
  return { workflowId: c.workflow.id, subtaskId: c.subtask.id, purpose: 'execute' as const, role: c.role, budget: c.workflow.budget };
}

/** Settles the claim's journal row as failed (the tool was refused: nothing billed). */
async function settleFailed(d: CoreDeps, c: Claim, error: unknown): Promise<void> {
  await d.runtime.settle(`settling the refused call of ${c.subtask.id} of ${c.workflow.id}`, () => d.store.transaction((tx) => failCall(d, tx, c.callId, error, { usage: null, estimated: false })));
}

/** The operations of an answer: its apply_patch calls, else a V4A patch in its text. */
function operationsOf(response: ModelResponse, request: ModelRequest): { ops: Array<{ callId: string | null; operation: PatchOperation }>; note: string; malformed: string | null } {
  if (response.patchCalls?.length) {
    return { ops: response.patchCalls.map((p) => ({ callId: p.callId, operation: p.operation })), note: response.text, malformed: null };
  }
  try {
    const ops = parsePatch(response.text);
    return { ops: ops.map((operation) => ({ callId: null, operation })), note: withoutPatch(response.text), malformed: null };
  } catch (error) {
    const message = error instanceof PatchError ? error.message : String(error);
    const how = request.applyPatch ? 'Use the apply_patch tool for each edit.' : 'Answer with one V4A patch between *** Begin Patch and *** End Patch.';
    return { ops: [], note: response.text, malformed: `Your patch could not be read: ${message} ${how}` };
  }
}

/** The answer's text without the patch envelope(s) in it: the executor's note. */
function withoutPatch(text: string): string {
  return text
    .replace(/```[a-z]*\s*\*\*\* Begin Patch[\s\S]*?\*\*\* End Patch\s*```/g, '')
    .replace(/\*\*\* Begin Patch[\s\S]*?\*\*\* End Patch/g, '')
    .trim();
}

/** The follow-up request after some operations failed: their outcomes (tool) or a message (text). */
function followUp(d: CoreDeps, c: Claim, request: ModelRequest, response: ModelResponse, applied: readonly AppliedOperation[]): ModelRequest {
  const failures = applied.filter((a) => !a.ok).map((a) => `- ${a.message}`);
  const text = `Some of your edits did not apply; the others did. Correct only these (the files are as your applied edits left them):\n${failures.join('\n')}`;
  const base: ModelRequest = { ...c.request, applyPatch: request.applyPatch ?? false };
  delete base.history;
  if (request.applyPatch && response.patchCalls?.length) {
    return { ...base, previousResponseId: response.responseId, patchOutputs: patchOutputs(applied), input: applied.some((a) => a.callId === null) ? text : '' };
  }
  const provider = d.models[c.role];
  if (provider.capabilities.serverThreads && response.responseId) return { ...base, previousResponseId: response.responseId, input: text };
  return { ...base, history: [...(request.history ?? []), { input: request.input, output: response.text }], input: text };
}

// ---------------------------------------------------------------------------------------------
// Landing the attempt: write, commit, check, record

async function land(d: CoreDeps, c: Claim, x: Exchange, signal: AbortSignal, opts: ExecuteOptions): Promise<ExecuteSubtaskResult> {
  const rejected = unresolved(x.applied);
  const report: ContextPacket = { tokens: x.firstInput, ...c.report };
  if (x.overlay.size === 0) {
    const reasons = rejected.map((r) => `- ${r.reason}`).join('\n') || '- The answer had no edit in it.';
    const changes: AttemptChanges = { commit: null, rolled_back: false, files: [], rejected, diff: '', diff_truncated: false };
    return recordFailure(d, c, x, report, changes, [], `None of your edits applied, so nothing changed:\n${reasons}\nMake the edits this subtask asks for, on the files as shown.`, opts);
  }
  try {
    // The answer is billed: when the storage fails before anything landed (the apply lock, the
    // claim's check), wait for it and land then, rather than run (and bill) the subtask again.
    return await d.runtime.untilStored(() => withApplyLock(d, c.workflow.id, signal, (changes) => commitAndCheck(d, c, x, report, rejected, changes, signal, opts)), signal);
  } catch (error) {
    // Not recorded (cancelled while waiting for the lock or during a check, git failed): the subtask
    // goes back as it was, and whatever reached the worktree is undone at the next lock. Unless it is
    // another process's now, or its record only waits for the storage (persist keeps and retries it).
    const keep = error instanceof PlanexecError && (error.details.reason === 'concurrent' || error.details.deferred === true);
    if (!keep) await releaseClaim(d, c, error, null);
    throw error;
  }
}

async function commitAndCheck(
  d: CoreDeps,
  c: Claim,
  x: Exchange,
  report: ContextPacket,
  rejectedBefore: AttemptChanges['rejected'],
  changes: WorkflowChanges,
  signal: AbortSignal,
  opts: ExecuteOptions,
): Promise<ExecuteSubtaskResult> {
  let rejected = rejectedBefore;
  if (!(await stillOurs(d, d.store, c.workflow.id, c.subtask.id))) throw takenOver(c.subtask.id);
  const git = d.git!;
  const worktree = changes.worktree!;
  const previous = changes.head!;
  // The edits were made on the files as this attempt read them, before the lock: if another attempt
  // (a parallel execute_subtask, another process) committed to them since, apply them again on the
  // files as they are now, so that nothing it did is written over.
  const moved = await changedSince(d, c.root!, x.baseline);
  let baseline: ReadonlyMap<string, string | null> = x.baseline;
  if (moved.length) {
    const overlay: Overlay = new Map();
    const fresh = new Map<string, string | null>();
    const read = async (path: string) => {
      const text = await d.writer.readText(c.root!, path);
      if (!fresh.has(path)) fresh.set(path, text);
      return text;
    };
    const again = await applyOperations(x.okOps, c.subtask.writes, overlay, read, commitProbe(d, changes));
    baseline = fresh;
    const lost = again.filter((a) => !a.ok).map((a) => ({ path: a.path, reason: `${a.message} (${moved.join(', ')} changed meanwhile: another subtask's edit was committed first)` }));
    rejected = [...rejected.filter((r) => !lost.some((l) => l.path === r.path)), ...lost];
    x.overlay = overlay;
    if (overlay.size === 0) {
      const attempt: AttemptChanges = { commit: null, rolled_back: false, files: [], rejected, diff: '', diff_truncated: false };
      const reasons = lost.map((l) => `- ${l.reason}`).join('\n');
      return recordFailure(d, c, x, report, attempt, [], `Another subtask changed ${moved.join(', ')} while you worked, and your edits no longer apply:\n${reasons}\nMake them again on the files as shown now.`, opts);
    }
  }
  let commit: string | null;
  let left: RejectedEdit[];
  let diff: ChangesDiff | null;
  try {
    const created = await writeOverlay(d, changes, x.overlay);
    commit = await git.commit({
      worktree,
      // Control characters from the models are stripped by the repository (ChangesRepository.commit).
      message: `${c.subtask.title}\n\n${firstLine(x.note)}`.trim(),
      trailers: {
        'Planexec-Workflow': c.workflow.id,
        'Planexec-Subtask': c.subtask.id,
        'Planexec-Attempt': String(c.subtask.attempts),
        'Planexec-Model': c.request.model,
      },
      paths: repoPaths(changes, x.overlay),
      created,
    });
    // What git left out of the commit (a path ignored by a rule this answer added, say) must not
    // stay in the worktree for the checks to pass with: undone, and reported.
    diff = commit === null ? null : await git.diff({ worktree, from: previous, to: commit });
    left = await leftOut(d, changes, x.overlay, baseline, diff?.files.map((f) => f.path) ?? []);
  } catch (error) {
    // Nothing half-written stays for the next attempt to read: back to the recorded head.
    await git.resetHard({ worktree, commit: previous }).catch(() => undefined);
    throw error;
  }
  rejected = [...rejected.filter((r) => !left.some((l) => l.path === r.path)), ...left];
  if (commit === null) {
    const attempt: AttemptChanges = { commit: null, rolled_back: false, files: [], rejected, diff: '', diff_truncated: false };
    const feedback = left.length
      ? `None of your edits can be committed, so nothing changed:\n${left.map((l) => `- ${l.reason}`).join('\n')}\nMake the edits this subtask asks for at paths git commits.`
      : 'Your edits left every file as it was, so nothing changed. Make the change this subtask asks for.';
    return recordFailure(d, c, x, report, attempt, [], feedback, opts);
  }
  const files = rootFiles(changes, diff!.files);
  const plan = checksFor(d, changes, c.subtask);
  let checks: CheckResult[];
  try {
    checks = await runChecks(d, changes, plan.run, signal);
  } finally {
    if (signal.aborted) await git.resetHard({ worktree, commit: previous });
  }
  if (signal.aborted) throw signal.reason;
  const failing = failingChecks(checks, changes.baseChecks, plan.own);
  const attempt: AttemptChanges = { commit, rolled_back: failing.length > 0, files, rejected, diff: diff!.patch, diff_truncated: diff!.patchTruncated };
  if (failing.length) {
    await git.resetHard({ worktree, commit: previous });
    return recordFailure(d, c, x, report, attempt, checks, checkFeedback(failing), opts);
  }
  const all = await git.diff({ worktree, from: changes.base!, to: commit, maxPatchBytes: 1 });
  // Every host check passed at this commit: if it stays the head, they need not run again at the end.
  const hostResults = checks.filter((r) => r.source === 'host');
  const allHostPassed = changes.hostChecks.every((command) => hostResults.some((r) => r.command === command && r.passed));
  const finalChecks = allHostPassed && changes.hostChecks.length ? { head: commit, results: hostResults, reviewed: false } : null;
  return recordSuccess(d, c, x, report, attempt, previous, checks, rootFiles(changes, all.files), finalChecks, opts);
}

/**
 * The probe applyOperations asks which paths git would not commit (ChangesRepository.uncommittable,
 * paths turned from workspace-relative to the repository's top level and back).
 */
function commitProbe(d: CoreDeps, changes: WorkflowChanges): CommitProbe {
  return async (paths) => {
    const found = await d.git!.uncommittable({ worktree: changes.worktree!, paths: paths.map((p) => `${changes.prefix}${p}`) });
    return new Map([...found].map(([p, why]) => [p.slice(changes.prefix.length), why]));
  };
}

/**
 * `probe` remembering its answer per path for the attempt (ignore rules change in the worktree only
 * when a commit lands, and what a commit left out is caught by leftOut): a path asked before is not
 * asked again. A failed ask is forgotten, and fails the calls waiting on it.
 */
function remembering(probe: CommitProbe): CommitProbe {
  const known = new Map<string, Promise<string | undefined>>();
  return async (paths) => {
    const fresh = [...new Set(paths.filter((p) => !known.has(p)))];
    if (fresh.length) {
      const asked = probe(fresh);
      for (const p of fresh) {
        const answer = asked.then((found) => found.get(p));
        // Nobody may wait on a prefetched path: its failure must not be an unhandled rejection.
        answer.catch(() => known.delete(p));
        known.set(p, answer);
      }
    }
    const out = new Map<string, string>();
    for (const p of paths) {
      const why = await known.get(p)!;
      if (why !== undefined) out.set(p, why);
    }
    return out;
  };
}

/**
 * The overlay's paths whose text changed (against `baseline`, what the attempt read) but that are
 * not among `committed` (the commit's paths, from the repository's top level) because git would not
 * commit them: each put back as it was in the worktree (removed, or its old text written), and
 * returned with the reason. A path git sees no change in (its text differs only in a way git
 * normalises) is not left out.
 */
async function leftOut(d: CoreDeps, changes: WorkflowChanges, overlay: Overlay, baseline: ReadonlyMap<string, string | null>, committed: readonly string[]): Promise<RejectedEdit[]> {
  const inCommit = new Set(committed);
  const missing = [...overlay].filter(([path, text]) => text !== (baseline.get(path) ?? null) && !inCommit.has(`${changes.prefix}${path}`)).map(([path]) => path);
  if (missing.length === 0) return [];
  const why = await commitProbe(d, changes)(missing);
  const root = joinPath(changes.worktree!, changes.prefix);
  const out: RejectedEdit[] = [];
  for (const path of missing) {
    const reason = why.get(path);
    if (reason === undefined) continue;
    const before = baseline.get(path) ?? null;
    if (before === null) await d.writer.remove(root, path);
    else await d.writer.writeText(root, path, before);
    out.push({ path, reason: `'${path}' was not committed, so it was undone: git would not commit it: ${reason}.` });
  }
  return out;
}

/** The paths whose text in the worktree is no longer what `baseline` holds. */
async function changedSince(d: CoreDeps, root: string, baseline: ReadonlyMap<string, string | null>): Promise<string[]> {
  const moved: string[] = [];
  for (const [path, before] of baseline) {
    const now = await d.writer.readText(root, path).catch(() => undefined);
    if (now !== before) moved.push(path);
  }
  return moved;
}

function firstLine(text: string): string {
  return (text.trim().split('\n', 1)[0] ?? '').slice(0, 200);
}

function takenOver(subtaskId: string): PlanexecError {
  return new PlanexecError(
    'invalid_transition',
    `Subtask '${subtaskId}' was taken over by another process while this one worked (it missed its heartbeat); its edits were not applied.`,
    'Check workflow_status for its current state.',
    { reason: 'concurrent', subtask_id: subtaskId },
  );
}

/**
 * The attempt stands: its commit is the branch's new head, the subtask completed, for review. The
 * head moves only from `builtOn`, the head the commit was made on (a compare-and-set): the record may
 * have waited for the storage (persist) while the apply lock was let go and another attempt reset the
 * worktree to the recorded head and committed there. Then this commit is no longer on the branch and
 * must not become its head again (that would drop the other commit while its subtask stays
 * completed): the execution is kept in the history, marked rolled back, and the subtask goes back as
 * it was before this execution (attempts unchanged: the model is not at fault) to run again on the
 * branch as it is; the caller gets invalid_transition (reason 'concurrent').
 */
async function recordSuccess(
  d: CoreDeps,
  c: Claim,
  x: Exchange,
  report: ContextPacket,
  attempt: AttemptChanges,
  builtOn: string,
  checks: CheckResult[],
  branchFiles: WorkflowChanges['files'],
  finalChecks: WorkflowChanges['finalChecks'],
  opts: ExecuteOptions,
): Promise<ExecuteSubtaskResult> {
  const output = attemptOutput(x.note, attempt.commit, attempt.files, attempt.diff, attempt.diff_truncated, checks);
  const after = await persist(d, `recording the edits of ${c.subtask.id} of ${c.workflow.id}`, () =>
    d.store.transaction(async (tx) => {
      const now = d.clock.now();
      if (!(await stillOurs(d, tx, c.workflow.id, c.subtask.id))) throw takenOver(c.subtask.id);
      const head = (await tx.changes.get(c.workflow.id))?.head ?? null;
      if (head !== builtOn) {
        await tx.workflows.insertExecution(execution(c, x, report, output, { ...attempt, rolled_back: true }, checks, now));
        await tx.workflows.updateSubtask(c.workflow.id, c.subtask.id, { status: c.subtask.status, leaseOwner: null, claimedFrom: null }, now);
        return { ...(await settle(tx, c, now)), movedTo: head };
      }
      await tx.workflows.insertExecution(execution(c, x, report, output, attempt, checks, now));
      await tx.changes.update(c.workflow.id, { head: attempt.commit, files: branchFiles, finalChecks }, now);
      await tx.workflows.updateSubtask(c.workflow.id, c.subtask.id, { status: 'completed', output, model: c.request.model, role: c.role, leaseOwner: null, claimedFrom: null }, now);
      return { ...(await settle(tx, c, now)), movedTo: undefined };
    }),
  );
  if (after.movedTo !== undefined) {
    throw new PlanexecError(
      'invalid_transition',
      `The edits of subtask '${c.subtask.id}' (commit ${attempt.commit!.slice(0, 12)}) were not recorded: the branch moved on from ${builtOn.slice(0, 12)} to ${String(after.movedTo).slice(0, 12)} meanwhile, so that commit is no longer on it; the subtask goes back to run again.`,
      'Check workflow_status for its current state.',
      { reason: 'concurrent', subtask_id: c.subtask.id },
    );
  }
  opts.onProgress?.({ message: `${c.subtask.id} committed ${attempt.commit!.slice(0, 12)} on ${c.request.model}`, progress: 1, total: 1 });
  const done = findSubtask(after.workflow, after.subtasks, c.subtask.id);
  return result(d, after.workflow, after.subtasks, done, { executed: true, usage: sumUsage(x.usages), context: report, changes: summary(attempt), checks });
}

/**
 * The attempt failed (nothing applied, nothing changed, or its checks failed and it was rolled
 * back): its history is kept, and the subtask goes back to the executor with `feedback` on the next
 * rung of the ladder (past the last rung, a human decides) — no planner review.
 */
async function recordFailure(
  d: CoreDeps,
  c: Claim,
  x: Exchange,
  report: ContextPacket,
  attempt: AttemptChanges,
  checks: CheckResult[],
  feedback: string,
  opts: ExecuteOptions,
): Promise<ExecuteSubtaskResult> {
  const output = attempt.files.length ? attemptOutput(x.note, null, attempt.files, attempt.diff, attempt.diff_truncated, checks) : x.note;
  const after = await persist(d, `recording the failed attempt of ${c.subtask.id} of ${c.workflow.id}`, () =>
    d.store.transaction(async (tx) => {
      const now = d.clock.now();
      await tx.workflows.insertExecution(execution(c, x, report, output, attempt, checks, now));
      if (!(await stillOurs(d, tx, c.workflow.id, c.subtask.id))) throw takenOver(c.subtask.id);
      const attempts = c.subtask.attempts + 1;
      const role = roleFor({ complexity: c.subtask.complexity, attempts }, d.settings.ladder);
      const patch = role
        ? { status: 'pending' as const, attempts, role, feedback, model: c.request.model, leaseOwner: null, claimedFrom: null }
        : { status: 'needs_human' as const, attempts, feedback, model: c.request.model, leaseOwner: null, claimedFrom: null };
      await tx.workflows.updateSubtask(c.workflow.id, c.subtask.id, patch, now);
      return settle(tx, c, now);
    }),
  );
  opts.onProgress?.({ message: `${c.subtask.id}: attempt ${c.subtask.attempts} failed (${attempt.rolled_back ? 'checks failed, rolled back' : 'nothing applied'})`, progress: 1, total: 1 });
  const now = findSubtask(after.workflow, after.subtasks, c.subtask.id);
  const failed = { output: `${output}\n\n${feedback}`.trim(), attempt: c.subtask.attempts };
  return result(d, after.workflow, after.subtasks, now, { executed: true, usage: sumUsage(x.usages), context: report, changes: summary(attempt), checks, failed });
}

function execution(c: Claim, x: Exchange, report: ContextPacket, output: string, attempt: AttemptChanges, checks: CheckResult[], now: number) {
  return {
    workflowId: c.workflow.id,
    subtaskId: c.subtask.id,
    attempt: c.subtask.attempts,
    callId: x.callId,
    role: c.role,
    model: c.request.model,
    output,
    context: report,
    changes: attempt,
    checks,
    createdAt: now,
  };
}

/** The workflow's phase after the subtask settled (a cancelled workflow stays cancelled). */
async function settle(tx: Store, c: Claim, now: number): Promise<{ workflow: Workflow; subtasks: Subtask[] }> {
  const all = await tx.workflows.listSubtasks(c.workflow.id);
  const current = (await tx.workflows.get(c.workflow.id))!;
  const phase = isEnded(current.phase) ? current.phase : derivePhase(all);
  await tx.workflows.update(c.workflow.id, { phase }, now);
  return { workflow: { ...current, phase }, subtasks: all };
}

function summary(a: AttemptChanges): NonNullable<ExecuteSubtaskResult['changes']> {
  return { commit: a.rolled_back ? null : a.commit, rolled_back: a.rolled_back, files: a.files, rejected: a.rejected };
}

