// Spawns git: arguments as an array, no shell, no pager, no prompt, no editor, no hooks, a scrubbed
// environment, and the few settings that would change what planexec parses or commits overridden on
// the command line. The user's global and system git config is otherwise read as usual (identity,
// excludes, safe.directory, autocrlf): planexec's commits should look like the user's git would make them.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { gitFailed } from '../../core/errors.js';
import { DEFAULT_KILL_GRACE_MS, scrubEnv, signalGroup } from '../process/run-command.js';

/**
 * `-c` settings put before every git command, and why:
 * - core.hooksPath=/dev/null: the user's hooks do not run on planexec's commits, worktree checkouts
 *   or merges. A pre-commit hook (husky, lint-staged) would add seconds to every attempt against the
 *   50 ms overhead target, could rewrite or refuse model output after the checks passed, and would
 *   run in a worktree it was not written for; the configured checks are what verifies an attempt.
 * - commit.gpgSign=false: signing may prompt (pinentry) and hang a headless server.
 * - core.fsmonitor=false: would start a filesystem-monitor daemon per worktree and leave it running.
 * - maintenance.auto=false: `git commit` and `git merge` would otherwise spawn `git maintenance run
 *   --auto` each time (measured: ~10 ms of a ~20 ms commit); the user's own next git command still
 *   runs it, so the repository is maintained as before.
 * - core.quotePath=false, color.ui=false, diff.noprefix=false, diff.mnemonicPrefix=false,
 *   diff.relative=false, log.showSignature=false: output stays in the shape the parsers expect.
 * Behaviour flags that config could change (renames, untracked files, fast-forward) are passed
 * explicitly by each command instead.
 */
export const GIT_CONFIG_OVERRIDES: readonly string[] = [
  'core.hooksPath=/dev/null',
  'commit.gpgSign=false',
  'core.fsmonitor=false',
  'maintenance.auto=false',
  'core.quotePath=false',
  'color.ui=false',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.relative=false',
  'log.showSignature=false',
];

/** How one git command runs (GitExec.run). */
export interface GitRunOptions {
  /** Directory git runs in (`git -C`). */
  cwd: string;
  /** Exit codes that are answers, not failures (e.g. 1 for `diff --quiet`); default [0]. */
  okCodes?: readonly number[];
  /** Written to git's stdin. */
  input?: string;
  /** Keep at most this many bytes of stdout (the start); the rest is counted. Default 64 MiB. */
  maxStdoutBytes?: number;
  /** Extra environment for this command (identity, GIT_OPTIONAL_LOCKS, GIT_REFLOG_ACTION). */
  env?: Record<string, string>;
  /** What the user can do when the command fails; default: a generic hint. */
  hint?: string;
}

/** What one git command gave back (GitExec.run). stdoutBytes: bytes of stdout in all, kept or not. */
export interface GitOutput {
  code: number;
  stdout: Buffer;
  /** stdout was cut at maxStdoutBytes. */
  truncated: boolean;
  stdoutBytes: number;
  /** The last 2 KB of stderr. */
  stderr: string;
}

/** Runs git commands with one base environment (see GIT_CONFIG_OVERRIDES for the settings it forces). */
export class GitExec {
  private readonly env: Record<string, string>;
  /** Values of the variables scrubEnv removed, masked in any stderr we pass on. */
  private readonly secrets: string[];

  /**
   * @param baseEnv environment git starts from (scrubbed with scrubEnv): production passes
   *   process.env; tests pass one with GIT_CONFIG_GLOBAL=/dev/null and GIT_CONFIG_NOSYSTEM=1.
   * @param timeoutMs a git command still running after this many ms gets SIGTERM, with its whole
   *   process group (git removes its lock files on SIGTERM), SIGKILL 2 s later, and the call fails
   *   with git_failed.
   */
  constructor(
    baseEnv: Record<string, string | undefined>,
    private readonly timeoutMs: number,
    private readonly binary = 'git',
  ) {
    const kept = scrubEnv(baseEnv);
    this.secrets = Object.entries(baseEnv)
      .filter(([name, value]) => value !== undefined && value.length >= 8 && !(name in kept))
      .map(([, value]) => value!);
    this.env = {
      ...kept,
      GIT_TERMINAL_PROMPT: '0',
      GCM_INTERACTIVE: 'never',
      GIT_PAGER: 'cat',
      PAGER: 'cat',
      GIT_EDITOR: 'true',
      GIT_SEQUENCE_EDITOR: 'true',
      // Messages in English so that the few we read (and the ones we show) are the same everywhere.
      LC_ALL: 'C',
      LANGUAGE: 'C',
    };
  }

