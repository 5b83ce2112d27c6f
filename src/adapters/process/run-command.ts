// Runs one command the way checks and the worktree setup command run: no shell, its own process
// group, a scrubbed environment, a bounded output tail, and the whole group killed at the timeout,
// on cancel, and when the server exits.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { invalidInput } from '../../core/errors.js';
import type { CheckRunner, CommandRequest, CommandResult } from '../../core/changes-ports.js';
import { findProgram } from './find-program.js';
import { hostIdentity } from '../system.js';

/** Re-exported for the adapters that run commands (the type is the port's, src/core/changes-ports.ts). */
export type { CommandResult } from '../../core/changes-ports.js';

/** Options of runCommand: a CommandRequest plus what only an adapter may set. */
export interface RunCommandOptions extends CommandRequest {
  /** The environment to start from (default process.env); scrubEnv is applied to it in every case. */
  env?: Record<string, string | undefined>;
  /**
   * Variables set after scrubbing: only a provider's own credential for its own CLI (the Codex CLI's
   * CODEX_ACCESS_TOKEN), never for checks or git.
   */
  passEnv?: Record<string, string>;
  /** Milliseconds between SIGTERM and SIGKILL of the group on timeout or cancel; default 2000. */
  killGraceMs?: number;
  /** Called with the pid (= the process group id) right after the spawn; lets a caller record it. */
  onSpawn?: (pid: number) => void;
  /**
   * Called with every chunk of output as it arrives, stream by stream (the tail merges them): for a
   * caller that reads a protocol on stdout (the Codex CLI's JSONL events) and keeps stderr apart.
   */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /**
   * While the command runs, this file holds {pid, startTime, host} of its process group, so that a
   * process started after this one died (kill -9 leaves the group running: it is not our child's
   * session) can end it with killRecordedGroups. Written right after the spawn (folders made as
   * needed), removed when the command has ended.
   */
  pidFile?: string;
  /**
   * Arguments put before `argv`: a wrapper that runs the command in a sandbox (CheckSandbox.prefix,
   * check-sandbox.ts), which must exec the command in the same process group and exit with its
   * status. The program of `argv` is looked up first (PATH of the child's environment, or `cwd` for
   * a path), so that a missing one is reported as without a wrapper.
   */
  sandbox?: readonly string[];
}

/** What a pid file holds. startTime: field 22 of /proc/<pid>/stat (Linux), else null; host: hostIdentity() of the recording process. */
interface GroupRecord {
  pid: number;
  startTime: string | null;
  host: string;
}

/** Fields 3.. of /proc/<pid>/stat (Linux), or null when there is no such process or no /proc. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields 3.. follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The start time of a process in clock ticks since boot (field 22), or null when unknown. */
function startTimeOf(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** Whether the process runs (a zombie, which init may never reap in a container, does not). */
function runsStill(pid: number): boolean {
  const stat = procStat(pid);
  return stat === null ? groupAlive(pid) : stat[0] !== 'Z';
}

/**
 * Ends (SIGKILL) the process groups recorded in `dir` by runCommand's pidFile option, and removes
 * their records; resolves with how many groups were signalled. A record is trusted only when it is
 * from this host and its group is still the one recorded: on Linux the leader's start time must
 * match (a reused pid is left alone); when the leader is gone but the group has members left, the
 * group id cannot have been reused, so it is killed. Elsewhere (no /proc) a live group is killed.
 * Records of other hosts are left in place. Waits up to `waitMs` (default 2000) for the group
 * leaders to be gone.
 */
export async function killRecordedGroups(dir: string, waitMs = 2000): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names.filter((n) => n.endsWith('.tmp'))) rmSync(join(dir, name), { force: true });
  names = names.filter((n) => n.endsWith('.json'));
  const killed: number[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let record: GroupRecord | null = null;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as GroupRecord;
    } catch {
      record = null; // unreadable: nothing to trust
    }
    if (record && record.host !== hostIdentity()) continue;
    if (record && Number.isInteger(record.pid) && record.pid > 1) {
      const now = startTimeOf(record.pid);
      const same = now === null ? groupAlive(record.pid) : record.startTime === null || now === record.startTime;
      if (same && signalGroup(record.pid, 'SIGKILL')) killed.push(record.pid);
    }
    rmSync(file, { force: true });
  }
  const until = performance.now() + waitMs;
  while (killed.some(runsStill) && performance.now() < until) await sleep(25);
  return killed.length;
}

