// Edge cases found in review, each through a real MCP Client: budgets under concurrency, compaction
// bound by the budget, revisions racing executions, decisions after a cancel, a human's extra
// attempt, folders named as relevant files, resumed planning, checks before anything is stored,
// and results bounded for dense scripts.
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, subtaskOf, until, workflowResponder } from '../support/responders.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const executorCalls = () => h.standin.requests.filter((r) => r.schemaName === null);

describe('budgets under concurrency', () => {
  it('reserve the room of calls in flight, so a wave cannot send more than the budget allows', async () => {
    const wide = plan([{ id: 'w1' }, { id: 'w2' }, { id: 'w3' }, { id: 'w4' }]);
    h = await startHarness({ standin: { responder: workflowResponder(wide, { executorDelayMs: 100 }) } });
    // Each executor call reserves its input estimate (~200) plus 4,096 for the answer: two fit in 9,000.
    const failed = await h.call('run_workflow', { request: 'Build it', concurrency: 4, budget: { executor_tokens: 9_000 } });
    expect(textOf(failed)).toMatch(/budget_exceeded/);
    expect(executorCalls()).toHaveLength(2);
    const workflow_id = /workflow (wf-\w+) would/.exec(textOf(failed))![1]!;
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.budget.executor.used).toBeLessThanOrEqual(9_000);
    expect(status.subtasks.filter((s: any) => s.status === 'running')).toEqual([]);
  });
});

