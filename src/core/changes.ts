// Changes (PRODUCT.md, "Changes"): each workflow works in its own git worktree on branch
// planexec/<workflow_id>. An editing executor's operations are checked and applied in memory first
// (so a half-done attempt never touches the worktree), then written, committed and checked in one
// step under the workflow's apply lock; an attempt whose checks fail is rolled back at once. The
// database records the head planexec committed: after a crash the worktree is reset to it, so the
// branch and the journal agree.
import type { CommandResult } from './changes-ports.js';
import { matchesAllowed, splitCommand } from './commands.js';
import type { CoreDeps } from './deps.js';
import { invalidTransition, PlanexecError } from './errors.js';
import { gitFolderSegment, pathTooLong } from './git-paths.js';
import { createContent, applyUpdate, PatchError, type PatchOperation } from './patch/v4a.js';
import { normalizeRelativePath, relativePathProblem } from './plan.js';
import type { PatchCallOutput } from './ports.js';
import { clipBytes } from './text.js';
import { Runtime } from './runtime.js';
import type { ChangedFile, CheckResult, RejectedEdit, Subtask, Workflow, WorkflowChanges } from './types.js';

/** Why changes are off for a workflow, in words the host can act on. */
const CHANGES_OFF = {
  request: 'changes were turned off for this workflow (changes: "off")',
  setting: 'changes are turned off (PLANEXEC_CHANGES=off)',
  noRoot: 'there is no workspace root (PLANEXEC_ROOT, or an MCP root from the host)',
  noGit: 'git is not available to planexec',
  notRepository: 'the workspace root is not a git repository',
} as const;

/** Bytes of an attempt's diff kept with it (for review, dependents and its history). */
const DIFF_BYTES = 16 * 1024;
/** Bytes of a check's output kept. */
const CHECK_TAIL_BYTES = 4096;

/** The options a request gives for changes (plan_task / run_workflow in). */
export interface ChangesRequest {
  changes?: 'worktree' | 'off' | undefined;
  /** Host checks for this workflow, added to PLANEXEC_CHECKS. */
  checks?: readonly string[] | undefined;
}

/**
 * Decides whether a new workflow makes changes and, when it does, makes its worktree (branch
 * planexec/<workflowId> at the root's HEAD, under PLANEXEC_WORKTREES, dependency folders linked or
 * the setup command run) and runs the host's checks on the base. Returns the record to store with
 * the workflow (not stored here). Throws invalid_input for a check that cannot run without a shell
 * or that this server does not take from a request (checkRequestChecks), git_failed when git fails
 * (the worktree is removed again).
 */
export async function prepareChanges(d: CoreDeps, workflowId: string, root: string | null, request: ChangesRequest, signal?: AbortSignal): Promise<WorkflowChanges> {
  const now = d.clock.now();
  const hostChecks = [...new Set([...d.settings.changes.hostChecks, ...(request.checks ?? [])].map((c) => c.trim()).filter(Boolean))];
  for (const check of hostChecks) splitCommand(check);
  checkRequestChecks(d, request.checks);
  const off = (reason: string): WorkflowChanges => ({ ...emptyChanges(workflowId, now), mode: 'off', reason, hostChecks });
  if (request.changes === 'off') return off(CHANGES_OFF.request);
  if (request.changes !== 'worktree' && d.settings.changes.mode === 'off') return off(CHANGES_OFF.setting);
  if (root === null) return off(CHANGES_OFF.noRoot);
  if (!d.git) return off(CHANGES_OFF.noGit);
  if (!(await d.git.isRepository(root))) return off(CHANGES_OFF.notRepository);

  const git = d.git;
  const base = await git.head(root);
  const branch = `planexec/${workflowId}`;
  const path = joinPath(d.settings.changes.worktreesDir, workflowId);
  const setup = d.settings.changes.setup;
  const info = await git.createWorktree({
    root,
    branch,
    path,
    base,
    setup: setup ? { argv: splitCommand(setup), timeoutMs: d.settings.changes.checkTimeoutMs, ...(signal ? { signal } : {}) } : null,
  });
  if (!info.created) {
    // A new workflow's id names a branch that is there already: another workflow's (ids are random,
    // so a clash is rare, never impossible). Leave it alone: undoing this call must not remove it.
    throw new PlanexecError(
      'invalid_transition',
      `The branch ${branch} or its worktree ${path} exists already, so this new workflow cannot use its id.`,
      'Call again: a new workflow gets a new id. Nothing was stored.',
      { reason: 'id_in_use' },
    );
  }
  try {
    if (info.setup && !commandPassed(info.setup)) {
      throw new PlanexecError(
        'invalid_input',
        `The worktree setup command (PLANEXEC_WORKTREE_SETUP: ${setup}) failed${info.setup.timedOut ? ' (timed out)' : ''} with exit code ${info.setup.exitCode}: ${tail(info.setup)}`,
        'Fix the setup command (or unset PLANEXEC_WORKTREE_SETUP to link the root\'s dependency folders instead), then call again. Nothing was stored.',
      );
    }
    const changes: WorkflowChanges = {
      ...emptyChanges(workflowId, now),
      mode: 'worktree',
      repo: root,
      branch,
      worktree: info.path,
      prefix: info.prefix,
      base,
      head: base,
      hostChecks,
    };
    changes.baseChecks = await runChecks(d, changes, hostChecks.map((command) => ({ command, source: 'host' as const })), signal);
    return changes;
  } catch (error) {
    await git.discard({ root, worktree: info.path, branch }).catch(() => undefined);
    throw error;
  }
}

