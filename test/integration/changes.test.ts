// Changes end to end, offline, with real git and real processes: executors answer with apply_patch
// calls from the stand-in, planexec applies them in the workflow's worktree, commits each attempt with
// its trailers, runs the checks (node --test), retries a failing attempt without a review, and
// merge_changes brings the branch into the user's branch.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, makeRepo } from '../support/git-repo.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import type { Responder } from '../support/openai-standin.js';
import { plan, subtaskOf, until, workflowResponder, type PlanSubtask } from '../support/responders.js';

const BUGGY = 'export function add(a, b) {\n  return a - b;\n}\n';
const FIXED = 'export function add(a, b) {\n  return a + b;\n}\n';
const TEST = "import test from 'node:test';\nimport assert from 'node:assert';\nimport { add } from './math.mjs';\n\ntest('add', () => assert.strictEqual(add(2, 3), 5));\n";
const FIX = { type: 'update_file' as const, path: 'math.mjs', diff: '@@ export function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n' };
const WRONG = { type: 'update_file' as const, path: 'math.mjs', diff: '@@ export function add(a, b) {\n-  return a - b;\n+  return a * b;\n }\n' };

let h: Harness | undefined;
const extra: string[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const d of extra.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A repository at the harness's root: add() is wrong, its `node --test` test fails. */
function makeTinyRepo(root: string, files: Record<string, string> = {}): void {
  makeRepo(root, { 'math.mjs': BUGGY, 'math.test.mjs': TEST, 'README.md': '# Tiny\n', '.gitignore': 'node_modules/\n', ...files });
}

/** The harness, over a fresh repository, with `responder` answering the models. */
async function repoHarness(responder: Responder, env: Record<string, string> = {}, files?: Record<string, string>): Promise<Harness> {
  h = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000', ...env }, standin: { responder } });
  makeTinyRepo(h.root, files);
  return h;
}

const executorRequests = (hh: Harness) => hh.standin.requests.filter((r) => r.schemaName === null);
const trailers = (cwd: string, range: string) =>
  git(cwd, 'log', '--reverse', `--format=${['Subtask', 'Attempt', 'Workflow', 'Model'].map((k) => `%(trailers:key=Planexec-${k},valueonly,separator=)`).join('|')}`, range)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('|').map((x) => x.trim()));