describe('compaction triggered by the planner budget', () => {
  it('compacts once when the planner would pass 80% of its budget, and finishes within it', async () => {
    const chain = plan(['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((id, i, all) => ({ id, depends_on: i ? [all[i - 1]!] : [] })));
    h = await startHarness({
      // A small answer cap keeps the reserve per call small, so the budget is mostly the thread.
      env: { PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS: '400' },
      standin: { responder: workflowResponder(chain) },
    });
    const status = await h.ok<any>('run_workflow', { request: 'Build it in a chain', budget: { planner_tokens: 12_500 } });
    expect(status.phase).toBe('completed');
    expect((await h.store.calls.list(status.workflow_id)).filter((c) => c.purpose === 'compact')).toHaveLength(1);
    expect(status.budget.planner.used).toBeLessThanOrEqual(12_500);
  });
});

describe('plan revisions racing executions', () => {
  it('decide on the state after the planner answered: work completed meanwhile is not dropped without confirmation', async () => {
    const v1 = plan([{ id: 's1' }, { id: 's2' }]);
    let revised = false;
    h = await startHarness({ standin: { responder: workflowResponder(v1) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    const v2 = { ...v1, subtasks: [{ ...v1.subtasks[0]!, description: 'Do s1 another way.' }, v1.subtasks[1]!] };
    h.standin.setResponder((req) => {
      if (req.schemaName === 'plan') return { json: v2, delayMs: 300 };
      return workflowResponder(v1)(req);
    });
    const revision = h.call('plan_task', { workflow_id, feedback: 'Do s1 another way.' }).then((r) => ((revised = true), r));
    await until(async () => h.standin.requests.some((r) => r.schemaName === 'plan' && r.endedAt === null), 'the revision in flight');
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(revised).toBe(false);
    const answer = (await revision).structuredContent as any;
    expect(answer).toMatchObject({ requires_confirmation: true, plan_version: 1, plan_changes: { changed: ['s1'], drops_work: ['s1'] } });
    expect((await h.store.workflows.listSubtasks(workflow_id))[0]).toMatchObject({ status: 'completed', output: 'OUTPUT-OF-s1' });
  });
});

describe('human decisions', () => {
  it('asked in a form that is still open when the workflow is cancelled do not reopen it', async () => {
    h = await startHarness({
      clientCapabilities: { capabilities: { elicitation: {} } },
      standin: { responder: workflowResponder(plan([{ id: 's1' }]), { verdict: () => 'escalate' }) },
    });
    let cancelled!: () => void;
    const afterCancel = new Promise<void>((r) => (cancelled = r));
    let asked = 0;
    h.client.setRequestHandler(ElicitRequestSchema, async () => {
      asked += 1;
      await afterCancel;
      return { action: 'accept', content: { decision: 'approve' } };
    });
    const run = h.call('run_workflow', { request: 'Build it' });
    await until(async () => asked === 1, 'the form');
    const workflow_id = (await h.store.workflows.list(1))[0]!.workflow.id;
    await h.ok('cancel_workflow', { workflow_id });
    cancelled();
    await run;
    expect((await h.store.workflows.get(workflow_id))!.phase).toBe('cancelled');
    expect((await h.store.workflows.listSubtasks(workflow_id))[0]!.status).toBe('needs_human');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM decisions').get()).toEqual({ n: 0 });
    expect(textOf(await h.call('review_results', { workflow_id, decisions: [{ subtask_id: 's1', verdict: 'approve' }] }))).toMatch(/is cancelled/);
  });

  it('grant one more attempt past the ladder, counted and run on the last rung', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1' }]), { verdict: () => 'revise' }) } });
    const { workflow_id } = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect((await h.store.workflows.listSubtasks(workflow_id))[0]).toMatchObject({ status: 'needs_human', attempts: 4 });
    await h.ok('review_results', { workflow_id, decisions: [{ subtask_id: 's1', verdict: 'revise', feedback: 'Last try: keep it short.' }] });
    expect((await h.store.workflows.listSubtasks(workflow_id))[0]).toMatchObject({ status: 'pending', attempts: 5, role: 'planner' });
    const status = await h.ok<any>('run_workflow', { workflow_id });
    expect(status.subtasks[0].runs.map((r: any) => [r.attempt, r.model])).toEqual([
      [1, 'gpt-5.4-mini'],
      [2, 'gpt-5.4-mini'],
      [3, 'gpt-5.4'],
      [5, 'gpt-5.4'],
    ]);
    expect(executorCalls().at(-1)!.inputText).toContain('Last try: keep it short.');
    expect(status.subtasks[0]).toMatchObject({ status: 'needs_human', attempts: 6 });
  });
});

describe('files', () => {
  it('a folder named as a relevant file is reported in the context packet, and the work goes on', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1', relevant_files: ['src', 'src/a.ts'] }])) } });
    h.writeFile('src/a.ts', 'export const a = 1;\n');
    const { workflow_id, phase } = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(phase).toBe('completed');
    const { subtask } = await h.ok<any>('workflow_status', { workflow_id, subtask_id: 's1' });
    expect(subtask.context.files[0]).toMatchObject({ path: 'src', missing: true, note: expect.stringMatching(/not a regular file/) });
    expect(subtask.context.files[1]).toMatchObject({ path: 'src/a.ts', sent_bytes: 20 });
  });

  it('run_workflow reads the request\'s files again when it resumes planning', async () => {
    let fail = true;
    const p = plan([{ id: 's1' }]);
    h = await startHarness({
      standin: {
        responder: (req) =>
          req.schemaName === 'plan' && fail ? { error: { status: 500, message: 'down' }, headers: { 'retry-after-ms': '0' } } : workflowResponder(p)(req),
      },
    });
    h.writeFile('docs/spec.md', 'SPEC-CONTENT');
    const failed = await h.call('run_workflow', { request: 'Build it', files: ['docs/spec.md'] });
    const workflow_id = /Workflow (wf-\w+) stopped/.exec(textOf(failed))![1]!;
    fail = false;
    expect((await h.ok<any>('run_workflow', { workflow_id })).phase).toBe('completed');
    const plans = h.standin.requests.filter((r) => r.schemaName === 'plan');
    expect(plans.map((r) => r.inputText.includes('SPEC-CONTENT'))).toEqual([true, true]);
  });
});

describe('checks before anything is stored', () => {
  it('run_workflow without an API key, or with a budget too small for the plan, answers an error and stores nothing', async () => {
    h = await startHarness({ env: { OPENAI_API_KEY: '' }, standin: { responder: workflowResponder(plan([{ id: 's1' }])) } });
    const before = h.snapshot();
    expect(textOf(await h.call('run_workflow', { request: 'Build it' }))).toMatch(/OPENAI_API_KEY is not set/);
    expect(h.snapshot().workflows).toEqual(before.workflows);
    await h.close();

    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1' }])) } });
    const empty = h.snapshot();
    expect(textOf(await h.call('run_workflow', { request: 'Build it', budget: { planner_tokens: 500 } }))).toMatch(/budget_exceeded.*planner token budget/s);
    expect(h.snapshot().workflows).toEqual(empty.workflows);
    expect(h.standin.requests).toHaveLength(0);
  });
});

describe('bounded results for dense scripts', () => {
  it.each([
    ['CJK text', '漢字仮名交じり文の出力です。'.repeat(1_500)],
    ['base64', Buffer.from(Array.from({ length: 30_000 }, (_, i) => (i * 7919) % 256)).toString('base64')],
  ])('keeps a %s output under 10,000 tokens, pages the rest, and loses nothing', async (_, long) => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1' }]), { executor: () => ({ text: long }) }) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    const result = await h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(countTokens(JSON.stringify(result))).toBeLessThanOrEqual(12_500);
    let text = '';
    let offset = 0;
    for (let page = 0; page < 200 && offset < long.length; page++) {
      const status = await h.call('workflow_status', { workflow_id, subtask_id: 's1', offset });
      expect(countTokens(JSON.stringify(status))).toBeLessThanOrEqual(12_500);
      const s = (status.structuredContent as any).subtask;
      const body = s.output.replace(/\n\n\[output continues: [\s\S]*$/, '');
      text += body;
      offset += body.length;
    }
    expect(text).toBe(long);
    expect(subtaskOf(executorCalls()[0]!)).toBe('s1');
  });
});
