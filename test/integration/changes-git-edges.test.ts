// Changes at git's edges, end to end with real git and real files: paths git would not commit
// (ignored, inside a submodule), names git reads as .git, structural conflicts within one answer,
// path limits, a move onto a secret file, the user's own work in the worktree at merge time, a
// worktree folder removed by hand, and checks run in a subfolder that looks like a git dir.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, writeFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, makeRepo } from '../support/git-repo.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import type { Responder } from '../support/openai-standin.js';
import { plan, workflowResponder } from '../support/responders.js';

const BUGGY = 'export function add(a, b) {\n  return a - b;\n}\n';
const FIXED = 'export function add(a, b) {\n  return a + b;\n}\n';
const FIX = { type: 'update_file' as const, path: 'math.mjs', diff: '@@ export function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n' };

let h: Harness | undefined;
const extra: string[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const d of extra.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The harness over a fresh repository at its root holding `files`. */
async function repoHarness(responder: Responder, files: Record<string, string> = {}, env: Record<string, string> = {}): Promise<Harness> {
  h = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000', ...env }, standin: { responder } });
  makeRepo(h.root, { 'math.mjs': BUGGY, 'README.md': '# Tiny\n', '.gitignore': 'node_modules/\n', ...files });
  return h;
}

const rejectedOf = (result: { changes: { rejected: Array<{ path: string; reason: string }> } }) => Object.fromEntries(result.changes.rejected.map((r) => [r.path, r.reason]));
const executorRequests = (hh: Harness) => hh.standin.requests.filter((r) => r.schemaName === null);

describe('paths git would not commit', () => {
  it('an ignored path and one inside a submodule are refused and told to the model, never counted as applied; a path a rule of the same answer ignores is undone and reported', async () => {
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'e', writes: ['build/', 'vendor/', 'gen/', '.gitignore', 'notes.txt'] }]), {
        executor: (_id, req) =>
          req.patchOutputs.length
            ? { text: 'Done.' }
            : {
                patchCalls: [
                  { type: 'create_file', path: 'build/out.js', diff: '+built\n' },
                  { type: 'create_file', path: 'vendor/lib/x.js', diff: '+vendored\n' },
                  { type: 'update_file', path: '.gitignore', diff: '@@\n node_modules/\n build/\n+gen/\n' },
                  { type: 'create_file', path: 'gen/a.txt', diff: '+generated\n' },
                  { type: 'update_file', path: 'notes.txt', diff: '@@\n-n\n+notes\n' },
                ],
                text: 'Edited.',
              },
      }),
      { '.gitignore': 'node_modules/\nbuild/\n', 'notes.txt': 'n\n' },
    );
    // vendor/lib is a submodule (a gitlink): a worktree has an empty folder there.
    git(hh.root, 'update-index', '--add', '--cacheinfo', `160000,${git(hh.root, 'rev-parse', 'HEAD')},vendor/lib`);
    git(hh.root, 'commit', '-q', '-m', 'A submodule');
    const planned = await hh.ok<any>('plan_task', { request: 'Edit' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'e' });

    expect(result.status).toBe('completed');
    expect(result.changes.files.map((f: { path: string }) => f.path)).toEqual(['.gitignore', 'notes.txt']);
    const rejected = rejectedOf(result);
    expect(Object.keys(rejected).sort()).toEqual(['build/out.js', 'gen/a.txt', 'vendor/lib/x.js']);
    expect(rejected['build/out.js']).toMatch(/^Refused create_file of 'build\/out\.js': git would not commit 'build\/out\.js': git ignores it \(the rule 'build\/' in \.gitignore, line 2\)/);
    expect(rejected['vendor/lib/x.js']).toMatch(/inside the submodule 'vendor\/lib'/);
    expect(rejected['gen/a.txt']).toMatch(/'gen\/a\.txt' was not committed, so it was undone: git would not commit it: git ignores it \(the rule 'gen\/' in \.gitignore, line 3\)/);
    // The model heard at once about the two it could know of, as failed tool calls.
    const outputs = executorRequests(hh)[1]!.patchOutputs;
    expect(outputs.filter((o) => o.status === 'failed').map((o) => o.output)).toEqual([expect.stringContaining('build/out.js'), expect.stringContaining('vendor/lib/x.js')]);
    // Nothing uncommitted stays in the worktree for checks to pass with.
    const worktree = planned.changes.worktree as string;
    expect(existsSync(join(worktree, 'build', 'out.js'))).toBe(false);
    expect(existsSync(join(worktree, 'gen', 'a.txt'))).toBe(false);
    expect(existsSync(join(worktree, 'vendor', 'lib', 'x.js'))).toBe(false);
    expect(git(worktree, 'status', '--porcelain', '--ignored')).toBe('');
  }, 60_000);
});

