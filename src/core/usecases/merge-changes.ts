// merge_changes and discard_changes: the workflow's branch brought into the user's current branch
// (fast-forward or a merge commit; refused, naming the paths, when the user's uncommitted changes
// touch the same files or the merge conflicts — nothing half-merged), or the worktree and branch
// removed (approved, unmerged work needs confirm: true).
import { rootFiles, withApplyLock } from '../changes.js';
import type { CoreDeps } from '../deps.js';
import { invalidInput, invalidTransition, notFound, PlanexecError } from '../errors.js';
import type { MergeRecord, Phase, WorkflowChanges } from '../types.js';
import { changesView, type ChangesView } from '../views.js';
import { isEnded, loadWorkflow } from '../workflow.js';
import { listPaths } from '../text.js';

/** merge_changes's input (PRODUCT.md, "Changes"). */
export interface MergeChangesInput {
  workflow_id: string;
}

/** discard_changes's input; `confirm` is needed to delete approved work that was not merged. */
export interface DiscardChangesInput {
  workflow_id: string;
  confirm?: boolean | undefined;
}

/** merge_changes's and discard_changes's answer: the workflow's phase and changes after the call. */
export interface ChangesResult {
  workflow_id: string;
  phase: Phase;
  changes: ChangesView;
  next: string;
}

async function changesOf(d: CoreDeps, workflowId: string): Promise<WorkflowChanges> {
  await loadWorkflow(d, workflowId);
  const changes = await d.store.changes.get(workflowId);
  if (!changes || changes.mode !== 'worktree') {
    throw invalidTransition(
      `Workflow ${workflowId} made no changes to merge: ${changes?.reason ?? 'it was planned before planexec made changes'}.`,
      'Its subtasks answered in text; read them with workflow_status and apply what you want yourself.',
    );
  }
  if (changes.discarded) throw invalidTransition(`The changes of workflow ${workflowId} were discarded.`, 'Nothing is left to merge or discard.');
  return changes;
}

/**
 * merge_changes: brings planexec/<workflow_id> into the branch checked out in the user's
 * repository. The worktree is not reset (the user may have worked there): commits the user made on
 * the branch after the recorded head are adopted (recorded as the new head, and merged with the
 * rest; recorded only once merged). Refused (nothing changed or recorded, the paths named) when the
 * worktree has uncommitted changes to tracked files, when the branch was rewritten or moved (the
 * recorded head is no longer on its first-parent chain), when the user's uncommitted changes touch
 * files the branch changed, when the merge would conflict, or when the repository is mid-merge or on
 * a detached HEAD; refused while a subtask is running. Works
 * without the worktree's folder (only the branch is merged). A workflow that is not completed (e.g.
 * needs_human) can be merged; `next` then says so. Merging a branch merged already answers
 * as before. Throws not_found, invalid_transition (every refusal: no changes, discarded, nothing
 * committed, running, worktree_dirty, worktree_elsewhere, branch_rewritten, unrecorded_attempt, and git's refusals with
 * `details.reason` a MergeRefusalReason and `details.paths`), git_failed, storage_unavailable.
 */
export async function mergeChanges(d: CoreDeps, input: MergeChangesInput): Promise<ChangesResult> {
  const changes = await changesOf(d, input.workflow_id);
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  const running = subtasks.filter((s) => s.status === 'running');
  if (running.length) {
    throw invalidTransition(`Subtasks ${running.map((s) => s.id).join(', ')} of ${workflow.id} are running.`, 'Wait for them (or cancel_workflow), then merge.');
  }
  const seen = await branchHead(d, changes);
  if (changes.merged && changes.merged.commit === seen) return done(workflow.id, workflow.phase, changes, 'The branch was merged already.');
  if (seen === changes.base) {
    throw invalidTransition(`Workflow ${workflow.id} has committed nothing yet: its branch is where it started.`, 'Run its subtasks first (run_workflow {"workflow_id": ...}).');
  }
  return withApplyLock(
    d,
    workflow.id,
    undefined,
    async (recorded) => {
      // The adoption is recorded with the merge, after it: a refusal writes nothing. The very commit
      // checked is merged (not the branch by name), so a commit made meanwhile is not merged unrecorded.
      const locked = await adopted(d, recorded, await branchHead(d, recorded));
      const outcome = await d.git!.merge({ root: locked.repo!, branch: locked.branch!, commit: locked.head!, message: `Merge ${locked.branch} (planexec workflow ${workflow.id})` });
      if (outcome.kind === 'refused') {
        // The message names the paths (at most 20; details.paths has them all).
        const said = /nothing was (changed|merged)/i.test(outcome.hint);
        throw new PlanexecError('invalid_transition', outcome.message, said ? outcome.hint : `${outcome.hint} Nothing was merged; your working tree is as it was.`, {
          reason: outcome.reason,
          paths: outcome.paths,
        });
      }
      const branch = await d.git!.currentBranch(locked.repo!);
      const merged: MergeRecord = { commit: locked.head!, mode: outcome.kind === 'merged' ? outcome.mode : 'fast-forward', branch, at: d.clock.now() };
      // One UPDATE: the adopted head and files and the merge record are written together or not at all.
      await d.store.changes.update(workflow.id, { head: locked.head!, files: locked.files, merged }, d.clock.now());
      const how = outcome.kind === 'merged' ? (outcome.mode === 'fast-forward' ? 'fast-forwarded' : 'merged with a merge commit') : 'already contained the branch';
      const adoptedNote = locked.head !== recorded.head ? ` It includes the commits made in the worktree after planexec's last (${recorded.head!.slice(0, 12)}..${locked.head!.slice(0, 12)}).` : '';
      // Merging unfinished work is allowed (the user may want what is done), but never silently.
      const unfinished = workflow.phase === 'completed' ? '' : ` The workflow was ${workflow.phase}, not completed: this merged only the work its branch held (see changes.final_checks and the subtasks in workflow_status).`;
      return done(workflow.id, workflow.phase, { ...locked, merged }, `${branch ?? 'HEAD'} ${how}.${adoptedNote}${unfinished} Remove the worktree and branch with discard_changes {"workflow_id":"${workflow.id}"} when you no longer need them.`);
    },
    'keep',
  );
}

