// The check sandbox (PLANEXEC_CHECK_SANDBOX) with real processes: a check in a PID namespace of its
// own cannot see or read the server's process (its environment holds the provider keys), whatever it
// leaves running, even in a session of its own, ends with it (at its end, at the timeout, and when a
// later server ends a group a dead one recorded, and when the server is killed with -9), it has no
// capabilities (as root, unmounting its /proc would show the server's), and it still runs
// `node --test` and git as the user. This machine must allow PID namespaces (util-linux unshare and
// setpriv; user namespaces for a non-root user).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCheckSandbox, type CheckSandbox } from '../../src/adapters/process/check-sandbox.js';
import { findProgram } from '../../src/adapters/process/find-program.js';
import { killRecordedGroups, runCommand, scrubEnv } from '../../src/adapters/process/run-command.js';
import { git, makeRepo } from '../support/git-repo.js';
import { outsidePids } from '../support/pids.js';

const scratch = mkdtempSync(join(tmpdir(), 'planexec-sandbox-'));
let sandbox: CheckSandbox;
/** The sandbox an ordinary user gets (user namespace, the same uid inside); as root, tried as root. */
let userSandbox: CheckSandbox;
/** Outside pids a test may leave running when it fails: killed at the end. */
const strays: number[] = [];

beforeAll(async () => {
  const probe = await probeCheckSandbox();
  if (!probe.sandbox) throw new Error(`this machine must allow the check sandbox: ${probe.problem}`);
  sandbox = probe.sandbox;
  const user = await probeCheckSandbox({ root: false });
  if (!user.sandbox) throw new Error(`this machine must allow user namespaces: ${user.problem}`);
  userSandbox = user.sandbox;
});
afterAll(() => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

let dirs = 0;
function freshDir(): string {
  const dir = join(scratch, `d${(dirs += 1)}`);
  mkdirSync(dir);
  return dir;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function goneWithin(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

/** The file's content once it has some: a writer creates the file before it writes to it. */
async function waitFor(file: string): Promise<string> {
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text !== '') return text;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('probeCheckSandbox', () => {
  it('finds a PID namespace on this machine: setpriv --pdeathsig then unshare by their absolute paths, with timeout as the namespace\'s first process', () => {
    const setpriv = findProgram('setpriv', process.env.PATH);
    expect(sandbox.prefix.slice(0, 6)).toEqual([setpriv, '--pdeathsig', 'KILL', '--no-new-privs', '--', findProgram('unshare', process.env.PATH)]);
    expect(userSandbox.prefix.slice(0, 6)).toEqual(sandbox.prefix.slice(0, 6));
    expect(sandbox.prefix).toEqual(expect.arrayContaining(['--pid', '--fork', '--kill-child', '--mount-proc']));
    // As root, the check runs without capabilities.
    expect(sandbox.asRoot).toBe(process.getuid!() === 0);
    if (sandbox.asRoot) expect(sandbox.prefix.slice(-8, -3)).toEqual([setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--']);
    expect(sandbox.prefix.slice(-3)).toEqual([findProgram('timeout', process.env.PATH), '--foreground', '0']);
    // An ordinary user keeps their uid inside (files they write stay theirs) and has no capabilities there.
    expect(userSandbox.prefix).toEqual(expect.arrayContaining(['--user', '--map-current-user']));
    expect(userSandbox.description).toContain('--map-current-user');
  });

  it('says why there is none: no unshare on PATH, or an unshare the machine refuses', async () => {
    const empty = freshDir();
    expect(await probeCheckSandbox({ env: { PATH: empty } })).toEqual({ sandbox: null, problem: '`unshare` (util-linux) is not on PATH' });
    const refusing = freshDir();
    writeFileSync(join(refusing, 'unshare'), '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n');
    chmodSync(join(refusing, 'unshare'), 0o755);
    for (const program of ['timeout', 'setpriv', 'true']) {
      const real = findProgram(program, process.env.PATH);
      if (real) symlinkSync(real, join(refusing, program));
    }
    const probe = await probeCheckSandbox({ env: { PATH: refusing }, root: false });
    expect(probe.sandbox).toBeNull();
    expect(probe.problem).toContain('exit code 1: unshare: unshare failed: Operation not permitted');
  });
});

/**
 * A check that looks for the server's secret the way a model-written test could: the environment of
 * each of its ancestors, and of every process /proc lists. Prints what it found, reversed (as the
 * attack that slipped past redaction did), and how many processes it could see.
 */
const SPY = `
const { readFileSync, readdirSync } = require('node:fs');
const read = (pid) => { try { return readFileSync('/proc/' + pid + '/environ', 'utf8'); } catch { return ''; } };
const found = new Set();
const look = (pid) => { for (const v of read(pid).split('\\0')) if (v.startsWith('SERVER_SECRET=')) found.add(v); };
for (let pid = process.ppid, n = 0; pid > 0 && n < 20; n += 1) {
  look(pid);
  try { pid = Number(readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]); } catch { break; }
}
const processes = readdirSync('/proc').filter((n) => /^\\d+$/.test(n));
processes.forEach(look);
console.log(JSON.stringify({ found: [...found].map((v) => [...v].reverse().join('')), processes: processes.length, keyInOwnEnv: 'OPENAI_API_KEY' in process.env }));
`;

/**
 * Runs SPY as a check of a stand-in server: a process whose environment holds SERVER_SECRET and an
 * OPENAI_API_KEY, which starts the check as runCommand would (scrubbed environment, behind `prefix`).
 */
function spyFromServer(prefix: readonly string[]): { found: string[]; processes: number; keyInOwnEnv: boolean } {
  const server = `
const { spawn } = require('node:child_process');
const [prefix, env, spy] = JSON.parse(process.argv[1]);
const argv = [...prefix, process.execPath, '-e', spy];
const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
child.on('exit', (code) => process.exit(code ?? 1));`;
  const checkEnv = scrubEnv({ ...process.env, OPENAI_API_KEY: 'sk-kept-out' });
  const out = execFileSync(process.execPath, ['-e', server, JSON.stringify([prefix, checkEnv, SPY])], {
    env: { ...process.env, SERVER_SECRET: 'sk-server-secret-1234', OPENAI_API_KEY: 'sk-kept-out' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { found: string[]; processes: number; keyInOwnEnv: boolean };
}

describe('a check in the sandbox', () => {
  it('cannot see the server in /proc or read its environment, as it can without the sandbox', () => {
    // Only the namespace's own processes: timeout (pid 1) and the check.
    expect(spyFromServer(sandbox.prefix)).toEqual({ found: [], processes: 2, keyInOwnEnv: false });
    expect(spyFromServer(userSandbox.prefix)).toEqual({ found: [], processes: 2, keyInOwnEnv: false });
    // Without it, the same check reads the server's environment (the scrub cleans only its own).
    const outside = spyFromServer([]);
    expect(outside.found).toContain([...'SERVER_SECRET=sk-server-secret-1234'].reverse().join(''));
    expect(outside.keyInOwnEnv).toBe(false);
  });

  /**
   * A check that starts a daemon in a session of its own (detached, unref'd: it survives a process
   * group kill), writes the daemon's pid, waits for `go`, then exits 0 (or hangs, with `hang`).
   */
  const daemonCheck = (dir: string, hang = false) => [
    process.execPath,
    '-e',
    `const { spawn } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const d = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
d.unref();
writeFileSync('daemon.pid', String(d.pid));
const wait = setInterval(() => { if (existsSync('go') && !${hang}) { clearInterval(wait); process.exit(0); } }, 10);`,
  ];

  /** The daemon's pid out here (the check wrote its pid inside the namespace, if any). */
  async function daemonOf(dir: string): Promise<number> {
    const inner = Number(await waitFor(join(dir, 'daemon.pid')));
    const [outer] = outsidePids([inner], dir);
    strays.push(outer!);
    expect(alive(outer!)).toBe(true);
    return outer!;
  }

  it('ends a daemon the check started in a session of its own when the check exits, which without the sandbox lives on', async () => {
    const dir = freshDir();
    const running = runCommand({ argv: daemonCheck(dir), cwd: dir, timeoutMs: 60_000, sandbox: sandbox.prefix });
    const daemon = await daemonOf(dir);
    writeFileSync(join(dir, 'go'), '');
    expect(await running).toMatchObject({ exitCode: 0, timedOut: false });
    expect(await goneWithin(daemon)).toBe(true);

    const plain = freshDir();
    const unsandboxed = runCommand({ argv: daemonCheck(plain), cwd: plain, timeoutMs: 60_000 });
    const survivor = await daemonOf(plain);
    writeFileSync(join(plain, 'go'), '');
    expect(await unsandboxed).toMatchObject({ exitCode: 0 });
    expect(alive(survivor)).toBe(true);
    process.kill(survivor, 'SIGKILL');
  });

  it('ends the check and its daemon at the timeout; the check gets SIGTERM first and is reported as killed by it', async () => {
    const dir = freshDir();
    // A long grace: only SIGTERM can end the check before the test's own timeout.
    const running = runCommand({ argv: daemonCheck(dir, true), cwd: dir, timeoutMs: 1500, killGraceMs: 120_000, sandbox: sandbox.prefix });
    const daemon = await daemonOf(dir);
    expect(await running).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    expect(await goneWithin(daemon)).toBe(true);
  }, 60_000);

  it('ends the check and its daemon when the caller aborts', async () => {
    const dir = freshDir();
    const controller = new AbortController();
    const running = runCommand({ argv: daemonCheck(dir, true), cwd: dir, timeoutMs: 60_000, signal: controller.signal, sandbox: sandbox.prefix });
    const daemon = await daemonOf(dir);
    controller.abort();
    expect(await running).toMatchObject({ cancelled: true, exitCode: null });
    expect(await goneWithin(daemon)).toBe(true);
  });

  it('is ended, daemon included, by killRecordedGroups after the process that ran it died (its record names the unshare process setpriv became)', async () => {
    const dir = freshDir();
    const records = join(dir, 'records');
    let leader = 0;
    // A command whose runner is gone (as after kill -9): only its record is left.
    const orphan = runCommand({ argv: daemonCheck(dir, true), cwd: dir, timeoutMs: 60_000, pidFile: join(records, 'a.json'), onSpawn: (p) => (leader = p), sandbox: sandbox.prefix });
    const daemon = await daemonOf(dir);
    expect(JSON.parse(readFileSync(join(records, 'a.json'), 'utf8')).pid).toBe(leader);
    expect(readFileSync(`/proc/${leader}/cmdline`, 'utf8').split('\0')[0]).toBe(findProgram('unshare', process.env.PATH));
    expect(await killRecordedGroups(records)).toBe(1);
    expect((await orphan).signal).toBe('SIGKILL');
    expect(await goneWithin(daemon)).toBe(true);
  });

  it('passes the exit code on, 128+N for a check that died of signal N, as a shell reports it', async () => {
    const run = (script: string) => runCommand({ argv: ['sh', '-c', script], cwd: scratch, timeoutMs: 30_000, sandbox: sandbox.prefix });
    expect(await run('exit 3')).toMatchObject({ exitCode: 3, signal: null });
    expect(await run('kill -SEGV $$')).toMatchObject({ exitCode: 139, signal: null });
    expect(await run('echo out; echo err >&2')).toMatchObject({ exitCode: 0, outputTail: expect.stringMatching(/^(out\nerr|err\nout)\n$/) });
  });

  it('reports a missing program or working folder as a command without the sandbox does', async () => {
    const missing = await runCommand({ argv: ['planexec-no-such-program-x'], cwd: scratch, timeoutMs: 30_000, sandbox: sandbox.prefix });
    expect(missing).toMatchObject({ exitCode: null, spawnError: 'command not found: planexec-no-such-program-x', outputTail: 'command not found: planexec-no-such-program-x\n' });
    const nowhere = await runCommand({ argv: ['true'], cwd: join(scratch, 'no-such-folder'), timeoutMs: 30_000, sandbox: sandbox.prefix });
    expect(nowhere.spawnError).toBe(`working folder not found: ${join(scratch, 'no-such-folder')}`);
    writeFileSync(join(scratch, 'not-executable.sh'), 'echo hi\n');
    const plain = await runCommand({ argv: ['./not-executable.sh'], cwd: scratch, timeoutMs: 30_000, sandbox: sandbox.prefix });
    expect(plain.spawnError).toBe('not executable: ./not-executable.sh');
  });

  it('runs node --test and git in a repository: what the test writes belongs to the user, and git sees no dubious ownership', async () => {
    for (const prefix of [sandbox.prefix, userSandbox.prefix]) {
      const repo = freshDir();
      makeRepo(repo, {
        'a.test.mjs': "import test from 'node:test';\nimport { writeFileSync } from 'node:fs';\ntest('writes', () => writeFileSync('written.txt', 'x'));\n",
      });
      const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
      const tests = await runCommand({ argv: ['node', '--test'], cwd: repo, env, timeoutMs: 60_000, sandbox: prefix });
      expect(tests.exitCode, tests.outputTail).toBe(0);
      expect(statSync(join(repo, 'written.txt')).uid).toBe(process.getuid!());
      const status = await runCommand({ argv: ['git', 'status', '--porcelain'], cwd: repo, env, timeoutMs: 30_000, sandbox: prefix });
      expect(status).toMatchObject({ exitCode: 0, outputTail: '?? written.txt\n' });
      expect(git(repo, 'status', '--porcelain')).toBe('?? written.txt');
    }
  });
});

/**
 * A check that first tries `umount -l /proc` (as root with capabilities that shows the host's /proc
 * under the namespace's one), then looks for the server by the pid it was given (SERVER_PID) and for
 * SERVER_SECRET in the environment of every process /proc lists, the server's included.
 */
const UNMOUNT_SPY = `
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync, readdirSync } = require('node:fs');
let unmounted = false;
try { execFileSync('umount', ['-l', '/proc'], { stdio: 'ignore' }); unmounted = true; } catch {}
const read = (pid) => { try { return readFileSync('/proc/' + pid + '/environ', 'utf8'); } catch { return ''; } };
const pids = readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).concat([process.env.SERVER_PID]);
console.log(JSON.stringify({
  unmounted,
  serverSeen: existsSync('/proc/' + process.env.SERVER_PID + '/environ'),
  secretRead: pids.some((pid) => read(pid).includes('SERVER_SECRET=sk-server-secret')),
}));
`;

/**
 * Runs UNMOUNT_SPY behind `prefix` as a check of a stand-in server whose environment holds
 * SERVER_SECRET; the server runs as `user` (through runuser) when one is given, else as this process.
 */
function unmountSpy(prefix: readonly string[], user?: string): { unmounted: boolean; serverSeen: boolean; secretRead: boolean } {
  const server = `
const { spawn } = require('node:child_process');
const [argv, env] = JSON.parse(process.argv[1]);
const child = spawn(argv[0], argv.slice(1), { env: { ...env, SERVER_PID: String(process.pid) }, cwd: '/', stdio: ['ignore', 'inherit', 'inherit'], detached: true });
child.on('exit', (code) => process.exit(code ?? 1));`;
  const check = [...prefix, process.execPath, '-e', UNMOUNT_SPY];
  const argv = [...(user ? [findProgram('runuser', process.env.PATH)!, '-u', user, '--'] : []), process.execPath, '-e', server, JSON.stringify([check, scrubEnv(process.env)])];
  const out = execFileSync(argv[0]!, argv.slice(1), { cwd: '/', env: { ...process.env, SERVER_SECRET: 'sk-server-secret-1234' }, encoding: 'utf8' });
  return JSON.parse(out) as { unmounted: boolean; serverSeen: boolean; secretRead: boolean };
}

describe('a check that unmounts its /proc', () => {
  const nothing = { unmounted: false, serverSeen: false, secretRead: false };

  it('cannot, as root: it has no capabilities, so the server stays out of sight and its environment unread', () => {
    if (!sandbox.asRoot) {
      // Not root here: the root sandbox is not what this machine uses; the ordinary user's case is below.
      expect(unmountSpy(sandbox.prefix)).toEqual(nothing);
      return;
    }
    expect(unmountSpy(sandbox.prefix)).toEqual(nothing);
    // The same namespace with the capabilities left (the prefix without its second setpriv): the
    // check unmounts the fresh /proc (in its own mount namespace only) and reads the server's secret.
    const at = sandbox.prefix.indexOf('--bounding-set=-all') - 1;
    const withCaps = [...sandbox.prefix.slice(0, at), ...sandbox.prefix.slice(at + 5)];
    expect(withCaps.slice(-3)).toEqual(sandbox.prefix.slice(-3));
    expect(unmountSpy(withCaps)).toEqual({ unmounted: true, serverSeen: true, secretRead: true });
  });

  it('cannot, as an ordinary user (run as nobody when the tests run as root), who without the sandbox reads the server\'s environment', () => {
    const user = process.getuid!() === 0 ? 'nobody' : undefined;
    expect(unmountSpy(userSandbox.prefix, user)).toEqual(nothing);
    expect(unmountSpy([], user)).toMatchObject({ serverSeen: true, secretRead: true });
  });
});

describe('a check whose server is killed with -9', () => {
  it.each([
    ['this machine\'s', () => sandbox],
    ['an ordinary user\'s', () => userSandbox],
  ])('ends with it in %s sandbox, which without setpriv --pdeathsig runs on re-parented to init', async (_name, which) => {
    const dir = freshDir();
    const script = join(dir, 'server.mts');
    writeFileSync(
      script,
      `import { runCommand } from ${JSON.stringify(resolve('src/adapters/process/run-command.ts'))};
const [dir, prefix] = process.argv.slice(2);
await runCommand({ argv: ['sh', '-c', 'echo $$ > check.pid; exec sleep 300'], cwd: dir, timeoutMs: 600_000, sandbox: JSON.parse(prefix) });
`,
    );
    const server = spawn(process.execPath, ['--import', 'tsx', script, dir, JSON.stringify(which().prefix)], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((r) => server.on('exit', () => r()));
    let inner = '';
    while (!/^\d+\n$/.test(inner)) {
      if (server.exitCode !== null) throw new Error(`the server ended early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
      inner = existsSync(join(dir, 'check.pid')) ? readFileSync(join(dir, 'check.pid'), 'utf8') : '';
    }
    const [sleep] = outsidePids([Number(inner)], dir);
    strays.push(sleep!);
    expect(readFileSync(`/proc/${sleep}/cmdline`, 'utf8')).toBe('sleep\0' + '300\0');
    server.kill('SIGKILL');
    await exited;
    expect(await goneWithin(sleep!, 30_000)).toBe(true);
  }, 120_000);
});

describe('the sandbox of an ordinary user', () => {
  it('runs the check as that user with no capabilities: it sees only its namespace, cannot unmount its /proc to see the real one, and what it writes is the user\'s', () => {
    // Tests run as root switch to nobody with runuser; as an ordinary user, they are that user.
    const asRoot = process.getuid!() === 0;
    const dir = freshDir();
    chmodSync(scratch, 0o755);
    chmodSync(dir, 0o777);
    const script = "id -u > uid; umount /proc 2>/dev/null; echo $? > umount; ls /proc | grep -c '^[0-9]' > procs; touch written";
    const argv = [...(asRoot ? [findProgram('runuser', process.env.PATH)!, '-u', 'nobody', '--'] : []), ...userSandbox.prefix, 'sh', '-c', script];
    execFileSync(argv[0]!, argv.slice(1), { cwd: dir, stdio: 'ignore' });
    const uid = asRoot ? Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })) : process.getuid!();
    expect(Number(readFileSync(join(dir, 'uid'), 'utf8'))).toBe(uid);
    expect(Number(readFileSync(join(dir, 'umount'), 'utf8'))).not.toBe(0);
    // timeout, sh, ls and grep at most.
    expect(Number(readFileSync(join(dir, 'procs'), 'utf8'))).toBeLessThanOrEqual(4);
    expect(statSync(join(dir, 'written')).uid).toBe(uid);
  });
});
