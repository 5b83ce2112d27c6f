// runCommand and CommandRunner with real processes: exit codes, the bounded output tail, the whole
// process group killed at the timeout, on abort and after the command ends, the scrubbed environment.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { CommandRunner, killRecordedGroups, runCommand, splitCommand } from '../../src/adapters/process/run-command.js';
import { hostIdentity } from '../../src/adapters/system.js';
import { PlanexecError } from '../../src/core/errors.js';

const cwd = process.cwd();
const node = (script: string) => [process.execPath, '-e', script];

/**
 * Whether a pid names a live process. A killed orphan may stay a zombie until the machine's init
 * reaps it (some container inits never do); a zombie runs nothing, so it counts as gone.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until the process is gone, for at most `ms`; the answer, not the time, is what tests check. */
async function goneWithin(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

const scratch = mkdtempSync(join(tmpdir(), 'planexec-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

/**
 * A shell that starts `sleep 1000` in the background, writes its pid to a file, then runs `then`.
 * `pid()` waits for the file (the grandchild has started) and returns the pid in it.
 */
function withGrandchild(then: string): { argv: string[]; pid: () => Promise<number> } {
  const file = join(scratch, `grandchild-${(files += 1)}`);
  return {
    argv: ['sh', '-c', `sleep 1000 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; ${then}`, 'sh', file],
    pid: async () => {
      while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
      const pid = Number(readFileSync(file, 'utf8'));
      expect(pid).toBeGreaterThan(0);
      return pid;
    },
  };
}

describe('runCommand', () => {
  it('reports the exit code and merges stdout and stderr into the tail', async () => {
    const ok = await runCommand({ argv: node('process.stdout.write("out\\n"); process.stderr.write("err\\n")'), cwd, timeoutMs: 30_000 });
    expect(ok).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false, spawnError: null, outputBytes: 8 });
    expect(ok.outputTail.split('\n').sort()).toEqual(['', 'err', 'out']);
    const failed = await runCommand({ argv: ['sh', '-c', 'echo failing; exit 3'], cwd, timeoutMs: 30_000 });
    expect(failed).toMatchObject({ exitCode: 3, outputTail: 'failing\n' });
    expect(failed.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('runs in the cwd given and passes input on stdin', async () => {
    const result = await runCommand({ argv: ['sh', '-c', 'pwd; cat'], cwd: '/tmp', timeoutMs: 30_000, input: 'from stdin' });
    expect(result.outputTail).toBe('/tmp\nfrom stdin');
  });

  it('keeps only the last tailBytes of a chatty command, cut on a UTF-8 boundary, and counts the rest', async () => {
    const script = 'for (let i = 0; i < 20000; i++) process.stdout.write("line " + i + " é€😀\\n"); process.stdout.write("THE END\\n")';
    const result = await runCommand({ argv: node(script), cwd, timeoutMs: 60_000, tailBytes: 1000 });
    expect(result.exitCode).toBe(0);
    expect(result.outputBytes).toBeGreaterThan(300_000);
    expect(Buffer.byteLength(result.outputTail)).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(result.outputTail)).toBeGreaterThan(990);
    expect(result.outputTail.endsWith('line 19999 é€😀\nTHE END\n')).toBe(true);
    expect(result.outputTail).not.toContain('\uFFFD');
  });

  it('keeps 4096 bytes by default', async () => {
    const result = await runCommand({ argv: node('process.stdout.write("x".repeat(100000))'), cwd, timeoutMs: 30_000 });
    expect(result.outputTail).toHaveLength(4096);
    expect(result.outputBytes).toBe(100_000);
  });

  it('kills the whole process group at the timeout, a background grandchild included', async () => {
    const grandchild = withGrandchild('sleep 1000');
    const running = runCommand({ argv: grandchild.argv, cwd, timeoutMs: 2000, killGraceMs: 500 });
    const pid = await grandchild.pid();
    expect(alive(pid)).toBe(true);
    const result = await running;
    expect(result).toMatchObject({ timedOut: true, cancelled: false, exitCode: null, signal: 'SIGTERM' });
    expect(await goneWithin(pid)).toBe(true);
  });

  it('kills with SIGKILL after the grace a command that ignores SIGTERM', async () => {
    const result = await runCommand({ argv: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], cwd, timeoutMs: 500, killGraceMs: 300 });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('kills the whole group when the caller aborts, and reports it as cancelled', async () => {
    const controller = new AbortController();
    let leader = 0;
    const grandchild = withGrandchild('sleep 1000');
    const running = runCommand({ argv: grandchild.argv, cwd, timeoutMs: 60_000, signal: controller.signal, onSpawn: (p) => (leader = p) });
    const pid = await grandchild.pid();
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: null });
    expect(leader).toBeGreaterThan(0);
    expect(alive(leader)).toBe(false);
    expect(await goneWithin(pid)).toBe(true);
  });

  it('does not start a command whose signal is already aborted', async () => {
    const result = await runCommand({ argv: ['sh', '-c', 'echo ran'], cwd, timeoutMs: 30_000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ cancelled: true, exitCode: null, outputTail: '', outputBytes: 0 });
  });

  it('ends what a finished command left running in its group', async () => {
    const grandchild = withGrandchild('exit 0');
    const result = await runCommand({ argv: grandchild.argv, cwd, timeoutMs: 30_000 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(await goneWithin(await grandchild.pid())).toBe(true);
  });

  it('answers a missing program with spawnError instead of throwing', async () => {
    const result = await runCommand({ argv: ['planexec-no-such-program-x'], cwd, timeoutMs: 30_000 });
    expect(result).toMatchObject({ exitCode: null, spawnError: 'command not found: planexec-no-such-program-x' });
    expect(result.outputTail).toContain('command not found');
    const nowhere = await runCommand({ argv: ['true'], cwd: join(scratch, 'no-such-folder'), timeoutMs: 30_000 });
    expect(nowhere.spawnError).toBe(`working folder not found: ${join(scratch, 'no-such-folder')}`);
  });

  it('gives the command a scrubbed environment: no provider keys, tokens or planexec settings', async () => {
    const env = {
      PATH: process.env.PATH,
      OPENAI_API_KEY: 'sk-test-secret',
      OPENAI_BASE_URL: 'http://127.0.0.1:1',
      ANTHROPIC_API_KEY: 'a',
      GEMINI_API_KEY: 'g',
      GITHUB_TOKEN: 't',
      NPM_TOKEN: 'n',
      AWS_SECRET_ACCESS_KEY: 'aws',
      PLANEXEC_EXECUTOR_API_KEY: 'p',
      PLANEXEC_HTTP_TOKEN: 'h',
      PLANEXEC_DB: '/state.db',
      CODEX_API_KEY: 'c',
      GIT_DIR: '/elsewhere/.git',
      KEEP_ME: 'kept',
      NODE_ENV: 'test',
    };
    const result = await runCommand({ argv: node('process.stdout.write(JSON.stringify(Object.keys(process.env).sort()))'), cwd, timeoutMs: 30_000, env });
    const names: string[] = JSON.parse(result.outputTail);
    expect(names).toContain('KEEP_ME');
    expect(names).toContain('NODE_ENV');
    expect(names).toContain('PATH');
    for (const gone of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GITHUB_TOKEN', 'NPM_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'PLANEXEC_EXECUTOR_API_KEY', 'PLANEXEC_HTTP_TOKEN', 'PLANEXEC_DB', 'CODEX_API_KEY', 'GIT_DIR']) {
      expect(names).not.toContain(gone);
    }
  });

  it('refuses an empty argv and a timeout that is not positive', () => {
    expect(() => runCommand({ argv: [], cwd, timeoutMs: 1000 })).toThrow(PlanexecError);
    expect(() => runCommand({ argv: ['true'], cwd, timeoutMs: 0 })).toThrow(/not a positive number/);
  });
});

describe('CommandRunner', () => {
  it('killAll ends every running command and its group, and forgets them', async () => {
    const runner = new CommandRunner({ killGraceMs: 500 });
    const grandchild = withGrandchild('sleep 1000');
    const a = runner.run({ argv: grandchild.argv, cwd, timeoutMs: 60_000 });
    const b = runner.run({ argv: ['sleep', '1000'], cwd, timeoutMs: 60_000 });
    expect(runner.size).toBe(2);
    const pid = await grandchild.pid();
    await runner.killAll();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.cancelled).toBe(true);
    expect(rb.cancelled).toBe(true);
    expect(runner.size).toBe(0);
    expect(await goneWithin(pid)).toBe(true);
  });

  it('killAllNow sends SIGKILL to every running group at once', async () => {
    const runner = new CommandRunner();
    // The grandchild inherits the ignored SIGTERM: only a SIGKILL to the group ends it.
    const grandchild = withGrandchild('wait');
    const running = runner.run({ argv: ['sh', '-c', `trap "" TERM; ${grandchild.argv[2]}`, 'sh', grandchild.argv[4]!], cwd, timeoutMs: 60_000 });
    const pid = await grandchild.pid();
    runner.killAllNow();
    const result = await running;
    expect(result.signal).toBe('SIGKILL');
    expect(result.cancelled).toBe(false);
    expect(await goneWithin(pid)).toBe(true);
  });

  it('passes the caller signal through: aborting one command leaves the others running', async () => {
    const runner = new CommandRunner();
    const controller = new AbortController();
    const stopped = runner.run({ argv: ['sleep', '1000'], cwd, timeoutMs: 60_000, signal: controller.signal });
    const other = runner.run({ argv: ['sh', '-c', 'sleep 0.3; echo done'], cwd, timeoutMs: 60_000 });
    controller.abort();
    expect((await stopped).cancelled).toBe(true);
    expect(await other).toMatchObject({ exitCode: 0, outputTail: 'done\n', cancelled: false });
  });
});

describe('pid files and killRecordedGroups', () => {
  it('records the running group in the pid file and removes it when the command ends', async () => {
    const file = join(scratch, 'records-1', 'run.json');
    let seen: { pid: number; host: string; startTime: string | null } | null = null;
    const result = await runCommand({
      argv: ['sh', '-c', 'while [ ! -s "$1" ]; do sleep 0.01; done; cat "$1"', 'sh', file],
      cwd,
      timeoutMs: 30_000,
      pidFile: file,
      onSpawn: () => (seen = JSON.parse(readFileSync(file, 'utf8'))),
    });
    expect(JSON.parse(result.outputTail)).toEqual(seen);
    expect(seen!.host).toBe(hostIdentity());
    expect(seen!.startTime).toMatch(/^\d+$/);
    expect(existsSync(file)).toBe(false);
  });

  it('kills a recorded group still running, leaves alone a reused pid and records of other hosts', async () => {
    const dir = join(scratch, 'records-2');
    const grandchild = withGrandchild('sleep 1000');
    let leader = 0;
    // A command whose runner is gone (as after kill -9): only its record is left.
    const orphan = runCommand({ argv: grandchild.argv, cwd, timeoutMs: 60_000, pidFile: join(dir, 'a.json'), onSpawn: (p) => (leader = p) });
    const pid = await grandchild.pid();
    const innocent = runCommand({ argv: ['sleep', '1000'], cwd, timeoutMs: 60_000, pidFile: join(scratch, 'innocent.json') });
    const innocentRecord = JSON.parse(readFileSync(join(scratch, 'innocent.json'), 'utf8'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'reused.json'), JSON.stringify({ ...innocentRecord, startTime: '1' }));
    writeFileSync(join(dir, 'elsewhere.json'), JSON.stringify({ ...innocentRecord, host: 'another-host' }));
    writeFileSync(join(dir, 'torn.json'), '{"pid": 12');

    expect(await killRecordedGroups(dir)).toBe(1);
    expect((await orphan).signal).toBe('SIGKILL');
    expect(alive(leader)).toBe(false);
    expect(await goneWithin(pid)).toBe(true);
    expect(alive(innocentRecord.pid)).toBe(true);
    expect(readdirSync(dir)).toEqual(['elsewhere.json']);
    process.kill(-innocentRecord.pid, 'SIGKILL');
    expect((await innocent).signal).toBe('SIGKILL');
  });
});

describe('splitCommand agrees with sh', () => {
  // For commands splitCommand accepts, the words must be the ones a shell would pass; bash (with
  // globbing off) is the reference.
  it.each([
    'npm run lint -- --fix',
    `npx vitest run -t "adds two numbers" --reporter=dot`,
    `echo a\\ b "c\\"d" 'e\\f' "g\\h" "i\\$j"`,
    `pre"mid"'post' '' ""`,
    `find . -name x -exec rm {} \\;`,
    'echo a~b c#d x=y',
    `python -c 'print("hi")'`,
    `grep -E 'a|b$' "tab\there"`,
    'cargo test \\\n --lib',
  ])('%j', (command) => {
    const bash = execFileSync('bash', ['-c', 'set -f; eval "set -- $1"; printf "%s\\0" "$@"', 'bash', command], { encoding: 'utf8' });
    expect(splitCommand(command)).toEqual(bash.split('\0').slice(0, -1));
  });
});