describe('paths git or the file system cannot hold', () => {
  it('refuses .git aliases, a file under a file made in the same answer, a file where the answer made a folder, moves onto a folder, a link or a secret file, and paths over the limits, each with its reason', async () => {
    const long = Array.from({ length: 11 }, (_, i) => `${i}`.padEnd(100, 'x')).join('/');
    const deep = Array.from({ length: 33 }, (_, i) => `d${i}`).join('/');
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'e', writes: ['docs/', 'src/', 'x.txt', 'y.txt', 'notes.txt', '.env', 'link', 'deep/'] }]), {
        executor: (_id, req) =>
          req.patchOutputs.length
            ? { text: 'Done.' }
            : {
                patchCalls: [
                  { type: 'create_file', path: 'docs/a', diff: '+a\n' },
                  { type: 'create_file', path: 'docs/a/b', diff: '+b\n' },
                  { type: 'create_file', path: 'src/n/m.txt', diff: '+m\n' },
                  { type: 'create_file', path: 'src/n', diff: '+n\n' },
                  { type: 'update_file', path: 'x.txt', diff: '', moveTo: 'src/existing' },
                  { type: 'update_file', path: 'y.txt', diff: '', moveTo: 'link' },
                  { type: 'update_file', path: 'notes.txt', diff: '', moveTo: '.env' },
                  { type: 'create_file', path: '.GIT/config', diff: '+[core]\n' },
                  { type: 'create_file', path: '.git./config', diff: '+[core]\n' },
                  { type: 'create_file', path: 'docs/GIT~1/hooks/pre-commit', diff: '+x\n' },
                  { type: 'create_file', path: '.git \u200c/x', diff: '+x\n' },
                  { type: 'create_file', path: `deep/${long}`, diff: '+x\n' },
                  { type: 'create_file', path: `deep/${deep}`, diff: '+x\n' },
                ],
                text: 'Edited.',
              },
      }),
      { 'x.txt': 'x\n', 'y.txt': 'y\n', 'notes.txt': 'n\n', '.env': 'TOKEN=secret\n', 'src/existing/keep.txt': 'k\n' },
    );
    symlinkSync('x.txt', join(hh.root, 'link'));
    git(hh.root, 'add', 'link');
    git(hh.root, 'commit', '-q', '-m', 'A link');
    const planned = await hh.ok<any>('plan_task', { request: 'Edit' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'e' });

    expect(result.status).toBe('completed');
    expect(result.changes.files.map((f: { path: string }) => f.path)).toEqual(['docs/a', 'src/n/m.txt']);
    const rejected = rejectedOf(result);
    expect(rejected).toEqual({
      'docs/a/b': expect.stringMatching(/^Refused create_file of 'docs\/a\/b': 'docs\/a' is a file \(made by an edit in this answer\)/),
      'src/n': expect.stringMatching(/^Refused create_file of 'src\/n': this answer made files under 'src\/n', so it is a folder/),
      'x.txt': expect.stringMatching(/^Refused moving 'x\.txt' to 'src\/existing': .*it is a folder, not a regular file/),
      'y.txt': expect.stringMatching(/^Refused moving 'y\.txt' to 'link': .*'link' is a link/),
      'notes.txt': expect.stringMatching(/^Refused moving 'notes\.txt' to '\.env': .*\.env/),
      '.GIT/config': expect.stringMatching(/it is inside \.git/),
      '.git./config': expect.stringMatching(/inside '\.git\.', a name git reads as its own \.git folder/),
      'docs/GIT~1/hooks/pre-commit': expect.stringMatching(/inside 'GIT~1', a name git reads as its own \.git folder/),
      '.git \u200c/x': expect.stringMatching(/a name git reads as its own \.git folder/),
      [`deep/${long}`]: expect.stringMatching(/the path is 1,\d{3} bytes long .*at most 1,024 bytes and 32 segments/),
      [`deep/${deep}`]: expect.stringMatching(/with 34 segments; a path may have at most 1,024 bytes and 32 segments/),
    });
    // Every one was refused (not "not found"), and nothing it named was touched.
    expect(Object.values(rejected).every((r) => String(r).startsWith('Refused'))).toBe(true);
    const worktree = planned.changes.worktree as string;
    expect(readFileSync(join(worktree, '.env'), 'utf8')).toBe('TOKEN=secret\n');
    expect(readlinkSync(join(worktree, 'link'))).toBe('x.txt');
    expect(readFileSync(join(worktree, 'x.txt'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(worktree, 'notes.txt'), 'utf8')).toBe('n\n');
    expect(existsSync(join(worktree, '.git.'))).toBe(false);
    expect(existsSync(join(worktree, 'docs', 'GIT~1'))).toBe(false);
    expect(existsSync(join(worktree, 'deep'))).toBe(false);
    expect(git(worktree, 'status', '--porcelain')).toBe('');
  }, 60_000);
});

