// Crash safety of changes (PRODUCT.md "Changes"; issue 8, item 8) with the built server, real git and
// kill -9: a server killed while an attempt's check runs, between writing an attempt's files and
// committing them, between committing and recording the commit, or during the final host checks,
// leaves a worktree that the next server puts back at the head planexec recorded before it resumes. Then the branch holds one commit per subtask,
// each recorded execution's commit is on it, the recorded head is its tip, and every executor call
// the provider answered is in the journal once.
//
// The windows are made deterministic from outside the server: a check that hangs while a flag file
// exists, and a fake `git` first on server A's PATH that sleeps in `git commit` (before or after
// running the real one) while a flag file exists. Both write their pids to files outside the repository.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { git, gitCode } from '../support/git-repo.js';
import { startOpenAIStandin, type OpenAIStandin, type StandinPatchCall, type StandinRequest } from '../support/openai-standin.js';
import { plan, subtaskOf, until, workflowResponder } from '../support/responders.js';
import { spawnServer, type RawServer } from '../support/spawn.js';

const BUGGY = 'export function add(a, b) {\n  return a - b;\n}\n';
const FIXED = 'export function add(a, b) {\n  return a + b;\n}\n';
const TEST = "import test from 'node:test';\nimport assert from 'node:assert';\nimport { add } from './math.mjs';\n\ntest('add', () => assert.strictEqual(add(2, 3), 5));\n";
const FIX: StandinPatchCall = { type: 'update_file', path: 'math.mjs', diff: '@@ export function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n' };
const SCRATCH: StandinPatchCall = { type: 'create_file', path: 'scratch.txt', diff: '+left by the interrupted attempt\n' };
const NOTES: StandinPatchCall = { type: 'create_file', path: 'NOTES.md', diff: '+add() adds.\n' };

/** fix edits math.mjs (and may write scratch.txt); notes, after it, writes NOTES.md. */
const steps = (fixChecks: string[] = []) =>
  plan([
    { id: 'fix', writes: ['math.mjs', 'scratch.txt'], checks: fixChecks },
    { id: 'notes', writes: ['NOTES.md'], depends_on: ['fix'] },
  ]);

/**
 * A check that, while `flag` exists, starts a child, writes both pids to `pids` and hangs; else it
 * passes. With `count`, it counts its runs in that file and hangs only from run `from` on, failing
 * (exit 1) the runs before it.
 */
const hangScript = (flag: string, pids: string, count?: { file: string; from: number }) =>
  [
    "import { spawn } from 'node:child_process';",
    "import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';",
    count
      ? `const run = (existsSync(${JSON.stringify(count.file)}) ? Number(readFileSync(${JSON.stringify(count.file)}, 'utf8')) : 0) + 1;\nwriteFileSync(${JSON.stringify(count.file)}, String(run));`
      : 'const run = 1;',
    `if (existsSync(${JSON.stringify(flag)}) && run >= ${count?.from ?? 1}) {`,
    "  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
    `  writeFileSync(${JSON.stringify(`${pids}.tmp`)}, JSON.stringify([process.pid, child.pid]));`,
    `  renameSync(${JSON.stringify(`${pids}.tmp`)}, ${JSON.stringify(pids)});`,
    '  setInterval(() => {}, 1000);',
    `} else if (run < ${count?.from ?? 1}) process.exit(1);`,
    '',
  ].join('\n');

/**
 * A `git` that, for the `commit` subcommand while `flag` exists, writes its pid to `pidFile` and
 * sleeps: before running the real git ('before': the files are written and staged, not committed)
 * or after it ('after': committed, not recorded). Anything else is the real git.
 */
const fakeGit = (realGit: string, flag: string, pidFile: string, when: 'before' | 'after') => `#!/bin/sh
sub=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in
    -c|-C) skip=1 ;;
    -*) ;;
    *) sub=$a; break ;;
  esac
done
if [ "$sub" = commit ] && [ -e '${flag}' ]; then
  ${when === 'after' ? `'${realGit}' "$@" || exit $?` : ':'}
  echo $$ > '${pidFile}.tmp' && mv '${pidFile}.tmp' '${pidFile}'
  exec sleep 600
fi
exec '${realGit}' "$@"
`;

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

let standin: OpenAIStandin;
let dir: string;
let repo: string;
const servers: RawServer[] = [];
/** Pids files of processes a test may leave behind (checks, the sleeping fake git): killed after each test. */
const leftovers: string[] = [];

beforeAll(async () => {
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-changes-crash-'));
  repo = join(dir, 'repo');
  mkdirSync(repo);
  standin.reset();
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  for (const file of leftovers.splice(0)) for (const pid of pidsIn(file)) kill(pid);
  rmSync(dir, { recursive: true, force: true });
});

