// `npm run standin` (scripts/standin.ts): the local OpenAI stand-in as a server of its own, driven
// here as the README's "Try it without a key" does, through the built server over stdio: one line
// with the base URL and the env to give planexec; scripted plans whose editing subtasks make real
// edits that host checks verify and merge_changes brings in; discard_changes; text answers where
// the workspace is not a git repository; V4A patches on Chat Completions; a revision of the plan.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectServer, type Connected } from '../../scripts/lib/stdio-client.js';
import { git, tempRepo, type TempRepo } from '../support/git-repo.js';
import { CLI, withTimeout } from '../support/spawn.js';

const TSX = resolve('node_modules/tsx/dist/cli.mjs');

interface Standin {
  child: ChildProcessWithoutNullStreams;
  /** The first line it printed on stdout. */
  line: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts scripts/standin.ts with `args`; resolves once it printed its line, or exited. */
async function startStandin(args: string[]): Promise<Standin & { code: number | null }> {
  const child = spawn(process.execPath, [TSX, 'scripts/standin.ts', ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const line = await withTimeout(
    new Promise<string>((done) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        if (stdout.includes('\n')) done(stdout.slice(0, stdout.indexOf('\n')));
      });
      void exited.then(() => done(stdout));
    }),
    20_000,
    'the stand-in printing its line',
  );
  return { child, line, stderr: () => stderr, exited, code: child.exitCode };
}

let standin: Standin;
/** What the stand-in's line says to give planexec. */
let standinEnv: Record<string, string>;
let tmp: string;
let server: Connected | null = null;
let repo: TempRepo | null = null;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startStandin(['--port', '0']);
  const env = /give planexec: OPENAI_BASE_URL=(\S+) OPENAI_API_KEY=(\S+)$/.exec(standin.line);
  if (!env) throw new Error(`unexpected stand-in line: ${standin.line}\n${standin.stderr()}`);
  standinEnv = { OPENAI_BASE_URL: env[1]!, OPENAI_API_KEY: env[2]! };
});
afterAll(async () => {
  standin.child.kill('SIGTERM');
  expect(await withTimeout(standin.exited, 10_000, 'the stand-in stopping')).toBe(0);
});
beforeEach(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-standin-test-')));
});
afterEach(async () => {
  await server?.close();
  server = null;
  repo?.cleanup();
  repo = null;
  rmSync(tmp, { recursive: true, force: true });
});

/** The built server on `root`, with the stand-in's env from its line and a database of this test. */
async function planexec(root: string, extra: Record<string, string> = {}): Promise<Connected> {
  server = await connectServer({
    ...standinEnv,
    PLANEXEC_ROOT: root,
    PLANEXEC_DB: join(tmp, 'state.db'),
    PLANEXEC_WORKTREES: join(tmp, 'worktrees'),
    PLANEXEC_LOG_LEVEL: 'warn',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  });
  return server;
}

const HELLO = 'console.log("hello");\n';

