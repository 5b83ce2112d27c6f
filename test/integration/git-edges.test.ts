// GitChanges and GitExec at git's edges, against real git in temp folders: a missing working folder
// told apart from a missing git, more paths than fit in a command line, model text with terminal
// controls in a commit, which paths git would not commit, and where a check's records go.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitChanges } from '../../src/adapters/git/git-changes.js';
import { GitExec } from '../../src/adapters/git/git-exec.js';
import { PlanexecError } from '../../src/core/errors.js';
import { ISOLATED_GIT_ENV, git, put, tempRepo, type TempRepo } from '../support/git-repo.js';
import { until } from '../support/responders.js';

let repo: TempRepo;
let changes: GitChanges;
let wt: string;
const BRANCH = 'planexec/wf-1';

beforeEach(async () => {
  repo = tempRepo({ 'README.md': 'hello\n', '.gitignore': 'build/\n*.log\n!keep.log\n', 'tracked.log': 'tracked\n' });
  changes = new GitChanges({ env: ISOLATED_GIT_ENV });
  wt = join(repo.dir, 'worktrees', 'wf-1');
});

afterEach(() => repo.cleanup());

async function caught(promise: Promise<unknown>): Promise<PlanexecError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PlanexecError);
    return error as PlanexecError;
  }
  throw new Error('expected a PlanexecError');
}

const makeWorktree = () => changes.createWorktree({ root: repo.root, branch: BRANCH, path: wt, base: 'HEAD' });

describe('git in a folder that is gone', () => {
  it('says the folder is missing, not that git is not installed; a missing git still says so', async () => {
    const exec = new GitExec(ISOLATED_GIT_ENV, 10_000);
    const gone = join(repo.dir, 'removed-by-hand');
    const error = await caught(exec.run(['status'], { cwd: gone }));
    expect(error.code).toBe('git_failed');
    expect(error.details).toMatchObject({ reason: 'missing_folder', cwd: gone });
    expect(error.message).toContain(`the folder ${gone} does not exist`);
    expect(error.message).not.toMatch(/not installed/);

    const noGit = await caught(new GitExec(ISOLATED_GIT_ENV, 10_000, join(repo.dir, 'no-such-git')).run(['status'], { cwd: repo.root }));
    expect(noGit.message).toMatch(/is not installed or not on PATH/);
    expect(noGit.details.reason).toBeUndefined();
  });
});

describe('commit with many paths', () => {
  it('commits more paths than fit in one command line (they go to git on stdin)', async () => {
    await makeWorktree();
    // ~2.5 MB of paths, past Linux's 2 MiB ARG_MAX: as arguments the spawn fails with E2BIG.
    const folder = Array.from({ length: 19 }, (_, i) => `${i}`.padEnd(200, 'd')).join('/');
    const paths = Array.from({ length: 650 }, (_, i) => `${folder}/file-${i}.txt`);
    for (const p of paths) put(wt, p, `${p.length}\n`);
    put(wt, 'README.md', 'changed\n');
    const sha = await changes.commit({ worktree: wt, message: 'Many files', trailers: {}, paths: [...paths, 'README.md'], created: paths });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(git(wt, 'diff', '--shortstat', 'HEAD~1', 'HEAD')).toMatch(/^ 651 files changed/);
    expect(git(wt, 'status', '--porcelain')).toBe('');
  }, 60_000);
});