describe('a workflow that edits code', () => {
  it('ends with the function fixed on its branch, a commit per subtask with trailers, the check passing, the user\'s tree untouched; merge_changes keeps an unrelated change of the user', async () => {
    const steps = plan([
      { id: 'fix', writes: ['math.mjs'], checks: ['node --test'] },
      { id: 'notes', writes: ['NOTES.md'], depends_on: ['fix'] },
    ]);
    const hh = await repoHarness(
      workflowResponder(steps, {
        executor: (id) =>
          id === 'fix'
            ? { patchCalls: [FIX], text: 'add() adds now.' }
            : { patchCalls: [{ type: 'create_file', path: 'NOTES.md', diff: '+add() adds.\n' }], text: 'Noted.' },
      }),
    );
    const before = git(hh.root, 'rev-parse', 'HEAD');
    const done = await hh.ok<any>('run_workflow', { request: 'Fix add()', checks: ['node --test'] });
    const id = done.workflow_id as string;

    expect(done.phase).toBe('completed');
    expect(done.changes).toMatchObject({ mode: 'worktree', branch: `planexec/${id}`, base: before, merged: null, discarded: false });
    // The base failed the host check: the planner was told, and the finished branch passes it.
    expect(done.changes.base_checks).toMatchObject([{ command: 'node --test', passed: false }]);
    expect(done.changes.final_checks).toMatchObject([{ command: 'node --test', passed: true, exit_code: 0 }]);
    // The last attempt's passing run at the head stands for the final checks: not run a second time.
    const [notesRun] = await hh.store.workflows.listExecutions(done.workflow_id, 'notes');
    expect(done.changes.final_checks).toEqual(notesRun!.checks!.filter((c) => c.source === 'host'));
    const planRequest = hh.standin.requests.find((r) => r.schemaName === 'plan')!;
    expect(planRequest.inputText).toContain('node --test');
    expect(done.changes.files).toEqual([
      { path: 'NOTES.md', status: 'added', insertions: 1, deletions: 0 },
      { path: 'math.mjs', status: 'modified', insertions: 1, deletions: 1 },
    ]);
    // Editing executors were offered the apply_patch tool.
    for (const r of executorRequests(hh)) expect(r.tools).toEqual([{ type: 'apply_patch' }]);

    const worktree = done.changes.worktree as string;
    expect(readFileSync(join(worktree, 'math.mjs'), 'utf8')).toBe(FIXED);
    expect(trailers(hh.root, `${before}..planexec/${id}`)).toEqual([
      ['fix', '1', id, 'gpt-5.4-mini'],
      ['notes', '1', id, 'gpt-5.4-mini'],
    ]);
    expect(git(hh.root, 'rev-parse', `planexec/${id}`)).toBe(done.changes.head);
    // The user's tree and index are as they were.
    expect(readFileSync(join(hh.root, 'math.mjs'), 'utf8')).toBe(BUGGY);
    expect(git(hh.root, 'status', '--porcelain')).toBe('');
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(before);
    expect(done.next).toContain('merge_changes');
    expect(textOf(await hh.call('workflow_status', { workflow_id: id }))).toMatch(/Branch planexec\/\S+ \(worktree .+\)[\s\S]*M math\.mjs \+1 -1[\s\S]*node --test passed/);

    // An unrelated uncommitted change of the user survives the merge.
    writeFileSync(join(hh.root, 'README.md'), '# Tiny\n\nMy own note.\n');
    const merged = await hh.ok<any>('merge_changes', { workflow_id: id });
    expect(merged.changes.merged).toMatchObject({ commit: done.changes.head, mode: 'fast-forward', branch: 'main' });
    expect(readFileSync(join(hh.root, 'math.mjs'), 'utf8')).toBe(FIXED);
    expect(readFileSync(join(hh.root, 'README.md'), 'utf8')).toBe('# Tiny\n\nMy own note.\n');
    expect(git(hh.root, 'status', '--porcelain')).toBe(' M README.md');
    execFileSync(process.execPath, ['--test'], { cwd: hh.root, stdio: 'pipe' });
    // Merging again changes nothing; discarding needs no confirm once merged.
    expect((await hh.ok<any>('merge_changes', { workflow_id: id })).next).toContain('merged already');
    const gone = await hh.ok<any>('discard_changes', { workflow_id: id });
    expect(gone.changes).toMatchObject({ discarded: true, worktree: null });
    expect(existsSync(worktree)).toBe(false);
    expect(() => git(hh.root, 'rev-parse', '--verify', '-q', `planexec/${id}`)).toThrow();
  }, 60_000);

  it('sends a failing attempt back with the check\'s output, on the next rung, without a review call between', async () => {
    let fixAttempts = 0;
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'], checks: ['node --test'] }]), {
        executor: () => (++fixAttempts === 1 ? { patchCalls: [WRONG], text: 'Multiplied.' } : { patchCalls: [FIX], text: 'Added.' }),
      }),
    );
    const done = await hh.ok<any>('run_workflow', { request: 'Fix add()', checks: ['node --test'] });
    expect(done.phase).toBe('completed');
    const order = hh.standin.requests.map((r) => r.schemaName ?? `exec:${subtaskOf(r)}`);
    expect(order).toEqual(['plan', 'exec:fix', 'exec:fix', 'review']);
    const second = executorRequests(hh)[1]!;
    expect(second.inputText).toContain('node --test');
    expect(second.inputText).toMatch(/AssertionError|Expected values to be strictly equal/);
    // The failed attempt was rolled back: its commit is not on the branch; the retry's is.
    const id = done.workflow_id as string;
    expect(trailers(hh.root, `${done.changes.base}..planexec/${id}`)).toEqual([['fix', '2', id, expect.any(String)]]);
    const status = await hh.ok<any>('workflow_status', { workflow_id: id });
    expect(status.subtasks[0].runs).toMatchObject([
      { attempt: 1, commit: null, failed_checks: ['node --test'] },
      { attempt: 2, commit: done.changes.head, failed_checks: [] },
    ]);
    // Why attempt 1 failed stays readable once the retry passed (its feedback is gone by then).
    const detail = await hh.ok<any>('workflow_status', { workflow_id: id, subtask_id: 'fix' });
    expect(detail.subtask.feedback).toBeNull();
    expect(detail.subtask.executions[0].checks).toMatchObject([{ command: 'node --test', passed: false }]);
    expect(detail.subtask.executions[0].checks[0].output_tail).toMatch(/AssertionError|strictly equal/);
  }, 60_000);

  it('refuses ../x, an absolute path, .git/config, a path outside writes, a link out of the worktree and a patch whose context does not match: none lands, each is reported', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'planexec-outside-'));
    extra.push(outside);
    writeFileSync(join(outside, 'x'), 'outside\n');
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'e', writes: ['src/a.txt', 'src/b.txt', 'out/x', 'other.txt'] }]), {
        executor: (_id, req) =>
          req.patchOutputs.length
            ? { text: 'I cannot do more.' }
            : {
                patchCalls: [
                  { type: 'create_file', path: '../x', diff: '+escape\n' },
                  { type: 'create_file', path: join(outside, 'abs'), diff: '+escape\n' },
                  { type: 'update_file', path: '.git/config', diff: '@@\n+[core]\n' },
                  { type: 'create_file', path: 'README2.md', diff: '+not in writes\n' },
                  { type: 'update_file', path: 'out/x', diff: '@@\n-outside\n+written through the link\n' },
                  { type: 'update_file', path: 'src/a.txt', diff: '@@\n-two\n+three\n' },
                  { type: 'create_file', path: 'src/b.txt', diff: '+b\n' },
                ],
                text: 'Edited.',
              },
      }),
      {},
      { 'src/a.txt': 'one\n' },
    );
    symlinkSync(outside, join(hh.root, 'out'));
    git(hh.root, 'add', 'out');
    git(hh.root, 'commit', '-q', '-m', 'A link out');
    const planned = await hh.ok<any>('plan_task', { request: 'Edit things' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'e' });

    expect(result.status).toBe('completed');
    expect(result.changes.files).toEqual([{ path: 'src/b.txt', status: 'added', insertions: 1, deletions: 0 }]);
    const rejected = Object.fromEntries(result.changes.rejected.map((r: { path: string; reason: string }) => [r.path, r.reason]));
    expect(Object.keys(rejected).sort()).toEqual(['../x', '.git/config', 'README2.md', join(outside, 'abs'), 'out/x', 'src/a.txt'].sort());
    expect(rejected['README2.md']).toMatch(/not among the files this subtask may write/);
    expect(rejected['src/a.txt']).toMatch(/context|match/i);
    // The model was told which operations failed, with the tool's outcome items.
    const followUp = executorRequests(hh)[1]!;
    expect(followUp.patchOutputs.filter((o) => o.status === 'failed')).toHaveLength(6);
    expect(followUp.patchOutputs.filter((o) => o.status === 'completed')).toHaveLength(1);
    // Nothing outside landed.
    expect(readFileSync(join(outside, 'x'), 'utf8')).toBe('outside\n');
    expect(existsSync(join(outside, 'abs'))).toBe(false);
    expect(existsSync(join(hh.dir, 'worktrees', 'x'))).toBe(false);
    const worktree = planned.changes.worktree as string;
    expect(existsSync(join(worktree, '..', 'x'))).toBe(false);
    expect(readFileSync(join(hh.root, '.git', 'config'), 'utf8')).not.toContain('[core]\n[core]');
    expect(readFileSync(join(worktree, 'src', 'a.txt'), 'utf8')).toBe('one\n');
    expect(git(worktree, 'status', '--porcelain')).toBe('');
  }, 60_000);

  it('an attempt in which nothing applied is not completed: it goes back with the reasons', async () => {
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'e', writes: ['math.mjs'] }]), {
        executor: () => ({ patchCalls: [{ type: 'update_file', path: 'math.mjs', diff: '@@\n-no such line\n+x\n' }], text: 'Tried.' }),
      }),
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Edit' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'e' });
    expect(result.status).toBe('pending');
    expect(result.changes).toMatchObject({ commit: null, files: [], rejected: [{ path: 'math.mjs' }] });
    // One first call and MAX_ROUNDS follow-ups, then it stops.
    expect(executorRequests(hh)).toHaveLength(4);
    const status = await hh.ok<any>('workflow_status', { workflow_id: planned.workflow_id, subtask_id: 'e' });
    expect(status.subtask.feedback).toMatch(/None of your edits applied/);
    expect(git(planned.changes.worktree, 'rev-parse', 'HEAD')).toBe(planned.changes.base);
  }, 60_000);

  it('a model without the tool answers with a V4A patch in its text, applied the same way', async () => {
    const patch = '*** Begin Patch\n*** Update File: math.mjs\n@@ export function add(a, b) {\n-  return a - b;\n+  return a + b;\n }\n*** End Patch';
    const hh = await repoHarness(
      (req) => {
        if (req.schemaName === 'plan') return { json: plan([{ id: 'fix', writes: ['math.mjs'] }]) };
        if (req.tools.length) return { error: { status: 400, message: "Tool 'apply_patch' is not supported with gpt-5.4-mini.", type: 'invalid_request_error', param: 'tools' } };
        return { text: `Fixed it.\n\n${patch}` };
      },
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Fix add()' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'fix' });
    expect(result.status).toBe('completed');
    expect(result.changes.files).toEqual([{ path: 'math.mjs', status: 'modified', insertions: 1, deletions: 1 }]);
    expect(result.output).toContain('Fixed it.');
    const calls = executorRequests(hh);
    expect(calls.map((r) => r.tools.length)).toEqual([1, 0]);
  }, 60_000);
});

