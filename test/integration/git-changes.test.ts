// GitChanges against real git in temp folders (isolated from the machine's git config): worktrees and
// their idempotence, dependency-folder links, the setup command, commits with trailers, diffs, the
// crash-recovery reset, merges and their refusals, discard.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { GitChanges, PLANEXEC_IDENTITY } from '../../src/adapters/git/git-changes.js';
import { excludePattern } from '../../src/adapters/git/dependency-folders.js';
import { GitExec } from '../../src/adapters/git/git-exec.js';
import { PlanexecError } from '../../src/core/errors.js';
import { ISOLATED_GIT_ENV, git, gitCode, put, tempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
let changes: GitChanges;
let base: string;
let wt: string;
const BRANCH = 'planexec/wf-1';

beforeEach(() => {
  repo = tempRepo({ 'README.md': 'hello\n', 'src/app.js': 'one\ntwo\nthree\n', 'src/old.js': 'old\n' });
  changes = new GitChanges({ env: ISOLATED_GIT_ENV });
  base = git(repo.root, 'rev-parse', 'HEAD');
  wt = join(repo.dir, 'worktrees', 'wf-1');
});

afterEach(() => {
  repo.cleanup();
});

/** A live process (a zombie, which runs nothing, counts as ended: some container inits never reap). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function caught(promise: Promise<unknown>): Promise<PlanexecError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PlanexecError);
    return error as PlanexecError;
  }
  throw new Error('expected a PlanexecError');
}

const makeWorktree = (extra: Partial<Parameters<GitChanges['createWorktree']>[0]> = {}) =>
  changes.createWorktree({ root: repo.root, branch: BRANCH, path: wt, base, ...extra });

/** The repository state merge must leave alone when it refuses. */
const snapshot = (dir: string) => ({ head: git(dir, 'rev-parse', 'HEAD'), status: git(dir, 'status', '--porcelain=v1', '-uall'), mergeHead: existsSync(join(dir, '.git', 'MERGE_HEAD')) });

describe('repository facts', () => {
  it('ready() names the git version, and fails with the fix when git is missing', async () => {
    expect(await changes.ready()).toMatch(/^2\.\d+/);
    const missing = new GitChanges({ env: ISOLATED_GIT_ENV, gitBinary: join(repo.dir, 'no-git-here') });
    const error = await caught(missing.ready());
    expect(error.code).toBe('git_failed');
    expect(error.hint).toContain('PLANEXEC_CHANGES=off');
    const old = join(repo.dir, 'old-git');
    writeFileSync(old, '#!/bin/sh\necho "git version 2.34.1"\n', { mode: 0o755 });
    const tooOld = await caught(new GitChanges({ env: ISOLATED_GIT_ENV, gitBinary: old }).ready());
    expect(tooOld.message).toContain('older than 2.38');
  });

  it('tells a repository from a plain folder and reads HEAD and the current branch', async () => {
    expect(await changes.isRepository(repo.root)).toBe(true);
    expect(await changes.isRepository(join(repo.root, 'src'))).toBe(true);
    mkdirSync(join(repo.dir, 'plain'));
    expect(await changes.isRepository(join(repo.dir, 'plain'))).toBe(false);
    expect(await changes.isRepository(join(repo.dir, 'missing'))).toBe(false);
    expect(await changes.head(repo.root)).toBe(base);
    expect(await changes.currentBranch(repo.root)).toBe('main');
    git(repo.root, 'checkout', '-q', '--detach');
    expect(await changes.currentBranch(repo.root)).toBeNull();
  });

  it('head() of a repository without a commit fails with git_failed and says to make a first commit', async () => {
    const empty = join(repo.dir, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    const error = await caught(changes.head(empty));
    expect(error.code).toBe('git_failed');
    expect(error.message).toContain('no commit yet');
    expect(error.hint).toContain('git commit --allow-empty');
  });
});

describe('what planexec git runs with', () => {
  it("does not run the user's hooks on worktree checkout, commits or merges", async () => {
    const hooks = join(repo.root, '.git', 'hooks');
    const ran = join(repo.dir, 'hooks-ran');
    for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'post-checkout', 'post-merge', 'pre-merge-commit']) {
      writeFileSync(join(hooks, hook), `#!/bin/sh\necho ${hook} >> "${ran}"\nexit 1\n`, { mode: 0o755 });
    }
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    expect(await changes.commit({ worktree: wt, message: 'm', trailers: {} })).toMatch(/^[0-9a-f]{40}$/);
    expect((await changes.merge({ root: repo.root, branch: BRANCH })).kind).toBe('merged');
    expect(existsSync(ran)).toBe(false);
    // The hooks are real: git run by hand does run them.
    expect(gitCode(repo.root, 'commit', '--allow-empty', '-m', 'by hand')).not.toBe(0);
    expect(readFileSync(ran, 'utf8')).toContain('pre-commit');
  });

  it('masks secrets of its environment and URL credentials in the git messages it passes on', () => {
    const exec = new GitExec({ PATH: process.env.PATH, OPENAI_API_KEY: 'sk-very-secret-value', GITHUB_TOKEN: 'ghp_0123456789' }, 1000);
    expect(exec.redact('fatal: sk-very-secret-value and ghp_0123456789 at https://user:pass@example.com/x.git')).toBe(
      'fatal: [redacted] and [redacted] at https://[redacted]@example.com/x.git',
    );
  });
});