/** Bytes of output kept when the request names no tailBytes: the end of a test run's output, where failures are summarised. */
export const DEFAULT_TAIL_BYTES = 4096;
/** ms between SIGTERM and SIGKILL of a group: time to remove lock files and flush, short enough not to stall a cancel. */
export const DEFAULT_KILL_GRACE_MS = 2000;

/**
 * What scrubEnv removes, for the docs and the report. A check runs code the executor model just wrote
 * (tests included), so whatever its environment holds is readable by model-written code: secrets go,
 * and so do variables that would point a child git or planexec at something other than the worktree.
 */
export const SCRUBBED_ENV: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /^OPENAI_/i, why: 'OpenAI key, base URL, organisation, project' },
  { pattern: /^ANTHROPIC_/i, why: 'Anthropic key and settings' },
  { pattern: /^AZURE_OPENAI_/i, why: 'Azure OpenAI key and endpoint' },
  { pattern: /^CODEX_API_KEY$/i, why: 'Codex CLI key' },
  { pattern: /^PLANEXEC_/i, why: "planexec's own settings and keys: a child planexec (e.g. its own test suite as a check) must not use the server's database, worktrees or keys" },
  { pattern: /_(API_?KEY|API_?TOKEN|ACCESS_?KEY|SECRET_?KEY|PRIVATE_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIALS)$/i, why: 'provider and service secrets: GEMINI_API_KEY, GITHUB_TOKEN, NPM_TOKEN, NODE_AUTH_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, HF_TOKEN, GOOGLE_APPLICATION_CREDENTIALS, ...' },
  { pattern: /^(GH_TOKEN|GITHUB_TOKEN|GITLAB_TOKEN|HF_TOKEN|NPM_TOKEN)$/i, why: 'the commonest tokens, named in case a future pattern change misses them' },
  { pattern: /^SSH_AUTH_SOCK$/, why: "the user's SSH agent would let a check use their SSH keys; checks have no reason to push or fetch" },
  {
    pattern: /^(GIT_DIR|GIT_WORK_TREE|GIT_INDEX_FILE|GIT_OBJECT_DIRECTORY|GIT_ALTERNATE_OBJECT_DIRECTORIES|GIT_COMMON_DIR|GIT_CONFIG|GIT_CONFIG_PARAMETERS|GIT_CONFIG_COUNT|GIT_CONFIG_KEY_\d+|GIT_CONFIG_VALUE_\d+|GIT_IMPLICIT_WORK_TREE|GIT_GRAFT_FILE|GIT_NO_REPLACE_OBJECTS|GIT_REPLACE_REF_BASE|GIT_PREFIX|GIT_INTERNAL_SUPER_PREFIX|GIT_SHALLOW_FILE|GIT_NAMESPACE)$/,
    why: "git's repository-locating variables (`git rev-parse --local-env-vars`): a git run by a check (or by planexec) must see the worktree it runs in, not the repository the server was started from",
  },
];

/**
 * A copy of `env` without the variables SCRUBBED_ENV lists and without undefined values. Pure.
 * Variable names are matched case-insensitively (except the GIT_ ones, which git reads in upper case).
 */
export function scrubEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SCRUBBED_ENV.some((rule) => rule.pattern.test(name))) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Keeps the last `limit` bytes of a stream of chunks without holding more than about twice that.
 * The tail is cut forward to the next UTF-8 character start so it never begins inside a character.
 */
class Tail {
  private chunks: Buffer[] = [];
  private held = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.chunks.length > 1 && this.held - this.chunks[0]!.length >= this.limit) this.held -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    let start = Math.max(0, all.length - this.limit);
    if (start > 0) while (start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80) start += 1;
    return all.subarray(start).toString('utf8');
  }
}

/** Sends `signal` to process group `pgid`; false when the group is gone (ESRCH). Never throws. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty already; EPERM cannot happen for our own children.
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A sandboxed command's exit as a command of our own would report it: behind the sandbox's init
 * (which cannot die of a signal itself) a command killed by signal N exits with 128+N, as in a shell.
 * Only for a command planexec killed (timeout, cancel), where 128+N means just that: for one that
 * ended on its own, an exit code of 143 may be its own choice and is kept.
 */