describe('commit messages from model text', () => {
  it('lose terminal escape sequences and control characters, in the message and the trailers', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    await changes.commit({
      worktree: wt,
      message: 'Fix \x1b[2J\x1b[31madd()\x1b[0m\x07\r\n\r\nNote \x1b]0;owned\x07with \x9b1mcontrols',
      trailers: { 'Planexec-Subtask': 'fix\x1b[8m', 'Planexec-Model': 'gpt\x7f-5' },
    });
    const raw = git(wt, 'log', '-1', '--format=%B').trimEnd();
    expect(raw).toBe('Fix add()\n\nNote with controls\n\nPlanexec-Subtask: fix\nPlanexec-Model: gpt-5');
    // eslint-disable-next-line no-control-regex
    expect(raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

describe('uncommittable', () => {
  it('names ignored untracked paths with their rule and paths inside a submodule; leaves out tracked, un-ignored, linked and ordinary ones', async () => {
    // A submodule (a gitlink) at lib/sub, and a tracked file a rule matches.
    git(repo.root, 'update-index', '--add', '--cacheinfo', `160000,${git(repo.root, 'rev-parse', 'HEAD')},lib/sub`);
    git(repo.root, 'add', '--force', 'tracked.log');
    git(repo.root, 'commit', '-q', '-m', 'A submodule');
    expect(git(repo.root, 'ls-files', '--stage', 'lib/sub', 'tracked.log')).toMatch(/^160000 .*\tlib\/sub\n100644 .*\ttracked\.log$/);
    await makeWorktree();
    mkdirSync(join(wt, 'real'));
    symlinkSync(join(wt, 'real'), join(wt, 'linked'));
    const found = await changes.uncommittable({
      worktree: wt,
      paths: ['build/out.js', 'x.log', 'keep.log', 'tracked.log', 'lib/sub/a.c', 'lib/sub', 'src/ok.ts', 'linked/build/x', ':(glob)build/y', ':!z.log', './build//w.js'],
    });
    expect(Object.fromEntries(found)).toEqual({
      'build/out.js': "git ignores it (the rule 'build/' in .gitignore, line 1); use a path git does not ignore, or change that rule",
      'x.log': "git ignores it (the rule '*.log' in .gitignore, line 2); use a path git does not ignore, or change that rule",
      'build/w.js': expect.stringContaining("the rule 'build/'"),
      ':!z.log': expect.stringContaining("the rule '*.log'"),
      'lib/sub/a.c': "it is inside the submodule 'lib/sub', whose files are committed in that repository, not in this one; edit files outside it",
    });
    // ':(glob)build/y' is a file named so, in a folder named ':(glob)build': nothing ignores it. The
    // gitlink's own path is a folder in the worktree: the writer refuses a file there.
    expect(found.has(':(glob)build/y')).toBe(false);
    expect(found.has('lib/sub')).toBe(false);
    // Without a path in the submodule, the ignored ones are found the same way.
    expect(Object.fromEntries(await changes.uncommittable({ worktree: wt, paths: ['x.log', 'src/ok.ts'] }))).toEqual({ 'x.log': expect.stringContaining("the rule '*.log'") });
  });
});

describe('runInWorktree in a folder', () => {
  it("runs in the folder and keeps its record in the worktree's git dir, even when the folder looks like a git dir", async () => {
    await makeWorktree();
    // What a model could write: HEAD, objects/ and refs/ make git take the folder for a repository.
    put(wt, 'app/HEAD', 'ref: refs/heads/main\n');
    put(wt, 'app/objects/info/keep', 'x\n');
    put(wt, 'app/refs/heads/keep', 'x\n');
    expect(git(join(wt, 'app'), 'rev-parse', '--absolute-git-dir')).toBe(join(wt, 'app'));
    const result = await changes.runInWorktree(wt, { folder: 'app', argv: [process.execPath, '-e', "console.log(process.cwd(), require('node:fs').readdirSync('.').sort().join(','))"], timeoutMs: 30_000 });
    expect(result.exitCode).toBe(0);
    expect(result.outputTail.trim()).toBe(`${join(wt, 'app')} HEAD,objects,refs`);
    expect(readdirSync(join(wt, 'app')).sort()).toEqual(['HEAD', 'objects', 'refs']);
    rmSync(join(wt, 'app'), { recursive: true });
    await expect(changes.runInWorktree(wt, { folder: '../x', argv: ['true'], timeoutMs: 1000 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('discard', () => {
  it('ends a check still running in the worktree before removing it', async () => {
    await makeWorktree();
    const records = join(git(wt, 'rev-parse', '--absolute-git-dir'), 'planexec-running');
    const check = changes.runInWorktree(wt, { argv: ['sleep', '1000'], timeoutMs: 600_000 });
    await until(() => existsSync(records) && readdirSync(records).some((f) => f.endsWith('.json')), 'the check to be recorded');
    expect(await changes.discard({ root: repo.root, worktree: wt, branch: BRANCH })).toEqual({ removedWorktree: true, deletedBranch: true });
    const result = await check;
    expect(result.exitCode).not.toBe(0);
    expect(existsSync(wt)).toBe(false);
  }, 30_000);
});
