// The use cases over the pure core: a scripted planner/executor, a real SQLite store in memory and an
// in-memory workspace. (The MCP layer and the OpenAI adapter are covered by the integration tests.)
import { afterEach, describe, expect, it } from 'vitest';
import { PlanexecError } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/plan.js';
import type { Review } from '../../src/core/review.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { reviewResults } from '../../src/core/usecases/review-results.js';
import { workflowStatus } from '../../src/core/usecases/workflow-status.js';
import { loadWorkflow } from '../../src/core/workflow.js';
import { sha256Hex } from '../support/fakes.js';
import { planned } from './builders.js';
import { makeDeps, type TestDeps } from './core-deps.js';

const open: TestDeps[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

const FILES = { 'src/a.ts': 'export const a = 1;', 'README.md': '# Demo' };

async function setup(opts: Parameters<typeof makeDeps>[0] = {}): Promise<TestDeps> {
  const d = await makeDeps({ files: FILES, ...opts });
  open.push(d);
  return d;
}

const PLAN: Plan = {
  subtasks: [
    planned('s1', [], { relevant_files: ['src/a.ts'] }),
    planned('s2', ['s1']),
    planned('s3', ['s2'], { complexity: 'complex' }),
  ],
  coordination_notes: 'A chain.',
};

async function rejection(promise: Promise<unknown>): Promise<PlanexecError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PlanexecError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

/** A workflow planned with PLAN; the provider's first reply is used up. */
async function planned3(d: TestDeps): Promise<string> {
  d.scripted.push({ text: JSON.stringify(PLAN), responseId: 'resp-plan' });
  return (await planTask(d, { request: 'Add a login page\nwith email and password' })).workflow_id;
}

describe('planTask', () => {
  it('planTask stores the workflow and its subtasks with roles from their complexity, and says what to run first', async () => {
    const d = await setup();
    d.scripted.push({ text: JSON.stringify(PLAN), responseId: 'resp-plan', usage: { input_tokens: 900, cached_tokens: 0, output_tokens: 300 } });
    const result = await planTask(d, { request: '  Add a login page\nwith email and password  ', context: 'Express app', budget: { executor_tokens: 5_000 } });
    expect(result).toEqual({
      workflow_id: 'wf-test-1',
      phase: 'executing',
      plan_version: 1,
      subtasks: PLAN.subtasks.map((s) => ({ ...s, role: s.complexity === 'complex' ? 'planner' : 'executor', status: 'pending' })),
      ready: ['s1'],
      coordination_notes: 'A chain.',
      plan_changes: null,
      changes: {
        mode: 'off',
        reason: 'changes are turned off (PLANEXEC_CHANGES=off)',
        branch: null,
        worktree: null,
        base: null,
        head: null,
        files: [],
        merged: null,
        discarded: false,
        base_checks: [],
        final_checks: null,
      },
      requires_confirmation: false,
      proposed_version: null,
      usage: { calls: 1, input_tokens: 900, cached_tokens: 0, output_tokens: 300 },
      next: 'Call execute_subtask {"workflow_id":"wf-test-1","subtask_id":"s1"}.',
    });
    const { workflow, subtasks } = (await loadWorkflow(d, 'wf-test-1'));
    expect(workflow).toMatchObject({
      request: 'Add a login page\nwith email and password',
      goal: 'Add a login page',
      context: 'Express app',
      phase: 'executing',
      planVersion: 1,
      plannerResponseId: 'resp-plan',
      coordinationNotes: 'A chain.',
      budget: { executor_tokens: 5_000 },
    });
    expect(subtasks.map((s) => [s.id, s.position, s.role, s.status, s.attempts])).toEqual([
      ['s1', 0, 'executor', 'pending', 1],
      ['s2', 1, 'executor', 'pending', 1],
      ['s3', 2, 'planner', 'pending', 1],
    ]);
  });

  it('planTask shows the planner the files the host lists', async () => {
    const d = await setup();
    d.scripted.push({ text: JSON.stringify(PLAN) });
    await planTask(d, { request: 'Add login', files: ['README.md', 'src/a.ts', 'README.md'] });
    expect(d.scripted.requests[0]?.input).toBe(
      'Task: plan\nRequest: Add login\n\nFiles:\n=== README.md, 6 bytes ===\n# Demo\n\n=== src/a.ts, 19 bytes ===\nexport const a = 1;',
    );
  });

  it('planTask stores nothing when the plan is still invalid after the repair round, but keeps both journal rows', async () => {
    const d = await setup();
    const cyclic: Plan = { subtasks: [planned('s1', ['s2']), planned('s2', ['s1'])], coordination_notes: '' };
    d.scripted.push({ text: JSON.stringify(cyclic) }, { text: JSON.stringify(cyclic) });
    const e = await rejection(planTask(d, { request: 'Add login' }));
    expect(e.code).toBe('model_output_invalid');
    expect(e.message).toBe(
      "The planner's plan is still invalid after one repair round: Dependencies form a cycle: s1 -> s2 -> s1. Remove one of these dependencies.",
    );
    expect((await d.store.workflows.list(10))).toEqual([]);
    expect((await d.store.calls.list('wf-test-1')).map((c) => [c.purpose, c.status])).toEqual([
      ['plan', 'completed'],
      ['repair', 'completed'],
    ]);
  });

  it('planTask rejects an empty request, a path leaving the root and a missing file before calling any model', async () => {
    const d = await setup();
    const empty = await rejection(planTask(d, { request: '  \n ' }));
    expect([empty.code, empty.message]).toEqual(['invalid_input', 'request is empty.']);
    const outside = await rejection(planTask(d, { request: 'x', files: ['../etc/passwd'] }));
    expect([outside.code, outside.message]).toEqual(['invalid_input', `files: '../etc/passwd' contains ".."; paths must stay inside the workspace root.`]);
    const missing = await rejection(planTask(d, { request: 'x', files: ['nope.ts'] }));
    expect([missing.code, missing.message]).toEqual(['file_unreadable', "File 'nope.ts' cannot be read: it does not exist."]);
    expect(d.scripted.requests).toEqual([]);
    expect((await d.store.workflows.list(10))).toEqual([]);
  });
});

describe('executeSubtask', () => {
  it('executeSubtask runs the first ready subtask on the executor model with only its own context', async () => {
    const d = await setup();
    const id = await planned3(d);
    d.scripted.push({ text: 'S1 RESULT', responseId: 'resp-s1', usage: { input_tokens: 321, cached_tokens: 0, output_tokens: 12 } });
    const result = await executeSubtask(d, { workflow_id: id });
    expect(result).toEqual({
      workflow_id: id,
      subtask_id: 's1',
      status: 'completed',
      executed: true,
      attempt: 1,
      output: 'S1 RESULT',
      output_truncated: false,
      model: 'gpt-5.4-mini',
      role: 'executor',
      usage: { calls: 1, input_tokens: 321, cached_tokens: 0, output_tokens: 12 },
      context: {
        tokens: 321,
        files: [{ path: 'src/a.ts', bytes: 19, sent_bytes: 19, range: [0, 19], truncated: false, missing: false, sha256: sha256Hex('export const a = 1;'), note: null }],
        dependencies: [],
        notes: null,
      },
      phase: 'executing',
      ready: ['s2'],
      next: `Call execute_subtask {"workflow_id":"${id}","subtask_id":"s2"}.`,
    });
    const req = d.scripted.requests[1]!;
    expect([req.model, req.role, req.cacheKey, req.cacheRetention, req.previousResponseId, req.format]).toEqual([
      'gpt-5.4-mini',
      'executor',
      'planexec-executor',
      undefined,
      undefined,
      undefined,
    ]);
    expect(req.input.startsWith('Goal of the workflow: Add a login page\n\n## Files\n=== src/a.ts, 19 bytes ===')).toBe(true);
  });

  it('executeSubtask shows a subtask only its direct dependency output and runs complex work on the planner model', async () => {
    const d = await setup();
    const id = await planned3(d);
    d.scripted.push({ text: 'S1 RESULT' }, { text: 'S2 RESULT' }, { text: 'S3 RESULT' });
    await executeSubtask(d, { workflow_id: id });
    await executeSubtask(d, { workflow_id: id });
    const third = await executeSubtask(d, { workflow_id: id, subtask_id: 's3', notes: '  keep it short ' });
    const req = d.scripted.requests[3]!;
    expect(req.input).toContain('### s2: Title of s2\nS2 RESULT');
    expect(req.input).not.toContain('S1 RESULT');
    expect(req.input.endsWith('## Notes from the host\nkeep it short')).toBe(true);
    expect([req.model, req.role, req.cacheRetention]).toEqual(['gpt-5.4', 'planner', '24h']);
    expect([third.model, third.role, third.phase, third.ready]).toEqual(['gpt-5.4', 'planner', 'reviewing', []]);
    expect(third.next).toBe(`Call review_results {"workflow_id":"${id}"} to review s1, s2, s3.`);
  });

  it('executeSubtask refuses a subtask whose dependencies are pending, naming them, without a model call', async () => {
    const d = await setup();
    const id = await planned3(d);
    const e = await rejection(executeSubtask(d, { workflow_id: id, subtask_id: 's3' }));
    expect([e.code, e.message, e.details]).toEqual([
      'dependencies_incomplete',
      "Subtask 's3' depends on 's2', which is not completed yet.",
      { subtask_id: 's3', missing: ['s2'] },
    ]);
    expect(d.scripted.requests).toHaveLength(1);
    expect((await d.store.calls.list(id))).toHaveLength(1);
  });

  it('executeSubtask returns a completed subtask without running it again unless forced', async () => {
    const d = await setup();
    const id = await planned3(d);
    d.scripted.push({ text: 'FIRST' }, { text: 'SECOND' });
    await executeSubtask(d, { workflow_id: id });
    const again = await executeSubtask(d, { workflow_id: id, subtask_id: 's1' });
    expect([again.executed, again.output, again.context, again.usage.calls]).toEqual([false, 'FIRST', null, 0]);
    expect(d.scripted.requests).toHaveLength(2);
    const forced = await executeSubtask(d, { workflow_id: id, subtask_id: 's1', force: true });
    expect([forced.executed, forced.output]).toEqual([true, 'SECOND']);
  });

  it('executeSubtask puts the subtask back as it was and journals a failed call when the model call fails', async () => {
    const d = await setup();
    const id = await planned3(d);
    const before = (await loadWorkflow(d, id));
    d.scripted.push({ error: new Error('upstream 500') });
    await expect(executeSubtask(d, { workflow_id: id })).rejects.toThrow('upstream 500');
    expect((await loadWorkflow(d, id))).toEqual(before);
    expect((await d.store.calls.list(id)).map((c) => [c.purpose, c.status, c.error])).toEqual([
      ['plan', 'completed', null],
      ['execute', 'failed', 'upstream 500'],
    ]);
  });

  it('executeSubtask cuts a long output in its result and says how to page through the rest', async () => {
    const d = await setup({ settings: { resultBytes: 10 } });
    const id = await planned3(d);
    d.scripted.push({ text: '0123456789ABCDEF' });
    const result = await executeSubtask(d, { workflow_id: id });
    expect(result.output_truncated).toBe(true);
    expect(result.output).toBe(
      `0123456789\n\n[output truncated: 10 of 16 characters shown. Get the rest with workflow_status {"workflow_id":"${id}","subtask_id":"s1","offset":10}]`,
    );
    expect((await loadWorkflow(d, id)).subtasks[0]?.output).toBe('0123456789ABCDEF');
  });

  it('executeSubtask with no ready subtask answers nothing_to_do with the next step', async () => {
    const d = await setup();
    d.scripted.push({ text: JSON.stringify({ subtasks: [planned('s1')], coordination_notes: '' }) }, { text: 'done' });
    const { workflow_id } = await planTask(d, { request: 'One thing' });
    await executeSubtask(d, { workflow_id });
    const e = await rejection(executeSubtask(d, { workflow_id }));
    expect([e.code, e.message, e.hint]).toEqual([
      'nothing_to_do',
      `No subtask of workflow ${workflow_id} is ready to execute.`,
      `Call review_results {"workflow_id":"${workflow_id}"} to review s1.`,
    ]);
  });
});

describe('reviewResults', () => {
  const review = (r: Review) => ({ text: JSON.stringify(r) });

  it('reviewResults approves, sends back with feedback, and chains on the plan response', async () => {
    const d = await setup();
    const id = await planned3(d);
    d.scripted.push({ text: 'S1 RESULT' }, { text: 'S2 RESULT' });
    await executeSubtask(d, { workflow_id: id });
    await executeSubtask(d, { workflow_id: id });
    d.scripted.push({
      ...review({
        verdict: 'revise',
        reviews: [
          { subtask_id: 's1', verdict: 'approve', feedback: '' },
          { subtask_id: 's2', verdict: 'revise', feedback: 'Handle the empty password.' },
        ],
        summary: 'Close.',
      }),
      responseId: 'resp-review',
    });
    const result = await reviewResults(d, { workflow_id: id });
    expect(result).toMatchObject({
      workflow_id: id,
      verdict: 'revise',
      unreviewed: [],
      summary: 'Close.',
      phase: 'executing',
      next: `Call execute_subtask {"workflow_id":"${id}","subtask_id":"s2"}.`,
    });
    const reviewReq = d.scripted.requests[3]!;
    expect([reviewReq.previousResponseId, reviewReq.role, reviewReq.format?.name]).toEqual(['resp-plan', 'planner', 'review']);
    expect(reviewReq.input.startsWith('Task: review\nPlan version 1. Review the results of these 2 subtask(s).')).toBe(true);

    const { workflow, subtasks } = (await loadWorkflow(d, id));
    expect(workflow.plannerResponseId).toBe('resp-review');
    expect(subtasks.map((s) => [s.id, s.status, s.attempts, s.feedback])).toEqual([
      ['s1', 'approved', 1, null],
      ['s2', 'pending', 2, 'Handle the empty password.'],
      ['s3', 'pending', 1, null],
    ]);

    d.scripted.push({ text: 'S2 RESULT v2' });
    await executeSubtask(d, { workflow_id: id });
    expect(d.scripted.requests[4]?.input).toContain('## Review feedback on your previous attempt\nHandle the empty password.');
  });

  it('reviewResults escalation puts the subtask and the workflow in needs_human', async () => {
    const d = await setup();
    const id = await planned3(d);
    d.scripted.push({ text: 'S1 RESULT' });
    await executeSubtask(d, { workflow_id: id });
    d.scripted.push(review({ verdict: 'escalate', reviews: [{ subtask_id: 's1', verdict: 'escalate', feedback: 'Which hash?' }], summary: '' }));
    const result = await reviewResults(d, { workflow_id: id });
    expect([result.verdict, result.phase]).toEqual(['escalate', 'needs_human']);
    expect(result.next).toBe(
      `A human decision is needed on s1: read the planner's question with workflow_status {"workflow_id":"${id}","subtask_id":"s1"}, then answer with review_results {"workflow_id":"${id}","decisions":[{"subtask_id":"s1","verdict":"approve | revise | cancel","feedback":"..."}]}.`,
    );
    expect((await loadWorkflow(d, id)).subtasks[0]).toMatchObject({ status: 'needs_human', feedback: 'Which hash?' });
  });

  it('reviewResults completes the workflow when every subtask is approved', async () => {
    const d = await setup();
    d.scripted.push({ text: JSON.stringify({ subtasks: [planned('only')], coordination_notes: '' }) }, { text: 'OUT' });
    const { workflow_id } = await planTask(d, { request: 'One thing' });
    await executeSubtask(d, { workflow_id });
    d.scripted.push(review({ verdict: 'approve', reviews: [{ subtask_id: 'only', verdict: 'approve', feedback: '' }], summary: 'Done.' }));
    const result = await reviewResults(d, { workflow_id });
    expect([result.verdict, result.phase]).toEqual(['approve', 'completed']);
    expect((await loadWorkflow(d, workflow_id)).workflow.phase).toBe('completed');
  });

  it('reviewResults refuses to review a subtask that is not completed', async () => {
    const d = await setup();
    const id = await planned3(d);
    const e = await rejection(reviewResults(d, { workflow_id: id, subtask_ids: ['s1'] }));
    expect([e.code, e.message]).toEqual(['invalid_transition', "Only completed subtasks can be reviewed; 's1' is pending."]);
    const none = await rejection(reviewResults(d, { workflow_id: id }));
    expect([none.code, none.message]).toEqual(['nothing_to_do', `Workflow ${id} has no completed, unreviewed subtask.`]);
  });
});

describe('workflowStatus', () => {
  it('workflowStatus prices the journal: planner-only baseline against the split', async () => {
    const d = await setup();
    d.scripted.push({ text: JSON.stringify(PLAN), usage: { input_tokens: 10_000, cached_tokens: 2_000, output_tokens: 1_000 } });
    const { workflow_id } = await planTask(d, { request: 'Add login' });
    d.scripted.push({ text: 'S1', usage: { input_tokens: 4_000, cached_tokens: 1_000, output_tokens: 500 } });
    await executeSubtask(d, { workflow_id });
    const status = (await workflowStatus(d, { workflow_id }));
    expect(status.usage).toEqual({
      planner: { calls: 1, input_tokens: 10_000, cached_tokens: 2_000, output_tokens: 1_000, failed_calls: 0, abandoned_calls: 0, estimated_calls: 0 },
      executor: { calls: 1, input_tokens: 4_000, cached_tokens: 1_000, output_tokens: 500, failed_calls: 0, abandoned_calls: 0, estimated_calls: 0 },
    });
    // usd 0.0355 + 0.004575 = 0.040075; baseline 0.0355 + 0.01525 = 0.05075; quota 1.3 of 2.
    expect(status.cost).toEqual({
      quota_units: 1.3,
      baseline_quota_units: 2,
      savings_pct: 35,
      usd: 0.040075,
      baseline_usd: 0.05075,
      usd_savings_pct: 21,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('workflowStatus pages through a subtask output from an offset', async () => {
    const d = await setup({ settings: { resultBytes: 4 } });
    const id = await planned3(d);
    d.scripted.push({ text: 'abcdefghij' });
    await executeSubtask(d, { workflow_id: id });
    const page = (await workflowStatus(d, { workflow_id: id, subtask_id: 's1', offset: 4 })).subtask!;
    expect([page.output_offset, page.output_total, page.output_truncated]).toEqual([4, 10, true]);
    expect(page.output).toBe(`efgh\n\n[output continues: 2 more characters. Next page: workflow_status {"workflow_id":"${id}","subtask_id":"s1","offset":8}]`);
    const last = (await workflowStatus(d, { workflow_id: id, subtask_id: 's1', offset: 8 })).subtask!;
    expect(last.output).toBe('ij');
  });

  it('workflowStatus without an id lists recent workflows, and loadWorkflow of an unknown id is not_found', async () => {
    const d = await setup();
    const empty = await workflowStatus(d, {});
    expect([empty.workflows, empty.totals?.workflows, empty.totals?.calls, empty.next]).toEqual([[], 0, 0, 'No workflows yet: call plan_task with a request to start one.']);
    const id = await planned3(d);
    expect((await workflowStatus(d, {})).workflows?.map((w) => [w.workflow_id, w.phase, w.goal, w.subtasks, w.done])).toEqual([
      [id, 'executing', 'Add a login page', 3, 0],
    ]);
    let caught: unknown;
    try {
      await loadWorkflow(d, 'wf-nope');
    } catch (error) {
      caught = error;
    }
    expect([(caught as PlanexecError).code, (caught as PlanexecError).message]).toEqual(['not_found', "Workflow 'wf-nope' does not exist."]);
  });
});