/**
 * The commit the workflow's branch is at, after checking that it may be merged as it is: the
 * worktree (when its folder is there) has no uncommitted changes to tracked files and has the
 * branch's tip checked out, and the recorded head is on the tip's first-parent chain (the branch
 * only gained commits on top of it, merges made there included).
 * Untracked files in the worktree do not count. Changes nothing. Throws invalid_transition
 * (details.reason worktree_dirty with details.paths, worktree_elsewhere, branch_rewritten, and
 * unrecorded_attempt for a commit of this workflow's own made after the recorded head) and not_found
 * when the branch is gone.
 */
async function branchHead(d: CoreDeps, changes: WorkflowChanges): Promise<string> {
  const git = d.git!;
  const repo = changes.repo!;
  const branch = changes.branch!;
  const recorded = changes.head!;
  const tip = await git.branchHead(repo, branch);
  if (tip === null) throw notFound('Branch', branch, 'The workflow\'s branch was deleted outside planexec; nothing is left to merge. Drop the workflow\'s changes with discard_changes.');
  const worktree = changes.worktree!;
  if (await git.hasWorktree(worktree)) {
    const status = await git.status(worktree);
    if (status.tracked.length) {
      const shown = listPaths(status.tracked);
      throw new PlanexecError(
        'invalid_transition',
        `The worktree ${worktree} has uncommitted changes to ${shown}.`,
        `Commit them in the worktree (git -C ${worktree} commit -a) or drop them (git -C ${worktree} restore --staged --worktree .); merge_changes merges commits. Nothing was merged.`,
        { reason: 'worktree_dirty', paths: status.tracked },
      );
    }
    if (status.head !== tip) {
      throw new PlanexecError(
        'invalid_transition',
        `The worktree ${worktree} has ${status.head?.slice(0, 12) ?? 'nothing'} checked out, not ${tip.slice(0, 12)}, the tip of ${branch}, which is what merge_changes merges.`,
        `Switch the worktree back to its branch (git -C ${worktree} switch ${branch}), with your commits on it, then merge again. Nothing was merged.`,
        { reason: 'worktree_elsewhere', head: status.head, branch_head: tip },
      );
    }
  }
  if (tip === recorded) return tip;
  // Only commits made on top of the recorded head are adopted: it must be on the tip's first-parent
  // chain (a merge made in the worktree keeps it there). Mere ancestry would adopt a branch reset to
  // one that merged it (e.g. main after a merge commit) and merge that into whatever is checked out.
  if (!(await git.onFirstParentChain(repo, recorded, tip))) {
    throw new PlanexecError(
      'invalid_transition',
      `Branch ${branch} was rewritten or moved: it is at ${tip}, which was not made by committing on top of ${recorded}, the last commit planexec recorded on it (it was amended, rebased, or reset to another branch).`,
      `If it was moved by mistake, put it back (git -C ${worktree} reset --keep ${recorded}). To merge it as it is, do it yourself (git merge ${branch}). To merge your version through planexec, commit it on top of ${recorded} (git -C ${worktree} reset --soft ${recorded}, then git -C ${worktree} commit) and call merge_changes again. Nothing was merged.`,
      { reason: 'branch_rewritten', head: tip, recorded },
    );
  }
  // A commit of planexec's own past the recorded head is an attempt whose process stopped before
  // recording it (its checks never passed): not the user's work to adopt.
  const unrecorded = await git.findCommit({ worktree: repo, trailers: { 'Planexec-Workflow': changes.workflowId }, since: recorded, to: tip });
  if (unrecorded !== null) {
    throw new PlanexecError(
      'invalid_transition',
      `Branch ${branch} holds commit ${unrecorded.slice(0, 12)}, an attempt planexec did not finish (its process stopped before its checks were recorded), after ${recorded.slice(0, 12)}, the last commit planexec recorded.`,
      `Run the workflow again (run_workflow {"workflow_id":"${changes.workflowId}"}), which puts the branch back and redoes that subtask, or drop that commit yourself (git -C ${worktree} reset --keep ${recorded}). Nothing was merged.`,
      { reason: 'unrecorded_attempt', head: tip, recorded, commit: unrecorded },
    );
  }
  return tip;
}