describe("merge_changes and the user's work in the worktree", () => {
  async function finished(): Promise<{ hh: Harness; id: string; worktree: string; head: string }> {
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }));
    const done = await hh.ok<any>('run_workflow', { request: 'Fix' });
    expect(done.phase).toBe('completed');
    return { hh, id: done.workflow_id, worktree: done.changes.worktree, head: done.changes.head };
  }

  it('adopts commits the user made in the worktree on top of the branch, merges them, says so, and leaves the worktree as it was', async () => {
    const { hh, id, worktree, head } = await finished();
    writeFileSync(join(worktree, 'USER.md'), 'mine\n');
    git(worktree, 'add', 'USER.md');
    git(worktree, 'commit', '-q', '-m', 'My own commit');
    const tip = git(worktree, 'rev-parse', 'HEAD');

    const merged = await hh.ok<any>('merge_changes', { workflow_id: id });
    expect(merged.changes.head).toBe(tip);
    expect(merged.changes.merged).toMatchObject({ commit: tip, mode: 'fast-forward', branch: 'main' });
    expect(merged.changes.files.map((f: { path: string }) => f.path)).toEqual(['USER.md', 'math.mjs']);
    expect(merged.next).toContain(`It includes the commits made in the worktree after planexec's last (${head.slice(0, 12)}..${tip.slice(0, 12)})`);
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(hh.root, 'USER.md'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(hh.root, 'math.mjs'), 'utf8')).toBe(FIXED);
    // The worktree and its branch are as the user left them.
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(tip);
    expect(git(hh.root, 'rev-parse', `planexec/${id}`)).toBe(tip);
  }, 60_000);

  it("discard_changes without confirm keeps the user's commits and uncommitted edits in the worktree, naming them; with confirm it deletes them", async () => {
    const { hh, id, worktree, head } = await finished();
    // Merged: planexec's own work needs no confirm to discard any more; the user's does.
    await hh.ok<any>('merge_changes', { workflow_id: id });
    writeFileSync(join(worktree, 'USER.md'), 'mine\n');
    git(worktree, 'add', 'USER.md');
    git(worktree, 'commit', '-q', '-m', 'My own commit');
    const tip = git(worktree, 'rev-parse', 'HEAD');
    const refused = await hh.call('discard_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`has commits planexec did not record (${head.slice(0, 12)}..${tip.slice(0, 12)}`);
    expect(git(hh.root, 'rev-parse', `planexec/${id}`)).toBe(tip);

    // Back to planexec's head, with an uncommitted edit instead.
    git(worktree, 'reset', '-q', '--hard', head);
    writeFileSync(join(worktree, 'math.mjs'), `${FIXED}// mine\n`);
    const dirty = await hh.call('discard_changes', { workflow_id: id });
    expect(dirty.isError).toBe(true);
    expect(textOf(dirty)).toContain('has uncommitted changes to math.mjs: discarding deletes them');
    expect(readFileSync(join(worktree, 'math.mjs'), 'utf8')).toBe(`${FIXED}// mine\n`);
    expect((await hh.ok<any>('workflow_status', { workflow_id: id })).changes.discarded).toBe(false);

    const gone = await hh.ok<any>('discard_changes', { workflow_id: id, confirm: true });
    expect(gone.changes.discarded).toBe(true);
    expect(existsSync(worktree)).toBe(false);
  }, 60_000);

  it('refuses, naming the files, while the worktree has uncommitted changes to tracked files, and keeps them', async () => {
    const { hh, id, worktree, head } = await finished();
    writeFileSync(join(worktree, 'math.mjs'), `${FIXED}// unfinished\n`);
    writeFileSync(join(worktree, 'scratch.txt'), 'untracked, does not count\n');
    const before = git(hh.root, 'rev-parse', 'HEAD');

    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/has uncommitted changes to math\.mjs\./);
    expect(textOf(refused)).not.toContain('scratch.txt');
    expect(readFileSync(join(worktree, 'math.mjs'), 'utf8')).toBe(`${FIXED}// unfinished\n`);
    expect(readFileSync(join(worktree, 'scratch.txt'), 'utf8')).toBe('untracked, does not count\n');
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(before);
    expect((await hh.ok<any>('workflow_status', { workflow_id: id })).changes.merged).toBeNull();
  }, 60_000);

  it('refuses a rewritten branch, says how to merge it without losing the rewrite, and keeps it', async () => {
    const { hh, id, worktree, head } = await finished();
    git(worktree, 'commit', '-q', '--amend', '-m', 'Fix add(), my words');
    const rewritten = git(worktree, 'rev-parse', 'HEAD');
    const before = git(hh.root, 'rev-parse', 'HEAD');

    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`Branch planexec/${id} was rewritten or moved: it is at ${rewritten}, which was not made by committing on top of ${head}`);
    expect(textOf(refused)).toContain(`git merge planexec/${id}`);
    expect(textOf(refused)).toContain(`reset --soft ${head}`);
    expect(git(hh.root, 'rev-parse', `planexec/${id}`)).toBe(rewritten);
    expect(git(worktree, 'rev-parse', 'HEAD')).toBe(rewritten);
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(before);
    // Doing as it says makes the branch mergeable, with the user's version on top of planexec's commit.
    git(worktree, 'reset', '-q', '--soft', head);
    git(worktree, 'commit', '-q', '--allow-empty', '-m', 'My words on top');
    const merged = await hh.ok<any>('merge_changes', { workflow_id: id });
    expect(git(hh.root, 'log', '--format=%s', '-3')).toContain('My words on top');
    expect(merged.changes.merged.commit).toBe(git(worktree, 'rev-parse', 'HEAD'));
  }, 60_000);

  it('refuses a branch reset to one that merged it with a merge commit (planexec\'s head only a second parent), merging and recording nothing', async () => {
    const { hh, id, worktree, head } = await finished();
    const base = (await hh.ok<any>('workflow_status', { workflow_id: id })).changes.base;
    git(hh.root, 'merge', '-q', '--no-ff', '-m', 'Merge by hand', `planexec/${id}`);
    const mainTip = git(hh.root, 'rev-parse', 'HEAD');
    git(worktree, 'reset', '-q', '--hard', mainTip);
    git(hh.root, 'switch', '-q', '-c', 'feature', base);

    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`Branch planexec/${id} was rewritten or moved: it is at ${mainTip}`);
    expect(textOf(refused)).toContain(`reset --keep ${head}`);
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(base);
    expect(git(hh.root, 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    const status = (await hh.ok<any>('workflow_status', { workflow_id: id })).changes;
    expect(status.head).toBe(head);
    expect(status.merged).toBeNull();
    expect(status.files.map((f: { path: string }) => f.path)).toEqual(['math.mjs']);
  }, 60_000);

  it("a refused merge records nothing: the user's commit in the worktree is not adopted until the merge happens", async () => {
    const { hh, id, worktree, head } = await finished();
    writeFileSync(join(worktree, 'USER.md'), 'mine\n');
    git(worktree, 'add', 'USER.md');
    git(worktree, 'commit', '-q', '-m', 'My own commit');
    const tip = git(worktree, 'rev-parse', 'HEAD');
    writeFileSync(join(hh.root, 'math.mjs'), `${BUGGY}// mine, uncommitted\n`);

    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('Your uncommitted changes touch files the merge would change: math.mjs');
    let status = (await hh.ok<any>('workflow_status', { workflow_id: id })).changes;
    expect(status.head).toBe(head);
    expect(status.files.map((f: { path: string }) => f.path)).toEqual(['math.mjs']);
    expect(status.merged).toBeNull();

    git(hh.root, 'checkout', '--', 'math.mjs');
    const merged = await hh.ok<any>('merge_changes', { workflow_id: id });
    expect(merged.changes.merged.commit).toBe(tip);
    status = (await hh.ok<any>('workflow_status', { workflow_id: id })).changes;
    expect(status.head).toBe(tip);
    expect(status.files.map((f: { path: string }) => f.path)).toEqual(['USER.md', 'math.mjs']);
  }, 60_000);

  it('adopts a merge of another branch made in the worktree, and merges it', async () => {
    const { hh, id, worktree } = await finished();
    const base = (await hh.ok<any>('workflow_status', { workflow_id: id })).changes.base;
    git(hh.root, 'branch', 'other', base);
    git(worktree, 'switch', '-q', '--detach', 'other');
    writeFileSync(join(worktree, 'OTHER.md'), 'other\n');
    git(worktree, 'add', 'OTHER.md');
    git(worktree, 'commit', '-q', '-m', 'Other work');
    const other = git(worktree, 'rev-parse', 'HEAD');
    git(worktree, 'switch', '-q', `planexec/${id}`);
    git(worktree, 'merge', '-q', '--no-ff', '-m', 'Merge other work', other);
    const tip = git(worktree, 'rev-parse', 'HEAD');

    const merged = await hh.ok<any>('merge_changes', { workflow_id: id });
    expect(merged.changes.head).toBe(tip);
    expect(merged.changes.merged).toMatchObject({ commit: tip, mode: 'fast-forward', branch: 'main' });
    expect(merged.changes.files.map((f: { path: string }) => f.path)).toEqual(['OTHER.md', 'math.mjs']);
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(tip);
    expect(readFileSync(join(hh.root, 'OTHER.md'), 'utf8')).toBe('other\n');
  }, 60_000);

  it("does not adopt a commit of the workflow's own that planexec never recorded (an attempt whose process stopped)", async () => {
    const { hh, id, worktree, head } = await finished();
    writeFileSync(join(worktree, 'half.txt'), 'unchecked\n');
    git(worktree, 'add', 'half.txt');
    git(worktree, 'commit', '-q', '-m', `Title fix\n\nPlanexec-Workflow: ${id}\nPlanexec-Subtask: fix\nPlanexec-Attempt: 2`);
    const tip = git(worktree, 'rev-parse', 'HEAD');

    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`holds commit ${tip.slice(0, 12)}, an attempt planexec did not finish`);
    expect(git(hh.root, 'rev-parse', `planexec/${id}`)).toBe(tip);
    expect((await hh.ok<any>('workflow_status', { workflow_id: id })).changes.head).toBe(head);
  }, 60_000);
});

