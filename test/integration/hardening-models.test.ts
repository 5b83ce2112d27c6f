// Issue 7, A: every billed token counted, no answer that is not one stored as a result, a lost
// planner thread sent again from planexec's own record, the whole response under the timeout, every
// provider failure a typed error, junk text refused before any call, unpriced models warned about
// with every other figure kept, and budget hints that only name what exists. Through a real MCP
// Client against the local stand-in.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, priceUsage } from '../../src/core/cost.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, subtaskOf, workflowResponder } from '../support/responders.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const TWO = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }]);
const PARALLEL = plan([{ id: 's1' }, { id: 's2' }]);

async function planned(p: object = TWO): Promise<string> {
  h.standin.script({ json: p });
  return (await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do the things.' })).workflow_id;
}

/** Calls a tool that must fail; returns its text. */
async function fails(name: string, args: Record<string, unknown>): Promise<string> {
  const result = await h.call(name, args);
  expect(result.isError, `${name} should fail`).toBe(true);
  return textOf(result);
}

const executorRequests = () => h.standin.requests.filter((r) => subtaskOf(r) !== null);

describe('billed tokens of answers that are not completed', () => {
  it('an incomplete executor answer counts in usage, budget and cost; the next call that would pass the budget is not sent', async () => {
    h = await startHarness({ env: { PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS: '500' } });
    h.standin.script({ json: PARALLEL });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do the things.', budget: { executor_tokens: 3_000 } });
    const long = 'word '.repeat(2_000);
    h.standin.setResponder(() => ({ incomplete: { reason: 'max_output_tokens', text: long } }));

    expect(await fails('execute_subtask', { workflow_id, subtask_id: 's1' })).toMatch(/model_output_invalid.*stopped before finishing/s);
    const wire = executorRequests()[0]!.usage!;
    const status = await h.ok<any>('workflow_status', { workflow_id });
    const billed = wire.inputTokens + wire.outputTokens;
    expect(status.usage.executor).toMatchObject({ calls: 0, failed_calls: 1, input_tokens: wire.inputTokens, output_tokens: wire.outputTokens });
    expect(status.budget.executor).toEqual({ used: billed, limit: 3_000 });
    const usd = priceUsage({ input_tokens: wire.inputTokens, cached_tokens: wire.cachedTokens, output_tokens: wire.outputTokens }, DEFAULT_PRICES['gpt-5.4-mini']!);
    expect(status.cost.usd).toBeCloseTo(usd + priceUsage(plannerUsage(), DEFAULT_PRICES['gpt-5.4']!), 8);
    expect(status.subtasks.map((s: any) => s.status)).toEqual(['pending', 'pending']);

    // Another attempt would need its input plus the 500-token cap: over what is left, so nothing is sent.
    if (billed + 500 > 3_000 - wire.inputTokens) {
      expect(await fails('execute_subtask', { workflow_id, subtask_id: 's2' })).toMatch(/budget_exceeded/);
      expect(executorRequests()).toHaveLength(1);
    }
  });

  it('a completed answer without a usage block is counted with an o200k estimate, marked as one', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    h.standin.script({ text: 'the answer', omitUsage: true });
    const done = await h.ok<any>('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(done.status).toBe('completed');
    const call = (await h.store.calls.list(workflow_id)).find((c) => c.purpose === 'execute')!;
    expect(call).toMatchObject({ status: 'completed', usageEstimated: true });
    // The estimate counts what was sent: close to what the stand-in counted, never zero.
    expect(call.usage!.input_tokens).toBeGreaterThan(0.8 * executorRequests()[0]!.usage!.inputTokens);
    expect(call.usage!.output_tokens).toBe(2);
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.usage.executor.estimated_calls).toBe(1);
    expect(status.notices.join(' ')).toMatch(/estimate/);
  });

  it('a call cut off by the timeout is billed with an estimate of its input', async () => {
    h = await startHarness({ env: { PLANEXEC_MODEL_TIMEOUT_MS: '300' } });
    const workflow_id = await planned();
    h.standin.script({ text: 'late', delayMs: 3_000 });
    expect(await fails('execute_subtask', { workflow_id, subtask_id: 's1' })).toMatch(/timed out/);
    const call = (await h.store.calls.list(workflow_id)).find((c) => c.purpose === 'execute')!;
    expect(call).toMatchObject({ status: 'failed', usageEstimated: true });
    expect(call.usage!.input_tokens).toBeGreaterThan(0);
  });

  it('a call refused before it reached the model (HTTP 429) bills nothing', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    h.standin.script({ error: { status: 429, message: 'Rate limit reached' } });
    await fails('execute_subtask', { workflow_id, subtask_id: 's1' });
    const call = (await h.store.calls.list(workflow_id)).find((c) => c.purpose === 'execute')!;
    expect(call).toMatchObject({ status: 'failed', usage: null, usageEstimated: false });
  });
});

