// A new workflow whose id names a branch that is there already (another workflow's: ids are random,
// so a clash is rare, not impossible) is refused, and the branch and worktree are left as they were.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { GitChanges } from '../../src/adapters/git/git-changes.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { git, ISOLATED_GIT_ENV, tempRepo, type TempRepo } from '../support/git-repo.js';
import { makeDeps, SETTINGS } from '../unit/core-deps.js';

let repo: TempRepo | undefined;
afterEach(() => repo?.cleanup());

it('refuses a new workflow whose branch exists, and does not remove that branch or its worktree', async () => {
  repo = tempRepo();
  const worktrees = mkdtempSync(join(tmpdir(), 'planexec-ids-'));
  try {
    const d = await makeDeps({ settings: { root: repo.root, changes: { ...SETTINGS.changes, mode: 'worktree', worktreesDir: worktrees } } });
    d.git = new GitChanges({ env: ISOLATED_GIT_ENV });
    // The id the deps will draw first, taken by "another workflow".
    const taken = join(worktrees, 'wf-test-1');
    git(repo.root, 'worktree', 'add', '-q', '-b', 'planexec/wf-test-1', taken);
    await expect(planTask(d, { request: 'Fix it' })).rejects.toMatchObject({ code: 'invalid_transition', details: { reason: 'id_in_use' } });
    expect(existsSync(taken)).toBe(true);
    expect(git(repo.root, 'rev-parse', '--verify', 'planexec/wf-test-1')).toMatch(/^[0-9a-f]{40}$/);
    expect(d.scripted.requests).toHaveLength(0);
    expect(await d.store.workflows.get('wf-test-1')).toBeNull();
    await d.close();
  } finally {
    rmSync(worktrees, { recursive: true, force: true });
  }
});
