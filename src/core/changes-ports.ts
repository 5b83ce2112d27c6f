// The ports of "changes" (PRODUCT.md, "Changes"): a git repository in which each workflow works on its
// own worktree and branch, and a runner of check commands. Adapters: src/adapters/git/git-changes.ts
// (GitChanges) and src/adapters/process/run-command.ts (CommandRunner). Kept apart from ports.ts while
// the lead reshapes that file; they may move there.

/** How one command ended. Produced by CommandRunner.run; every field is always set. */
export interface CommandResult {
  /** The process's exit code; null when it was ended by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended the process ('SIGTERM', 'SIGKILL', ...), else null. */
  signal: string | null;
  /** Killed because it ran past its timeout. */
  timedOut: boolean;
  /** Killed because the caller's signal aborted (cancel_workflow, shutdown). */
  cancelled: boolean;
  /** Wall time from spawn to the end of its output, milliseconds. */
  durationMs: number;
  /** The last `tailBytes` bytes of stdout and stderr merged in arrival order, cut on a UTF-8 boundary. */
  outputTail: string;
  /** Bytes of output in all (stdout + stderr), so a reader knows how much the tail left out. */
  outputBytes: number;
  /** Why the process could not be started (e.g. "command not found: foo"), else null. */
  spawnError: string | null;
}