function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return Array.isArray(parsed) ? (parsed as number[]) : [parsed as number];
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Whether the process runs (a zombie waiting for its parent does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** The tiny repository: add() is wrong and its `node --test` test fails; hang.mjs is the hanging check. */
function makeRepo(files: Record<string, string> = {}): void {
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.email', 'user@example.com');
  git(repo, 'config', 'user.name', 'User');
  const all = { 'math.mjs': BUGGY, 'math.test.mjs': TEST, 'README.md': '# Tiny\n', '.gitignore': 'node_modules/\n', ...files };
  for (const [path, content] of Object.entries(all)) writeFileSync(join(repo, path), content);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'Initial');
}

/**
 * For the tests of a check a killed server leaves running: only without the check sandbox does it
 * outlive the server (in the sandbox it dies with it: test/integration/check-sandbox.test.ts), and
 * only there are the pids it writes (its own process.pid) the ones seen from here.
 */
const UNSANDBOXED = { PLANEXEC_CHECK_SANDBOX: 'off' };

/** Starts the built server on the test's database, repository and worktrees folder. */
async function start(env: Record<string, string> = {}): Promise<RawServer> {
  const server = spawnServer({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'state.db'),
    PLANEXEC_ROOT: repo,
    PLANEXEC_WORKTREES: join(dir, 'worktrees'),
    PLANEXEC_LEASE_MS: '1000',
    PLANEXEC_MAX_RETRIES: '0',
    PLANEXEC_LOG_LEVEL: 'warn',
    ...env,
  });
  servers.push(server);
  await server.initialize();
  return server;
}

async function killHard(server: RawServer): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exited;
}

function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

interface ChangesRow {
  worktree: string;
  branch: string;
  base: string;
  head: string;
  lock_owner: string | null;
}
const changesRow = (workflowId: string) => query<ChangesRow>('SELECT worktree, branch, base, head, lock_owner FROM changes WHERE workflow_id = ?', workflowId)[0]!;

interface ExecutionRow {
  subtask_id: string;
  attempt: number;
  call_id: number;
  changes: string | null;
}
const executions = (workflowId: string) => query<ExecutionRow>('SELECT subtask_id, attempt, call_id, changes FROM executions WHERE workflow_id = ? ORDER BY id', workflowId);

interface CallRow {
  id: number;
  subtask_id: string | null;
  purpose: string;
  status: string;
  response_id: string | null;
  output_tokens: number | null;
}
const calls = (workflowId: string) => query<CallRow>('SELECT id, subtask_id, purpose, status, response_id, output_tokens FROM model_calls WHERE workflow_id = ? ORDER BY id', workflowId);

const executorRequests = () => standin.requests.filter((r) => r.schemaName === null);
const requestsFor = (id: string) => executorRequests().filter((r) => subtaskOf(r) === id);

/** The branch's commits after the base, oldest first: sha and the Planexec-Subtask trailer. */
function branchCommits(c: ChangesRow): Array<{ sha: string; subtask: string; workflow: string }> {
  return git(repo, 'log', '--reverse', '--format=%H|%(trailers:key=Planexec-Subtask,valueonly,separator=)|%(trailers:key=Planexec-Workflow,valueonly,separator=)', `${c.base}..${c.branch}`)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, subtask, workflow] = line.split('|').map((x) => x.trim());
      return { sha: sha!, subtask: subtask!, workflow: workflow! };
    });
}

/**
 * What must hold after the resumed workflow completed: one commit per subtask on the branch (with
 * this workflow's trailers), exactly the commits the executions recorded, the recorded head at the
 * branch tip, a clean worktree at that tip, no apply lock or running check left, and a journal with
 * one settled row per executor request the provider answered (nothing pending, nothing twice).
 */
