// The check sandbox (PLANEXEC_CHECK_SANDBOX): a check runs code a model just wrote, as the user who
// runs planexec. Without a sandbox it can walk up its parents and read /proc/<server pid>/environ
// (the provider keys and HTTP tokens scrubEnv kept out of its own environment), and a process it
// starts in a session of its own (setsid, `detached: true`) outlives the process-group kill. In a PID
// namespace of its own with a fresh /proc, the server is not there to read, and when the namespace's
// first process ends (the check exits, is timed out or cancelled, or the server dies) the kernel kills
// every process left in it. The check has no capabilities, so it cannot unmount that /proc to find
// the real one under it. Linux only: util-linux `unshare` and `setpriv`; unprivileged users need user
// namespaces. Source: pid_namespaces(7), user_namespaces(7), capabilities(7), unshare(1), setpriv(1).
import { findProgram } from './find-program.js';
import { runCommand } from './run-command.js';

/** A way to run a check in its own PID namespace: the arguments put before the check's argv. */
export interface CheckSandbox {
  /** Absolute program paths and options, e.g. ['/usr/bin/setpriv', '--pdeathsig', 'KILL', ..., '--', '/usr/bin/unshare', '--pid', ..., '--', '/usr/bin/timeout', '--foreground', '0']. */
  prefix: readonly string[];
  /** What it is, for the start-up log: 'PID and user namespace (unshare --user --map-current-user ...), ended with the server (...)'. */
  description: string;
  /** Whether the check runs as root outside the namespace (planexec runs as root): uid 0 without capabilities. */
  asRoot: boolean;
}

/** The outcome of probeCheckSandbox: a sandbox that ran `true`, or why there is none. */
export type SandboxProbe = { sandbox: CheckSandbox; problem: null } | { sandbox: null; problem: string };

/**
 * The sandboxes to try, best first, for a user who is root or not. Why each part:
 * - `setpriv --pdeathsig KILL` first: the unshare process gets SIGKILL when the server dies, even of
 *   kill -9 (it is the server's child; the setting survives the exec of unshare, prctl(2)), and
 *   `--kill-child` passes that on to the namespace's first process, whose end kills the rest. Without
 *   it unshare is re-parented to init and the check runs to its end. The signal comes when the thread
 *   that spawned it ends: runCommand spawns from Node's main thread, never from a worker.
 *   `--no-new-privs`: nothing the check runs gains privileges on exec (setuid programs, file caps).
 * - `--pid --fork --mount-proc`: the check is in a new PID namespace with a /proc of its own, so
 *   the server (and every other process of the user) is not in it; `--kill-child`: the namespace
 *   dies with the unshare process, which is what runCommand's group kill and killRecordedGroups reach.
 * - Not root: `--user --map-current-user` (util-linux >= 2.38) runs the check as the same uid, so
 *   what it writes stays the user's and git sees no "dubious ownership"; as a non-root uid it has no
 *   capabilities after exec, so it cannot unmount the fresh /proc to see the real one underneath.
 *   Older util-linux has only `--map-root-user`: uid 0 in the namespace (still the user outside, so
 *   files keep their owner), with every capability dropped by setpriv for the same reason.
 * - Root: no user namespace is needed, and the check stays uid 0 (files it writes stay root's, as
 *   the worktree's are). A second setpriv, run by the namespace's first process before timeout,
 *   empties the bounding, inheritable and ambient sets: with no CAP_SYS_ADMIN the check cannot
 *   unmount its /proc (as root with capabilities, `umount -l /proc` shows the host's /proc and the
 *   server's environ), and an empty bounding set means no exec gives any back. It is still uid 0:
 *   files owned by root (/etc/passwd, root's home) and root-writable /proc/sys files stay writable
 *   to it, which is why start-up warns and an ordinary user is the better choice.
 * - `timeout --foreground 0` (coreutils; 0: no time limit) is the namespace's first process, not the
 *   check: a PID namespace's init ignores signals it has no handler for (SIGTERM from runCommand's
 *   kill would do nothing) and a signal its child dies of could not be passed on; timeout forwards
 *   SIGTERM to the check and, as pid 1, exits 128+N when the check dies of signal N (timeout.c).
 *   --foreground keeps it in the check's process group.
 */
function candidates(root: boolean, path: string | undefined): Array<CheckSandbox | string> {
  const unshare = findProgram('unshare', path);
  const timeout = findProgram('timeout', path);
  const setpriv = findProgram('setpriv', path);
  if (!unshare) return ['`unshare` (util-linux) is not on PATH'];
  if (!setpriv) return ['`setpriv` (util-linux) is not on PATH'];
  if (!timeout) return ['`timeout` (coreutils) is not on PATH'];
  const guard = [setpriv, '--pdeathsig', 'KILL', '--no-new-privs', '--'];
  const pid = ['--pid', '--fork', '--kill-child', '--mount-proc'];
  const noCaps = [setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  const init = [timeout, '--foreground', '0'];
  if (root) {
    return [
      {
        prefix: [...guard, unshare, ...pid, '--', ...noCaps, ...init],
        description: `PID namespace (unshare ${pid.join(' ')}; as root, every capability dropped by setpriv), ended with the server (setpriv --pdeathsig KILL)`,
        asRoot: true,
      },
    ];
  }
  const out: Array<CheckSandbox | string> = [
    {
      prefix: [...guard, unshare, '--user', '--map-current-user', ...pid, '--', ...init],
      description: `PID and user namespace (unshare --user --map-current-user ${pid.join(' ')}), ended with the server (setpriv --pdeathsig KILL)`,
      asRoot: false,
    },
    {
      prefix: [...guard, unshare, '--user', '--map-root-user', ...pid, '--', ...noCaps, ...init],
      description: `PID and user namespace (unshare --user --map-root-user ${pid.join(' ')}, capabilities dropped by setpriv), ended with the server (setpriv --pdeathsig KILL)`,
      asRoot: false,
    },
  ];
  return out;
}

/**
 * Finds the first sandbox that works on this machine by running `true` in it (a few ms; once, at
 * start-up). `root`: whether planexec runs as root (default: its uid is 0); `env`: whose PATH finds
 * unshare, setpriv, timeout and true (default process.env; each is required). Resolves with the
 * sandbox, or with why there is none (the last attempt's own words, e.g. "unshare: unshare failed: Operation not
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
    // Named by its unshare part (between the setpriv guard's '--' and unshare's own).
    const from = candidate.prefix.indexOf('--') + 1;
    problem = `${candidate.prefix.slice(from, candidate.prefix.indexOf('--', from)).join(' ')} true failed${result.exitCode === null ? '' : ` with exit code ${result.exitCode}`}${said ? `: ${said}` : ''}`;
  }
  return { sandbox: null, problem };
}