describe('only a real answer is stored as a result', () => {
  it.each([
    ['status failed with an error object', { failed: { code: 'server_error', message: 'The model crashed.' } }, /model_unavailable.*did not answer.*server_error/s],
    ['output: []', { emptyOutput: true as const }, /model_output_invalid.*no text/s],
    ['an empty text', { text: '' }, /model_output_invalid.*no text/s],
    ['whitespace only', { text: '  \n ' }, /model_output_invalid.*no text/s],
  ])('a response with %s is an error; the subtask stays as it was and no execution is stored', async (_name, reply, message) => {
    h = await startHarness();
    const workflow_id = await planned();
    h.standin.script(reply);
    expect(await fails('execute_subtask', { workflow_id, subtask_id: 's1' })).toMatch(message);
    const [s1] = await h.store.workflows.listSubtasks(workflow_id);
    expect(s1).toMatchObject({ status: 'pending', output: null, leaseOwner: null });
    expect(await h.store.workflows.listExecutions(workflow_id, 's1')).toEqual([]);
    // The provider answered, so the call was billed: it counts (as reported, or estimated).
    const call = (await h.store.calls.list(workflow_id)).find((c) => c.purpose === 'execute')!;
    expect(call.status).toBe('failed');
    expect(call.usage).not.toBeNull();
  });
});

describe('a lost planner thread', () => {
  it('is sent again from planexec\'s record: the review goes through, both calls are journaled, and workflow_status says so', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(PARALLEL) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do the things.' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's2' });
    // Stored responses expire, another key, a proxy that stores nothing: the provider forgets.
    h.standin.forgetResponses();
    const review = await h.ok<any>('review_results', { workflow_id });
    expect(review.verdict).toBe('approve');
    expect(review.phase).toBe('completed');

    const reviews = h.standin.requests.filter((r) => r.schemaName === 'review');
    expect(reviews).toHaveLength(2);
    expect(reviews[0]!.previousResponseId).not.toBeNull();
    expect(reviews[0]!.status).toBe(400);
    // The second carries the thread itself: the plan exchange, then the review.
    expect(reviews[1]!.previousResponseId).toBeNull();
    expect(reviews[1]!.body.input).toEqual([
      { role: 'user', content: expect.stringContaining('Task: plan') },
      { role: 'assistant', content: JSON.stringify(PARALLEL) },
      { role: 'user', content: expect.stringContaining('Task: review') },
    ]);
    const journal = (await h.store.calls.list(workflow_id)).filter((c) => c.purpose === 'review');
    expect(journal.map((c) => [c.status, c.error?.split(':')[0] ?? null])).toEqual([
      ['failed', 'thread_lost'],
      ['completed', null],
    ]);
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.notices.join(' ')).toMatch(/no longer had the planner's thread/);
    expect(status.last_error).toBeNull();
  });

  it('keeps working after the rebuild: the next planner call continues the new thread', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(TWO, { verdict: () => 'revise' }) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do the things.' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    h.standin.forgetResponses();
    await h.ok('review_results', { workflow_id });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    await h.ok('review_results', { workflow_id });
    const reviews = h.standin.requests.filter((r) => r.schemaName === 'review');
    expect(reviews.map((r) => r.status)).toEqual([400, 200, 200]);
    expect(reviews[2]!.previousResponseId).toBe(reviews[1]!.responseId);
  });
});