describe('createWorktree', () => {
  it('makes a worktree on a new branch at the base, leaving the root untouched', async () => {
    put(repo.root, 'README.md', 'user edit\n');
    const before = snapshot(repo.root);
    const info = await makeWorktree();
    expect(info).toMatchObject({ created: true, path: wt, branch: BRANCH, head: base, prefix: '', setup: null, setupDone: true });
    expect(git(wt, 'symbolic-ref', '--short', 'HEAD')).toBe(BRANCH);
    expect(readFileSync(join(wt, 'src/app.js'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(readFileSync(join(wt, 'README.md'), 'utf8')).toBe('hello\n');
    expect(snapshot(repo.root)).toEqual(before);
  });

  it('tells where a root inside the repository sits in the worktree', async () => {
    const info = await changes.createWorktree({ root: join(repo.root, 'src'), branch: BRANCH, path: wt, base });
    expect(info.prefix).toBe('src/');
    expect(readFileSync(join(wt, info.prefix, 'app.js'), 'utf8')).toBe('one\ntwo\nthree\n');
  });

  it('is idempotent: a second call keeps the worktree and the commits made on its branch', async () => {
    await makeWorktree();
    put(wt, 'new.txt', 'x\n');
    const sha = await changes.commit({ worktree: wt, message: 'attempt', trailers: {} });
    const again = await makeWorktree();
    expect(again.created).toBe(false);
    expect(again.head).toBe(sha);
    expect(readFileSync(join(wt, 'new.txt'), 'utf8')).toBe('x\n');
  });

  it('brings back a deleted worktree folder at its branch commit, not at the base', async () => {
    await makeWorktree();
    put(wt, 'new.txt', 'x\n');
    const sha = await changes.commit({ worktree: wt, message: 'attempt', trailers: {} });
    rmSync(wt, { recursive: true, force: true });
    const info = await makeWorktree();
    expect(info.created).toBe(true);
    expect(info.head).toBe(sha);
    expect(existsSync(join(wt, 'new.txt'))).toBe(true);
  });

  it('refuses a path that holds something else, and a branch name git cannot use', async () => {
    put(wt, 'stranger.txt', 'mine\n');
    const error = await caught(makeWorktree());
    expect(error.code).toBe('git_failed');
    expect(error.message).toContain('not an empty folder');
    expect(readFileSync(join(wt, 'stranger.txt'), 'utf8')).toBe('mine\n');
    expect((await caught(changes.createWorktree({ root: repo.root, branch: '-x', path: join(repo.dir, 'w2'), base }))).code).toBe('invalid_input');
    expect((await caught(changes.createWorktree({ root: repo.root, branch: 'a b', path: join(repo.dir, 'w2'), base }))).code).toBe('invalid_input');
  });
});

describe('dependency folders', () => {
  beforeEach(() => {
    put(repo.root, '.gitignore', 'node_modules/\n.venv\ndist/\n');
    put(repo.root, 'web/index.js', 'web\n');
    repo.commitAll('ignore dependencies');
    base = git(repo.root, 'rev-parse', 'HEAD');
    put(repo.root, 'node_modules/left-pad/index.js', 'module.exports = 1;\n');
    put(repo.root, 'web/node_modules/react/index.js', 'react\n');
    put(repo.root, '.venv/bin/python', '#!/bin/sh\n');
    put(repo.root, 'dist/out.js', 'built\n');
    put(repo.root, 'scratch/node_modules/x.js', 'untracked parent\n'); // its parent is not in the worktree
  });

  it('links the root ignored dependency folders (nested too) and not build output', async () => {
    const info = await makeWorktree();
    expect(info.linked).toEqual(['.venv', 'node_modules', 'web/node_modules']);
    for (const rel of info.linked) {
      expect(lstatSync(join(wt, rel)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(wt, rel))).toBe(join(repo.root, rel));
    }
    expect(readFileSync(join(wt, 'node_modules/left-pad/index.js'), 'utf8')).toContain('module.exports');
    expect(existsSync(join(wt, 'dist'))).toBe(false);
    expect(existsSync(join(wt, 'scratch'))).toBe(false);
  });

  it('keeps the links out of status, commits and the crash reset, and the root folders intact', async () => {
    await makeWorktree();
    expect(await changes.status(wt)).toEqual({ clean: true, paths: [], tracked: [], head: base });
    put(wt, 'src/app.js', 'changed\n');
    const sha = await changes.commit({ worktree: wt, message: 'edit', trailers: {} });
    expect(git(wt, 'show', '--name-only', '--format=', sha!)).toBe('src/app.js');
    await changes.resetHard({ worktree: wt });
    expect(lstatSync(join(wt, 'node_modules')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(repo.root, 'node_modules/left-pad/index.js'), 'utf8')).toContain('module.exports');
    // The root itself: the exclude lines name folders git ignored there already.
    expect(git(repo.root, 'status', '--porcelain')).toBe('');
    const exclude = readFileSync(join(repo.root, '.git/info/exclude'), 'utf8');
    expect(exclude).toContain('\n/node_modules\n');
    expect(exclude).toContain('\n/web/node_modules\n');
  });

  it('a second call keeps the links and writes no exclude line twice', async () => {
    await makeWorktree();
    const again = await makeWorktree();
    expect(again.linked).toEqual(['.venv', 'node_modules', 'web/node_modules']);
    const lines = readFileSync(join(repo.root, '.git/info/exclude'), 'utf8').split('\n');
    expect(lines.filter((l) => l === '/node_modules')).toHaveLength(1);
  });

  it('links nothing when a setup command is given, unless asked to', async () => {
    const setup = { argv: ['node', '-e', ''], timeoutMs: 60_000 };
    expect((await makeWorktree({ setup })).linked).toEqual([]);
    expect(existsSync(join(wt, 'node_modules'))).toBe(false);
    const other = join(repo.dir, 'worktrees', 'wf-2');
    const info = await changes.createWorktree({ root: repo.root, branch: 'planexec/wf-2', path: other, base, setup, linkDependencies: true });
    expect(info.linked).toContain('node_modules');
  });

  it('escapes glob characters in exclude patterns', () => {
    expect(excludePattern('a[1]/node_modules')).toBe('/a\\[1\\]/node_modules');
    expect(excludePattern('we*rd/#x/!y')).toBe('/we\\*rd/\\#x/\\!y');
  });
});

describe('setup command', () => {
  const counter = () => join(repo.dir, 'setup-runs.txt');
  const setupArgv = () => ['node', '-e', `require('fs').appendFileSync(${JSON.stringify(counter())}, process.cwd() + '\\n')`];

  it('runs once in a new worktree, in the worktree, and not again on a restart', async () => {
    const first = await makeWorktree({ setup: { argv: setupArgv(), timeoutMs: 60_000 } });
    expect(first.setup).toMatchObject({ exitCode: 0, timedOut: false });
    expect(first.setupDone).toBe(true);
    const second = await makeWorktree({ setup: { argv: setupArgv(), timeoutMs: 60_000 } });
    expect(second.setup).toBeNull();
    expect(second.setupDone).toBe(true);
    expect(readFileSync(counter(), 'utf8').trim().split('\n')).toEqual([wt]);
    expect(await changes.status(wt)).toEqual({ clean: true, paths: [], tracked: [], head: base });
  });

  it('reports a failed setup, and runs it again on the next call', async () => {
    const failing = { argv: ['node', '-e', `require('fs').appendFileSync(${JSON.stringify(counter())}, 'x'); console.error('npm ERR! boom'); process.exit(7)`], timeoutMs: 60_000 };
    const first = await makeWorktree({ setup: failing });
    expect(first.setupDone).toBe(false);
    expect(first.setup).toMatchObject({ exitCode: 7 });
    expect(first.setup!.outputTail).toContain('npm ERR! boom');
    const second = await makeWorktree({ setup: failing });
    expect(second.setup).not.toBeNull();
    expect(readFileSync(counter(), 'utf8')).toBe('xx');
  });
});

describe('commit and findCommit', () => {
  const trailers = { 'Planexec-Workflow': 'wf-1', 'Planexec-Subtask': 's2', 'Planexec-Attempt': '1', 'Planexec-Model': 'gpt-5.4-mini' };

  it('commits new, changed and deleted files with real git trailers, as planexec', async () => {
    await makeWorktree();
    put(wt, 'src/app.js', 'one\n2\nthree\n');
    put(wt, 'src/new file.js', 'new\n');
    rmSync(join(wt, 'src/old.js'));
    const sha = await changes.commit({ worktree: wt, message: 'Subtask s2: rename things', trailers });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(sha);
    expect(git(wt, 'show', '--name-status', '--format=', sha!).split('\n').sort()).toEqual(['A\tsrc/new file.js', 'D\tsrc/old.js', 'M\tsrc/app.js']);
    expect(git(wt, 'log', '-1', '--format=%(trailers:key=Planexec-Workflow,valueonly)').trim()).toBe('wf-1');
    expect(git(wt, 'log', '-1', '--format=%(trailers:key=Planexec-Model,valueonly)').trim()).toBe('gpt-5.4-mini');
    expect(git(wt, 'log', '-1', '--format=%s')).toBe('Subtask s2: rename things');
    expect(git(wt, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe(`${PLANEXEC_IDENTITY.name} <${PLANEXEC_IDENTITY.email}>|${PLANEXEC_IDENTITY.name} <${PLANEXEC_IDENTITY.email}>`);
    expect(await changes.status(wt)).toEqual({ clean: true, paths: [], tracked: [], head: sha });
    // The root's branch is untouched.
    expect(git(repo.root, 'rev-parse', 'HEAD')).toBe(base);
  });

  it('returns null and makes no commit when nothing changed', async () => {
    await makeWorktree();
    expect(await changes.commit({ worktree: wt, message: 'nothing', trailers })).toBeNull();
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(base);
  });

  it('uses the author given', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    await changes.commit({ worktree: wt, message: 'm', trailers: {}, author: { name: 'Ada', email: 'ada@example.com' } });
    expect(git(wt, 'log', '-1', '--format=%an <%ae>')).toBe('Ada <ada@example.com>');
  });

  it('refuses an empty message and trailers git cannot hold', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    expect((await caught(changes.commit({ worktree: wt, message: '  \n', trailers }))).code).toBe('invalid_input');
    expect((await caught(changes.commit({ worktree: wt, message: 'm', trailers: { 'Bad Key': 'x' } }))).code).toBe('invalid_input');
    expect((await caught(changes.commit({ worktree: wt, message: 'm', trailers: { Key: 'two\nlines' } }))).code).toBe('invalid_input');
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(base);
  });

  it('with paths, commits only the changes among them and leaves other changes where they were', async () => {
    await makeWorktree();
    put(wt, 'src/app.js', 'one\n2\nthree\n');
    put(wt, 'src/fresh.js', 'fresh\n');
    put(wt, 'dist/bundle.js', 'built by a check\n');
    put(wt, 'README.md', 'changed, not chosen\n');
    const sha = await changes.commit({ worktree: wt, message: 'chosen', trailers, paths: ['src/app.js', './src//fresh.js'] });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(git(wt, 'show', '--name-status', '--format=', sha!).split('\n').sort()).toEqual(['A\tsrc/fresh.js', 'M\tsrc/app.js']);
    expect(git(wt, 'log', '-1', '--format=%(trailers:key=Planexec-Subtask,valueonly)').trim()).toBe('s2');
    // The build output is still untracked, the other edit still unstaged.
    expect(git(wt, 'status', '--porcelain=v1', '-uall').split('\n').sort()).toEqual([' M README.md', '?? dist/bundle.js']);
  });

  it('with paths, commits a deleted file as deleted, and a folder path takes the files under it', async () => {
    await makeWorktree();
    rmSync(join(wt, 'src/old.js'));
    put(wt, 'docs/a.md', 'a\n');
    put(wt, 'docs/deep/b.md', 'b\n');
    put(wt, 'elsewhere.txt', 'x\n');
    const sha = await changes.commit({ worktree: wt, message: 'delete and add', trailers: {}, paths: ['src/old.js', 'docs/'] });
    expect(git(wt, 'show', '--name-status', '--format=', sha!).split('\n').sort()).toEqual(['A\tdocs/a.md', 'A\tdocs/deep/b.md', 'D\tsrc/old.js']);
    expect(git(wt, 'status', '--porcelain=v1', '-uall')).toBe('?? elsewhere.txt');
  });

  it('with paths, takes glob characters and pathspec magic literally', async () => {
    await makeWorktree();
    put(wt, '*.js', 'a file named star\n');
    put(wt, 'match.js', 'a glob would take me\n');
    put(wt, ':(top)odd', 'magic-looking name\n');
    put(wt, 'odd', 'what the magic would name\n');
    const sha = await changes.commit({ worktree: wt, message: 'literal', trailers: {}, paths: ['*.js', ':(top)odd'] });
    expect(git(wt, 'show', '--name-only', '--format=', sha!).split('\n').sort()).toEqual(['*.js', ':(top)odd']);
    expect(git(wt, 'status', '--porcelain=v1', '-uall').split('\n').sort()).toEqual(['?? match.js', '?? odd']);
  });

  it('with paths, skips paths without a change (gone, unchanged, ignored) and returns null when none changed', async () => {
    await makeWorktree();
    put(wt, '.gitignore', 'dist/\n');
    put(wt, 'dist/out.js', 'ignored\n');
    put(wt, 'other.txt', 'not chosen\n');
    expect(await changes.commit({ worktree: wt, message: 'none', trailers: {}, paths: ['never-made.txt', 'README.md', 'dist/out.js'] })).toBeNull();
    expect(await changes.commit({ worktree: wt, message: 'none', trailers: {}, paths: [] })).toBeNull();
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(base);
    const sha = await changes.commit({ worktree: wt, message: 'some', trailers: {}, paths: ['never-made.txt', 'dist/out.js', '.gitignore'] });
    expect(git(wt, 'show', '--name-only', '--format=', sha!)).toBe('.gitignore');
  });

  it('with paths and the created ones named, commits new, changed and deleted files; a wrong list changes nothing in the commit', async () => {
    await makeWorktree();
    put(wt, 'src/app.js', 'one\n2\nthree\n');
    put(wt, 'src/fresh.js', 'fresh\n');
    rmSync(join(wt, 'src/old.js'));
    put(wt, 'README.md', 'changed, not chosen\n');
    const paths = ['src/app.js', 'src/fresh.js', 'src/old.js'];
    const sha = await changes.commit({ worktree: wt, message: 'hinted', trailers: {}, paths, created: ['src/fresh.js'] });
    expect(git(wt, 'show', '--name-status', '--format=', sha!).split('\n').sort()).toEqual(['A\tsrc/fresh.js', 'D\tsrc/old.js', 'M\tsrc/app.js']);
    // No created file named although there is one, and a changed file named as created.
    put(wt, 'src/app.js', 'again\n');
    put(wt, 'src/second.js', 'second\n');
    const next = await changes.commit({ worktree: wt, message: 'unhinted', trailers: {}, paths: ['src/app.js', 'src/second.js'], created: [] });
    expect(git(wt, 'show', '--name-status', '--format=', next!).split('\n').sort()).toEqual(['A\tsrc/second.js', 'M\tsrc/app.js']);
    put(wt, 'src/app.js', 'third\n');
    const third = await changes.commit({ worktree: wt, message: 'misnamed', trailers: {}, paths: ['src/app.js'], created: ['src/app.js'] });
    expect(git(wt, 'show', '--name-status', '--format=', third!)).toBe('M\tsrc/app.js');
    expect(git(wt, 'status', '--porcelain=v1', '-uall')).toBe(' M README.md');
  });

  it('with paths, skips a folder with no file in it (git add takes it, commit --only does not know it)', async () => {
    await makeWorktree();
    mkdirSync(join(wt, 'empty/inner'), { recursive: true });
    expect(await changes.commit({ worktree: wt, message: 'none', trailers: {}, paths: ['empty'] })).toBeNull();
    put(wt, 'src/app.js', 'edited\n');
    const sha = await changes.commit({ worktree: wt, message: 'some', trailers: {}, paths: ['empty', 'src/app.js'] });
    expect(git(wt, 'show', '--name-only', '--format=', sha!)).toBe('src/app.js');
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(sha);
  });

  it('with paths, leaves what someone else staged staged and out of the commit', async () => {
    await makeWorktree();
    put(wt, 'staged-by-a-check.txt', 's\n');
    git(wt, 'add', 'staged-by-a-check.txt');
    put(wt, 'src/app.js', 'edited\n');
    const sha = await changes.commit({ worktree: wt, message: 'only app', trailers: {}, paths: ['src/app.js'] });
    expect(git(wt, 'show', '--name-only', '--format=', sha!)).toBe('src/app.js');
    expect(git(wt, 'status', '--porcelain=v1', '-uall')).toBe('A  staged-by-a-check.txt');
  });

  it('refuses commit paths that leave the worktree, name it, or lie in .git, committing nothing', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    for (const path of ['../x', '/etc/passwd', 'a/../../x', '.', './', '.git/config', 'sub/.GIT/x', '']) {
      const error = await caught(changes.commit({ worktree: wt, message: 'm', trailers: {}, paths: ['a.txt', path] }));
      expect(error.code, path).toBe('invalid_input');
    }
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(base);
  });

  it('with paths, ignores pathspec settings from the environment', async () => {
    const icase = new GitChanges({ env: { ...ISOLATED_GIT_ENV, GIT_ICASE_PATHSPECS: '1', GIT_GLOB_PATHSPECS: '1' } });
    await makeWorktree();
    put(wt, 'A.txt', 'upper\n');
    put(wt, 'a.txt', 'lower\n');
    const sha = await icase.commit({ worktree: wt, message: 'case', trailers: {}, paths: ['a.txt'] });
    expect(git(wt, 'show', '--name-only', '--format=', sha!)).toBe('a.txt');
  });

  it('finds the commit carrying every trailer given, and not one whose value only starts the same', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    const first = await changes.commit({ worktree: wt, message: 'first', trailers });
    put(wt, 'b.txt', 'b\n');
    const second = await changes.commit({ worktree: wt, message: 'second', trailers: { ...trailers, 'Planexec-Attempt': '12' } });
    expect(await changes.findCommit({ worktree: wt, trailers })).toBe(first);
    expect(await changes.findCommit({ worktree: wt, trailers: { 'planexec-workflow': 'wf-1', 'Planexec-Attempt': '12' } })).toBe(second);
    expect(await changes.findCommit({ worktree: wt, trailers: { ...trailers, 'Planexec-Attempt': '2' } })).toBeNull();
    expect(await changes.findCommit({ worktree: wt, trailers: { 'Planexec-Workflow': 'wf-' } })).toBeNull();
    expect(await changes.findCommit({ worktree: wt, trailers, since: first! })).toBeNull();
    expect(await changes.findCommit({ worktree: wt, trailers, since: base })).toBe(first);
  });
});

describe('diff', () => {
  it('reports added, modified, deleted and renamed files (odd paths too) with line counts', async () => {
    await makeWorktree();
    put(wt, 'src/app.js', 'one\nTWO\nthree\nfour\n');
    rmSync(join(wt, 'README.md'));
    git(wt, 'mv', 'src/old.js', 'src/renamed.js');
    put(wt, 'docs/café notes.md', 'a\nb\n');
    put(wt, 'tab\there.txt', 'x\n');
    put(wt, 'image.bin', Buffer.from([0, 1, 2, 0, 255]));
    const sha = await changes.commit({ worktree: wt, message: 'many', trailers: {} });
    const diff = await changes.diff({ worktree: wt, from: base, to: sha! });
    const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['README.md', 'docs/café notes.md', 'image.bin', 'src/app.js', 'src/old.js', 'src/renamed.js', 'tab\there.txt']);
    expect(byPath['src/app.js']).toEqual({ path: 'src/app.js', status: 'modified', insertions: 2, deletions: 1, binary: false });
    expect(byPath['README.md']).toEqual({ path: 'README.md', status: 'deleted', insertions: 0, deletions: 1, binary: false });
    expect(byPath['src/old.js']).toMatchObject({ status: 'deleted', deletions: 1 });
    expect(byPath['src/renamed.js']).toMatchObject({ status: 'added', insertions: 1 });
    expect(byPath['docs/café notes.md']).toMatchObject({ status: 'added', insertions: 2, deletions: 0 });
    expect(byPath['tab\there.txt']).toMatchObject({ status: 'added', insertions: 1 });
    expect(byPath['image.bin']).toEqual({ path: 'image.bin', status: 'added', insertions: 0, deletions: 0, binary: true });
    expect(diff.patch).toContain('+TWO');
    expect(diff.patchTruncated).toBe(false);
    expect(Buffer.byteLength(diff.patch)).toBe(diff.patchBytes);
  });

  it('reports a mode-only change as modified with no lines, and nothing for an empty range', async () => {
    await makeWorktree();
    chmodSync(join(wt, 'src/app.js'), 0o755);
    const sha = await changes.commit({ worktree: wt, message: 'chmod', trailers: {} });
    const diff = await changes.diff({ worktree: wt, from: base, to: sha! });
    expect(diff.files).toEqual([{ path: 'src/app.js', status: 'modified', insertions: 0, deletions: 0, binary: false }]);
    expect(diff.patch).toContain('new mode 100755');
    expect(await changes.diff({ worktree: wt, from: sha! })).toEqual({ files: [], patch: '', patchTruncated: false, patchBytes: 0 });
  });

  it('cuts the patch at the cap on a UTF-8 boundary and says so', async () => {
    await makeWorktree();
    put(wt, 'big.txt', 'é'.repeat(5000));
    await changes.commit({ worktree: wt, message: 'big', trailers: {} });
    const diff = await changes.diff({ worktree: wt, from: base, maxPatchBytes: 1001 });
    expect(diff.patchTruncated).toBe(true);
    expect(diff.patchBytes).toBeGreaterThan(10_000);
    expect(Buffer.byteLength(diff.patch)).toBeLessThanOrEqual(1001);
    expect(Buffer.byteLength(diff.patch)).toBeGreaterThan(990);
    expect(diff.patch).not.toContain('\uFFFD');
  });
});