describe('npm run standin', () => {
  it('prints one line: a stand-in with scripted answers and no cost, its base URL, and the env for planexec', () => {
    expect(standin.line).toMatch(
      /^planexec OpenAI stand-in \(scripted plans, edits and approving reviews; no model, no cost\) at (http:\/\/127\.0\.0\.1:\d+\/v1) - give planexec: OPENAI_BASE_URL=\1 OPENAI_API_KEY=anything$/,
    );
    expect(standin.line).not.toMatch(/:0\/v1/);
  });

  it('refuses a port that is not a number (exit 2), and one in use (exit 1), naming what to do', async () => {
    const bad = await startStandin(['--port', 'x']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('planexec stand-in: --port x: must be a whole number from 0 to 65535.');
    const port = new URL(standinEnv.OPENAI_BASE_URL!).port;
    const busy = await startStandin(['--port', port]);
    expect(await busy.exited).toBe(1);
    expect(busy.stderr()).toContain(`planexec stand-in: port ${port} on 127.0.0.1 is in use`);
    expect(busy.stderr()).toContain('--port 0 for any free port');
  });

  it('run_workflow on a git repository: scripted edits of the named file and NOTES.md pass the host check, and merge_changes brings them in', async () => {
    repo = tempRepo({ 'hello.js': HELLO });
    const px = await planexec(repo.root);
    const run = await px.call('run_workflow', { request: 'Make hello.js greet by name', files: ['hello.js'], checks: ['node hello.js'] });
    expect(run.phase).toBe('completed');
    expect(run.subtasks.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ['s1', 'approved'],
      ['s2', 'approved'],
      ['s3', 'approved'],
    ]);
    expect(run.changes.files.map((f: { path: string; status: string }) => [f.path, f.status]).sort()).toEqual([
      ['NOTES.md', 'added'],
      ['hello.js', 'modified'],
    ]);
    expect(run.changes.final_checks.map((c: { command: string; passed: boolean }) => [c.command, c.passed])).toEqual([['node hello.js', true]]);

    const merged = await px.call('merge_changes', { workflow_id: run.workflow_id });
    expect(merged.changes.merged.mode).toBe('fast-forward');
    const hello = readFileSync(join(repo.root, 'hello.js'), 'utf8');
    expect(hello).toBe(`${HELLO}// s2 (Make the change): a line added by the planexec stand-in's scripted executor, not by a model\n`);
    expect(readFileSync(join(repo.root, 'NOTES.md'), 'utf8')).toContain("- Make hello.js greet by name (a line written by the planexec stand-in's scripted executor, not by a model)");
    expect(git(repo.root, 'log', '--format=%s', 'main').split('\n').sort()).toEqual(['Make the change', 'Note the change in NOTES.md', 'initial'].sort());
    expect(standin.stderr()).toMatch(/responses gpt-5\.4-mini: execute s2 -> 1 edit\(s\) through apply_patch: update_file hello\.js/);
  });

  it('discard_changes drops a workflow whose edits were not merged (with confirm), leaving the repository as it was', async () => {
    repo = tempRepo({ 'hello.js': HELLO });
    const px = await planexec(repo.root);
    const run = await px.call('run_workflow', { request: 'Add a changelog' });
    expect(run.phase).toBe('completed');
    // No file named: s2 creates its own file.
    expect(run.changes.files.map((f: { path: string }) => f.path).sort()).toEqual(['NOTES.md', 'standin-change.txt']);
    await expect(px.call('discard_changes', { workflow_id: run.workflow_id })).rejects.toThrow(/approved changes that were not merged/);
    const discarded = await px.call('discard_changes', { workflow_id: run.workflow_id, confirm: true });
    expect(discarded.changes.discarded).toBe(true);
    expect(git(repo.root, 'branch', '--list', `planexec/${run.workflow_id}`)).toBe('');
    expect(existsSync(join(repo.root, 'NOTES.md'))).toBe(false);
  });

  it('answers in text where the workspace is not a git repository', async () => {
    const root = join(tmp, 'plain');
    mkdirSync(root);
    writeFileSync(join(root, 'hello.js'), HELLO);
    const px = await planexec(root);
    const run = await px.call('run_workflow', { request: 'Make hello.js greet by name', files: ['hello.js'] });
    expect(run.phase).toBe('completed');
    expect(run.changes.mode).toBe('off');
    const s2 = await px.call('workflow_status', { workflow_id: run.workflow_id, subtask_id: 's2' });
    expect(s2.subtask.output).toContain('This answer to subtask s2 is canned');
    expect(readFileSync(join(root, 'hello.js'), 'utf8')).toBe(HELLO);
  });

  it('sends the edits as a V4A patch in the answer to an executor on Chat Completions, and planexec applies them', async () => {
    repo = tempRepo({ 'hello.js': HELLO, 'NOTES.md': '# Notes\n' });
    const px = await planexec(repo.root, { PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_BASE_URL: standinEnv.OPENAI_BASE_URL!, PLANEXEC_EXECUTOR_MODEL: 'local-coder' });
    const run = await px.call('run_workflow', { request: 'Make hello.js greet by name', files: ['hello.js'] });
    expect(run.phase).toBe('completed');
    expect(run.changes.files.map((f: { path: string; status: string }) => [f.path, f.status]).sort()).toEqual([
      ['NOTES.md', 'modified'],
      ['hello.js', 'modified'],
    ]);
    expect(standin.stderr()).toMatch(/chat\.completions local-coder: execute s3 -> edits as a V4A patch in the text/);
  });

  it('a plan revision adds a subtask for the feedback and keeps the others', async () => {
    repo = tempRepo({ 'hello.js': HELLO });
    const px = await planexec(repo.root);
    const planned = await px.call('plan_task', { request: 'Make hello.js greet by name', files: ['hello.js'] });
    expect(planned.subtasks.map((s: { id: string; writes: string[] }) => [s.id, s.writes])).toEqual([
      ['s1', []],
      ['s2', ['hello.js']],
      ['s3', ['NOTES.md']],
    ]);
    const revised = await px.call('plan_task', { workflow_id: planned.workflow_id, feedback: 'Also say goodbye.' });
    expect(revised.plan_version).toBe(2);
    expect(revised.plan_changes.added).toEqual(['f1']);
    expect(revised.plan_changes.kept).toEqual(['s1', 's2', 's3']);
    expect(revised.subtasks.find((s: { id: string }) => s.id === 'f1').description).toBe('Follow this feedback on the plan: Also say goodbye.');
  });
});