function killedBySignal(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const name = (Object.keys(osConstants.signals) as NodeJS.Signals[]).find((s) => osConstants.signals[s] === code - 128);
  return name ? { code: null, signal: name } : { code, signal };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `argv` (no shell) in `cwd`, in a new process group, with `scrubEnv(env ?? process.env)`,
 * behind the `sandbox` prefix when one is given (the group, pid file and kills are then the wrapper's).
 * stdout and stderr are merged into one tail of the last `tailBytes` (default 4096) bytes.
 * At the timeout or when `signal` aborts, the whole group gets SIGTERM, then SIGKILL after
 * `killGraceMs` (default 2000). When the command exits on its own, whatever it left running in its
 * group (background processes) is killed at once. Resolves after the process has exited and its
 * output is read; never rejects for the command's own failure (a command that cannot start resolves
 * with `spawnError`). Throws invalid_input for an empty argv or a timeout that is not a positive number.
 */
export function runCommand(opts: RunCommandOptions): Promise<CommandResult> {
  const argv = opts.argv;
  if (!argv.length || !argv[0]) throw invalidInput('A command needs at least a program name.', 'Give the command as a non-empty argument list.');
  if (!(opts.timeoutMs > 0) || !Number.isFinite(opts.timeoutMs)) throw invalidInput(`Timeout ${opts.timeoutMs} ms is not a positive number.`, 'Set PLANEXEC_CHECK_TIMEOUT_MS to a positive number of milliseconds.');
  const tail = new Tail(Math.max(1, opts.tailBytes ?? DEFAULT_TAIL_BYTES));
  const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const started = performance.now();
  const result = (fields: Partial<CommandResult>): CommandResult => ({
    exitCode: null,
    signal: null,
    timedOut: false,
    cancelled: false,
    durationMs: Math.round(performance.now() - started),
    outputTail: tail.text(),
    outputBytes: tail.total,
    spawnError: null,
    ...fields,
  });
  if (opts.signal?.aborted) return Promise.resolve(result({ cancelled: true }));
  const env = { ...scrubEnv(opts.env ?? process.env), ...opts.passEnv };
  const sandbox = opts.sandbox?.length ? opts.sandbox : null;
  if (sandbox && !findProgram(argv[0]!, env.PATH, opts.cwd)) {
    // The same words as a spawn without the wrapper would give (see the 'error' handler below).
    const why = !existsSync(opts.cwd) ? `working folder not found: ${opts.cwd}` : argv[0]!.includes('/') && existsSync(resolvePath(opts.cwd, argv[0]!)) ? `not executable: ${argv[0]}` : `command not found: ${argv[0]}`;
    tail.push(Buffer.from(`${why}\n`));
    return Promise.resolve(result({ spawnError: why }));
  }
  const command = sandbox ? [...sandbox, ...argv] : argv;

  return new Promise<CommandResult>((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: opts.cwd,
      env,
      shell: false,
      detached: true,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    if (opts.pidFile && child.pid !== undefined) {
      try {
        // Written and renamed, so a reader never sees half a record. The child may run before this
        // line (a kill -9 of this process in that window leaves the command unrecorded).
        mkdirSync(join(opts.pidFile, '..'), { recursive: true });
        writeFileSync(`${opts.pidFile}.tmp`, JSON.stringify({ pid: child.pid, startTime: startTimeOf(child.pid), host: hostIdentity() } satisfies GroupRecord));
        renameSync(`${opts.pidFile}.tmp`, opts.pidFile);
      } catch {
        // Without the record only crash recovery loses track of this command; the run goes on.
      }
    }
    // A pid means the spawn succeeded. Reported at once, not on the 'spawn' event (a later tick),
    // so that a killAll right after run() already sees the group.
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let timedOut = false;
    let cancelled = false;
    let spawnError: string | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let streamsOpen = 2;
    let killing: Promise<void> | null = null;
    let settled = false;

    const onOutput = opts.onOutput;
    child.stdout!.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      onOutput?.('stdout', chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      onOutput?.('stderr', chunk);
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the command does not read its input
      child.stdin.end(opts.input);
    }

    // SIGTERM to the group, SIGKILL to the group after the grace (or at once when the leader is gone
    // and only stragglers remain): a command that ignores SIGTERM still ends.
    const kill = (): Promise<void> => {
      if (killing) return killing;
      const pgid = child.pid;
      killing = (async () => {
        if (pgid === undefined) return;
        if (signalGroup(pgid, 'SIGTERM')) {
          const until = performance.now() + grace;
          while (exit === null && performance.now() < until) await sleep(25);
        }
        signalGroup(pgid, 'SIGKILL');
      })();
      return killing;
    };

    const timer = setTimeout(() => {
      timedOut = true;
      void kill();
    }, opts.timeoutMs);
    timer.unref();
    const onAbort = () => {
      cancelled = true;
      void kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = async () => {
      if (settled || exit === null || streamsOpen > 0) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (killing) await killing;
      if (opts.pidFile) rmSync(opts.pidFile, { force: true });
      resolve(result({ exitCode: exit.code, signal: exit.signal, timedOut, cancelled, spawnError }));
    };

    const onClose = () => {
      streamsOpen -= 1;
      void finish();
    };
    child.stdout!.on('close', onClose);
    child.stderr!.on('close', onClose);

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failed spawn lands here in practice (kill errors are caught in signalGroup).
      if (exit !== null) return;
      // Node reports a missing working folder as ENOENT of the program too: tell them apart.
      spawnError =
        error.code === 'ENOENT'
          ? existsSync(opts.cwd)
            ? `command not found: ${argv[0]}`
            : `working folder not found: ${opts.cwd}`
          : error.code === 'EACCES'
            ? `not executable: ${argv[0]}`
            : error.message;
      tail.push(Buffer.from(`${spawnError}\n`));
      exit = { code: null, signal: null };
      // The streams of a process that never started close on their own; make sure.
      child.stdout!.destroy();
      child.stderr!.destroy();
    });
    child.on('exit', (code, signal) => {
      exit = sandbox && (timedOut || cancelled) ? killedBySignal(code, signal) : { code, signal };
      const pgid = child.pid;
      if (pgid === undefined) return;
      // Background processes the command left in its group hold our pipes open and would run on
      // unchecked: end them now. Then stop waiting for output after the grace, even if a process
      // that left the group (setsid) still holds a pipe.
      if (!killing && groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, grace).unref();
      void finish();
    });
  });
}