describe('checks', () => {
  const envCheck = "const leaked = Object.keys(process.env).filter((k) => /OPENAI|API_KEY|PLANEXEC_|TOKEN/.test(k));\nconsole.log('leaked:', leaked.join(','));\nprocess.exit(leaked.length ? 1 : 0);\n";

  it('run without the provider keys in their environment', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-in-the-server-environment';
    process.env.CODEX_ACCESS_TOKEN = 'a-codex-workspace-token';
    try {
      const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }), {}, { 'env-check.mjs': envCheck });
      const planned = await hh.ok<any>('plan_task', { request: 'Fix', checks: ['node env-check.mjs'] });
      expect(planned.changes.base_checks).toMatchObject([{ command: 'node env-check.mjs', passed: true }]);
      const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'fix' });
      expect(result.checks).toMatchObject([{ command: 'node env-check.mjs', passed: true, exit_code: 0 }]);
      expect(result.checks[0].output_tail).toContain('leaked: \n');
    } finally {
      delete process.env.CODEX_ACCESS_TOKEN;
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  }, 60_000);

  /** A check that starts a child, writes both pids, and hangs while `flag` exists. */
  /**
   * The group kill of a check without the sandbox, where the pids the check writes (its own
   * process.pid) are the ones seen from here; in the sandbox: test/integration/check-sandbox.test.ts.
   */
  const UNSANDBOXED = { PLANEXEC_CHECK_SANDBOX: 'off' };
  const hang = (flag: string, pids: string) =>
    `import { spawn } from 'node:child_process';\nimport { existsSync, writeFileSync } from 'node:fs';\nif (existsSync(${JSON.stringify(flag)})) {\n  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });\n  writeFileSync(${JSON.stringify(pids)}, JSON.stringify([process.pid, child.pid]));\n  setInterval(() => {}, 1000);\n}\n`;
  /** The check's two pids once its file is whole (it may be seen created but not yet written). */
  const pidsIn = (file: string): [number, number] | null => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as [number, number];
    } catch {
      return null;
    }
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('a hanging check is killed at the timeout with its process group, and counts as failed', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'planexec-hang-'));
    extra.push(scratch);
    const flag = join(scratch, 'flag');
    const pids = join(scratch, 'pids.json');
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'], checks: ['node hang.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }),
      { PLANEXEC_CHECK_TIMEOUT_MS: '1500', PLANEXEC_ALLOWED_CHECKS: 'node hang.mjs', PLANEXEC_LADDER: 'executor', ...UNSANDBOXED },
      { 'hang.mjs': hang(flag, pids) },
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Fix' });
    writeFileSync(flag, '');
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'fix' });
    expect(result.checks).toMatchObject([{ command: 'node hang.mjs', passed: false, timed_out: true, exit_code: null }]);
    expect(result.changes).toMatchObject({ rolled_back: true, commit: null });
    const [parent, child] = pidsIn(pids)!;
    await until(() => !alive(parent) && !alive(child), 'the check and its child to be gone', 10_000);
  }, 60_000);

  it('a planner-proposed check that PLANEXEC_ALLOWED_CHECKS does not allow is not run, and is listed as refused', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'planexec-mark-')), 'ran');
    extra.push(join(marker, '..'));
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'], checks: [`node mark.mjs`, 'node --test'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }),
      { PLANEXEC_ALLOWED_CHECKS: 'node --test\nnpm test' },
      { 'mark.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n` },
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Fix' });
    const result = await hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 'fix' });
    expect(result.checks.map((c: { command: string }) => c.command)).toEqual(['node --test']);
    expect(existsSync(marker)).toBe(false);
    const status = await hh.ok<any>('workflow_status', { workflow_id: planned.workflow_id });
    expect(status.subtasks[0].refused_checks).toEqual(['node mark.mjs']);
    expect(textOf(await hh.call('workflow_status', { workflow_id: planned.workflow_id }))).toContain('Not allowed, not run: node mark.mjs');
  }, 60_000);

  it('cancel during a check kills it; the subtask goes back to pending and the worktree to its last commit', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'planexec-cancel-'));
    extra.push(scratch);
    const flag = join(scratch, 'flag');
    const pids = join(scratch, 'pids.json');
    const hh = await repoHarness(
      workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }),
      UNSANDBOXED,
      { 'hang.mjs': hang(flag, pids) },
    );
    // The base check passes (no flag yet); the check after the edit hangs.
    const planned = await hh.ok<any>('plan_task', { request: 'Fix', checks: ['node hang.mjs'] });
    writeFileSync(flag, '');
    const started = await hh.ok<any>('run_workflow', { workflow_id: planned.workflow_id, wait: false });
    await until(() => pidsIn(pids) !== null, 'the check after the edit', 20_000);
    const [parent, child] = pidsIn(pids)!;
    const cancelled = await hh.ok<any>('cancel_workflow', { workflow_id: started.workflow_id });
    expect(cancelled.phase).toBe('cancelled');
    await until(() => !alive(parent) && !alive(child), 'the check and its child to be gone', 10_000);
    await until(async () => (await hh!.ok<any>('workflow_status', { workflow_id: started.workflow_id })).subtasks[0].status === 'pending', 'the subtask to be released');
    const status = await hh.ok<any>('workflow_status', { workflow_id: started.workflow_id });
    expect(status.changes.head).toBe(status.changes.base);
    expect(git(status.changes.worktree, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(status.changes.worktree, 'math.mjs'), 'utf8')).toBe(BUGGY);
  }, 60_000);
});