/**
 * discard_changes without confirm: refused (invalid_input, nothing changed) when the branch or the
 * worktree holds work planexec did not record, which discarding would delete with no way back:
 * commits past the recorded head (made in the worktree, or an attempt whose process stopped), or
 * uncommitted changes to tracked files in the worktree. A branch or folder that is gone holds none.
 */
async function refuseToDropUserWork(d: CoreDeps, changes: WorkflowChanges): Promise<void> {
  const git = d.git!;
  const hint = `Merge what you want to keep first (merge_changes), or call discard_changes {"workflow_id":"${changes.workflowId}","confirm":true} to delete it.`;
  const tip = await git.branchHead(changes.repo!, changes.branch!);
  if (tip !== null && tip !== changes.head && tip !== changes.merged?.commit) {
    throw invalidInput(`Branch ${changes.branch} has commits planexec did not record (${changes.head!.slice(0, 12)}..${tip.slice(0, 12)}: made in the worktree, or by an attempt that stopped): discarding deletes them.`, hint);
  }
  if (changes.worktree && (await git.hasWorktree(changes.worktree))) {
    const { tracked } = await git.status(changes.worktree);
    if (tracked.length) {
      const shown = listPaths(tracked);
      throw invalidInput(`The worktree ${changes.worktree} has uncommitted changes to ${shown}: discarding deletes them.`, hint);
    }
  }
}

/**
 * The changes with `tip` as the branch's head when the user committed past the recorded head in the
 * worktree (the files the branch changed from its base recomputed); `changes` itself otherwise.
 * Writes nothing: mergeChanges records it with the merge.
 */
async function adopted(d: CoreDeps, changes: WorkflowChanges, tip: string): Promise<WorkflowChanges> {
  if (tip === changes.head) return changes;
  const diff = await d.git!.diff({ worktree: changes.repo!, from: changes.base!, to: tip, maxPatchBytes: 1 });
  return { ...changes, head: tip, files: rootFiles(changes, diff.files) };
}

/**
 * discard_changes: removes the workflow's worktree and branch. Approved work that was not merged, and
 * work planexec did not record (commits past its head, uncommitted edits in the worktree: see
 * refuseToDropUserWork), is discarded only with confirm: true. A workflow still going ends cancelled (last_error says why);
 * refused while a subtask is running. Throws not_found, invalid_input (confirm needed),
 * invalid_transition (no changes, discarded already, running), git_failed, storage_unavailable.
 */
export async function discardChanges(d: CoreDeps, input: DiscardChangesInput): Promise<ChangesResult> {
  const changes = await changesOf(d, input.workflow_id);
  const { workflow, subtasks } = await loadWorkflow(d, input.workflow_id);
  const unmerged = changes.head !== changes.base && changes.merged?.commit !== changes.head;
  const approved = subtasks.filter((s) => s.status === 'approved' && s.writes.length > 0).map((s) => s.id);
  if (unmerged && approved.length && !input.confirm) {
    throw invalidInput(
      `Workflow ${workflow.id} has approved changes that were not merged (${approved.join(', ')}): discarding deletes them.`,
      `Merge them with merge_changes, or call discard_changes {"workflow_id":"${workflow.id}","confirm":true} to delete them.`,
    );
  }
  const running = subtasks.some((s) => s.status === 'running');
  if (running) throw invalidTransition(`Workflow ${workflow.id} has subtasks running.`, `Cancel it first with cancel_workflow {"workflow_id":"${workflow.id}"}.`);
  if (!input.confirm) await refuseToDropUserWork(d, changes);
  return withApplyLock(
    d,
    workflow.id,
    undefined,
    async (locked) => {
    await d.git!.discard({ root: locked.repo!, worktree: locked.worktree!, branch: locked.branch! });
    const now = d.clock.now();
    const phase = await d.store.transaction(async (tx) => {
      await tx.changes.update(workflow.id, { discarded: true }, now);
      const current = (await tx.workflows.get(workflow.id))!;
      // Nothing can be built on a branch that is gone: a workflow still going stops here.
      if (isEnded(current.phase) || current.phase === 'completed') return current.phase;
      await tx.workflows.update(workflow.id, { phase: 'cancelled', lastError: 'its changes were discarded' }, now);
      return 'cancelled' as const;
    });
    return done(workflow.id, phase, { ...locked, discarded: true }, 'The worktree and the branch are gone. Start a new workflow for more work.');
    },
    'keep',
  );
}

function done(workflowId: string, phase: Phase, changes: WorkflowChanges, next: string): ChangesResult {
  return { workflow_id: workflowId, phase, changes: changesView(changes), next };
}