/**
 * Runs commands through runCommand and remembers the ones still running, so that cancel-all and
 * server exit reach them. One instance per server (made by the composition root), no global state.
 */
export class CommandRunner implements CheckRunner {
  private readonly running = new Map<AbortController, Promise<CommandResult>>();
  private readonly groups = new Set<number>();

  /**
   * @param defaults `env`: the environment commands start from (default process.env, always scrubbed);
   *   `killGraceMs`: SIGTERM-to-SIGKILL grace (default 2000).
   */
  constructor(private readonly defaults: { env?: Record<string, string | undefined>; passEnv?: Record<string, string>; killGraceMs?: number } = {}) {}

  /** How many commands are running now. */
  get size(): number {
    return this.running.size;
  }

  /** runCommand with this runner's defaults, registered until it ends; same errors as runCommand. */
  run(request: CommandRequest & Partial<Pick<RunCommandOptions, 'env' | 'killGraceMs' | 'onSpawn' | 'pidFile' | 'onOutput' | 'sandbox'>>): Promise<CommandResult> {
    const own = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, own.signal]) : own.signal;
    let pgid: number | undefined;
    const promise = runCommand({
      env: this.defaults.env,
      passEnv: this.defaults.passEnv,
      killGraceMs: this.defaults.killGraceMs,
      ...request,
      signal,
      onSpawn: (pid) => {
        pgid = pid;
        this.groups.add(pid);
        request.onSpawn?.(pid);
      },
    });
    const tracked = promise.finally(() => {
      this.running.delete(own);
      if (pgid !== undefined) this.groups.delete(pgid);
    });
    this.running.set(own, tracked);
    return tracked;
  }

  /** Cancels every running command (SIGTERM, SIGKILL after the grace) and resolves when all ended. */
  async killAll(): Promise<void> {
    const all = [...this.running.entries()];
    for (const [controller] of all) controller.abort();
    await Promise.allSettled(all.map(([, p]) => p));
  }

  /** SIGKILL to every running group at once, synchronously: for a process 'exit' handler. */
  killAllNow(): void {
    for (const pgid of this.groups) signalGroup(pgid, 'SIGKILL');
  }
}

// Check commands are split and matched in the core (pure): re-exported for the adapters' callers.
export { matchesAllowed, splitCommand } from '../../core/commands.js';