function expectBranchAndJournalAgree(workflowId: string): ChangesRow {
  const c = changesRow(workflowId);
  const commits = branchCommits(c);
  expect(commits.map((x) => x.subtask)).toEqual(['fix', 'notes']);
  expect(commits.every((x) => x.workflow === workflowId)).toBe(true);
  expect(c.head).toBe(git(repo, 'rev-parse', c.branch));
  expect(git(c.worktree, 'rev-parse', 'HEAD')).toBe(c.head);
  expect(git(c.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  expect(c.lock_owner).toBeNull();

  // Each recorded execution's commit is on the branch, and the branch holds nothing else.
  const recorded = executions(workflowId).map((e) => ({ subtask: e.subtask_id, commit: (JSON.parse(e.changes!) as { commit: string | null; rolled_back: boolean }).commit }));
  expect(recorded.map((r) => r.subtask)).toEqual(['fix', 'notes']);
  for (const r of recorded) expect(gitCode(repo, 'merge-base', '--is-ancestor', r.commit!, c.branch)).toBe(0);
  expect(recorded.map((r) => r.commit)).toEqual(commits.map((x) => x.sha));

  // One journal row per executor response the provider sent, none pending, each response once.
  const journal = calls(workflowId).filter((x) => x.purpose === 'execute');
  expect(journal.some((x) => x.status === 'pending')).toBe(false);
  const answered = executorRequests().filter((r) => r.responseId !== null);
  const billed = journal.filter((x) => x.status === 'completed').map((x) => x.response_id);
  expect(new Set(billed).size).toBe(billed.length);
  expect([...billed].sort()).toEqual(answered.map((r) => r.responseId).sort());
  expect(journal.filter((x) => x.status === 'completed').reduce((n, x) => n + (x.output_tokens ?? 0), 0)).toBe(answered.reduce((n, r) => n + (r.usage?.outputTokens ?? 0), 0));
  // The recorded executions point at answered calls of their own subtask.
  for (const e of executions(workflowId)) expect(journal.find((x) => x.id === e.call_id)).toMatchObject({ subtask_id: e.subtask_id, status: 'completed' });
  // No check is recorded as still running in the worktree.
  const running = join(git(c.worktree, 'rev-parse', '--absolute-git-dir'), 'planexec-running');
  expect(existsSync(running) ? readdirSync(running) : []).toEqual([]);
  return c;
}

/** The model was shown the files as they are at the recorded head (what a retry must start from), nothing the dead attempt wrote. */
const shownBuggy = (r: StandinRequest) => r.inputText.includes('return a - b;') && !r.inputText.includes('return a + b;') && !r.inputText.includes('left by the interrupted attempt');

describe('kill -9 of a server that makes changes, then resume on the same database', () => {
  it('mid-check: the next server ends the orphaned check and its child, the attempt runs again from the recorded head and is committed once', async () => {
    const flag = join(dir, 'hang-flag');
    const pids = join(dir, 'check-pids.json');
    leftovers.push(pids);
    makeRepo({ 'hang.mjs': hangScript(flag, pids) });
    writeFileSync(flag, '');
    let fixCalls = 0;
    standin.setResponder(
      workflowResponder(steps(['node hang.mjs']), {
        // Notes that differ, so that the retry's commit differs from the interrupted one (same tree, parent and second otherwise).
        executor: (id) => (id === 'fix' ? { patchCalls: [FIX], text: ++fixCalls === 1 ? 'First try.' : 'Second try.' } : { patchCalls: [NOTES], text: 'Noted.' }),
      }),
    );
    const env = { PLANEXEC_ALLOWED_CHECKS: 'node hang.mjs', ...UNSANDBOXED };

    const first = await start(env);
    const started = await first.call('run_workflow', { request: 'Fix add()', wait: false });
    expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
    const workflowId = started.structuredContent.workflow_id as string;
    await until(() => existsSync(pids), 'the check after the first attempt to start', 60_000);
    const [check, grandchild] = pidsIn(pids) as [number, number];
    const { worktree, head: recordedBefore, base } = changesRow(workflowId);
    // The window: the attempt is committed in the worktree, not recorded.
    const interrupted = git(worktree, 'rev-parse', 'HEAD');
    expect(interrupted).not.toBe(recordedBefore);
    expect(recordedBefore).toBe(base);
    await killHard(first);
    // kill -9 of the server does not reach the check: it runs in its own process group.
    expect(alive(check) && alive(grandchild)).toBe(true);
    rmSync(flag);

    const second = await start(env);
    const resumed = await second.call('run_workflow', { workflow_id: workflowId });
    expect(resumed.isError, JSON.stringify(resumed.content)).toBeFalsy();
    expect(resumed.structuredContent.phase).toBe('completed');

    // Server B's reset ended the orphaned check and its child (the flag's removal does not: the check hangs on).
    await until(() => !alive(check) && !alive(grandchild), 'the orphaned check and its child to be gone', 20_000);
    const c = expectBranchAndJournalAgree(workflowId);
    expect(gitCode(repo, 'merge-base', '--is-ancestor', interrupted, c.branch)).not.toBe(0);
    expect(git(repo, 'log', '--format=%B', `${c.base}..${c.branch}`)).not.toContain('First try.');
    expect(readFileSync(join(c.worktree, 'math.mjs'), 'utf8')).toBe(FIXED);
    // fix ran twice (the interrupted attempt and its retry); the retry was shown the recorded head's
    // file and its patch applied at once, with nothing refused.
    const fixRequests = requestsFor('fix');
    expect(fixRequests).toHaveLength(2);
    expect(shownBuggy(fixRequests[1]!)).toBe(true);
    const fixExecution = JSON.parse(executions(workflowId).find((e) => e.subtask_id === 'fix')!.changes!) as { rejected: unknown[] };
    expect(fixExecution.rejected).toEqual([]);
    // The interrupted call had been answered: it stays completed (billed once), not abandoned.
    expect(calls(workflowId).filter((x) => x.subtask_id === 'fix' && x.purpose === 'execute').map((x) => x.status)).toEqual(['completed', 'completed']);
  }, 120_000);

  it('between writing the files and committing them: the next server removes the uncommitted edits before the retry, which is committed once', async () => {
    const flag = join(dir, 'commit-flag');
    const gitPid = join(dir, 'git-pid');
    leftovers.push(gitPid);
    makeRepo();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'git'), fakeGit(REAL_GIT, flag, gitPid, 'before'));
    chmodSync(join(bin, 'git'), 0o755);
    let fixCalls = 0;
    standin.setResponder(
      workflowResponder(steps(), {
        // The interrupted attempt also creates scratch.txt; the retry does not.
        executor: (id) => (id === 'fix' ? (++fixCalls === 1 ? { patchCalls: [FIX, SCRATCH], text: 'First try.' } : { patchCalls: [FIX], text: 'Second try.' }) : { patchCalls: [NOTES], text: 'Noted.' }),
      }),
    );

    writeFileSync(flag, '');
    const first = await start({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    const started = await first.call('run_workflow', { request: 'Fix add()', checks: ['node --test'], wait: false });
    expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
    const workflowId = started.structuredContent.workflow_id as string;
    await until(() => existsSync(gitPid) && readFileSync(gitPid, 'utf8').trim() !== '', 'git commit to be reached', 60_000);
    const { worktree, head: recordedBefore } = changesRow(workflowId);
    // The window: the attempt's files are written (a new one staged), nothing is committed.
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(recordedBefore);
    const written = git(worktree, 'status', '--porcelain', '--untracked-files=all').split('\n');
    expect(written.map((line) => line.slice(3)).sort()).toEqual(['math.mjs', 'scratch.txt']);
    await killHard(first);
    for (const pid of pidsIn(gitPid)) kill(pid);
    rmSync(flag);

    const second = await start();
    const resumed = await second.call('run_workflow', { workflow_id: workflowId });
    expect(resumed.isError, JSON.stringify(resumed.content)).toBeFalsy();
    expect(resumed.structuredContent.phase).toBe('completed');

    const c = expectBranchAndJournalAgree(workflowId);
    // The retry started from the recorded head: shown the old file, its patch applied at once, and
    // the interrupted attempt's files are neither in the worktree nor on the branch.
    const fixRequests = requestsFor('fix');
    expect(fixRequests).toHaveLength(2);
    expect(shownBuggy(fixRequests[1]!)).toBe(true);
    expect(existsSync(join(c.worktree, 'scratch.txt'))).toBe(false);
    expect(git(repo, 'ls-tree', '-r', '--name-only', c.branch).split('\n')).not.toContain('scratch.txt');
    expect(git(repo, 'log', '--format=%B', `${c.base}..${c.branch}`)).not.toContain('First try.');
    expect(readFileSync(join(c.worktree, 'math.mjs'), 'utf8')).toBe(FIXED);
    expect(resumed.structuredContent.changes.final_checks).toMatchObject([{ command: 'node --test', passed: true }]);
    expect(calls(workflowId).filter((x) => x.subtask_id === 'fix' && x.purpose === 'execute').map((x) => x.status)).toEqual(['completed', 'completed']);
  }, 120_000);

  it('between committing and recording the commit: the next server moves the branch back to the recorded head, and the retry is committed once', async () => {
    const flag = join(dir, 'commit-flag');
    const gitPid = join(dir, 'git-pid');
    leftovers.push(gitPid);
    makeRepo();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'git'), fakeGit(REAL_GIT, flag, gitPid, 'after'));
    chmodSync(join(bin, 'git'), 0o755);
    let fixCalls = 0;
    standin.setResponder(
      workflowResponder(steps(), {
        executor: (id) => (id === 'fix' ? (++fixCalls === 1 ? { patchCalls: [FIX, SCRATCH], text: 'First try.' } : { patchCalls: [FIX], text: 'Second try.' }) : { patchCalls: [NOTES], text: 'Noted.' }),
      }),
    );

    writeFileSync(flag, '');
    const first = await start({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    const started = await first.call('run_workflow', { request: 'Fix add()', wait: false });
    expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
    const workflowId = started.structuredContent.workflow_id as string;
    await until(() => existsSync(gitPid) && readFileSync(gitPid, 'utf8').trim() !== '', 'git commit to return', 60_000);
    const { worktree, branch, head: recordedBefore } = changesRow(workflowId);
    // The window: the attempt is committed on the branch, the database still has the old head.
    const interrupted = git(worktree, 'rev-parse', 'HEAD');
    expect(interrupted).not.toBe(recordedBefore);
    expect(git(repo, 'rev-parse', branch)).toBe(interrupted);
    expect(git(repo, 'log', '-1', '--format=%B', interrupted)).toContain('Planexec-Subtask: fix');
    await killHard(first);
    for (const pid of pidsIn(gitPid)) kill(pid);
    rmSync(flag);

    const second = await start();
    const resumed = await second.call('run_workflow', { workflow_id: workflowId });
    expect(resumed.isError, JSON.stringify(resumed.content)).toBeFalsy();
    expect(resumed.structuredContent.phase).toBe('completed');

    const c = expectBranchAndJournalAgree(workflowId);
    expect(gitCode(repo, 'merge-base', '--is-ancestor', interrupted, c.branch)).not.toBe(0);
    const fixRequests = requestsFor('fix');
    expect(fixRequests).toHaveLength(2);
    expect(shownBuggy(fixRequests[1]!)).toBe(true);
    expect(git(repo, 'ls-tree', '-r', '--name-only', c.branch).split('\n')).not.toContain('scratch.txt');
    expect(git(repo, 'log', '--format=%B', `${c.base}..${c.branch}`)).not.toContain('First try.');
    expect(calls(workflowId).filter((x) => x.subtask_id === 'fix' && x.purpose === 'execute').map((x) => x.status)).toEqual(['completed', 'completed']);
  }, 120_000);

  it('during the final host checks: the next server ends the orphaned check before it runs them again, and nothing is executed or committed again', async () => {
    const flag = join(dir, 'hang-flag');
    const pids = join(dir, 'check-pids.json');
    leftovers.push(pids);
    // Host check runs: 1 on the base, 2 after fix, 3 after notes (all three fail: a check that failed
    // on the base is not held against subtasks not meant to fix it), 4 the final checks (which hang),
    // then 5, the final checks again after the crash, which pass. Had the attempts passed it, the
    // last attempt's passing run would stand for the final checks (same head) and none would run.
    makeRepo({ 'hang.mjs': hangScript(flag, pids, { file: join(dir, 'check-runs'), from: 4 }) });
    writeFileSync(flag, '');
    standin.setResponder(workflowResponder(steps(), { executor: (id) => (id === 'fix' ? { patchCalls: [FIX], text: 'add() adds now.' } : { patchCalls: [NOTES], text: 'Noted.' }) }));

    const first = await start(UNSANDBOXED);
    const started = await first.call('run_workflow', { request: 'Fix add()', checks: ['node hang.mjs'], wait: false });
    expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
    const workflowId = started.structuredContent.workflow_id as string;
    await until(() => existsSync(pids), 'the final checks to start', 60_000);
    const [check, grandchild] = pidsIn(pids) as [number, number];
    // The window: both subtasks are recorded and approved, the worktree is clean at the recorded head.
    const before = changesRow(workflowId);
    expect(query<{ id: string; status: string }>('SELECT id, status FROM subtasks WHERE workflow_id = ? ORDER BY id', workflowId)).toEqual([
      { id: 'fix', status: 'approved' },
      { id: 'notes', status: 'approved' },
    ]);
    expect(git(before.worktree, 'rev-parse', 'HEAD')).toBe(before.head);
    expect(git(before.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    await killHard(first);
    expect(alive(check) && alive(grandchild)).toBe(true);
    rmSync(flag);

    const second = await start(UNSANDBOXED);
    const resumed = await second.call('run_workflow', { workflow_id: workflowId });
    expect(resumed.isError, JSON.stringify(resumed.content)).toBeFalsy();
    expect(resumed.structuredContent.phase).toBe('completed');
    expect(resumed.structuredContent.changes.final_checks).toMatchObject([{ command: 'node hang.mjs', passed: true }]);

    await until(() => !alive(check) && !alive(grandchild), 'the orphaned check and its child to be gone', 20_000);
    const c = expectBranchAndJournalAgree(workflowId);
    expect(c.head).toBe(before.head);
    expect(requestsFor('fix')).toHaveLength(1);
    expect(requestsFor('notes')).toHaveLength(1);
  }, 120_000);
});