describe('a call cancelled during the base checks', () => {
  it('sends no plan call, bills nothing, and leaves no branch', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'planexec-basecancel-'));
    extra.push(scratch);
    const started = join(scratch, 'started');
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }])), {}, {
      'slow.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(started)}, '');\nsetTimeout(() => {}, 30_000);\n`,
    });
    const cancel = new AbortController();
    const call = hh.client.callTool({ name: 'plan_task', arguments: { request: 'Fix', checks: ['node slow.mjs'] } }, undefined, { signal: cancel.signal });
    await until(() => existsSync(started), 'the base check to start', 20_000);
    cancel.abort();
    await expect(call).rejects.toThrow();
    // The server settles the cancelled call: the check is killed, planning never starts.
    await until(() => git(hh.root, 'branch', '--list', 'planexec/*') === '', 'the branch to be removed', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(hh.standin.requests).toHaveLength(0);
    expect(hh.db.prepare('SELECT id, purpose, status FROM model_calls').all()).toEqual([]);
  }, 60_000);
});

describe('scheduling', () => {
  it('subtasks whose writes overlap are never in flight together; the others run in parallel', async () => {
    const steps: PlanSubtask[] = [
      { id: 'a', writes: ['x.txt'] },
      { id: 'b', writes: ['x.txt', 'y.txt'] },
      { id: 'c', writes: ['z.txt'] },
      { id: 'd', writes: ['src/'] },
      { id: 'e', writes: ['src/deep/f.txt'] },
    ];
    const hh = await repoHarness(
      workflowResponder(plan(steps), {
        executorDelayMs: 150,
        executor: (id) => {
          const path = { a: 'x.txt', b: 'y.txt', c: 'z.txt', d: 'src/d.txt', e: 'src/deep/f.txt' }[id]!;
          return { patchCalls: [{ type: 'create_file', path, diff: `+${id}\n` }], text: id, delayMs: 150 };
        },
      }),
    );
    const done = await hh.ok<any>('run_workflow', { request: 'Write files', concurrency: 5 });
    expect(done.phase).toBe('completed');
    const spans = Object.fromEntries(executorRequests(hh).map((r) => [subtaskOf(r)!, [r.startedAt, r.endedAt!] as const]));
    const overlap = (p: string, q: string) => spans[p]![0] < spans[q]![1] && spans[q]![0] < spans[p]![1];
    expect(overlap('a', 'b')).toBe(false);
    expect(overlap('d', 'e')).toBe(false);
    // c overlaps nothing, so it ran beside another subtask.
    expect(overlap('a', 'c') || overlap('b', 'c') || overlap('d', 'c') || overlap('e', 'c')).toBe(true);
  }, 60_000);
});

