// The four tools through a real MCP Client, a real SQLite file and the real OpenAI adapter talking
// to the local stand-in; assertions on what reached the "provider".
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HINT_DEFAULTS } from '../../src/mcp/tool.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { EXECUTOR_INSTRUCTIONS, PLANNER_INSTRUCTIONS } from '../../src/core/prompts.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import type { StandinRequest } from '../support/openai-standin.js';

const PLAN = {
  subtasks: [
    { id: 's1', title: 'User model', description: 'Define the User type.', depends_on: [], complexity: 'routine', output_format: 'TypeScript', relevant_files: ['src/user.ts'] },
    { id: 's2', title: 'Password hashing', description: 'Hash passwords with scrypt.', depends_on: ['s1'], complexity: 'routine', output_format: 'TypeScript', relevant_files: ['src/user.ts'] },
    { id: 's3', title: 'Session design', description: 'Design session storage.', depends_on: [], complexity: 'complex', output_format: 'Markdown', relevant_files: [] },
    { id: 's4', title: 'Login endpoint', description: 'Write the login handler.', depends_on: ['s2', 's3'], complexity: 'routine', output_format: 'TypeScript', relevant_files: [] },
  ],
  coordination_notes: 'Model first, then hashing; the session design is independent.',
};

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  h.writeFile('src/user.ts', 'export interface User { id: string }\n');
});
afterEach(async () => {
  await h.close();
});

const executorOutput = (id: string) => ({ text: `OUTPUT-OF-${id}: done` });

async function planned(): Promise<string> {
  h.standin.script({ json: PLAN });
  const plan = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Add user authentication.\nWith sessions.' });
  return plan.workflow_id;
}

async function executeAll(workflow_id: string): Promise<void> {
  for (const id of ['s1', 's3', 's2', 's4']) {
    h.standin.script(executorOutput(id));
    await h.ok('execute_subtask', { workflow_id, subtask_id: id });
  }
}

const executorCalls = (): StandinRequest[] => h.standin.requests.filter((r) => r.schemaName === null);