describe('transport failures', () => {
  it('the timeout covers the whole response: a body dripped past PLANEXEC_MODEL_TIMEOUT_MS is a timeout', async () => {
    h = await startHarness({ env: { PLANEXEC_MODEL_TIMEOUT_MS: '400' } });
    const workflow_id = await planned();
    h.standin.script({ text: 'slowly, slowly', dripMs: 3_000, dripChunks: 10 });
    expect(await fails('execute_subtask', { workflow_id, subtask_id: 's1' })).toMatch(/model_unavailable.*timed out.*PLANEXEC_MODEL_TIMEOUT_MS/s);
    expect((await h.store.workflows.listSubtasks(workflow_id))[0]!.status).toBe('pending');
  });

  it('a 200 answer whose body is cut short is one named error, from execute_subtask and from run_workflow alike', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    h.standin.script({ text: 'a fine answer that never arrives whole', cutAfterBytes: 60 });
    const text = await fails('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(text).toMatch(/Error \(model_unavailable\).*could not read/s);
    expect(text).not.toMatch(/internal/);

    h.standin.script({ text: 'again cut', cutAfterBytes: 60 });
    const run = await fails('run_workflow', { workflow_id });
    expect(run).toMatch(/Error \(model_unavailable\).*could not read/s);
    expect(run).not.toMatch(/invalid_transition/);
  });
});

describe('junk requests are refused before any call', () => {
  it.each([
    ['only a zero-width space', '\u200b'],
    ['only invisible format characters and spaces', ' \u200b\u2060\ufeff \n'],
    ['a NUL character', 'Build it\u0000 now'],
    ['a lone surrogate', 'Build it \ud800 now'],
  ])('a request with %s is refused, nothing sent or stored', async (_name, request) => {
    h = await startHarness();
    for (const tool of ['plan_task', 'run_workflow']) {
      expect(await fails(tool, { request })).toMatch(/Error \(invalid_input\): request (contains|has nothing)/);
    }
    expect(h.standin.requests).toHaveLength(0);
    const after = h.snapshot();
    expect([after.workflows, after.model_calls, after.plans]).toEqual([[], [], []]);
  });

  it('notes and feedback are checked too', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    const sent = h.standin.requests.length;
    expect(await fails('execute_subtask', { workflow_id, subtask_id: 's1', notes: 'x\u0000' })).toMatch(/notes contains a NUL/);
    expect(await fails('plan_task', { workflow_id, feedback: '\u200b' })).toMatch(/feedback has nothing visible/);
    expect(h.standin.requests).toHaveLength(sent);
  });
});

describe('an unpriced model', () => {
  it('is warned about in workflow_status, and every figure that can be computed is kept', async () => {
    h = await startHarness({ env: { PLANEXEC_EXECUTOR_MODEL: 'local-llama' }, standin: { responder: workflowResponder(TWO) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do the things.' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.cost.unpriced_models).toEqual(['local-llama']);
    // The planner call is priced; the executor call is counted in tokens, not in quota or USD.
    expect(status.cost.quota_units).toBe(1);
    expect(status.cost.usd).toBeGreaterThan(0);
    expect(status.cost.baseline_quota_units).toBe(2);
    expect(status.usage.executor.input_tokens).toBeGreaterThan(0);
    expect(status.warnings.join(' ')).toMatch(/local-llama.*not in the price table.*prices/);
    const text = textOf(await h.call('workflow_status', { workflow_id }));
    expect(text).toMatch(/Warning: Model 'local-llama'/);
    expect(text).not.toMatch(/\? quota units/);
  });
});

describe('budget hints name only what exists', () => {
  it('a plan_task whose plan call would pass its budget names no workflow id, and nothing is stored', async () => {
    h = await startHarness();
    const text = await fails('plan_task', { request: 'Build it', budget: { planner_tokens: 10 } });
    expect(text).toMatch(/budget_exceeded/);
    expect(text).not.toMatch(/wf-[0-9a-f]{12}/);
    expect(text).toMatch(/"budget": ?\{"planner_tokens":\d+\}/);
    expect((await h.ok<any>('workflow_status', {})).workflows).toEqual([]);
    expect(h.standin.requests).toHaveLength(0);
  });
});

function plannerUsage() {
  const r = h.standin.requests.find((x) => x.schemaName === 'plan')!.usage!;
  return { input_tokens: r.inputTokens, cached_tokens: r.cachedTokens, output_tokens: r.outputTokens };
}