describe('parallel execute_subtask calls on overlapping writes', () => {
  const xPlan = plan([{ id: 'a', writes: ['x.txt'] }, { id: 'b', writes: ['x.txt'] }]);
  const edit = (from: string, to: string) => ({ type: 'update_file' as const, path: 'x.txt', diff: `@@\n-${from}\n+${to}\n` });

  it('the second edit is applied on top of the first, not written over it', async () => {
    const hh = await repoHarness(
      workflowResponder(xPlan, { executor: (id) => ({ patchCalls: [id === 'a' ? edit('one', 'ONE') : edit('three', 'THREE')], text: id, delayMs: 300 }) }),
      {},
      { 'x.txt': 'one\ntwo\nthree\n' },
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Edit x' });
    const [a, b] = await Promise.all(['a', 'b'].map((id) => hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: id })));
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    const status = await hh.ok<any>('workflow_status', { workflow_id: planned.workflow_id });
    expect(git(hh.root, 'show', `${status.changes.head}:x.txt`)).toBe('ONE\ntwo\nTHREE');
    expect(trailers(hh.root, `${planned.changes.base}..${status.changes.head}`).map((t) => t[0]).sort()).toEqual(['a', 'b']);
  }, 60_000);

  it('an edit that no longer applies after the other committed goes back to its executor, and the first edit stays', async () => {
    const hh = await repoHarness(
      workflowResponder(xPlan, { executor: (id) => ({ patchCalls: [edit('two', id === 'a' ? 'TWO-A' : 'TWO-B')], text: id, delayMs: 300 }) }),
      {},
      { 'x.txt': 'one\ntwo\nthree\n' },
    );
    const planned = await hh.ok<any>('plan_task', { request: 'Edit x' });
    const results = await Promise.all(['a', 'b'].map((id) => hh.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: id })));
    const won = results.find((r) => r.status === 'completed')!;
    const lost = results.find((r) => r.status === 'pending')!;
    expect(won).toBeDefined();
    expect(lost).toBeDefined();
    expect(lost.changes.rejected[0].reason).toMatch(/changed meanwhile/);
    const status = await hh.ok<any>('workflow_status', { workflow_id: planned.workflow_id, subtask_id: lost.subtask_id });
    expect(git(hh.root, 'show', `${status.changes.head}:x.txt`)).toBe(`one\nTWO-${won.subtask_id.toUpperCase()}\nthree`);
    expect(status.subtask.feedback).toMatch(/Another subtask changed x\.txt/);
  }, 60_000);
});