describe('status', () => {
  it('reads HEAD and every changed path in one call: staged, modified, deleted, untracked, unmerged, names with spaces', async () => {
    await makeWorktree();
    put(wt, 'src/app.js', 'edited\n');
    put(wt, 'staged file.txt', 's\n');
    git(wt, 'add', 'staged file.txt');
    rmSync(join(wt, 'src/old.js'));
    put(wt, 'new dir/a b.txt', 'untracked\n');
    put(wt, 'node_modules/x.js', 'ignored, not reported\n');
    put(wt, '.gitignore', 'node_modules/\n');
    const got = await changes.status(wt);
    expect({ ...got, paths: [...got.paths].sort(), tracked: [...got.tracked].sort() }).toEqual({
      clean: false,
      head: base,
      paths: ['.gitignore', 'new dir/a b.txt', 'src/app.js', 'src/old.js', 'staged file.txt'],
      // Untracked files are not among the tracked ones.
      tracked: ['src/app.js', 'src/old.js', 'staged file.txt'],
    });

    // An unmerged path (a conflicted merge in the root) has ten fields before its name.
    git(repo.root, 'checkout', '-q', '-b', 'side');
    put(repo.root, 'README.md', 'side\n');
    git(repo.root, 'commit', '-q', '-am', 'side');
    git(repo.root, 'checkout', '-q', 'main');
    put(repo.root, 'README.md', 'main\n');
    git(repo.root, 'commit', '-q', '-am', 'main');
    expect(gitCode(repo.root, 'merge', '-q', 'side')).not.toBe(0);
    expect(await changes.status(repo.root)).toEqual({ clean: false, head: git(repo.root, 'rev-parse', 'HEAD'), paths: ['README.md'], tracked: ['README.md'] });
  });
});