describe('a worktree folder removed by hand', () => {
  it('merge_changes and then discard_changes work without it', async () => {
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }));
    const done = await hh.ok<any>('run_workflow', { request: 'Fix' });
    rmSync(done.changes.worktree, { recursive: true, force: true });

    const merged = await hh.ok<any>('merge_changes', { workflow_id: done.workflow_id });
    expect(merged.changes.merged).toMatchObject({ commit: done.changes.head, branch: 'main' });
    expect(readFileSync(join(hh.root, 'math.mjs'), 'utf8')).toBe(FIXED);
    const gone = await hh.ok<any>('discard_changes', { workflow_id: done.workflow_id });
    expect(gone.changes.discarded).toBe(true);
    expect(git(hh.root, 'branch', '--list', 'planexec/*')).toBe('');
    expect(git(hh.root, 'worktree', 'list', '--porcelain')).not.toContain(done.changes.worktree);
  }, 60_000);

  it('discard_changes of unmerged work works without it', async () => {
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }));
    const done = await hh.ok<any>('run_workflow', { request: 'Fix' });
    rmSync(done.changes.worktree, { recursive: true, force: true });
    const gone = await hh.ok<any>('discard_changes', { workflow_id: done.workflow_id, confirm: true });
    expect(gone.changes.discarded).toBe(true);
    expect(git(hh.root, 'branch', '--list', 'planexec/*')).toBe('');
  }, 60_000);

  it('an execution makes it again from the branch, with the commits made before', async () => {
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'a', writes: ['A.md'] }, { id: 'b', writes: ['B.md'] }]), {
        executor: (id) => ({ patchCalls: [{ type: 'create_file', path: `${id.toUpperCase()}.md`, diff: `+${id}\n` }], text: id }),
      }),
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Write two files' });
    const worktree = planned.changes.worktree as string;
    expect((await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'a' })).status).toBe('completed');
    rmSync(worktree, { recursive: true, force: true });

    const b = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'b' });
    expect(b.status).toBe('completed');
    expect(readFileSync(join(worktree, 'A.md'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(worktree, 'B.md'), 'utf8')).toBe('b\n');
    expect(git(hh.root, 'log', '--format=%(trailers:key=Planexec-Subtask,valueonly)', `${planned.changes.base}..planexec/${planned.workflow_id}`).split('\n').filter(Boolean)).toEqual(['b', 'a']);
  }, 60_000);
});

