// The git side of "changes" (PRODUCT.md): a worktree and branch per workflow, one commit per applied
// attempt (with trailers, so a restarted process finds what it committed), diffs, the crash-recovery
// reset, and the merge into the user's branch that refuses rather than leave anything half-done.
// Everything goes through git itself (GitExec: arguments as arrays, no shell).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { gitFailed, invalidInput, notFound } from '../../core/errors.js';
import { gitFolderSegment } from '../../core/git-paths.js';
import { normalizeRelativePath, relativePathProblem } from '../../core/plan.js';
import { listPaths, withoutControls } from '../../core/text.js';
import type {
  ChangesDiff,
  ChangesRepository,
  CommandRequest,
  CommandResult,
  CommitRequest,
  FileChange,
  MergeResult,
  WorktreeInfo,
  WorktreeRequest,
} from '../../core/changes-ports.js';
import { CommandRunner, killRecordedGroups } from '../process/run-command.js';
import { ignoredDependencyFolders, linkFolders } from './dependency-folders.js';
import { GitExec, nulFields } from './git-exec.js';

/** Author and committer of planexec's commits unless the caller names someone. */
export const PLANEXEC_IDENTITY = { name: 'planexec', email: 'planexec@localhost' } as const;

/** Marker file in the worktree's own git dir: the setup command succeeded there. */
const SETUP_MARKER = 'planexec-setup-done';
/** Folder in the worktree's own git dir holding a record of each command running in the worktree. */
const RUNNING_DIR = 'planexec-running';

/** Oldest git planexec works with: `git merge-tree --write-tree` (merge commits) is from 2.38. */
export const MIN_GIT_VERSION = [2, 38] as const;

/** Default cap of ChangesDiff.patch, bytes. */
export const DEFAULT_MAX_PATCH_BYTES = 64 * 1024;

const TRAILER_KEY = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Longest commit message (bytes of UTF-8) commit() takes: it is passed as one argument (stdin
 * carries the paths), and Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN) with E2BIG.
 */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** Options of GitChanges (the composition root passes the runner it kills at shutdown; tests pass an env). */
export interface GitChangesOptions {
  /** Environment git and the setup command start from (always scrubbed); default process.env. */
  env?: Record<string, string | undefined>;
  /** Runs the setup command and checks (so killAll reaches them); default a new CommandRunner over `env`. */
  runner?: CommandRunner;
  /** Bound on any one git command, ms; default 300000. */
  gitTimeoutMs?: number;
  /** The git program; default 'git' on PATH. */
  gitBinary?: string;
  /**
   * The prefix that runs the setup command and every check in a PID namespace of their own
   * (CheckSandbox.prefix from probeCheckSandbox, src/adapters/process/check-sandbox.ts); default
   * none: they run as the server's children, in their own process group only.
   */
  sandbox?: readonly string[] | null;
}

interface WorktreeEntry {
  path: string;
  head: string | null;
  /** refs/heads/... or null (detached). */
  branch: string | null;
  prunable: boolean;
}