  /**
   * Runs `git -c ... <args>` in `opts.cwd`. Resolves when git exits with a code in okCodes; throws
   * PlanexecError('git_failed') naming the command and the end of its stderr otherwise, or when git
   * cannot be started (details.reason 'missing_folder' when `cwd` is not there: not a missing git),
   * or at the timeout.
   */
  run(args: readonly string[], opts: GitRunOptions): Promise<GitOutput> {
    const full = [...GIT_CONFIG_OVERRIDES.flatMap((c) => ['-c', c]), ...args];
    const shown = `git ${args.join(' ')}`;
    const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
    const okCodes = opts.okCodes ?? [0];
    const hint = opts.hint ?? 'Check the repository with `git status` in that folder; fix what git says and try again.';
    return new Promise<GitOutput>((resolve, reject) => {
      // Its own process group, so that a timeout ends what git started too (helpers, remote transports).
      const child = spawn(this.binary, full, {
        cwd: opts.cwd,
        env: opts.env ? { ...this.env, ...opts.env } : this.env,
        shell: false,
        detached: true,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      const out: Buffer[] = [];
      let kept = 0;
      let total = 0;
      let stderr = '';
      let timedOut = false;
      child.stdout!.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (kept < max) {
          const part = kept + chunk.length > max ? chunk.subarray(0, max - kept) : chunk;
          out.push(part);
          kept += part.length;
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-4096);
      });
      if (opts.input !== undefined && child.stdin) {
        child.stdin.on('error', () => {});
        child.stdin.end(opts.input);
      }
      let hardKill: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        // SIGTERM first: git removes its lock files on it. SIGKILL the group if it lingers.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGTERM');
        hardKill = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), DEFAULT_KILL_GRACE_MS);
        hardKill.unref();
      }, this.timeoutMs);
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // spawn says ENOENT for a missing working folder as for a missing program: tell them apart.
        if ((error.code === 'ENOENT' || error.code === 'ENOTDIR') && !isFolder(opts.cwd)) {
          reject(
            gitFailed(shown, `the folder ${opts.cwd} does not exist (or is not a folder)`, 'It was removed or moved: restore it, or check the folders planexec was given (PLANEXEC_ROOT, PLANEXEC_WORKTREES).', {
              reason: 'missing_folder',
              cwd: opts.cwd,
            }),
          );
          return;
        }
        reject(
          gitFailed(shown, error.code === 'ENOENT' ? `${this.binary} is not installed or not on PATH` : error.message, 'Install git (2.38 or newer) and make sure it is on the PATH of the planexec server, or set PLANEXEC_CHANGES=off.'),
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        clearTimeout(hardKill);
        stderr = this.redact(stderr).slice(-2048);
        if (timedOut) return reject(gitFailed(shown, `timed out after ${this.timeoutMs} ms`, 'The repository may be very large or locked by another git process; try again, or set PLANEXEC_CHANGES=off.'));
        if (code !== null && okCodes.includes(code)) {
          resolve({ code, stdout: Buffer.concat(out), truncated: total > kept, stdoutBytes: total, stderr });
        } else {
          reject(gitFailed(shown, stderr || `exit code ${code}`, hint, { exitCode: code, cwd: opts.cwd }));
        }
      });
    });
  }

  /** Masks secret values and URL credentials (scheme://user:password@host) in git's messages. */
  redact(text: string): string {
    let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1[redacted]@');
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** run() and the stdout as text without the final newline. Same errors. */
  async text(args: readonly string[], opts: GitRunOptions): Promise<string> {
    const { stdout } = await this.run(args, opts);
    return stdout.toString('utf8').replace(/\n$/, '');
  }
}

/** `path` is a folder now (a spawn error path only: a synchronous stat is fine there). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Splits NUL-separated output (`-z`) into its non-empty fields. */
export function nulFields(out: Buffer | string): string[] {
  return (typeof out === 'string' ? out : out.toString('utf8')).split('\0').filter((f) => f.length > 0);
}