describe('checks in a workspace that is a subfolder of the repository', () => {
  it("run with planexec's records in the worktree's git dir, even when the model made the subfolder look like a git dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'planexec-sub-'));
    extra.push(dir);
    const repo = join(dir, 'workspace');
    const app = join(repo, 'app');
    mkdirSync(app, { recursive: true });
    // The check fails when anything of planexec's sits in the folder it runs in.
    const check = "import { existsSync } from 'node:fs';\nif (existsSync('planexec-running')) { console.log('planexec-running is in the workspace'); process.exit(1); }\n";
    makeRepo(repo, { 'app/check.mjs': check, 'app/README.md': '# App\n' });
    h = await startHarness({
      dir,
      env: { PLANEXEC_LEASE_MS: '600000', PLANEXEC_ROOT: app, PLANEXEC_LADDER: 'executor' },
      standin: {
        responder: workflowResponder(plan([{ id: 'e', writes: ['HEAD', 'objects/', 'refs/'] }]), {
          executor: () => ({
            patchCalls: [
              { type: 'create_file', path: 'HEAD', diff: '+ref: refs/heads/main\n' },
              { type: 'create_file', path: 'objects/info/keep', diff: '+x\n' },
              { type: 'create_file', path: 'refs/heads/keep', diff: '+x\n' },
            ],
            text: 'ok',
          }),
        }),
      },
    });
    const planned = await h.ok<any>('plan_task', { request: 'Edit', checks: ['node check.mjs'] });
    expect(planned.changes.base_checks).toMatchObject([{ command: 'node check.mjs', passed: true }]);
    const result = await h.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'e' });
    expect(result.checks).toMatchObject([{ command: 'node check.mjs', passed: true }]);
    expect(result.status).toBe('completed');
    expect(existsSync(join(planned.changes.worktree, 'app', 'planexec-running'))).toBe(false);
  }, 60_000);
});