describe('a whole workflow through the MCP tools', () => {
  it('plans, executes in dependency order, reviews and reports the savings', async () => {
    h.standin.script({ json: PLAN });
    const plan = await h.ok<any>('plan_task', { request: 'Add user authentication.\nWith sessions.', files: ['src/user.ts'] });
    expect(plan.phase).toBe('executing');
    expect(plan.plan_version).toBe(1);
    expect(plan.subtasks.map((s: any) => [s.id, s.role, s.status])).toEqual([
      ['s1', 'executor', 'pending'],
      ['s2', 'executor', 'pending'],
      ['s3', 'planner', 'pending'],
      ['s4', 'executor', 'pending'],
    ]);
    expect(plan.ready).toEqual(['s1', 's3']);
    expect(plan.next).toContain('execute_subtask');
    expect(plan.usage.calls).toBe(1);

    const workflow_id = plan.workflow_id;
    h.standin.script(executorOutput('s1'));
    const first = await h.ok<any>('execute_subtask', { workflow_id });
    expect(first.subtask_id).toBe('s1');
    expect(first.status).toBe('completed');
    expect(first.model).toBe('gpt-5.4-mini');
    expect(first.output).toBe('OUTPUT-OF-s1: done');
    expect(first.context.files).toEqual([
      expect.objectContaining({ path: 'src/user.ts', bytes: 37, sent_bytes: 37, truncated: false, missing: false }),
    ]);
    expect(first.ready).toEqual(['s2', 's3']);

    for (const id of ['s3', 's2', 's4']) {
      h.standin.script(executorOutput(id));
      await h.ok('execute_subtask', { workflow_id, subtask_id: id });
    }
    const beforeReview = await h.ok<any>('workflow_status', { workflow_id });
    expect(beforeReview.phase).toBe('reviewing');
    expect(beforeReview.next).toContain('review_results');

    h.standin.script({
      json: {
        verdict: 'approve',
        reviews: ['s1', 's2', 's3', 's4'].map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' })),
        summary: 'All good.',
      },
    });
    const review = await h.ok<any>('review_results', { workflow_id });
    expect(review.verdict).toBe('approve');
    expect(review.phase).toBe('completed');

    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.phase).toBe('completed');
    expect(status.subtasks.every((s: any) => s.status === 'approved')).toBe(true);
    expect(status.subtasks.find((s: any) => s.id === 's3').model).toBe('gpt-5.4');
    expect(status.usage.planner.calls).toBe(3); // plan, s3 (complex), review
    expect(status.usage.executor.calls).toBe(3);

    // The ledger is the stand-in's reported usage, priced per model and against the planner alone.
    const byModel = (model: string) => h.standin.requests.filter((r) => r.model === model);
    const sum = (rs: StandinRequest[], k: 'inputTokens' | 'cachedTokens' | 'outputTokens') => rs.reduce((n, r) => n + (r.usage?.[k] ?? 0), 0);
    const usd = (rs: StandinRequest[], p: { input: number; cached: number; output: number }) =>
      ((sum(rs, 'inputTokens') - sum(rs, 'cachedTokens')) * p.input + sum(rs, 'cachedTokens') * p.cached + sum(rs, 'outputTokens') * p.output) / 1e6;
    const big = { input: 2.5, cached: 0.25, output: 15 };
    const mini = { input: 0.75, cached: 0.075, output: 4.5 };
    expect(status.usage.executor.input_tokens).toBe(sum(byModel('gpt-5.4-mini'), 'inputTokens'));
    expect(status.cost.quota_units).toBe(3 * 1 + 3 * 0.3);
    expect(status.cost.baseline_quota_units).toBe(6);
    expect(status.cost.savings_pct).toBe(35);
    expect(status.cost.usd).toBeCloseTo(usd(byModel('gpt-5.4'), big) + usd(byModel('gpt-5.4-mini'), mini), 7);
    expect(status.cost.baseline_usd).toBeCloseTo(usd(h.standin.requests, big), 7);

    const list = await h.ok<any>('workflow_status', {});
    expect(list.workflows[0]).toMatchObject({ workflow_id, phase: 'completed', subtasks: 4, done: 4 });
  });

  it('sends planning and review to the planner model, chained, with instructions on every call', async () => {
    const workflow_id = await planned();
    await executeAll(workflow_id);
    h.standin.script({ json: { verdict: 'approve', reviews: ['s1', 's2', 's3', 's4'].map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' })), summary: '' } });
    await h.ok('review_results', { workflow_id });

    const [planCall, ...rest] = h.standin.requests;
    const reviewCall = rest.at(-1)!;
    expect(planCall!.model).toBe('gpt-5.4');
    expect(planCall!.schemaName).toBe('plan');
    expect(planCall!.body.text.format.strict).toBe(true);
    expect(reviewCall.model).toBe('gpt-5.4');
    expect(reviewCall.schemaName).toBe('review');
    expect(reviewCall.previousResponseId).toBe(planCall!.responseId);
    for (const r of h.standin.requests) {
      expect(r.instructions).toBe(r.schemaName ? PLANNER_INSTRUCTIONS : EXECUTOR_INSTRUCTIONS);
      expect(r.body.prompt_cache_key).toMatch(/^planexec-(planner|executor)$/);
    }
    expect(reviewCall.promptText).toContain('Add user authentication.');
  });

  it('routes routine subtasks to the executor model and complex ones to the planner model', async () => {
    const workflow_id = await planned();
    await executeAll(workflow_id);
    const models = Object.fromEntries(executorCalls().map((r) => [/## Subtask (\w+)/.exec(r.inputText)![1], r.model]));
    expect(models).toEqual({ s1: 'gpt-5.4-mini', s2: 'gpt-5.4-mini', s3: 'gpt-5.4', s4: 'gpt-5.4-mini' });
  });

  it('shows an executor only its direct dependencies, never other outputs or the planner conversation', async () => {
    const workflow_id = await planned();
    await executeAll(workflow_id);
    const s4 = executorCalls().find((r) => r.inputText.includes('## Subtask s4'))!;
    expect(s4.inputText).toContain('OUTPUT-OF-s2');
    expect(s4.inputText).toContain('OUTPUT-OF-s3');
    expect(s4.inputText).not.toContain('OUTPUT-OF-s1'); // s1 is only an indirect dependency
    expect(s4.previousResponseId).toBeNull();
    expect(s4.promptText).not.toContain('coordination_notes');
    expect(s4.promptText).not.toContain('With sessions.'); // the request beyond its goal line
    expect(s4.promptText).not.toContain(PLANNER_INSTRUCTIONS.slice(0, 60));
    const s2 = executorCalls().find((r) => r.inputText.includes('## Subtask s2'))!;
    expect(s2.inputText).toContain('OUTPUT-OF-s1');
    expect(s2.inputText).not.toContain('OUTPUT-OF-s3');
    expect(s2.inputText).toContain('export interface User');
  });

  it('keeps the fixed prefix of every executor call byte-identical', async () => {
    const workflow_id = await planned();
    await executeAll(workflow_id);
    const calls = executorCalls();
    expect(calls).toHaveLength(4);
    const goal = 'Goal of the workflow: Add user authentication.';
    for (const r of calls) {
      expect(r.body.instructions).toBe(EXECUTOR_INSTRUCTIONS);
      expect(r.inputText.startsWith(goal)).toBe(true);
    }
    const prefixes = new Set(calls.map((r) => r.promptText.slice(0, EXECUTOR_INSTRUCTIONS.length + goal.length + 2)));
    expect(prefixes.size).toBe(1);
  });

  it('returns the stored output of a completed subtask without calling a model, and re-runs it with force, keeping the history', async () => {
    const workflow_id = await planned();
    h.standin.script(executorOutput('s1'));
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    const calls = h.standin.requests.length;
    const again = await h.ok<any>('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(again.executed).toBe(false);
    expect(again.output).toBe('OUTPUT-OF-s1: done');
    expect(h.standin.requests.length).toBe(calls);

    h.standin.script({ text: 'second take' });
    const forced = await h.ok<any>('execute_subtask', { workflow_id, subtask_id: 's1', force: true });
    expect(forced.executed).toBe(true);
    expect(forced.output).toBe('second take');
    expect(h.standin.requests.length).toBe(calls + 1);
    // Nothing is lost: every execution stays in the subtask's history.
    expect((await h.store.workflows.listExecutions(workflow_id, 's1')).map((e) => e.output)).toEqual(['OUTPUT-OF-s1: done', 'second take']);
  });

  it('sends revised subtasks back to pending with the feedback shown on the next attempt', async () => {
    const workflow_id = await planned();
    h.standin.script(executorOutput('s1'));
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    h.standin.script({ json: { verdict: 'revise', reviews: [{ subtask_id: 's1', verdict: 'revise', feedback: 'Add an email field.' }], summary: '' } });
    const review = await h.ok<any>('review_results', { workflow_id });
    expect(review.verdict).toBe('revise');
    expect(review.phase).toBe('executing');
    const status = await h.ok<any>('workflow_status', { workflow_id, subtask_id: 's1' });
    expect(status.subtask).toMatchObject({ status: 'pending', attempts: 2, feedback: 'Add an email field.' });

    h.standin.script({ text: 'with email' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(h.standin.requests.at(-1)!.inputText).toContain('## Review feedback on your previous attempt\nAdd an email field.');
  });

  it('moves an escalated subtask and the workflow to needs_human', async () => {
    const workflow_id = await planned();
    h.standin.script(executorOutput('s1'));
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    h.standin.script({ json: { verdict: 'escalate', reviews: [{ subtask_id: 's1', verdict: 'escalate', feedback: 'Which user store?' }], summary: '' } });
    const review = await h.ok<any>('review_results', { workflow_id });
    expect(review.phase).toBe('needs_human');
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.subtasks[0].status).toBe('needs_human');
    expect(status.next).toContain('human');
  });

  it('repairs an invalid plan once by sending the problems back to the planner', async () => {
    const cyclic = { ...PLAN, subtasks: PLAN.subtasks.map((s) => (s.id === 's1' ? { ...s, depends_on: ['s4'] } : s)) };
    h.standin.script({ json: cyclic }, { json: PLAN });
    const plan = await h.ok<any>('plan_task', { request: 'Add auth.' });
    expect(plan.subtasks).toHaveLength(4);
    const [, repair] = h.standin.requests;
    expect(repair!.inputText).toContain('Task: repair');
    expect(repair!.inputText).toContain('cycle');
    expect(repair!.previousResponseId).toBe(h.standin.requests[0]!.responseId);
    expect(plan.usage.calls).toBe(2);
  });

  it('stores nothing but the journal when the plan is still invalid after the repair round', async () => {
    const before = h.snapshot();
    h.standin.script({ text: 'not json' }, { json: { subtasks: [], coordination_notes: '' } });
    const result = await h.call('plan_task', { request: 'Add auth.' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/model_output_invalid/);
    expect(textOf(result)).toMatch(/at least one/);
    const after = h.snapshot();
    expect(after.workflows).toEqual(before.workflows);
    expect(after.subtasks).toEqual(before.subtasks);
    expect(after.plans).toEqual(before.plans);
    expect(after.model_calls).toHaveLength(2);
    expect((after.model_calls as any[]).every((c) => c.status === 'completed')).toBe(true);
    // Billed all the same: the list of workflows says so.
    const list = await h.ok<any>('workflow_status', {});
    expect(list.unattached_usage).toMatchObject({ calls: 2, input_tokens: h.standin.requests.reduce((n, r) => n + r.usage!.inputTokens, 0) });
  });

  it('lists the tools with input and output schemas and truthful annotations', async () => {
    const { tools: listed } = await h.client.listTools();
    // A hint left out means the spec's default (sent hints equal to it are dropped to save tokens).
    const tools = listed.map((t) => ({ ...t, annotations: { ...HINT_DEFAULTS, ...t.annotations } }));
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect(Object.keys(byName).sort()).toEqual([
      'cancel_workflow',
      'discard_changes',
      'execute_subtask',
      'merge_changes',
      'plan_task',
      'review_results',
      'run_workflow',
      'workflow_status',
    ]);
    for (const t of TOOLS) expect(byName[t.name]!.annotations).toEqual({ ...HINT_DEFAULTS, ...t.annotations });
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.description?.length).toBeGreaterThan(40);
    }
    expect(byName.workflow_status!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(byName.plan_task!.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    // request is needed to start a workflow, not to revise one (workflow_id + feedback): the use case checks it.
    expect(byName.plan_task!.inputSchema.required ?? []).toEqual([]);
    expect(Object.keys(byName.plan_task!.inputSchema.properties ?? {})).toEqual(['request', 'context', 'files', 'budget', 'workflow_id', 'feedback', 'confirm_plan_version', 'checks', 'changes']);
    expect(byName.discard_changes!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.merge_changes!.annotations).toMatchObject({ destructiveHint: false, idempotentHint: true });
    expect(byName.run_workflow!.execution).toEqual({ taskSupport: 'optional' });
    expect(byName.cancel_workflow!.annotations).toMatchObject({ destructiveHint: false, idempotentHint: true });
  });
});