describe('resetHard: the crash recovery', () => {
  it('puts the worktree back at its last commit: edits undone, deletions restored, untracked files gone', async () => {
    await makeWorktree();
    put(wt, 'kept.txt', 'committed\n');
    const last = await changes.commit({ worktree: wt, message: 'attempt 1', trailers: {} });
    // "kill -9 between applying and committing": edits applied, partly staged, nothing committed.
    put(wt, 'src/app.js', 'half-applied\n');
    rmSync(join(wt, 'README.md'));
    put(wt, 'new/deep/file.txt', 'untracked\n');
    put(wt, 'kept.txt', 'staged edit\n');
    git(wt, 'add', 'kept.txt');
    const gitDir = git(wt, 'rev-parse', '--absolute-git-dir');
    writeFileSync(join(gitDir, 'index.lock'), ''); // a git killed mid-command leaves its lock
    const dirty = await changes.status(wt);
    expect({ ...dirty, paths: [...dirty.paths].sort(), tracked: [...dirty.tracked].sort() }).toEqual({ clean: false, head: last, paths: ['README.md', 'kept.txt', 'new/deep/file.txt', 'src/app.js'], tracked: ['README.md', 'kept.txt', 'src/app.js'] });

    await changes.resetHard({ worktree: wt });
    expect(await changes.status(wt)).toEqual({ clean: true, paths: [], tracked: [], head: last });
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(last);
    expect(readFileSync(join(wt, 'src/app.js'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(readFileSync(join(wt, 'README.md'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(wt, 'kept.txt'), 'utf8')).toBe('committed\n');
    expect(existsSync(join(wt, 'new'))).toBe(false);
  });

  it('ends a check that a process killed with -9 left running in the worktree, then cleans it', async () => {
    await makeWorktree();
    const marks = join(repo.dir, 'marks');
    mkdirSync(marks);
    // The dying process: runs a check that keeps writing into the worktree and starts a grandchild.
    const script = join(repo.dir, 'dying.mts');
    writeFileSync(
      script,
      `import { GitChanges } from ${JSON.stringify(resolve('src/adapters/git/git-changes.ts'))};
const [wt, marks] = process.argv.slice(2);
const changes = new GitChanges();
await changes.runInWorktree(wt, { timeoutMs: 600000, argv: ['sh', '-c', 'echo $$ > "$2/leader"; sleep 1000 & echo $! > "$2/grandchild"; while :; do echo tick >> "$1/tick.txt"; sleep 0.05; done', 'sh', wt, marks] });
`,
    );
    const env = Object.fromEntries(Object.entries(ISOLATED_GIT_ENV).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const dying = spawn(process.execPath, ['--import', 'tsx', script, wt, marks], { cwd: process.cwd(), env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    dying.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    let ended = false;
    const exited = new Promise((r) => dying.on('exit', () => r((ended = true))));
    const until = async (ready: () => boolean) => {
      while (!ready()) {
        if (ended) throw new Error(`the dying process ended early: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const pidOf = async (name: string) => {
      await until(() => existsSync(join(marks, name)) && readFileSync(join(marks, name), 'utf8').trim() !== '');
      return Number(readFileSync(join(marks, name), 'utf8'));
    };
    const leader = await pidOf('leader');
    const grandchild = await pidOf('grandchild');
    onTestFinished(() => {
      for (const pid of [leader, grandchild]) if (running(pid)) process.kill(pid, 'SIGKILL');
    });
    await until(() => existsSync(join(wt, 'tick.txt')));
    // The record is written just after the spawn; on a loaded machine the check may run first.
    const records = join(git(wt, 'rev-parse', '--absolute-git-dir'), 'planexec-running');
    await until(() => existsSync(records) && readdirSync(records).some((f) => f.endsWith('.json')));
    dying.kill('SIGKILL');
    await exited;
    expect(running(leader)).toBe(true); // the check outlived its process

    await changes.resetHard({ worktree: wt });
    expect(running(leader)).toBe(false);
    expect(running(grandchild)).toBe(false);
    expect(existsSync(join(wt, 'tick.txt'))).toBe(false);
    expect(await changes.status(wt)).toEqual({ clean: true, paths: [], tracked: [], head: base });
    expect(readdirSync(records)).toEqual([]);
  });

  it('rolls the branch back to an earlier commit (a failed attempt)', async () => {
    await makeWorktree();
    put(wt, 'a.txt', 'a\n');
    await changes.commit({ worktree: wt, message: 'failed attempt', trailers: {} });
    await changes.resetHard({ worktree: wt, commit: base });
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(base);
    expect(git(wt, 'rev-parse', BRANCH)).toBe(base);
    expect(existsSync(join(wt, 'a.txt'))).toBe(false);
  });
});

describe('merge', () => {
  async function branchWith(files: Record<string, string | null>): Promise<string> {
    await makeWorktree();
    for (const [path, content] of Object.entries(files)) {
      if (content === null) rmSync(join(wt, path));
      else put(wt, path, content);
    }
    return (await changes.commit({ worktree: wt, message: 'work', trailers: { 'Planexec-Workflow': 'wf-1' } }))!;
  }

  it('fast-forwards the root branch and keeps the user uncommitted change to another file', async () => {
    const tip = await branchWith({ 'src/app.js': 'merged\n', 'src/added.js': 'added\n' });
    put(repo.root, 'README.md', 'user edit, not committed\n');
    const result = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(result).toEqual({ kind: 'merged', mode: 'fast-forward', previousHead: base, head: tip, files: ['src/added.js', 'src/app.js'] });
    expect(git(repo.root, 'rev-parse', 'HEAD')).toBe(tip);
    expect(git(repo.root, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(readFileSync(join(repo.root, 'src/app.js'), 'utf8')).toBe('merged\n');
    expect(readFileSync(join(repo.root, 'README.md'), 'utf8')).toBe('user edit, not committed\n');
    expect(git(repo.root, 'status', '--porcelain')).toBe(' M README.md');
  });

  it('merges the commit given, not a commit made on the branch after it', async () => {
    const read = await branchWith({ 'src/app.js': 'read\n' });
    put(wt, 'later.txt', 'committed after the tip was read\n');
    const later = (await changes.commit({ worktree: wt, message: 'later', trailers: {} }))!;
    const result = await changes.merge({ root: repo.root, branch: BRANCH, commit: read });
    expect(result).toMatchObject({ kind: 'merged', mode: 'fast-forward', head: read, files: ['src/app.js'] });
    expect(git(repo.root, 'rev-parse', 'HEAD')).toBe(read);
    expect(git(repo.root, 'rev-parse', BRANCH)).toBe(later);
    expect(existsSync(join(repo.root, 'later.txt'))).toBe(false);
  });

  it('makes a merge commit when the root moved on, keeping the user staged and unstaged changes elsewhere', async () => {
    const tip = await branchWith({ 'src/app.js': 'from planexec\n' });
    put(repo.root, 'other.txt', 'user commit\n');
    const userHead = repo.commitAll('user work');
    put(repo.root, 'README.md', 'staged by the user\n');
    git(repo.root, 'add', 'README.md');
    put(repo.root, 'notes.txt', 'untracked note\n');
    const result = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(result).toMatchObject({ kind: 'merged', mode: 'merge-commit', previousHead: userHead, files: ['src/app.js'] });
    const head = git(repo.root, 'rev-parse', 'HEAD');
    expect(git(repo.root, 'rev-list', '--parents', '-n1', 'HEAD')).toBe(`${head} ${userHead} ${tip}`);
    expect(git(repo.root, 'log', '-1', '--format=%s|%an')).toBe(`Merge branch '${BRANCH}'|Test User`);
    expect(readFileSync(join(repo.root, 'src/app.js'), 'utf8')).toBe('from planexec\n');
    expect(readFileSync(join(repo.root, 'other.txt'), 'utf8')).toBe('user commit\n');
    expect(git(repo.root, 'status', '--porcelain')).toBe('M  README.md\n?? notes.txt');
  });

  it('refuses, naming the paths and changing nothing, when the user uncommitted changes touch the same files', async () => {
    await branchWith({ 'src/app.js': 'planexec\n', 'src/added.js': 'added\n' });
    put(repo.root, 'src/app.js', 'user is editing this\n');
    put(repo.root, 'src/added.js', 'user made this too\n'); // untracked, would be overwritten
    put(repo.root, 'README.md', 'unrelated edit\n');
    const before = snapshot(repo.root);
    const result = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(result).toMatchObject({ kind: 'refused', reason: 'dirty_overlap', paths: ['src/added.js', 'src/app.js'] });
    expect(result.kind === 'refused' && result.hint).toContain('stash');
    expect(snapshot(repo.root)).toEqual(before);
    expect(readFileSync(join(repo.root, 'src/app.js'), 'utf8')).toBe('user is editing this\n');
  });

  it('refuses on a staged change to a file the branch changed, for a merge commit too', async () => {
    await branchWith({ 'src/app.js': 'planexec\n' });
    put(repo.root, 'other.txt', 'x\n');
    repo.commitAll('user work');
    put(repo.root, 'src/app.js', 'staged\n');
    git(repo.root, 'add', 'src/app.js');
    const before = snapshot(repo.root);
    expect(await changes.merge({ root: repo.root, branch: BRANCH })).toMatchObject({ kind: 'refused', reason: 'dirty_overlap', paths: ['src/app.js'] });
    expect(snapshot(repo.root)).toEqual(before);
  });

  it('refuses a conflicting merge, naming the paths, with HEAD, status and the index as they were', async () => {
    await branchWith({ 'src/app.js': 'one\nPLANEXEC\nthree\n', 'src/old.js': null });
    put(repo.root, 'src/app.js', 'one\nUSER\nthree\n');
    put(repo.root, 'src/old.js', 'user changed it\n');
    repo.commitAll('user work');
    put(repo.root, 'README.md', 'dirty but unrelated\n');
    const before = snapshot(repo.root);
    const result = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(result).toMatchObject({ kind: 'refused', reason: 'conflict', paths: ['src/app.js', 'src/old.js'] });
    expect(snapshot(repo.root)).toEqual(before);
    expect(gitCode(repo.root, 'diff', '--cached', '--quiet')).toBe(0);
  });

  it('answers up_to_date when the branch is merged already', async () => {
    await branchWith({ 'a.txt': 'a\n' });
    await changes.merge({ root: repo.root, branch: BRANCH });
    const head = git(repo.root, 'rev-parse', 'HEAD');
    expect(await changes.merge({ root: repo.root, branch: BRANCH })).toEqual({ kind: 'up_to_date', head });
  });

  it('refuses on a detached HEAD and in the middle of a merge, and says what to do', async () => {
    await branchWith({ 'a.txt': 'a\n' });
    git(repo.root, 'checkout', '-q', '--detach');
    const detached = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(detached).toMatchObject({ kind: 'refused', reason: 'detached_head' });
    expect(detached.kind === 'refused' && detached.hint).toContain('git switch');
    git(repo.root, 'checkout', '-q', 'main');
    writeFileSync(join(repo.root, '.git', 'MERGE_HEAD'), `${base}\n`);
    const busy = await changes.merge({ root: repo.root, branch: BRANCH });
    expect(busy).toMatchObject({ kind: 'refused', reason: 'operation_in_progress' });
    expect(busy.kind === 'refused' && busy.hint).toContain('git merge --abort');
    expect(git(repo.root, 'rev-parse', 'HEAD')).toBe(base);
  });

  it('refuses to merge the branch the root has checked out, and discard says to switch away first', async () => {
    await branchWith({ 'a.txt': 'a\n' });
    await changes.discard({ root: repo.root, worktree: wt, branch: BRANCH });
    expect(existsSync(wt)).toBe(false);
    git(repo.root, 'branch', BRANCH, 'HEAD');
    git(repo.root, 'checkout', '-q', BRANCH);
    expect(await changes.merge({ root: repo.root, branch: BRANCH })).toMatchObject({ kind: 'refused', reason: 'branch_checked_out' });
    const error = await caught(changes.discard({ root: repo.root, worktree: wt, branch: BRANCH }));
    expect(error.code).toBe('git_failed');
    expect(error.hint).toContain('git switch');
    expect(git(repo.root, 'symbolic-ref', '--short', 'HEAD')).toBe(BRANCH);
  });

  it('throws not_found for a branch that does not exist', async () => {
    expect((await caught(changes.merge({ root: repo.root, branch: 'planexec/wf-none' }))).code).toBe('not_found');
  });
});

describe('discard', () => {
  it('removes the worktree and the branch, leaves the root dependency folder intact, and is idempotent', async () => {
    put(repo.root, '.gitignore', 'node_modules/\n');
    repo.commitAll('ignore');
    base = git(repo.root, 'rev-parse', 'HEAD');
    put(repo.root, 'node_modules/dep/index.js', 'dep\n');
    await makeWorktree();
    put(wt, 'uncommitted.txt', 'x\n');
    expect(await changes.discard({ root: repo.root, worktree: wt, branch: BRANCH })).toEqual({ removedWorktree: true, deletedBranch: true });
    expect(existsSync(wt)).toBe(false);
    expect(gitCode(repo.root, 'rev-parse', '--verify', '-q', `refs/heads/${BRANCH}`)).not.toBe(0);
    expect(git(repo.root, 'worktree', 'list', '--porcelain')).not.toContain('wf-1');
    expect(readFileSync(join(repo.root, 'node_modules/dep/index.js'), 'utf8')).toBe('dep\n');
    expect(await changes.discard({ root: repo.root, worktree: wt, branch: BRANCH })).toEqual({ removedWorktree: false, deletedBranch: false });
  });

  it('leaves alone a folder that is not a worktree of the repository', async () => {
    put(wt, 'precious.txt', 'mine\n');
    const error = await caught(changes.discard({ root: repo.root, worktree: wt, branch: BRANCH }));
    expect(error.code).toBe('git_failed');
    expect(readFileSync(join(wt, 'precious.txt'), 'utf8')).toBe('mine\n');
  });
});