/**
 * Refuses the `checks` of a plan_task / run_workflow request that this server does not run as given:
 * where request checks are not trusted (settings.changes.trustRequestChecks false: over HTTP, any
 * token holder sends them), each must be one of PLANEXEC_CHECKS or match PLANEXEC_ALLOWED_CHECKS.
 * Throws invalid_input naming the first such check and both settings (details: {command}); writes
 * nothing. Pure apart from reading the settings.
 */
export function checkRequestChecks(d: Pick<CoreDeps, 'settings'>, checks: readonly string[] | undefined): void {
  const s = d.settings.changes;
  if (s.trustRequestChecks) return;
  for (const raw of checks ?? []) {
    const command = raw.trim();
    if (!command || s.hostChecks.includes(command) || matchesAllowed(command, s.allowedChecks)) continue;
    throw new PlanexecError(
      'invalid_input',
      `Check ${JSON.stringify(command)} is not allowed on this server: over HTTP, a request's checks run only when they are among PLANEXEC_CHECKS or match PLANEXEC_ALLOWED_CHECKS (any token holder could otherwise run any command on the server).`,
      'Leave the check out (the server\'s PLANEXEC_CHECKS run anyway), or ask whoever runs the server to add it to PLANEXEC_CHECKS or PLANEXEC_ALLOWED_CHECKS. Nothing was stored.',
      { command },
    );
  }
}