function identityEnv(who: { name: string; email: string }): Record<string, string> {
  return { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
}

/**
 * Every pathspec of the command is a literal path: no glob, no ':(magic)'. The other three are set
 * off because git refuses to start when literal is combined with any of them from the user's env.
 * Source: git's pathspec.c (get_global_magic) and git(1), ENVIRONMENT.
 */
const LITERAL_PATHSPECS: Record<string, string> = {
  GIT_LITERAL_PATHSPECS: '1',
  GIT_GLOB_PATHSPECS: '0',
  GIT_NOGLOB_PATHSPECS: '0',
  GIT_ICASE_PATHSPECS: '0',
};

/**
 * Pathspecs read from stdin, NUL-separated (git >= 2.26 for add and commit), rather than as
 * arguments: hundreds of long paths as arguments pass the system's limit (ARG_MAX, 2 MiB on Linux)
 * and the spawn fails with E2BIG. Source: git-add(1), git-commit(1), --pathspec-from-file.
 */
const PATHSPECS_ON_STDIN = ['--pathspec-from-file=-', '--pathspec-file-nul'] as const;

/** Paths as git reads them with --pathspec-file-nul or `-z --stdin`: each followed by a NUL. */
function nulList(paths: readonly string[]): string {
  return paths.map((p) => `${p}\0`).join('');
}

/**
 * `args` in groups of at most `maxBytes` bytes (a group holds at least one), for commands that take
 * paths only as arguments (ls-tree): each group stays far below ARG_MAX.
 */
function argumentChunks(args: readonly string[], maxBytes = 128 * 1024): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let bytes = 0;
  for (const arg of args) {
    const size = Buffer.byteLength(arg) + 1;
    if (chunk.length && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(arg);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/** CommitRequest.paths checked and normalised ('./a//b/' -> 'a/b'), without repeats, in order. */
function commitPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of paths) {
    const problem = relativePathProblem(raw);
    if (problem) throw invalidInput(`Commit path '${raw}' ${problem}.`, 'Give paths relative to the worktree\'s top level.');
    const path = normalizeRelativePath(raw);
    if (!raw.split(/[\\/]/).some((segment) => segment !== '' && segment !== '.')) throw invalidInput(`Commit path '${raw}' names the worktree itself, not a file.`, 'Give the paths of the files to commit, or no paths to commit everything.');
    if (gitFolderSegment(path) !== null) throw invalidInput(`Commit path '${raw}' is inside .git (or a name git reads as .git).`, 'Give paths of files in the worktree.');
    if (!out.includes(path)) out.push(path);
  }
  return out;
}

/** Do two changed paths touch each other (the same path, or one is a folder holding the other)? */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** Paths for a message: the first 20, then how many more (the result's `paths` has them all). */
/**
 * The path of one `git status --porcelain=v2 -z` entry: after 8 fields for '1' (changed), 9 for '2'
 * (renamed; its original path is the next NUL field, and --no-renames makes none), 10 for 'u'
 * (unmerged), 1 for '?' (untracked) and '!' (ignored). Paths may hold spaces; -z leaves them unquoted.
 */
function porcelainV2Path(entry: string): string {
  const fields = { '1': 8, '2': 9, u: 10 }[entry[0]!] ?? 1;
  let at = 0;
  for (let i = 0; i < fields; i++) at = entry.indexOf(' ', at) + 1;
  return entry.slice(at);
}

/** The first `max` bytes of `buffer` as text, cut back to a UTF-8 character boundary. */
function headText(buffer: Buffer, max: number): string {
  if (buffer.length <= max) return buffer.toString('utf8');
  let end = max;
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return buffer.subarray(0, end).toString('utf8');
}

/**
 * ChangesRepository over the git CLI (git >= 2.38 for merge commits: `merge-tree --write-tree`).
 * Paths in results are relative to the repository's top level, '/'-separated. Every method throws
 * PlanexecError('git_failed') (message: the git command and its stderr; hint: what to do) when git
 * fails, and invalid_input for arguments it refuses before running git.
 */
export class GitChanges implements ChangesRepository {
  readonly git: GitExec;
  private readonly runner: CommandRunner;
  private readonly sandbox: readonly string[] | null;
  /** Worktree path -> its own git dir, saving a spawn per check; set by createWorktree, dropped by discard. */
  private readonly gitDirs = new Map<string, string>();

  constructor(options: GitChangesOptions = {}) {
    const env = options.env ?? process.env;
    this.git = new GitExec(env, options.gitTimeoutMs ?? 300_000, options.gitBinary);
    this.runner = options.runner ?? new CommandRunner({ env });
    this.sandbox = options.sandbox?.length ? options.sandbox : null;
  }

  /**
   * Checks that git is installed and new enough (MIN_GIT_VERSION: `merge-tree --write-tree` came in
   * 2.38, `worktree list -z` in 2.36); resolves with the version ('2.39.5'). Throws git_failed with
   * the fix (upgrade, or PLANEXEC_CHANGES=off) otherwise.
   */
  async ready(): Promise<string> {
    const said = await this.git.text(['--version'], { cwd: process.cwd() });
    const version = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(said);
    const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
    if (major < MIN_GIT_VERSION[0] || (major === MIN_GIT_VERSION[0] && minor < MIN_GIT_VERSION[1])) {
      throw gitFailed('git --version', `${said} is older than ${MIN_GIT_VERSION.join('.')}`, `Upgrade git to ${MIN_GIT_VERSION.join('.')} or newer, or set PLANEXEC_CHANGES=off.`);
    }
    return version?.[0] ?? said;
  }

  /** True when `root` is inside a git work tree (a bare repository or a plain folder: false). */
  async isRepository(root: string): Promise<boolean> {
    if (!existsSync(root)) return false;
    try {
      return (await this.git.text(['rev-parse', '--is-inside-work-tree'], { cwd: root })) === 'true';
    } catch {
      return false;
    }
  }

  /** Absolute top-level folder of the work tree holding `root`. */
  topLevel(root: string): Promise<string> {
    return this.git.text(['rev-parse', '--show-toplevel'], { cwd: root, hint: `Make sure ${root} is inside a git repository, or set PLANEXEC_CHANGES=off.` });
  }

  /**
   * The commit HEAD points at (40 hex). Throws git_failed when the repository has no commit yet: the
   * hint says to make a first commit (`git commit --allow-empty -m init`) or set PLANEXEC_CHANGES=off.
   */
  async head(root: string): Promise<string> {
    const out = await this.git.run(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: root, okCodes: [0, 1] });
    if (out.code !== 0) {
      throw gitFailed('git rev-parse --verify HEAD', 'the repository has no commit yet', 'Make a first commit in the repository (git add -A && git commit -m init, or git commit --allow-empty -m init), or set PLANEXEC_CHANGES=off.');
    }
    return out.stdout.toString('utf8').trim();
  }

  /** The short name of the checked-out branch ('main'); null on a detached HEAD. */
  async currentBranch(root: string): Promise<string | null> {
    const out = await this.git.run(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: root, okCodes: [0, 1] });
    return out.code === 0 ? out.stdout.toString('utf8').trim() : null;
  }

  /**
   * Makes (or finds) the worktree at `path` on `branch`, starting at `base` when the branch is new.
   * Idempotent: a worktree already there on that branch is kept as it is (created: false); a branch
   * that exists without its worktree (the folder was deleted) gets its worktree back at its own
   * commit. Then links the root's ignored dependency folders (see DEPENDENCY_FOLDERS; by default only
   * when there is no setup command), then runs the setup command unless it has succeeded in this
   * worktree before (a marker in the worktree's git dir). A failed setup is reported in `setup`
   * (setupDone false) and runs again on the next call. A process killed while git was checking out
   * may leave files missing: resetHard restores them. Throws invalid_input for a bad branch name or
   * a relative path, git_failed when `path` holds something else or git fails.
   */
  async createWorktree(request: WorktreeRequest): Promise<WorktreeInfo> {
    const { branch } = request;
    if (!isAbsolute(request.path)) throw invalidInput(`Worktree path '${request.path}' is not absolute.`, 'Set PLANEXEC_WORKTREES to an absolute folder.');
    if (!branch || branch.startsWith('-') || /[\s~^:?*[\\]/.test(branch)) throw invalidInput(`'${branch}' is not a usable branch name.`, 'Use a name such as planexec/wf-1a2b3c.');
    const top = await this.topLevel(request.root);
    const path = resolve(request.path);
    const ref = `refs/heads/${branch}`;
    let created = false;

    let entries = await this.worktrees(top);
    let entry = await this.findEntry(entries, path);
    if (entry?.prunable || entries.some((e) => e.prunable && e.branch === ref)) {
      await this.git.run(['worktree', 'prune'], { cwd: top });
      entries = await this.worktrees(top);
      entry = await this.findEntry(entries, path);
    }
    if (entry) {
      if (entry.branch !== ref) {
        throw gitFailed('git worktree add', `${path} is already a worktree, on ${entry.branch ?? 'a detached HEAD'} rather than ${branch}`, 'Discard that workflow\'s changes (discard_changes) or choose another PLANEXEC_WORKTREES folder.');
      }
    } else {
      const elsewhere = entries.find((e) => e.branch === ref);
      if (elsewhere) {
        throw gitFailed('git worktree add', `branch ${branch} is checked out at ${elsewhere.path}`, `Switch that checkout to another branch, or remove it (git worktree remove ${elsewhere.path}).`);
      }
      const there = await readdir(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : null));
      if (there === null || there.length > 0) {
        throw gitFailed('git worktree add', `${path} exists and is not an empty folder`, 'Remove or rename that folder, or choose another PLANEXEC_WORKTREES folder.');
      }
      const hasBranch = (await this.git.run(['rev-parse', '--verify', '-q', ref], { cwd: top, okCodes: [0, 1] })).code === 0;
      if (hasBranch) {
        await this.git.run(['worktree', 'add', '--quiet', '--', path, branch], { cwd: top });
      } else {
        const base = await this.resolveCommit(top, request.base);
        await this.git.run(['worktree', 'add', '--quiet', '-b', branch, '--', path, base], { cwd: top });
      }
      created = true;
    }

    const gitDir = await this.git.text(['rev-parse', '--absolute-git-dir'], { cwd: path });
    this.gitDirs.set(path, gitDir);
    const linkDependencies = request.linkDependencies ?? !request.setup;
    let linked: string[] = [];
    if (linkDependencies) {
      const folders = await ignoredDependencyFolders(this.git, top);
      if (folders.length) linked = await linkFolders(top, path, folders, await this.infoExclude(path));
    }

    let setup: CommandResult | null = null;
    const marker = join(gitDir, SETUP_MARKER);
    let setupDone = !request.setup || existsSync(marker);
    if (request.setup && !setupDone) {
      setup = await this.runInWorktree(path, { argv: request.setup.argv, timeoutMs: request.setup.timeoutMs, signal: request.setup.signal });
      setupDone = setup.exitCode === 0 && !setup.timedOut && !setup.cancelled;
      if (setupDone) await writeFile(marker, `${JSON.stringify({ argv: request.setup.argv, at: new Date().toISOString() })}\n`);
    }
    const head = await this.git.text(['rev-parse', 'HEAD'], { cwd: path });
    const prefix = await this.git.text(['rev-parse', '--show-prefix'], { cwd: request.root });
    return { created, path, branch, head, prefix, linked, setup, setupDone };
  }

  /**
   * Runs a command (a check) in the worktree through the runner: no shell, own process group (and
   * PID namespace, with the sandbox option), scrubbed environment, killed at the timeout or on abort
   * (see runCommand). While it runs, its
   * process group is recorded in the worktree's git dir, so that resetHard in a process started
   * after this one was killed (-9) ends a check this one left running. `request.cwd` is ignored.
   */
  async runInWorktree(worktree: string, request: Omit<CommandRequest, 'cwd'> & { folder?: string }): Promise<CommandResult> {
    const { folder, ...rest } = request;
    const top = resolve(worktree);
    let cwd = top;
    if (folder) {
      const problem = relativePathProblem(folder);
      if (problem) throw invalidInput(`Folder '${folder}' ${problem}.`, 'Give the folder relative to the worktree.');
      cwd = join(top, normalizeRelativePath(folder));
    }
    // Looked up at the top level planexec made, never in the folder: files there are the model's
    // to write, and a few (HEAD, objects/, refs/) would make git take the folder for a repository.
    const gitDir = await this.gitDirOf(top);
    return this.runner.run({ ...rest, cwd, pidFile: join(gitDir, RUNNING_DIR, `${randomUUID()}.json`), ...(this.sandbox ? { sandbox: this.sandbox } : {}) });
  }

  /**
   * Among `paths` (relative to the worktree's top level, '/'-separated), those git would not commit,
   * each with the reason in words a model can act on: inside a submodule (a gitlink in HEAD's tree
   * on the way), or untracked and matched by an ignore rule (`git check-ignore -v`, which names the
   * rule; tracked files are never ignored). A path with a symbolic link on the way is left out
   * (planexec's writer refuses it anyway, and git would refuse to look past the link). Paths go to
   * git on stdin, or in chunks of arguments, so any number fits. One git spawn when no path is in a
   * submodule (check-ignore fails on such a path: then `ls-tree` finds the gitlinks, and the others
   * are asked again). Throws git_failed when git fails.
   */
  async uncommittable(request: { worktree: string; paths: readonly string[] }): Promise<Map<string, string>> {
    const cwd = request.worktree;
    const out = new Map<string, string>();
    const folderOf = (p: string): string[] => {
      const segments = p.split('/');
      return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
    };
    const links = new Map<string, boolean>();
    const isLink = async (folder: string): Promise<boolean> => {
      if (!links.has(folder)) links.set(folder, (await lstat(join(cwd, folder)).catch(() => null))?.isSymbolicLink() ?? false);
      return links.get(folder)!;
    };
    const ask: string[] = [];
    for (const path of new Set(request.paths.filter((p) => !relativePathProblem(p)).map(normalizeRelativePath))) {
      let linked = false;
      for (const folder of folderOf(path)) if ((linked = await isLink(folder))) break;
      if (!linked) ask.push(path);
    }
    if (ask.length === 0) return out;
    let ignored = await this.ignored(cwd, ask);
    if (ignored === null) {
      const gitlinks = new Set<string>();
      for (const chunk of argumentChunks([...new Set(ask.flatMap(folderOf))])) {
        const { stdout } = await this.git.run(['ls-tree', '-z', 'HEAD', '--', ...chunk], { cwd, env: { ...LITERAL_PATHSPECS, GIT_OPTIONAL_LOCKS: '0' } });
        for (const entry of nulFields(stdout)) if (entry.startsWith('160000 ')) gitlinks.add(entry.slice(entry.indexOf('\t') + 1));
      }
      const rest: string[] = [];
      for (const path of ask) {
        const submodule = folderOf(path).find((f) => gitlinks.has(f));
        if (submodule === undefined) rest.push(path);
        else out.set(path, `it is inside the submodule '${submodule}', whose files are committed in that repository, not in this one; edit files outside it`);
      }
      ignored = rest.length ? await this.ignored(cwd, rest) : new Map<string, string>();
      if (ignored === null) throw gitFailed('git check-ignore --stdin', 'it failed on paths outside any submodule', 'Check the worktree with `git status`; fix what git says and try again.');
    }
    for (const [path, why] of ignored) out.set(path, why);
    return out;
  }

  /**
   * `git check-ignore -v` of `paths`: path -> why, for those an ignore rule (not a '!' one) matches;
   * null when git fails (exit 128: it does on a path inside a submodule).
   */
  private async ignored(cwd: string, paths: readonly string[]): Promise<Map<string, string> | null> {
    // -v prints source, line, pattern and path (4 fields each with -z) for every path a rule matches;
    // a '!' rule un-ignores. Exit 1: none matched. check-ignore refuses GIT_LITERAL_PATHSPECS, and
    // reads ':(glob)x' or ':!x' as pathspec magic: each path goes as './path' (no magic after './'),
    // and comes back as given.
    // Read-only, and it may run beside another attempt's commit in the same worktree: no index lock.
    const { stdout, code } = await this.git.run(['check-ignore', '-z', '-v', '--stdin'], { cwd, input: nulList(paths.map((p) => `./${p}`)), okCodes: [0, 1, 128], env: { GIT_OPTIONAL_LOCKS: '0' } });
    if (code === 128) return null;
    const out = new Map<string, string>();
    const fields = stdout.toString('utf8').split('\0');
    for (let i = 0; i + 3 < fields.length; i += 4) {
      const [source, line, pattern, path] = fields.slice(i, i + 4) as [string, string, string, string];
      if (pattern.startsWith('!')) continue;
      out.set(path.slice(2), `git ignores it (the rule '${pattern}' in ${source}, line ${line}); use a path git does not ignore, or change that rule`);
    }
    return out;
  }

  /** True when `path` is a folder holding a `.git` entry (a worktree's checkout is there); never throws. */
  async hasWorktree(path: string): Promise<boolean> {
    return (await lstat(join(path, '.git')).catch(() => null)) !== null;
  }

  /** The commit `branch` (a short name) points at, or null when there is no such branch. */
  async branchHead(root: string, branch: string): Promise<string | null> {
    if (!branch || branch.startsWith('-')) throw invalidInput(`'${branch}' is not a usable branch name.`, 'Use a name such as planexec/wf-1a2b3c.');
    const out = await this.git.run(['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`], { cwd: root, okCodes: [0, 1] });
    return out.code === 0 ? out.stdout.toString('utf8').trim() : null;
  }

  /**
   * Commits everything changed in the worktree (modified, new and deleted files; not what git
   * ignores, so never the linked dependency folders) with `message` followed by a trailer block
   * (`Key: value` lines, readable with `git log --format=%(trailers)`). Author and committer:
   * `author`, else PLANEXEC_IDENTITY. Returns the new commit's sha, or null when nothing changed.
   *
   * With `paths`, only the changes among those paths are staged and committed (`git add --all` of
   * the `created` ones, or of all when it is absent, then `git commit --only`, so deletions count and
   * anything staged for other paths stays staged, not committed); every other change, untracked
   * files included, is left as it was. Paths are relative
   * to the worktree's top level (`request.worktree` is that folder) and taken literally: pathspec
   * magic is off (GIT_LITERAL_PATHSPECS), so '*.ts' or ':x' name those very files. Paths without a
   * change, and ignored ones, are skipped; null when none of them changed.
   *
   * The message and the trailer values lose their control characters and escape sequences
   * (withoutControls: they may come from a model, and `git log` prints them to a terminal); CR LF
   * becomes LF. Paths go to git on stdin, so any number of them fits.
   *
   * Throws invalid_input for an empty message, one over MAX_MESSAGE_BYTES, a trailer key/value git
   * cannot hold (keys: letters, digits, '-'; values: one non-empty line), or a path that is
   * absolute, has '..', names the worktree itself or lies inside .git (or a name git reads as .git).
   */
  async commit(request: CommitRequest): Promise<string | null> {
    const message = withoutControls(request.message).replace(/\s+$/, '');
    if (!message.trim()) throw invalidInput('A commit message is empty.', 'Give the commit a message.');
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw invalidInput(`A commit message is ${Buffer.byteLength(message)} bytes long.`, `Keep it under ${MAX_MESSAGE_BYTES} bytes.`);
    const trailerLines = Object.entries(request.trailers).map(([key, raw]) => {
      const value = withoutControls(raw);
      if (!TRAILER_KEY.test(key)) throw invalidInput(`Trailer key '${key}' is not usable.`, 'Use letters, digits and dashes, e.g. Planexec-Workflow.');
      if (!value.trim() || /[\r\n]/.test(value)) throw invalidInput(`Trailer '${key}' needs a value of one non-empty line.`, 'Remove line breaks from the value.');
      return `${key}: ${value.trim()}`;
    });
    const cwd = request.worktree;
    const text = trailerLines.length ? `${message}\n\n${trailerLines.join('\n')}\n` : `${message}\n`;
    const env = identityEnv(request.author ?? PLANEXEC_IDENTITY);
    if (request.paths === undefined) {
      await this.git.run(['add', '--all', '--', '.'], { cwd });
      return (await this.commitStaged(cwd, text, env, null)) ?? null;
    }
    const chosen = commitPaths(request.paths);
    if (chosen.length === 0) return null;
    // One spawn when every path is a file git knows (`commit --only` stages and commits them), two
    // with new files (staged first). `git add` refuses a path that matches nothing (a file created
    // and removed again: exit 128) and an ignored one named explicitly (exit 1), and `commit --only`
    // a path git does not know (a new file not staged, a folder with nothing in it); then only the
    // paths git status sees a change under are staged and committed (two or three spawns more).
    const fresh = request.created === undefined ? chosen : commitPaths(request.created).filter((p) => chosen.some((c) => p === c || p.startsWith(`${c}/`)));
    const added = fresh.length ? (await this.git.run(['add', '--all', ...PATHSPECS_ON_STDIN], { cwd, env: LITERAL_PATHSPECS, input: nulList(fresh), okCodes: [0, 1, 128] })).code : 0;
    if (added === 0) {
      const sha = await this.commitStaged(cwd, text, env, chosen);
      if (sha !== undefined) return sha;
    }
    const dirty = await this.dirtyPaths(cwd, false, chosen);
    const only = chosen.filter((p) => dirty.some((d) => d === p || d.startsWith(`${p}/`)));
    if (only.length === 0) return null;
    await this.git.run(['add', '--all', ...PATHSPECS_ON_STDIN], { cwd, env: LITERAL_PATHSPECS, input: nulList(only) });
    const sha = await this.commitStaged(cwd, text, env, only);
    if (sha === undefined) throw gitFailed('git commit --only', 'a path with changes is unknown to git', 'Check the worktree with `git status`; fix what git says and try again.');
    return sha;
  }

  /**
   * `git commit` of what is staged (`only`: of those paths alone, `--only`). The sha, null when there
   * was nothing to commit, undefined when `commit --only` named a path git does not know.
   */
  private async commitStaged(cwd: string, text: string, identity: Record<string, string>, only: readonly string[] | null): Promise<string | null | undefined> {
    // Exit 1 with "nothing to commit" (LC_ALL=C) is the answer "no change", saving a `diff --cached`
    // spawn; hooks are off and the message is not empty, so nothing else makes commit exit 1 but a
    // pathspec it does not know. The summary line "[branch <sha>] subject" (full sha with
    // core.abbrev=40) saves a `rev-parse HEAD`.
    // The message is an argument (stdin carries the pathspecs, as arguments they could pass the
    // system's limit: spawn E2BIG); git's -m keeps it as it is under --cleanup=verbatim.
    const done = await this.git.run(['-c', 'core.abbrev=40', 'commit', '--no-verify', '--cleanup=verbatim', `--message=${text}`, ...(only ? ['--only', ...PATHSPECS_ON_STDIN] : [])], {
      cwd,
      ...(only ? { input: nulList(only) } : {}),
      okCodes: [0, 1],
      env: { ...identity, ...(only ? LITERAL_PATHSPECS : {}) },
    });
    const said = done.stdout.toString('utf8');
    if (done.code === 1) {
      if (/nothing( added)? to commit|no changes added to commit/.test(said)) return null;
      if (only && /did not match any file\(s\) known to git/.test(done.stderr)) return undefined;
      throw gitFailed('git commit', done.stderr || said.slice(-2048), 'Check the worktree with `git status`; fix what git says and try again.');
    }
    return /^\[[^\]\n]*?\b([0-9a-f]{40}|[0-9a-f]{64})\]/m.exec(said)?.[1] ?? this.git.text(['rev-parse', 'HEAD'], { cwd });
  }

  /**
   * The newest commit of the worktree's branch (of `to` when given; only `since..HEAD` or
   * `since..to` when `since` is given) whose trailers include every key/value given (keys compared
   * case-insensitively, values exactly); null when there is none. For crash recovery: an attempt
   * found here was committed already. Throws invalid_input for a revision starting with '-'.
   */
  async findCommit(request: { worktree: string; trailers: Record<string, string>; since?: string; to?: string }): Promise<string | null> {
    const to = request.to ?? 'HEAD';
    if (to.startsWith('-') || request.since?.startsWith('-')) throw invalidInput(`'${to.startsWith('-') ? to : request.since}' is not a commit.`, 'Give a commit sha.');
    const wanted = Object.entries(request.trailers).map(([k, v]) => [k.toLowerCase(), v.trim()] as const);
    // A cheap prefilter (substrings, any case); the exact comparison follows on the parsed trailers.
    const greps = Object.entries(request.trailers).map(([k, v]) => `--grep=${k}: ${v.trim()}`);
    const range = request.since ? `${request.since}..${to}` : to;
    const { stdout } = await this.git.run(['log', '-z', '--format=%H%n%(trailers:only=true,unfold=true)', '--fixed-strings', '--regexp-ignore-case', '--all-match', ...greps, range, '--'], {
      cwd: request.worktree,
    });
    for (const record of nulFields(stdout)) {
      const [sha, ...lines] = record.split('\n');
      const have = lines
        .map((line) => {
          const at = line.indexOf(':');
          return at < 0 ? null : ([line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()] as const);
        })
        .filter((t): t is readonly [string, string] => t !== null);
      if (wanted.every(([k, v]) => have.some(([hk, hv]) => hk === k && hv === v))) return sha!;
    }
    return null;
  }

  /**
   * What changed from `from` to `to` (default HEAD): per-file status and line counts (renames are a
   * deletion plus an addition; binary files count 0/0 with binary: true), and the unified patch cut
   * at `maxPatchBytes` (default 64 KiB) on a UTF-8 boundary.
   */
  async diff(request: { worktree: string; from: string; to?: string; maxPatchBytes?: number }): Promise<ChangesDiff> {
    const cwd = request.worktree;
    const to = request.to ?? 'HEAD';
    const range = [request.from, to, '--'];
    const common = ['--no-renames', '--no-ext-diff', '--no-textconv', '--no-color', '--ignore-submodules=none'];
    const max = request.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES;
    // One spawn: raw + numstat records (NUL-terminated), an empty field, then the patch. The stats
    // come first, so the cap leaves them room; a diff whose stats alone pass it takes two spawns.
    const room = 8 * 1024 * 1024;
    const both = await this.git.run(['diff', '--raw', '--numstat', '--patch', '-z', ...common, ...range], { cwd, maxStdoutBytes: room + max + 4 });
    const split = both.stdout.indexOf('\0\0');
    if (both.stdout.length === 0 || split >= 0) {
      const statsEnd = both.stdout.length === 0 ? 0 : split + 2;
      const patch = both.stdout.subarray(statsEnd);
      const patchBytes = both.stdoutBytes - statsEnd;
      return { files: parseRawNumstat(both.stdout.subarray(0, statsEnd)), patch: headText(patch, max), patchTruncated: patchBytes > max, patchBytes };
    }
    const stats = await this.git.run(['diff', '--raw', '--numstat', '-z', ...common, ...range], { cwd });
    const patch = await this.git.run(['diff', '--patch', ...common, ...range], { cwd, maxStdoutBytes: max + 4 });
    return { files: parseRawNumstat(stats.stdout), patch: headText(patch.stdout, max), patchTruncated: patch.stdoutBytes > max, patchBytes: patch.stdoutBytes };
  }

  /**
   * Puts the worktree back at `commit` (default HEAD; the branch moves there too): tracked files
   * reset, untracked files and folders removed (`git clean -ffd`), ignored ones kept (the linked
   * dependency folders, build output). First, commands that runInWorktree recorded as running there
   * are killed (a process killed with -9 leaves its check running, writing into the worktree), and a
   * stale index.lock of this worktree (a git killed mid-command) is removed: call this only while
   * nothing else works in the worktree (planexec holds the workflow's lock).
   */
  /** The absolute git dir of a worktree or repository top, asked of git once per path (it never changes while the folder lives). */
  private async gitDirOf(top: string): Promise<string> {
    const known = this.gitDirs.get(top);
    if (known !== undefined) return known;
    const gitDir = await this.git.text(['rev-parse', '--absolute-git-dir'], { cwd: top });
    this.gitDirs.set(top, gitDir);
    return gitDir;
  }

  async resetHard(request: { worktree: string; commit?: string }): Promise<void> {
    const cwd = request.worktree;
    const gitDir = await this.gitDirOf(cwd);
    await killRecordedGroups(join(gitDir, RUNNING_DIR));
    await rm(join(gitDir, 'index.lock'), { force: true });
    const target = await this.resolveCommit(cwd, request.commit ?? 'HEAD');
    await this.git.run(['reset', '--hard', '--quiet', target, '--'], { cwd });
    await this.git.run(['clean', '-ffdq', '--', '.'], { cwd });
  }

  /**
   * The commit HEAD points at (null before the first commit) and the paths with staged, unstaged or
   * untracked changes (not ignored ones; clean when there are none), from one `git status
   * --porcelain=v2 --branch` (the crash check before every apply: one spawn instead of two).
   * Format: git-status(1), "Porcelain Format Version 2".
   */
  async status(worktree: string): Promise<{ clean: boolean; paths: string[]; tracked: string[]; head: string | null }> {
    const args = ['status', '--porcelain=v2', '--branch', '--no-ahead-behind', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=none'];
    const { stdout } = await this.git.run(args, { cwd: worktree });
    let head: string | null = null;
    const paths: string[] = [];
    const tracked: string[] = [];
    for (const entry of nulFields(stdout)) {
      if (entry.startsWith('# branch.oid ')) {
        const oid = entry.slice('# branch.oid '.length);
        head = oid === '(initial)' ? null : oid;
      } else if (!entry.startsWith('#')) {
        const path = porcelainV2Path(entry);
        paths.push(path);
        if (entry[0] !== '?' && entry[0] !== '!') tracked.push(path);
      }
    }
    return { clean: paths.length === 0, paths, tracked, head };
  }

  /**
   * Brings `branch` into the root's current branch: a fast-forward when the branch is ahead, else a
   * merge commit (tree from `git merge-tree --write-tree`, made without touching any working tree,
   * then fast-forwarded to), with `message` (default "Merge branch '<branch>'") and the user's git
   * identity (PLANEXEC_IDENTITY when git has none). The user's uncommitted changes to other files are
   * kept. Refuses, changing nothing, when the root is on a detached HEAD, in the middle of a merge,
   * rebase, cherry-pick, revert or bisect, when its uncommitted (staged, unstaged or untracked)
   * changes touch files the merge would change, when the merge conflicts (paths named), when the
   * histories are unrelated, or when the root's branch moved while merging. Throws not_found when the
   * branch does not exist, git_failed when git fails (nothing is left half-merged). With `commit`
   * (a sha), that commit is merged instead of what `branch` points at now (`branch` still names it in
   * messages and must not be the root's checked-out branch); not_found when it is not a commit.
   */
  async merge(request: { root: string; branch: string; commit?: string; message?: string }): Promise<MergeResult> {
    const top = await this.topLevel(request.root);
    const { branch } = request;
    const ref = `refs/heads/${branch}`;
    const refused = (reason: Extract<MergeResult, { kind: 'refused' }>['reason'], paths: string[], message: string, hint: string): MergeResult => ({
      kind: 'refused',
      reason,
      paths,
      message,
      hint,
    });

    const gitDir = await this.gitDirOf(top);
    const busy = [
      ['MERGE_HEAD', 'a merge', 'git merge --abort'],
      ['rebase-merge', 'a rebase', 'git rebase --abort'],
      ['rebase-apply', 'a rebase or git am', 'git rebase --abort (or git am --abort)'],
      ['CHERRY_PICK_HEAD', 'a cherry-pick', 'git cherry-pick --abort'],
      ['REVERT_HEAD', 'a revert', 'git revert --abort'],
      ['BISECT_LOG', 'a bisect', 'git bisect reset'],
    ].find(([file]) => existsSync(join(gitDir, file!)));
    if (busy) {
      return refused('operation_in_progress', [], `The repository at ${top} is in the middle of ${busy[1]}.`, `Finish it or abort it (${busy[2]}), then call merge_changes again.`);
    }
    const current = await this.git.run(['symbolic-ref', '-q', 'HEAD'], { cwd: top, okCodes: [0, 1] });
    if (current.code !== 0) {
      return refused('detached_head', [], `The repository at ${top} is on a detached HEAD, so there is no branch to merge into.`, 'Check out the branch to merge into (git switch main), then call merge_changes again.');
    }
    const currentRef = current.stdout.toString('utf8').trim();
    if (request.commit?.startsWith('-')) throw invalidInput(`'${request.commit}' is not a commit.`, 'Give a commit sha.');
    const theirsOut = await this.git.run(['rev-parse', '--verify', '-q', `${request.commit ?? ref}^{commit}`], { cwd: top, okCodes: [0, 1] });
    if (theirsOut.code !== 0) throw notFound('Branch', branch, 'The workflow has no branch to merge (it was discarded, or changes were off).');
    const theirs = theirsOut.stdout.toString('utf8').trim();
    const ours = await this.head(top);
    if (currentRef === ref) {
      return refused('branch_checked_out', [], `The repository at ${top} has ${branch} itself checked out.`, 'Switch to the branch to merge into (git switch main), then call merge_changes again.');
    }
    if (await this.isAncestor(top, theirs, ours)) return { kind: 'up_to_date', head: ours };

    let mode: 'fast-forward' | 'merge-commit';
    let targetTree: string;
    if (await this.isAncestor(top, ours, theirs)) {
      mode = 'fast-forward';
      targetTree = theirs;
    } else {
      mode = 'merge-commit';
      const base = await this.git.run(['merge-base', ours, theirs], { cwd: top, okCodes: [0, 1] });
      if (base.code !== 0) {
        return refused('unrelated_histories', [], `${branch} and ${currentRef.replace('refs/heads/', '')} share no history.`, 'Merge by hand if this is meant (git merge --allow-unrelated-histories), or discard the changes.');
      }
      const tree = await this.git.run(['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages', ours, theirs], {
        cwd: top,
        okCodes: [0, 1],
        hint: 'planexec needs git 2.38 or newer to make a merge commit; upgrade git, or merge by hand (git merge <branch>).',
      });
      const [treeId, ...conflicted] = nulFields(tree.stdout);
      if (tree.code === 1) {
        const paths = [...new Set(conflicted)].sort();
        return refused('conflict', paths, `Merging ${branch} conflicts in ${listPaths(paths)}.`, `Nothing was changed. Resolve by hand (git merge ${branch}), or revise the workflow so its changes do not collide, then merge again.`);
      }
      targetTree = treeId!;
    }

    const changed = nulFields((await this.git.run(['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff', ours, targetTree, '--'], { cwd: top })).stdout);
    const dirty = await this.dirtyPaths(top, true);
    const overlap = [...new Set(dirty.filter((d) => changed.some((c) => overlaps(c, d))))].sort();
    if (overlap.length) {
      return refused('dirty_overlap', overlap, `Your uncommitted changes touch files the merge would change: ${listPaths(overlap)}.`, 'Commit or stash them (git stash), then call merge_changes again; nothing was changed.');
    }

    let target = theirs;
    if (mode === 'merge-commit') {
      const ident = await this.git.run(['var', 'GIT_COMMITTER_IDENT'], { cwd: top, okCodes: [0, 128] });
      const env = ident.code === 0 ? {} : identityEnv(PLANEXEC_IDENTITY);
      const message = (request.message ?? `Merge branch '${branch}'`).replace(/\s+$/, '');
      target = await this.git.text(['commit-tree', targetTree, '-p', ours, '-p', theirs, '-F', '-'], { cwd: top, input: `${message}\n`, env });
    }

    const ff = await this.git.run(['merge', '--ff-only', '--quiet', '--no-overwrite-ignore', '--no-edit', target], {
      cwd: top,
      okCodes: [0, 1, 128],
      env: { GIT_REFLOG_ACTION: `planexec merge ${branch}` },
    });
    if (ff.code !== 0) {
      if (existsSync(join(gitDir, 'MERGE_HEAD'))) await this.git.run(['merge', '--abort'], { cwd: top, okCodes: [0, 128] });
      const now = await this.head(top);
      if (now !== ours) {
        return refused('root_moved', [], `${currentRef.replace('refs/heads/', '')} moved while merging.`, 'Nothing was merged; call merge_changes again.');
      }
      throw gitFailed(`git merge --ff-only ${target}`, ff.stderr, 'Nothing was merged. Fix what git says (often a file in the way), then call merge_changes again.');
    }
    return { kind: 'merged', mode, previousHead: ours, head: target, files: changed.sort() };
  }

  /**
   * Removes the worktree (even with uncommitted changes; linked dependency folders are removed as
   * links, their targets untouched; commands runInWorktree recorded as running there are killed
   * first) and deletes the branch. Idempotent: what is already gone counts
   * as done. Throws git_failed when the branch is checked out in the root (switch away first), and
   * when `worktree` is a folder that is not a worktree of this repository (it is left alone).
   */
  async discard(request: { root: string; worktree: string; branch: string }): Promise<{ removedWorktree: boolean; deletedBranch: boolean }> {
    const top = await this.topLevel(request.root);
    const path = resolve(request.worktree);
    const ref = `refs/heads/${request.branch}`;
    this.gitDirs.delete(path);
    let removedWorktree = false;
    const entry = await this.findEntry(await this.worktrees(top), path);
    if (entry && !entry.prunable) {
      // A check that a process killed with -9 left running there would go on in a folder that is gone.
      const gitDir = await this.git.run(['rev-parse', '--absolute-git-dir'], { cwd: entry.path, okCodes: [0, 128] });
      if (gitDir.code === 0) await killRecordedGroups(join(gitDir.stdout.toString('utf8').trim(), RUNNING_DIR));
      const removed = await this.git.run(['worktree', 'remove', '--force', '--force', '--', entry.path], { cwd: top, okCodes: [0, 128] });
      // git refuses some worktrees (with submodules): remove the folder ourselves. fs.rm does not
      // follow symlinks, so linked dependency folders lose only the link.
      if (removed.code !== 0) await rm(entry.path, { recursive: true, force: true });
      removedWorktree = true;
    } else if (existsSync(path)) {
      if (await this.isLeftoverWorktree(top, path)) {
        await rm(path, { recursive: true, force: true });
        removedWorktree = true;
      } else {
        throw gitFailed('git worktree remove', `${path} is not a worktree of ${top}`, 'It was left untouched; remove it yourself if it is not needed.');
      }
    }
    await this.git.run(['worktree', 'prune'], { cwd: top });

    let deletedBranch = false;
    if ((await this.git.run(['rev-parse', '--verify', '-q', ref], { cwd: top, okCodes: [0, 1] })).code === 0) {
      await this.git.run(['branch', '-D', '--', request.branch], {
        cwd: top,
        hint: `Switch every checkout of ${request.branch} to another branch (git switch main), then discard again.`,
      });
      deletedBranch = true;
    }
    return { removedWorktree, deletedBranch };
  }

  /** The common info/exclude file of the repository the worktree belongs to. */
  private async infoExclude(worktree: string): Promise<string> {
    const rel = await this.git.text(['rev-parse', '--git-path', 'info/exclude'], { cwd: worktree });
    return resolve(worktree, rel);
  }

  private async resolveCommit(cwd: string, rev: string): Promise<string> {
    if (!rev || rev.startsWith('-')) throw invalidInput(`'${rev}' is not a commit.`, 'Give a commit sha or a branch name.');
    const out = await this.git.run(['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`], { cwd, okCodes: [0, 1] });
    if (out.code !== 0) throw gitFailed(`git rev-parse --verify ${rev}`, `${rev} is not a commit of this repository`, 'Give a commit that exists in the repository.');
    return out.stdout.toString('utf8').trim();
  }

  /**
   * True when commit `maybeAncestor` is `of` or one of its ancestors; false when it is not, or is
   * not a commit of the repository at `cwd`. Throws invalid_input for a revision starting with '-'.
   */
  async isAncestor(cwd: string, maybeAncestor: string, of: string): Promise<boolean> {
    if (maybeAncestor.startsWith('-') || of.startsWith('-')) throw invalidInput(`'${maybeAncestor.startsWith('-') ? maybeAncestor : of}' is not a commit.`, 'Give a commit sha.');
    return (await this.git.run(['merge-base', '--is-ancestor', maybeAncestor, of], { cwd, okCodes: [0, 1, 128] })).code === 0;
  }

  /**
   * True when `ancestor` (a full sha) is `of` or on its first-parent chain; false when it is not, or
   * is not a commit there. One git call: `rev-list --first-parent --parents ancestor..of` lists `of`'s
   * first-parent chain down to the first commit `ancestor` reaches; `ancestor` is on the chain
   * exactly when one listed commit has it as first parent. Throws invalid_input for a revision
   * starting with '-'.
   */
  async onFirstParentChain(cwd: string, ancestor: string, of: string): Promise<boolean> {
    if (ancestor.startsWith('-') || of.startsWith('-')) throw invalidInput(`'${ancestor.startsWith('-') ? ancestor : of}' is not a commit.`, 'Give a commit sha.');
    if (ancestor === of) return this.isAncestor(cwd, ancestor, of);
    const out = await this.git.run(['rev-list', '--first-parent', '--parents', `${ancestor}..${of}`, '--'], { cwd, okCodes: [0, 128] });
    if (out.code !== 0) return false;
    return out.stdout.toString('utf8').split('\n').some((line) => line.split(' ')[1] === ancestor);
  }

  /**
   * Paths git status reports (staged, unstaged, untracked one by one; not ignored), relative to the
   * top level; only under `literal` (literal pathspecs, relative to `cwd`) when given.
   */
  private async dirtyPaths(cwd: string, optionalLocks: boolean, literal?: readonly string[]): Promise<string[]> {
    const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=none'];
    // status takes no pathspecs on stdin: the whole worktree's status, filtered here, so that any
    // number of paths fits (as arguments they could pass ARG_MAX).
    const { stdout } = await this.git.run(args, {
      cwd,
      // In the user's root, do not take index.lock just to refresh stat data (their git may be busy).
      ...(optionalLocks ? { env: { GIT_OPTIONAL_LOCKS: '0' } } : {}),
    });
    const paths = nulFields(stdout).map((entry) => entry.slice(3));
    return literal ? paths.filter((p) => literal.some((l) => p === l || p.startsWith(`${l}/`))) : paths;
  }

  private async worktrees(top: string): Promise<WorktreeEntry[]> {
    const { stdout } = await this.git.run(['worktree', 'list', '--porcelain', '-z'], { cwd: top });
    const entries: WorktreeEntry[] = [];
    let current: WorktreeEntry | null = null;
    for (const field of stdout.toString('utf8').split('\0')) {
      if (field === '') {
        if (current) entries.push(current);
        current = null;
      } else if (field.startsWith('worktree ')) {
        current = { path: field.slice('worktree '.length), head: null, branch: null, prunable: false };
      } else if (current && field.startsWith('HEAD ')) current.head = field.slice(5);
      else if (current && field.startsWith('branch ')) current.branch = field.slice(7);
      else if (current && (field === 'prunable' || field.startsWith('prunable '))) current.prunable = true;
    }
    if (current) entries.push(current);
    return entries;
  }

  private async findEntry(entries: WorktreeEntry[], path: string): Promise<WorktreeEntry | undefined> {
    const want = await realpath(path).catch(() => path);
    for (const entry of entries) {
      if (entry.path === path || entry.path === want || (await realpath(entry.path).catch(() => entry.path)) === want) return entry;
    }
    return undefined;
  }

  /** A folder whose .git file points into this repository's worktrees folder, or an empty folder. */
  private async isLeftoverWorktree(top: string, path: string): Promise<boolean> {
    const names = await readdir(path).catch(() => null);
    if (names === null) return false;
    if (names.length === 0) return true;
    const dotGit = join(path, '.git');
    const info = await lstat(dotGit).catch(() => null);
    if (!info?.isFile()) return false;
    const pointer = (await readFile(dotGit, 'utf8')).match(/^gitdir: (.+)$/m)?.[1]?.trim();
    const common = await this.git.text(['rev-parse', '--git-common-dir'], { cwd: top });
    const worktreesDir = await realpath(resolve(top, common, 'worktrees')).catch(() => resolve(top, common, 'worktrees'));
    return pointer !== undefined && resolve(path, pointer).startsWith(`${worktreesDir}/`);
  }
}

/** Parses `git diff --raw --numstat -z --no-renames` output into FileChange rows, in git's order. */
export function parseRawNumstat(out: Buffer): FileChange[] {
  const fields = out.toString('utf8').split('\0');
  const status = new Map<string, FileChange['status']>();
  const order: string[] = [];
  const counts = new Map<string, { insertions: number; deletions: number; binary: boolean }>();
  for (let i = 0; i < fields.length; i += 1) {
    const field = fields[i]!;
    if (!field) continue;
    if (field.startsWith(':')) {
      const letter = field.trim().split(' ').pop()!.charAt(0);
      const path = fields[i + 1] ?? '';
      i += 1;
      status.set(path, letter === 'A' ? 'added' : letter === 'D' ? 'deleted' : 'modified');
      order.push(path);
    } else {
      const [ins, del, ...rest] = field.split('\t');
      const path = rest.join('\t');
      const binary = ins === '-' && del === '-';
      counts.set(path, { insertions: binary ? 0 : Number(ins), deletions: binary ? 0 : Number(del), binary });
    }
  }
  return order.map((path) => ({ path, status: status.get(path)!, ...(counts.get(path) ?? { insertions: 0, deletions: 0, binary: false }) }));
}