/** One command to run: argv[0] is looked up on PATH; no shell is involved. */
export interface CommandRequest {
  argv: string[];
  /** Absolute working directory. */
  cwd: string;
  /** Milliseconds before the whole process group is killed (SIGTERM, then SIGKILL after a grace). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** How many bytes of output to keep (the end of it); default 4096. */
  tailBytes?: number;
  /** Written to the process's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
}

/** Runs commands (checks, the worktree setup command) and can end every one still running. */
export interface CheckRunner {
  /**
   * Never throws for a command that fails or cannot start: that is in the result. Throws invalid_input
   * only for a request that names no command (empty argv) or a timeout that is not a positive number.
   */
  run(request: CommandRequest): Promise<CommandResult>;
  /** Ends every command still running (SIGTERM, SIGKILL after the grace) and waits for them. */
  killAll(): Promise<void>;
}

/** How a path changed between two commits (the same values as types.ts FileChangeStatus, which tool results carry). */
export type FileChangeStatus = 'added' | 'modified' | 'deleted';

/** One path changed between two commits; a rename is a deletion plus an addition. */
export interface FileChange {
  /** Path relative to the repository's top level, '/'-separated, as git stores it. */
  path: string;
  status: FileChangeStatus;
  /** Lines added and removed (0 and 0 for a binary file). */
  insertions: number;
  deletions: number;
  binary: boolean;
}

/** What ChangesRepository.diff answers: the files changed and the unified patch (bounded). */
export interface ChangesDiff {
  files: FileChange[];
  /** The unified diff, cut at `maxPatchBytes` on a UTF-8 boundary. */
  patch: string;
  patchTruncated: boolean;
  /** Size of the whole patch in bytes. */
  patchBytes: number;
}

/** The worktree setup command, as WorktreeRequest passes it. timeoutMs: ms before its process group is killed. */
export interface WorktreeSetup {
  /** The command (PLANEXEC_WORKTREE_SETUP, split by the caller) run once in a new worktree. */
  argv: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What ChangesRepository.createWorktree makes (or finds, after a restart). */
export interface WorktreeRequest {
  /** The user's repository (PLANEXEC_ROOT; may be a folder inside the repository). */
  root: string;
  /** e.g. planexec/wf-1a2b3c. */
  branch: string;
  /** Absolute path of the worktree (under PLANEXEC_WORKTREES). */
  path: string;
  /** Commit the branch starts at (the root's HEAD when the plan was made). */
  base: string;
  /** Run once in the new worktree; null/absent: none. */
  setup?: WorktreeSetup | null;
  /** Link the root's ignored dependency folders in; default: true when no setup command is given. */
  linkDependencies?: boolean;
}

/** What ChangesRepository.createWorktree answers. */
export interface WorktreeInfo {
  /** False when the worktree was already there as asked (a restarted process). */
  created: boolean;
  path: string;
  branch: string;
  /** The branch's current commit. */
  head: string;
  /**
   * Where `root` sits inside the repository: '' at the top level, else e.g. 'packages/web/'. The
   * worktree mirrors the top level, so the root's files are under `${path}/${prefix}`; paths in
   * diffs and merge results are relative to the top level too.
   */
  prefix: string;
  /** Folders linked in, relative to the top level (e.g. 'node_modules', 'web/node_modules'). */
  linked: string[];
  /** The setup command's result when it ran during this call; null when it did not run now. */
  setup: CommandResult | null;
  /** The setup command has succeeded in this worktree (now or earlier); true when there is none. */
  setupDone: boolean;
}

/** One commit in a worktree (ChangesRepository.commit): an applied attempt, with its trailers. */
export interface CommitRequest {
  worktree: string;
  message: string;
  /** Git trailers, e.g. { 'Planexec-Workflow': 'wf-1', 'Planexec-Attempt': '2' }. */
  trailers: Record<string, string>;
  /** Default: planexec <planexec@localhost> as author and committer. */
  author?: { name: string; email: string };
  /**
   * Commit only these paths (relative to the worktree's top level, '/' separated; a folder stands for
   * the files under it): new, changed and deleted files among them. Each is taken literally (no glob,
   * no pathspec magic). Other changes in the worktree (build output a check wrote, files staged by
   * anyone) stay out of the commit, as they were. Absent: everything changed is committed.
   */
  paths?: readonly string[];
  /**
   * Among `paths`, the files the caller created (nothing was at the path before): staged with
   * `git add` first, while `git commit --only` takes the others itself, in one spawn. Absent: every
   * path is staged first. A wrong entry costs a spawn or two (the commit falls back to asking git
   * status), never a wrong commit.
   */
  created?: readonly string[];
}

/**
 * Why a merge was refused, changing nothing: the user's uncommitted changes touch files the merge changes
 * (dirty_overlap), the merge conflicts, the root is on a detached HEAD or mid-merge/rebase/cherry-pick/
 * revert/bisect (operation_in_progress), the histories are unrelated, the root's branch moved while
 * merging (root_moved), or the workflow's branch itself is checked out in the root.
 */
export type MergeRefusalReason =
  | 'dirty_overlap'
  | 'conflict'
  | 'detached_head'
  | 'operation_in_progress'
  | 'unrelated_histories'
  | 'root_moved'
  | 'branch_checked_out';

/**
 * What ChangesRepository.merge did: merged (fast-forward or a merge commit), nothing to do (up_to_date:
 * the root already contains the branch), or refused, with the paths at fault, a message and a hint.
 */
export type MergeResult =
  | {
      kind: 'merged';
      mode: 'fast-forward' | 'merge-commit';
      /** The root branch's commit before and after. */
      previousHead: string;
      head: string;
      /** Paths the merge changed in the root, relative to the top level. */
      files: string[];
    }
  | { kind: 'up_to_date'; head: string }
  | { kind: 'refused'; reason: MergeRefusalReason; paths: string[]; message: string; hint: string };

/**
 * The git side of "changes". Every method throws PlanexecError('git_failed') when git itself fails (the
 * message names the command and the end of git's stderr), and invalid_input for arguments no git
 * command should get (a relative worktree path, an unusable branch name, a revision starting with '-',
 * an empty commit message, a bad trailer or commit path). Commits are 40 hex digits; paths are '/'-separated.
 */
export interface ChangesRepository {
  /** Git is there and new enough (2.38: merge-tree --write-tree); resolves with its version. Call once at start-up. */
  ready(): Promise<string>;
  /** `root` is inside a git work tree; false for a plain or missing folder or a bare repository (never throws). */
  isRepository(root: string): Promise<boolean>;
  /** The commit HEAD points at; git_failed when the repository has no commit yet. */
  head(root: string): Promise<string>;
  /** Null on a detached HEAD. */
  currentBranch(root: string): Promise<string | null>;
  /**
   * Makes the worktree and branch, or finds them as asked (idempotent); git_failed when `path` holds
   * something else or the branch is checked out elsewhere. A failed setup command is in the result, not thrown.
   */
  createWorktree(request: WorktreeRequest): Promise<WorktreeInfo>;
  /**
   * Runs a check in the worktree (CheckRunner semantics), recorded so resetHard after a crash can end
   * it; in `folder` (relative to the worktree's top level `worktree`) when given. The worktree's git
   * dir is looked up from `worktree`, never from `folder` (the model writes there).
   */
  runInWorktree(worktree: string, request: Omit<CommandRequest, 'cwd'> & { folder?: string }): Promise<CommandResult>;
  /**
   * Among `paths` (relative to the worktree's top level), those git would not commit, path -> why in
   * words a model can act on: inside a submodule, or untracked and ignored (the rule named). Paths
   * with a symbolic link on the way are left out.
   */
  uncommittable(request: { worktree: string; paths: readonly string[] }): Promise<Map<string, string>>;
  /** True when the worktree's folder is there with its `.git` entry (it may have been removed by hand); never throws. */
  hasWorktree(path: string): Promise<boolean>;
  /** The commit `branch` (short name) points at in the repository at `root`; null when there is no such branch. */
  branchHead(root: string, branch: string): Promise<string | null>;
  /** True when `ancestor` is `commit` or an ancestor of it; false when not, or when either is not a commit there. */
  isAncestor(root: string, ancestor: string, commit: string): Promise<boolean>;
  /**
   * True when `ancestor` (a full sha) is `commit` or on its first-parent chain (commit, its first
   * parent, that one's first parent, ...): commits made on top of `ancestor`, merges made there
   * included, keep it there; a branch moved onto another branch that merged `ancestor` does not.
   * False when not, or when either is not a commit there.
   */
  onFirstParentChain(root: string, ancestor: string, commit: string): Promise<boolean>;
  /**
   * Commits everything changed in the worktree (or only `paths`); null when nothing (among them)
   * changed. Control characters in the message and trailer values are stripped (model text).
   */
  commit(request: CommitRequest): Promise<string | null>;
  /**
   * The newest commit in `since..to` (or all of `to`; `to` is HEAD of `worktree` unless given, a
   * commit of the repository at `worktree`) carrying every trailer given; null if none.
   */
  findCommit(request: { worktree: string; trailers: Record<string, string>; since?: string; to?: string }): Promise<string | null>;
  /** What changed from `from` to `to` (default HEAD); the patch is cut at `maxPatchBytes` (bytes; adapter default 64 KiB). */
  diff(request: { worktree: string; from: string; to?: string; maxPatchBytes?: number }): Promise<ChangesDiff>;
  /**
   * Back to `commit` (default HEAD): commands left running in the worktree by a dead process killed,
   * tracked files reset, untracked files removed, ignored ones kept.
   */
  resetHard(request: { worktree: string; commit?: string }): Promise<void>;
  /**
   * HEAD's commit (null before the first) and the paths with staged, unstaged or untracked changes
   * (ignored files do not count), in one git call; clean when there are none. `tracked`: the paths
   * among them that git tracks (staged or unstaged changes, not untracked files).
   */
  status(worktree: string): Promise<{ clean: boolean; paths: string[]; tracked: string[]; head: string | null }>;
  /**
   * Brings `branch` (or `commit`, the branch's tip as the caller read it, so a commit made meanwhile
   * is not merged unrecorded) into the branch checked out at `root`, or refuses (MergeResult
   * 'refused') changing nothing; throws not_found when the branch (or commit) does not exist.
   */
  merge(request: { root: string; branch: string; commit?: string; message?: string }): Promise<MergeResult>;
  /**
   * Removes the worktree (uncommitted changes too) and deletes the branch; what is already gone counts
   * as done. git_failed when the branch is checked out in the root, or `worktree` is a folder that is
   * not a worktree of the repository (left untouched).
   */
  discard(request: { root: string; worktree: string; branch: string }): Promise<{ removedWorktree: boolean; deletedBranch: boolean }>;
}