function emptyChanges(workflowId: string, now: number): WorkflowChanges {
  return {
    workflowId,
    mode: 'off',
    reason: null,
    repo: null,
    branch: null,
    worktree: null,
    prefix: '',
    base: null,
    head: null,
    files: [],
    hostChecks: [],
    baseChecks: null,
    finalChecks: null,
    merged: null,
    discarded: false,
    lockOwner: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Removes the worktree and branch of changes that will not be stored (the plan failed). Never throws. */
export async function abandonChanges(d: CoreDeps, changes: WorkflowChanges): Promise<void> {
  if (changes.mode !== 'worktree' || !d.git || !changes.repo || !changes.worktree || !changes.branch) return;
  await d.git.discard({ root: changes.repo, worktree: changes.worktree, branch: changes.branch }).catch(() => undefined);
}

/** Where a workflow's executors read files: its worktree (at the root's place in it), or its root. */
export function readRoot(workflow: Workflow, changes: WorkflowChanges | null): string | null {
  if (changes?.mode === 'worktree' && changes.worktree && !changes.discarded) return joinPath(changes.worktree, changes.prefix);
  return workflow.root;
}

/** The subtask edits files of the worktree (its writes are not empty and the workflow makes changes). */
export function editsFiles(subtask: Subtask, changes: WorkflowChanges | null): boolean {
  return subtask.writes.length > 0 && changes?.mode === 'worktree' && !changes.discarded;
}

// ---------------------------------------------------------------------------------------------
// Edit operations, checked and applied in memory

/** The files an attempt has changed so far, in memory: path -> new text (null: deleted). */
export type Overlay = Map<string, string | null>;

/**
 * Why an operation on `path` is refused by planexec's rules, or null when it may go ahead: it must
 * be workspace-relative (no absolute path, no ..), within EDIT_PATH_LIMITS (1,024 bytes, 32
 * segments), free of any segment git reads as its own .git folder (isGitFolderName: '.GIT',
 * '.git.', 'git~1', '.git::$INDEX_ALLOCATION', ... which git refuses to commit), and inside the
 * subtask's writes (a listed file, or under a listed folder: an entry covers what is under it, with
 * or without a trailing '/', since plans are stored normalised).
 */
export function editRefusal(path: string, writes: readonly string[]): string | null {
  const problem = relativePathProblem(path);
  if (problem) return `the path ${problem}`;
  const normal = normalizeRelativePath(path);
  const tooLong = pathTooLong(normal);
  if (tooLong) return tooLong;
  const gitName = gitFolderSegment(normal);
  if (gitName !== null) {
    if (gitName.toLowerCase() === '.git') return 'it is inside .git';
    const shown = gitName.replace(/[^\x21-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return `it is inside '${shown}', a name git reads as its own .git folder and refuses to commit`;
  }
  const allowed = writes.some((w) => {
    const entry = normalizeRelativePath(w);
    return normal === entry || normal.startsWith(`${entry}/`);
  });
  return allowed ? null : `it is not among the files this subtask may write (${writes.join(', ')})`;
}

/** The outcome of one edit operation (applyOperations), in the order the model sent them. */
export interface AppliedOperation {
  /** The apply_patch call it came from, when it came from one. */
  callId: string | null;
  path: string;
  ok: boolean;
  /** Sent back to the model: a confirmation, or what went wrong and what to do. */
  message: string;
  /** Refused by planexec's rules (as opposed to failing to apply). */
  refused: boolean;
}

/**
 * Why git would not commit each of `paths` (workspace-relative, normalised): path -> a reason the
 * model can act on, for those it would not (ignored and untracked, inside a submodule); the others
 * are absent. Built over ChangesRepository.uncommittable.
 */
export type CommitProbe = (paths: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/**
 * Checks and applies operations to `overlay` (reading the files not yet in it through `read`),
 * in order, each on its own: a refused or failing operation changes nothing and is reported.
 * create_file on an existing path fails (strict V4A); update_file and delete_file need the file.
 * An operation is refused (like a path outside `writes`) when what it writes could not be written
 * or committed: a path under a file (in the overlay, or on disk: `read` throws for it), a path the
 * overlay holds files under (a folder), a move onto something `read` refuses (a folder, a link, a
 * secret file: the same refusal as writing it), and, when `probe` is given, a path git would not
 * commit (asked once per call, for every path the operations name; a probe that throws is taken as
 * knowing nothing). A move onto an existing file fails, as create_file does.
 */
export async function applyOperations(
  ops: ReadonlyArray<{ callId: string | null; operation: PatchOperation }>,
  writes: readonly string[],
  overlay: Overlay,
  read: (path: string) => Promise<string | null>,
  probe?: CommitProbe,
): Promise<AppliedOperation[]> {
  const out: AppliedOperation[] = [];
  const current = async (path: string): Promise<string | null> => {
    if (overlay.has(path)) return overlay.get(path)!;
    // A folder on the way that this answer made a file, or deleted (nothing is under it then).
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (!overlay.has(parent)) continue;
      if (overlay.get(parent) === null) return null;
      throw new PlanexecError('file_unreadable', `'${parent}' is a file (made by an edit in this answer), so it cannot hold '${path}'.`, 'Use another path.');
    }
    return read(path);
  };
  // A path the overlay holds a file under is a folder once written: no file can be put there.
  const holdsFiles = (path: string): boolean => [...overlay].some(([p, text]) => text !== null && p.startsWith(`${path}/`));
  const named = ops.flatMap(({ operation }) => [operation.path, ...(operation.moveTo === undefined ? [] : [operation.moveTo])]);
  const candidates = [...new Set(named.filter((p) => editRefusal(p, writes) === null).map(normalizeRelativePath))];
  const notCommitted: ReadonlyMap<string, string> = probe && candidates.length ? await probe(candidates).catch(() => new Map<string, string>()) : new Map<string, string>();
  for (const { callId, operation } of ops) {
    const path = normalizeRelativePath(operation.path);
    const refuse = (message: string): void => void out.push({ callId, path: operation.path, ok: false, message, refused: true });
    const fail = (message: string): void => void out.push({ callId, path: operation.path, ok: false, message, refused: false });
    const readProblem = (error: unknown, what: string): void => {
      if (error instanceof PlanexecError) refuse(`Refused ${what}: ${error.message}`);
      else fail(`Could not read for ${what}: ${error instanceof Error ? error.message : String(error)}`);
    };
    const why = editRefusal(operation.path, writes);
    if (why) {
      refuse(`Refused ${operation.type} of '${operation.path}': ${why}.`);
      continue;
    }
    const target = operation.moveTo === undefined ? null : normalizeRelativePath(operation.moveTo);
    if (operation.moveTo !== undefined) {
      const moveWhy = editRefusal(operation.moveTo, writes);
      if (moveWhy) {
        refuse(`Refused moving '${operation.path}' to '${operation.moveTo}': ${moveWhy}.`);
        continue;
      }
    }
    // Written, deleted or moved, such a file would be reported applied and never committed.
    const uncommitted = notCommitted.has(path) ? path : target !== null && notCommitted.has(target) ? target : null;
    if (uncommitted !== null) {
      refuse(`Refused ${operation.type} of '${operation.path}': git would not commit '${uncommitted === path ? operation.path : operation.moveTo}': ${notCommitted.get(uncommitted)}.`);
      continue;
    }
    let before: string | null;
    try {
      before = await current(path);
    } catch (error) {
      readProblem(error, `${operation.type} of '${operation.path}'`);
      continue;
    }
    try {
      if (operation.type === 'create_file') {
        if (before !== null) {
          fail(`create_file '${operation.path}' failed: the file already exists. Use update_file with the exact lines to change.`);
          continue;
        }
        if (holdsFiles(path)) {
          refuse(`Refused create_file of '${operation.path}': this answer made files under '${operation.path}', so it is a folder. Use another path.`);
          continue;
        }
        overlay.set(path, createContent(operation.diff));
      } else if (operation.type === 'delete_file') {
        if (before === null) {
          fail(`delete_file '${operation.path}' failed: there is no such file.`);
          continue;
        }
        overlay.set(path, null);
      } else {
        if (before === null) {
          fail(`update_file '${operation.path}' failed: there is no such file. Use create_file to make it.`);
          continue;
        }
        const after = operation.diff.trim() ? applyUpdate(before, operation.diff) : before;
        if (target !== null && target !== path) {
          let there: string | null;
          try {
            there = await current(target);
          } catch (error) {
            readProblem(error, `moving '${operation.path}' to '${operation.moveTo}'`);
            continue;
          }
          if (holdsFiles(target)) {
            refuse(`Refused moving '${operation.path}' to '${operation.moveTo}': this answer made files under '${operation.moveTo}', so it is a folder.`);
            continue;
          }
          if (there !== null) {
            fail(`Moving '${operation.path}' to '${operation.moveTo}' failed: the target already exists.`);
            continue;
          }
          overlay.set(path, null);
          overlay.set(target, after);
        } else overlay.set(path, after);
      }
      out.push({ callId, path: operation.path, ok: true, message: `${operation.type} ${operation.path}: applied.`, refused: false });
    } catch (error) {
      const message = error instanceof PatchError || error instanceof Error ? error.message : String(error);
      fail(`${operation.type} '${operation.path}' failed: ${message}`);
    }
  }
  return out;
}

/** The apply_patch_call_output items for the applied operations that came from tool calls. */
export function patchOutputs(applied: readonly AppliedOperation[]): PatchCallOutput[] {
  return applied.filter((a) => a.callId !== null).map((a) => ({ callId: a.callId!, status: a.ok ? 'completed' : 'failed', output: a.message }));
}

/** What is still not applied after the last round: the latest failure per path that never went through. */
export function unresolved(all: readonly AppliedOperation[]): RejectedEdit[] {
  const latest = new Map<string, AppliedOperation>();
  for (const a of all) latest.set(a.path, a);
  return [...latest.values()].filter((a) => !a.ok).map((a) => ({ path: a.path, reason: a.message }));
}

// ---------------------------------------------------------------------------------------------
// Checks

/** A check an attempt runs: the host's (PLANEXEC_CHECKS and the request's `checks`) or the subtask's own (planner-proposed, allowed). */
export interface PlannedCheck {
  command: string;
  source: 'host' | 'subtask';
}

/**
 * The checks an attempt runs: every host check, then the subtask's own that may run (a host check
 * it names, or a command PLANEXEC_ALLOWED_CHECKS allows); `refused` are its own that may not.
 */
export function checksFor(d: CoreDeps, changes: WorkflowChanges, subtask: Pick<Subtask, 'checks'>): { run: PlannedCheck[]; refused: string[]; own: Set<string> } {
  const run: PlannedCheck[] = changes.hostChecks.map((command) => ({ command, source: 'host' }));
  const refused: string[] = [];
  const own = new Set<string>();
  for (const raw of subtask.checks) {
    const command = raw.trim();
    if (!command) continue;
    const allowed = changes.hostChecks.includes(command) || matchesAllowed(command, d.settings.changes.allowedChecks);
    if (!allowed) {
      refused.push(command);
      continue;
    }
    own.add(command);
    if (!run.some((c) => c.command === command)) run.push({ command, source: 'subtask' });
  }
  return { run, refused, own };
}

/** The subtask's planner-proposed checks that PLANEXEC_ALLOWED_CHECKS does not allow (not run). */
export function refusedChecks(d: CoreDeps, changes: WorkflowChanges | null, subtask: Pick<Subtask, 'checks'>): string[] {
  if (!changes || changes.mode !== 'worktree') return [];
  return checksFor(d, changes, subtask).refused;
}

/**
 * Runs checks one after the other in the worktree (own process group, scrubbed environment, killed
 * at PLANEXEC_CHECK_TIMEOUT_MS or when `signal` aborts). A command that cannot be split without a
 * shell, or cannot start, is a failed check with the reason as its output.
 */
export async function runChecks(d: CoreDeps, changes: WorkflowChanges, checks: readonly PlannedCheck[], signal?: AbortSignal): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const check of checks) {
    if (signal?.aborted) break;
    let argv: string[];
    try {
      argv = splitCommand(check.command);
    } catch (error) {
      out.push({ command: check.command, exit_code: null, timed_out: false, duration_ms: 0, passed: false, output_tail: (error as Error).message, source: check.source });
      continue;
    }
    const result = await d.git!.runInWorktree(changes.worktree!, {
      folder: changes.prefix,
      argv,
      timeoutMs: d.settings.changes.checkTimeoutMs,
      tailBytes: CHECK_TAIL_BYTES,
      ...(signal ? { signal } : {}),
    });
    out.push({
      command: check.command,
      exit_code: result.exitCode,
      timed_out: result.timedOut,
      duration_ms: Math.round(result.durationMs),
      passed: commandPassed(result),
      output_tail: d.redact(result.spawnError ? `${result.spawnError}\n${result.outputTail}` : result.outputTail),
      source: check.source,
    });
  }
  return out;
}

function commandPassed(r: CommandResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.cancelled && r.spawnError === null;
}

function tail(r: CommandResult): string {
  return (r.spawnError ?? r.outputTail).trim().slice(-600) || '(no output)';
}

/**
 * Which failed checks count against an attempt: a host check that passed on the base and fails now
 * (a regression), and any of the subtask's own checks that fails. A host check that failed on the
 * base and still fails is not held against a subtask that was not meant to fix it.
 */
export function failingChecks(results: readonly CheckResult[], base: readonly CheckResult[] | null, own: ReadonlySet<string>): CheckResult[] {
  const passedOnBase = new Set((base ?? []).filter((c) => c.passed).map((c) => c.command));
  return results.filter((r) => !r.passed && (own.has(r.command) || (r.source === 'host' && passedOnBase.has(r.command))));
}

/** Feedback for the next attempt after checks failed: which, and the end of their output. */
export function checkFeedback(failed: readonly CheckResult[]): string {
  const parts = failed.map((c) => `Check \`${c.command}\` ${c.timed_out ? 'timed out' : `failed (exit code ${c.exit_code})`}. The end of its output:\n${c.output_tail.trim() || '(no output)'}`);
  return `Your previous attempt was rolled back because its checks failed; start again from the files as shown.\n\n${parts.join('\n\n')}`;
}

// ---------------------------------------------------------------------------------------------
// The apply lock: applying, committing and checking are one at a time per workflow

/**
 * What withApplyLock does with the worktree before `fn` runs. 'own' (attempts, final checks: planexec
 * owns the worktree while a workflow runs): made again from the branch when its folder is gone, and
 * put back at the recorded head when it differs from it. 'keep' (merge_changes, discard_changes: the
 * user may have worked there): left exactly as it is, never reset (not even after a dead holder: what
 * it left cannot be told from the user's work) and never made again.
 */
export type WorktreeUse = 'own' | 'keep';

/**
 * Runs `fn` holding the workflow's apply lock: first in this process (runtime.serialize), then in
 * the database (changes.lock_owner, taken from a dead holder). Before `fn` runs, the worktree is
 * prepared as `use` says (WorktreeUse): with 'own', anything a crash left (applied but not
 * committed, a commit not recorded, a check still running) is undone, and so is anything else that
 * differs from the recorded head; with 'keep', nothing is done to it. Throws git_failed (also when a missing worktree cannot be made
 * again), storage errors, invalid_transition when the workflow has no changes record, and the
 * signal's reason when it aborts while waiting.
 */
export async function withApplyLock<T>(d: CoreDeps, workflowId: string, signal: AbortSignal | undefined, fn: (changes: WorkflowChanges) => Promise<T>, use: WorktreeUse = 'own'): Promise<T> {
  return d.runtime.serialize(`apply:${workflowId}`, async () => {
    const token = d.runtime.newLockToken();
    const fromDead = await takeDbLock(d, workflowId, token, signal);
    try {
      const changes = (await d.store.changes.get(workflowId))!;
      if (use === 'own') {
        await ensureWorktree(d, changes, signal);
        await cleanWorktree(d, changes, fromDead);
      }
      return await fn(changes);
    } finally {
      // Kept and retried when the storage refuses (Runtime.settle): a live process never keeps it.
      await d.runtime.settle(`letting go of the apply lock of workflow ${workflowId}`, () => d.store.changes.casLock(workflowId, token, null));
    }
  });
}

/**
 * Puts the worktree back at the recorded head when a process died holding its apply lock (killed
 * between writing an attempt's files and recording its commit, or during a check), and makes it
 * again from the branch when its folder is gone (removed by hand): call before reading the worktree
 * for a model, so a retry starts from the recorded files, not from what the dead attempt left, and
 * not from nothing. Only then does it take the lock (and run git); otherwise it returns `changes` as
 * given. Returns the changes as stored after. Throws as withApplyLock.
 */
export async function recoverWorktree(d: CoreDeps, changes: WorkflowChanges | null): Promise<WorkflowChanges | null> {
  if (!changes || changes.mode !== 'worktree' || changes.discarded || !changes.worktree) return changes;
  const dead = changes.lockOwner !== null && !(await d.runtime.isAlive(Runtime.ownerOf(changes.lockOwner)));
  if (!dead && (await d.git!.hasWorktree(changes.worktree))) return changes;
  await withApplyLock(d, changes.workflowId, undefined, async () => undefined);
  return d.store.changes.get(changes.workflowId);
}

/**
 * Makes the worktree again when its folder is gone: from the branch (`git worktree add` of the
 * existing branch; the branch made again at the recorded head if it is gone too), its dependency
 * folders linked or the setup command run, as when it was first made. cleanWorktree then puts it at
 * the recorded head. Throws git_failed, naming the worktree and the branch, when that cannot be done.
 */
async function ensureWorktree(d: CoreDeps, changes: WorkflowChanges, signal: AbortSignal | undefined): Promise<void> {
  if (changes.mode !== 'worktree' || !changes.worktree || !changes.head || !changes.repo || !changes.branch || changes.discarded) return;
  const git = d.git!;
  if (await git.hasWorktree(changes.worktree)) return;
  const setup = d.settings.changes.setup;
  const gone = (why: string) =>
    new PlanexecError(
      'git_failed',
      `The worktree ${changes.worktree} of workflow ${changes.workflowId} is gone, and could not be made again from branch ${changes.branch}: ${why}`,
      `Fix what it says and call again, or drop the workflow's changes with discard_changes {"workflow_id":"${changes.workflowId}"} (it works without the folder).`,
      { reason: 'worktree_missing', worktree: changes.worktree, branch: changes.branch },
    );
  let info;
  try {
    info = await git.createWorktree({
      root: changes.repo,
      branch: changes.branch,
      path: changes.worktree,
      base: changes.head,
      setup: setup ? { argv: splitCommand(setup), timeoutMs: d.settings.changes.checkTimeoutMs, ...(signal ? { signal } : {}) } : null,
    });
  } catch (error) {
    throw gone(error instanceof Error ? error.message : String(error));
  }
  if (info.setup && !commandPassed(info.setup)) throw gone(`the worktree setup command (PLANEXEC_WORKTREE_SETUP: ${setup}) failed with exit code ${info.setup.exitCode}: ${tail(info.setup)}`);
}

/** Takes the apply lock in the database; resolves true when it was taken from a dead holder. */
async function takeDbLock(d: CoreDeps, workflowId: string, token: string, signal: AbortSignal | undefined): Promise<boolean> {
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    if (signal?.aborted) throw signal.reason;
    const taken = await d.store.transaction(async (tx) => {
      const current = await tx.changes.get(workflowId);
      if (!current) throw invalidTransition(`Workflow ${workflowId} makes no changes.`, 'Nothing to apply.');
      const holder = current.lockOwner;
      if (holder !== null && (await d.runtime.isAlive(Runtime.ownerOf(holder), tx))) return null;
      return (await tx.changes.casLock(workflowId, holder, token)) ? { fromDead: holder !== null } : null;
    });
    if (taken) return taken.fromDead;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Back to the recorded head when the worktree differs from it (a crash between applying and
 * recording). After a dead holder (`force`) always: a check it left running (its final checks run at
 * the recorded head, in a clean worktree) is ended only by the reset.
 */
async function cleanWorktree(d: CoreDeps, changes: WorkflowChanges, force: boolean): Promise<void> {
  if (changes.mode !== 'worktree' || !changes.worktree || !changes.head || changes.discarded) return;
  const git = d.git!;
  if (!force) {
    const status = await git.status(changes.worktree);
    if (status.clean && status.head === changes.head) return;
  }
  await git.resetHard({ worktree: changes.worktree, commit: changes.head });
}

// ---------------------------------------------------------------------------------------------
// Writing, committing, diffing

/**
 * Writes an attempt's overlay into the worktree (paths relative to the workspace root). Returns the
 * files it created, relative to the repository's top level (CommitRequest.created).
 */
export async function writeOverlay(d: CoreDeps, changes: WorkflowChanges, overlay: Overlay): Promise<string[]> {
  const root = joinPath(changes.worktree!, changes.prefix);
  const created: string[] = [];
  for (const [path, content] of overlay) {
    if (content === null) await d.writer.remove(root, path);
    else if (await d.writer.writeText(root, path, content)) created.push(`${changes.prefix}${path}`);
  }
  return created;
}

/** The overlay's paths relative to the repository's top level (where git's paths are). */
export function repoPaths(changes: WorkflowChanges, overlay: Overlay): string[] {
  return [...overlay.keys()].map((p) => `${changes.prefix}${p}`);
}

/** A diff's files relative to the workspace root (the part of the repository the workflow works in). */
export function rootFiles(changes: WorkflowChanges, files: ReadonlyArray<{ path: string; status: ChangedFile['status']; insertions: number; deletions: number }>): ChangedFile[] {
  return files
    .filter((f) => f.path.startsWith(changes.prefix))
    .map((f) => ({ path: f.path.slice(changes.prefix.length), status: f.status, insertions: f.insertions, deletions: f.deletions }));
}

/** An attempt's output for review and dependents: the executor's note, the diff (bounded), the checks. */
export function attemptOutput(note: string, commit: string | null, files: readonly ChangedFile[], diff: string, diffTruncated: boolean, checks: readonly CheckResult[]): string {
  const plus = files.reduce((n, f) => n + f.insertions, 0);
  const minus = files.reduce((n, f) => n + f.deletions, 0);
  const head = `Changed ${files.length} file(s), +${plus} -${minus}${commit ? ` (commit ${commit.slice(0, 12)})` : ''}: ${files.map((f) => `${f.path} (${f.status})`).join(', ')}`;
  const cut = clipBytes(diff, DIFF_BYTES);
  const diffText = `${cut.text}${cut.truncated || diffTruncated ? '\n[diff cut for length]' : ''}`;
  const checkLines = checks.map((c) => `- \`${c.command}\`: ${c.passed ? 'passed' : c.timed_out ? 'timed out' : `failed (exit ${c.exit_code})`}`);
  return [note.trim() || '(no note)', head, '```diff', diffText.trimEnd(), '```', ...(checks.length ? ['Checks:', ...checkLines] : [])].join('\n');
}

/** `b` (relative) under `a`, with one '/' between and none at the end; `a` when `b` is empty. */
export function joinPath(a: string, b: string): string {
  if (!b) return a;
  return `${a.replace(/\/+$/, '')}/${b.replace(/^\/+/, '')}`.replace(/\/+$/, '');
}
