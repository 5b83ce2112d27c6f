// The check sandbox (PLANEXEC_CHECK_SANDBOX): a check runs code a model just wrote, as the user who
// runs planexec. Without a sandbox it can walk up its parents and read /proc/<server pid>/environ
// (the provider keys and HTTP tokens scrubEnv kept out of its own environment), and a process it
// starts in a session of its own (setsid, `detached: true`) outlives the process-group kill. In a PID
// namespace of its own with a fresh /proc, the server is not there to read, and when the namespace's
// first process ends (the check exits, is timed out or cancelled, or the server dies) the kernel kills
// every process left in it. Linux only: util-linux `unshare`; unprivileged users need user
// namespaces. Source: pid_namespaces(7), user_namespaces(7), unshare(1).
import { findProgram } from './find-program.js';
import { runCommand } from './run-command.js';

/** A way to run a check in its own PID namespace: the arguments put before the check's argv. */
export interface CheckSandbox {
  /** Absolute program paths and options, e.g. ['/usr/bin/unshare', '--pid', ..., '--', '/usr/bin/timeout', '--foreground', '0']. */
  prefix: readonly string[];
  /** What it is, for the start-up log: 'PID namespace (unshare --user --map-current-user ...)'. */
  description: string;
}

/** The outcome of probeCheckSandbox: a sandbox that ran `true`, or why there is none. */
export type SandboxProbe = { sandbox: CheckSandbox; problem: null } | { sandbox: null; problem: string };

/**
 * The sandboxes to try, best first, for a user who is root or not. Why each part:
 * - `--pid --fork --mount-proc`: the check is in a new PID namespace with a /proc of its own, so
 *   the server (and every other process of the user) is not in it; `--kill-child`: the namespace
 *   dies with the unshare process, which is what runCommand's group kill and killRecordedGroups reach.
 * - Not root: `--user --map-current-user` (util-linux >= 2.38) runs the check as the same uid, so
 *   what it writes stays the user's and git sees no "dubious ownership"; as a non-root uid it has no
 *   capabilities after exec, so it cannot unmount the fresh /proc to see the real one underneath.
 *   Older util-linux has only `--map-root-user`: uid 0 in the namespace (still the user outside, so
 *   files keep their owner), with every capability dropped by setpriv for the same reason.
 * - Root: no user namespace needed. A check then runs as root, which can undo the namespace
 *   (unmount /proc); the README says so and recommends running planexec as an ordinary user.
 * - `timeout --foreground 0` (coreutils; 0: no time limit) is the namespace's first process, not the
 *   check: a PID namespace's init ignores signals it has no handler for (SIGTERM from runCommand's
 *   kill would do nothing) and a signal its child dies of could not be passed on; timeout forwards
 *   SIGTERM to the check and, as pid 1, exits 128+N when the check dies of signal N (timeout.c).
 *   --foreground keeps it in the check's process group.
 */
function candidates(root: boolean, path: string | undefined): Array<CheckSandbox | string> {
  const unshare = findProgram('unshare', path);
  const timeout = findProgram('timeout', path);
  if (!unshare) return ['`unshare` (util-linux) is not on PATH'];
  if (!timeout) return ['`timeout` (coreutils) is not on PATH'];
  const pid = ['--pid', '--fork', '--kill-child', '--mount-proc'];
  const init = [timeout, '--foreground', '0'];
  if (root) return [{ prefix: [unshare, ...pid, '--', ...init], description: `PID namespace (unshare ${pid.join(' ')}; as root)` }];
  const out: Array<CheckSandbox | string> = [
    { prefix: [unshare, '--user', '--map-current-user', ...pid, '--', ...init], description: `PID and user namespace (unshare --user --map-current-user ${pid.join(' ')})` },
  ];
  const setpriv = findProgram('setpriv', path);
  if (setpriv) {
    out.push({
      prefix: [unshare, '--user', '--map-root-user', ...pid, '--', setpriv, '--bounding-set=-all', '--inh-caps=-all', '--', ...init],
      description: `PID and user namespace (unshare --user --map-root-user ${pid.join(' ')}, capabilities dropped by setpriv)`,
    });
  }
  return out;
}

/**
 * Finds the first sandbox that works on this machine by running `true` in it (a few ms; once, at
 * start-up). `root`: whether planexec runs as root (default: its uid is 0); `env`: whose PATH finds
 * unshare, timeout, setpriv and true (default process.env). Resolves with the sandbox, or with why
 * there is none (the last attempt's own words, e.g. "unshare: unshare failed: Operation not
 * permitted"). Never rejects. Linux only: elsewhere the problem is that there is no PID namespace.
 */
export async function probeCheckSandbox(opts: { root?: boolean; env?: Record<string, string | undefined> } = {}): Promise<SandboxProbe> {
  if (process.platform !== 'linux') return { sandbox: null, problem: `PID namespaces are Linux only (this is ${process.platform})` };
  const env = opts.env ?? process.env;
  const root = opts.root ?? process.getuid?.() === 0;
  let problem = 'no way to make a PID namespace was found';
  for (const candidate of candidates(root, env.PATH)) {
    if (typeof candidate === 'string') return { sandbox: null, problem: candidate };
    const result = await runCommand({ argv: [...candidate.prefix, 'true'], cwd: '/', env, timeoutMs: 10_000, tailBytes: 600, killGraceMs: 200 });
    if (result.exitCode === 0) return { sandbox: candidate, problem: null };
    const said = (result.spawnError ?? result.outputTail).trim().split('\n').pop() ?? '';
    problem = `${candidate.prefix.slice(0, candidate.prefix.indexOf('--')).join(' ')} true failed${result.exitCode === null ? '' : ` with exit code ${result.exitCode}`}${said ? `: ${said}` : ''}`;
  }
  return { sandbox: null, problem };
}