describe('merge refusals leave nothing half-merged', () => {
  async function finished(): Promise<{ hh: Harness; id: string }> {
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }]), { executor: () => ({ patchCalls: [FIX], text: 'ok' }) }));
    const done = await hh.ok<any>('run_workflow', { request: 'Fix' });
    expect(done.phase).toBe('completed');
    return { hh, id: done.workflow_id };
  }

  it('refuses, naming the path, when an uncommitted change of the user touches a file the branch changed', async () => {
    const { hh, id } = await finished();
    writeFileSync(join(hh.root, 'math.mjs'), `${BUGGY}// mine\n`);
    const head = git(hh.root, 'rev-parse', 'HEAD');
    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('math.mjs');
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(head);
    expect(readFileSync(join(hh.root, 'math.mjs'), 'utf8')).toBe(`${BUGGY}// mine\n`);
    expect(git(hh.root, 'status', '--porcelain')).toBe(' M math.mjs');
    expect((await hh.ok<any>('workflow_status', { workflow_id: id })).changes.merged).toBeNull();
  }, 60_000);

  it('refuses a merge that conflicts, naming the path, with no merge in progress after', async () => {
    const { hh, id } = await finished();
    writeFileSync(join(hh.root, 'math.mjs'), 'export function add(a, b) {\n  return b - a;\n}\n');
    git(hh.root, 'commit', '-q', '-am', 'My own change');
    const head = git(hh.root, 'rev-parse', 'HEAD');
    const refused = await hh.call('merge_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/conflict/i);
    expect(textOf(refused)).toContain('math.mjs');
    expect(git(hh.root, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(hh.root, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(hh.root, '.git', 'MERGE_HEAD'))).toBe(false);
  }, 60_000);

  it('discarding approved, unmerged work needs confirm: true', async () => {
    const { hh, id } = await finished();
    const refused = await hh.call('discard_changes', { workflow_id: id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('"confirm":true');
    expect(git(hh.root, 'rev-parse', '--verify', `planexec/${id}`)).toMatch(/^[0-9a-f]{40}$/);
    expect((await hh.ok<any>('discard_changes', { workflow_id: id, confirm: true })).changes.discarded).toBe(true);
  }, 60_000);
});

describe('the host checks on the finished branch', () => {
  // `node --test` fails on the base and no subtask is meant to fix it: each attempt passes (the
  // failure is not held against it), and the finished branch still fails the check.
  const notes = plan([{ id: 'notes', writes: ['NOTES.md'] }]);
  const finalReview = (req: { inputText: string }) => req.inputText.includes('these host checks fail on the finished branch');

  it('go to one planner review; approved anyway, the workflow ends needs_human naming the check (never a loop)', async () => {
    const hh = await repoHarness(
      workflowResponder(notes, { executor: () => ({ patchCalls: [{ type: 'create_file', path: 'NOTES.md', diff: '+n\n' }], text: 'ok' }) }),
    );
    const done = await hh.ok<any>('run_workflow', { request: 'Write notes', checks: ['node --test'] });
    expect(done.phase).toBe('needs_human');
    expect(done.last_error).toMatch(/host checks fail on the branch: `node --test`/);
    expect(done.changes.final_checks).toMatchObject([{ command: 'node --test', passed: false }]);
    const reviews = hh.standin.requests.filter((r) => r.schemaName === 'review');
    expect(reviews.filter(finalReview)).toHaveLength(1);
    expect(reviews.find(finalReview)!.inputText).toMatch(/AssertionError|strictly equal/);
    // Asking again does not ask the planner again at the same head.
    const again = await hh.ok<any>('run_workflow', { workflow_id: done.workflow_id });
    expect(again.phase).toBe('needs_human');
    expect(hh.standin.requests.filter((r) => r.schemaName === 'review' && finalReview(r))).toHaveLength(1);
    // Merging the unfinished workflow is allowed (the notes are done), and the answer says it was not completed.
    const merged = await hh.ok<any>('merge_changes', { workflow_id: done.workflow_id });
    expect(merged.changes.merged).toMatchObject({ commit: done.changes.head });
    expect(merged.next).toMatch(/The workflow was needs_human, not completed: this merged only the work its branch held/);
  }, 60_000);

  it('a revise from that review sends the subtask back with the check output, and the fixed branch completes', async () => {
    let attempts = 0;
    const hh = await repoHarness((req) => {
      if (req.schemaName === 'plan') return { json: plan([{ id: 'fix', writes: ['math.mjs', 'NOTES.md'] }]) };
      if (req.schemaName === 'review') {
        const verdict = finalReview(req) ? 'revise' : 'approve';
        return { json: { verdict, reviews: [{ subtask_id: 'fix', verdict, feedback: verdict === 'revise' ? 'Fix add() too.' : '' }], summary: 's' } };
      }
      attempts += 1;
      return attempts === 1
        ? { patchCalls: [{ type: 'create_file', path: 'NOTES.md', diff: '+n\n' }], text: 'notes only' }
        : { patchCalls: [FIX], text: 'fixed add' };
    });
    const done = await hh.ok<any>('run_workflow', { request: 'Write notes and fix add', checks: ['node --test'] });
    expect(done.phase).toBe('completed');
    expect(done.changes.final_checks).toMatchObject([{ command: 'node --test', passed: true }]);
    const second = executorRequests(hh)[1]!;
    expect(second.inputText).toContain('Fix add() too.');
    expect(second.inputText).toContain('These host checks fail on the branch');
  }, 60_000);
});

describe('PLANEXEC_CHANGES=off', () => {
  it('turns changes off for workflows that do not ask, and a workflow asking for changes: "worktree" still gets them', async () => {
    const hh = await repoHarness(workflowResponder(plan([{ id: 'fix', writes: ['math.mjs'] }])), { PLANEXEC_CHANGES: 'off' });
    const plain = await hh.ok<any>('plan_task', { request: 'Fix' });
    expect(plain.changes).toMatchObject({ mode: 'off', reason: 'changes are turned off (PLANEXEC_CHANGES=off)' });
    const asked = await hh.ok<any>('plan_task', { request: 'Fix', changes: 'worktree' });
    expect(asked.changes).toMatchObject({ mode: 'worktree', branch: `planexec/${asked.workflow_id}` });
  }, 60_000);
});

describe('without a repository', () => {
  it('works as before, and says why no changes were made', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1', writes: ['a.txt'] }])) } });
    const done = await h.ok<any>('run_workflow', { request: 'Do it' });
    expect(done.phase).toBe('completed');
    expect(done.changes).toMatchObject({ mode: 'off', reason: 'the workspace root is not a git repository', branch: null });
    const checked = await h.ok<any>('run_workflow', { request: 'Do it again', checks: ['node --test'] });
    expect(checked.warnings).toContain('The checks `node --test` are not run: the workspace root is not a git repository. Checks run where executors edit a git worktree.');
    expect(textOf(await h.call('workflow_status', { workflow_id: done.workflow_id }))).toContain('No changes to files: the workspace root is not a git repository.');
    const refused = await h.call('merge_changes', { workflow_id: done.workflow_id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('made no changes to merge');
  }, 60_000);
});
