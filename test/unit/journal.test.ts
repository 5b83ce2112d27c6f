import { afterEach, describe, expect, it } from 'vitest';
import type { CoreSettings } from '../../src/core/deps.js';
import { ModelCallError, PlanexecError } from '../../src/core/errors.js';
import { toStrictJsonSchema } from '../../src/core/json-schema.js';
import { journaledCall, modelRequest, structuredPlannerCall, sumUsage, type PlannerThread } from '../../src/core/journal.js';
import { PlanSchema, validatePlan, type Plan } from '../../src/core/plan.js';
import { PLANNER_INSTRUCTIONS, renderRepairInput } from '../../src/core/prompts.js';
import { ReviewSchema, type Review } from '../../src/core/review.js';
import type { ModelCall, ThreadTurn } from '../../src/core/types.js';
import { ScriptedModelProvider } from '../support/fakes.js';
import { planned } from './builders.js';
import { makeDeps, type TestDeps } from './core-deps.js';

const open: TestDeps[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function setup(models: ScriptedModelProvider, settings?: Partial<CoreSettings>): Promise<TestDeps> {
  const d = await makeDeps({ models, settings });
  open.push(d);
  return d;
}

const GOOD: Plan = { subtasks: [planned('s1'), planned('s2', ['s1'])], coordination_notes: 's2 builds on s1.' };
const CYCLIC: Plan = { subtasks: [planned('s1', ['s2']), planned('s2', ['s1'])], coordination_notes: 'circular' };
const CYCLE_PROBLEM = 'Dependencies form a cycle: s1 -> s2 -> s1. Remove one of these dependencies.';
const PLAN_FORMAT = { name: 'plan', schema: PlanSchema };
const u = (input_tokens: number, cached_tokens: number, output_tokens: number) => ({ input_tokens, cached_tokens, output_tokens });

const thread = (head: string | null, turns: ThreadTurn[] = []): PlannerThread => ({ head, turns: async () => turns });

const planCall = (d: TestDeps, previous: string | null = null, opts: { signal?: AbortSignal } = {}) =>
  structuredPlannerCall(d, { workflowId: 'wf-1', purpose: 'plan' }, 'Task: plan\nRequest: add login', thread(previous), PLAN_FORMAT, validatePlan, opts);

const journalRow = (over: Partial<ModelCall>): ModelCall => ({
  id: 1,
  workflowId: 'wf-1',
  subtaskId: null,
  role: 'planner',
  purpose: 'plan',
  model: 'gpt-5.4',
  provider: 'responses',
  status: 'completed',
  owner: 'test-owner',
  responseId: null,
  usage: null,
  usageEstimated: false,
  requestBytes: expect.any(Number) as number,
  error: null,
  reservedTokens: null,
  startedAt: 0,
  endedAt: null,
  ...over,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('structuredPlannerCall: a usable first answer', () => {
  it('structuredPlannerCall returns a valid first answer after exactly one journaled planner call', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify(GOOD), responseId: 'resp-a', usage: u(1_200, 200, 300) }]);
    const d = await setup(models);
    const result = await planCall(d);
    expect(result).toEqual({
      value: GOOD,
      problems: [],
      responseId: 'resp-a',
      callId: 1,
      usage: { calls: 1, input_tokens: 1_200, cached_tokens: 200, output_tokens: 300 },
      turns: [{ input: 'Task: plan\nRequest: add login', output: JSON.stringify(GOOD), callId: 1 }],
      rebuilt: false,
    });
    expect(models.requests).toHaveLength(1);
    expect((await d.store.calls.list('wf-1'))).toEqual([
      journalRow({ id: 1, purpose: 'plan', status: 'completed', responseId: 'resp-a', usage: u(1_200, 200, 300), startedAt: 1_000, endedAt: 1_001 }),
    ]);
  });

  it('structuredPlannerCall sends fixed planner instructions, the structured format, a stable cache key and 24h retention', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify(GOOD) }]);
    await planCall(await setup(models));
    const [req] = models.requests;
    expect(req).toEqual({
      model: 'gpt-5.4',
      role: 'planner',
      instructions: PLANNER_INSTRUCTIONS,
      input: 'Task: plan\nRequest: add login',
      cacheKey: 'planexec-planner',
      cacheRetention: '24h',
      format: { name: 'plan', schema: toStrictJsonSchema(PlanSchema) },
      signal: undefined,
    });
    expect(Object.keys(req!)).not.toContain('maxOutputTokens');
  });

  it('structuredPlannerCall chains its first request on the previous response id it is given', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify(GOOD) }]);
    await planCall(await setup(models), 'resp-earlier');
    expect(models.requests[0]?.previousResponseId).toBe('resp-earlier');
  });

  it('structuredPlannerCall passes the abort signal to every request', async () => {
    const controller = new AbortController();
    const models = new ScriptedModelProvider([{ text: JSON.stringify(CYCLIC) }, { text: JSON.stringify(GOOD) }]);
    await planCall(await setup(models), null, { signal: controller.signal });
    expect(models.requests.map((r) => r.signal === controller.signal)).toEqual([true, true]);
  });
});

describe('structuredPlannerCall: the repair round', () => {
  it('structuredPlannerCall sends the problems back chained on the first response and returns the repaired answer', async () => {
    const models = new ScriptedModelProvider([
      { text: JSON.stringify(CYCLIC), responseId: 'resp-1', usage: u(1_000, 0, 200) },
      { text: JSON.stringify(GOOD), responseId: 'resp-2', usage: u(1_500, 1_000, 250) },
    ]);
    const d = await setup(models);
    const result = await planCall(d, 'resp-0');

    expect(models.requests.map((r) => [r.previousResponseId, r.input])).toEqual([
      ['resp-0', 'Task: plan\nRequest: add login'],
      ['resp-1', `Task: repair\nYour answer cannot be used as it is:\n- ${CYCLE_PROBLEM}\nAnswer again with the complete corrected JSON.`],
    ]);
    expect(models.requests[1]?.input).toBe(renderRepairInput([CYCLE_PROBLEM]));
    expect(models.requests[1]?.instructions).toBe(PLANNER_INSTRUCTIONS);
    expect(models.requests[1]?.format).toEqual(models.requests[0]?.format);

    expect(result).toEqual({
      value: GOOD,
      problems: [],
      responseId: 'resp-2',
      callId: 2,
      usage: { calls: 2, input_tokens: 2_500, cached_tokens: 1_000, output_tokens: 450 },
      turns: [
        { input: 'Task: plan\nRequest: add login', output: JSON.stringify(CYCLIC), callId: 1 },
        { input: renderRepairInput([CYCLE_PROBLEM]), output: JSON.stringify(GOOD), callId: 2 },
      ],
      rebuilt: false,
    });
    expect((await d.store.calls.list('wf-1'))).toEqual([
      journalRow({ id: 1, purpose: 'plan', responseId: 'resp-1', usage: u(1_000, 0, 200), startedAt: 1_000, endedAt: 1_001 }),
      journalRow({ id: 2, purpose: 'repair', responseId: 'resp-2', usage: u(1_500, 1_000, 250), startedAt: 1_002, endedAt: 1_003 }),
    ]);
  });

  it('structuredPlannerCall repairs an answer that is not JSON, naming the parse error', async () => {
    const models = new ScriptedModelProvider([{ text: 'Sure! Here is the plan:' }, { text: JSON.stringify(GOOD) }]);
    const result = await planCall(await setup(models));
    expect(result.value).toEqual(GOOD);
    const repair = models.requests[1]?.input ?? '';
    expect(repair).toMatch(/^Task: repair\nYour answer cannot be used as it is:\n- The answer is not valid JSON \(.+\)\.\nAnswer again with the complete corrected JSON\.$/);
  });

  it('structuredPlannerCall repairs an answer outside the schema, listing each field that is wrong', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify({ subtasks: 'nope', coordination_notes: 1 }) }, { text: JSON.stringify(GOOD) }]);
    await planCall(await setup(models));
    expect(models.requests[1]?.input).toBe(
      renderRepairInput([
        'subtasks: Invalid input: expected array, received string.',
        'coordination_notes: Invalid input: expected string, received number.',
      ]),
    );
  });

  it('structuredPlannerCall names the whole answer when its top level has the wrong shape', async () => {
    const models = new ScriptedModelProvider([{ text: '[]' }, { text: JSON.stringify(GOOD) }]);
    await planCall(await setup(models));
    expect(models.requests[1]?.input).toBe(renderRepairInput(['answer: Invalid input: expected object, received array.']));
  });

  it('structuredPlannerCall returns a repaired answer that still has problems, with those problems, for the caller to judge', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify(CYCLIC) }, { text: JSON.stringify(CYCLIC), responseId: 'resp-again' }]);
    const result = await planCall(await setup(models));
    expect(result.value).toEqual(CYCLIC);
    expect(result.problems).toEqual([CYCLE_PROBLEM]);
    expect(result.responseId).toBe('resp-again');
    expect(result.callId).toBe(2);
  });

  it('structuredPlannerCall applies the check of any schema, such as missing reviews', async () => {
    const partial: Review = { verdict: 'approve', reviews: [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], summary: 'ok' };
    const full: Review = { ...partial, reviews: [...partial.reviews, { subtask_id: 's2', verdict: 'revise', feedback: 'Add tests.' }], verdict: 'revise' };
    const check = (r: Review) => (r.reviews.some((x) => x.subtask_id === 's2') ? [] : ['There is no review for subtask(s) s2.']);
    const models = new ScriptedModelProvider([{ text: JSON.stringify(partial) }, { text: JSON.stringify(full) }]);
    const d = await setup(models);
    const result = await structuredPlannerCall(d, { workflowId: 'wf-1', purpose: 'review' }, 'Task: review', thread('resp-plan'), { name: 'review', schema: ReviewSchema }, check, {});
    expect(result.value).toEqual(full);
    expect(models.requests.map((r) => [r.previousResponseId, r.input])).toEqual([
      ['resp-plan', 'Task: review'],
      ['resp-1', renderRepairInput(['There is no review for subtask(s) s2.'])],
    ]);
    expect(models.requests[0]?.format).toEqual({ name: 'review', schema: toStrictJsonSchema(ReviewSchema) });
    expect((await d.store.calls.list('wf-1')).map((c) => c.purpose)).toEqual(['review', 'repair']);
  });

  it('structuredPlannerCall throws model_output_invalid when the answer is unparseable twice, with both calls journaled', async () => {
    const models = new ScriptedModelProvider([
      { text: 'not json', responseId: 'resp-1' },
      { text: '{"subtasks": [', responseId: 'resp-2' },
    ]);
    const d = await setup(models);
    const error = await rejection(planCall(d));
    expect(error).toBeInstanceOf(PlanexecError);
    const e = error as PlanexecError;
    expect(e.code).toBe('model_output_invalid');
    expect(e.message).toMatch(/^The planner's plan answer was unusable twice: The answer is not valid JSON \(.+\)\.$/);
    expect(e.hint).toBe('Nothing was stored. Retry; if it keeps failing, make the request narrower or clearer.');
    expect((e.details.problems as string[]).length).toBe(1);
    expect(models.requests).toHaveLength(2);
    expect((await d.store.calls.list('wf-1')).map((c) => [c.purpose, c.status, c.responseId])).toEqual([
      ['plan', 'completed', 'resp-1'],
      ['repair', 'completed', 'resp-2'],
    ]);
  });

  it('structuredPlannerCall throws model_output_invalid when a checked-but-invalid answer is followed by an unparseable one', async () => {
    const models = new ScriptedModelProvider([{ text: JSON.stringify(CYCLIC) }, { text: JSON.stringify({ subtasks: [] }) }]);
    const e = (await rejection(planCall(await setup(models)))) as PlanexecError;
    expect(e.code).toBe('model_output_invalid');
    expect(e.message).toBe("The planner's plan answer was unusable twice: coordination_notes: Invalid input: expected string, received undefined.");
    expect(e.details).toEqual({ problems: ['coordination_notes: Invalid input: expected string, received undefined.'] });
  });
});

describe('structuredPlannerCall: provider failures', () => {
  it('structuredPlannerCall journals a provider error as a failed call and rethrows it unchanged', async () => {
    const boom = new Error('connection reset');
    const models = new ScriptedModelProvider([{ error: boom }]);
    const d = await setup(models);
    expect(await rejection(planCall(d))).toBe(boom);
    expect(models.requests).toHaveLength(1);
    expect((await d.store.calls.list('wf-1'))).toEqual([journalRow({ status: 'failed', error: 'connection reset', startedAt: 1_000, endedAt: 1_001 })]);
  });

  it('structuredPlannerCall journals a PlanexecError from the provider with its code', async () => {
    const limited = new ModelCallError('rate_limit', 'The provider is rate limiting requests.', 'Wait a minute and retry.');
    const d = await setup(new ScriptedModelProvider([{ error: limited }]));
    expect(await rejection(planCall(d))).toBe(limited);
    expect((await d.store.calls.list('wf-1')).map((c) => [c.status, c.error])).toEqual([['failed', 'rate_limit: The provider is rate limiting requests.']]);
  });

  it('structuredPlannerCall journals a provider error in the repair round after the completed first call', async () => {
    const models = new ScriptedModelProvider([{ text: 'garbage', responseId: 'resp-1', usage: u(10, 0, 5) }, { error: new Error('socket hang up') }]);
    const d = await setup(models);
    expect(((await rejection(planCall(d))) as Error).message).toBe('socket hang up');
    expect((await d.store.calls.list('wf-1'))).toEqual([
      journalRow({ id: 1, purpose: 'plan', status: 'completed', responseId: 'resp-1', usage: u(10, 0, 5), startedAt: 1_000, endedAt: 1_001 }),
      journalRow({ id: 2, purpose: 'repair', status: 'failed', error: 'socket hang up', startedAt: 1_002, endedAt: 1_003 }),
    ]);
  });

  it('structuredPlannerCall journals a thrown non-Error value as its string form', async () => {
    const d = await setup(new ScriptedModelProvider([{ error: 'plain string failure' }]));
    expect(await rejection(planCall(d))).toBe('plain string failure');
    expect((await d.store.calls.list('wf-1'))[0]?.error).toBe('plain string failure');
  });
});

describe('modelRequest, journaledCall and sumUsage', () => {
  it('modelRequest picks the model of the role, its cache key, and no 24h retention for models without it', async () => {
    const d = await setup(new ScriptedModelProvider());
    expect(modelRequest(d, 'executor', 'I', 'X')).toEqual({ model: 'gpt-5.4-mini', role: 'executor', instructions: 'I', input: 'X', cacheKey: 'planexec-executor' });
    expect(modelRequest(d, 'planner', 'I', 'X')).toEqual({
      model: 'gpt-5.4',
      role: 'planner',
      instructions: 'I',
      input: 'X',
      cacheKey: 'planexec-planner',
      cacheRetention: '24h',
    });
  });

  it('modelRequest caps output tokens only for the roles that have a cap', async () => {
    const d = await setup(new ScriptedModelProvider(), { maxOutputTokens: { planner: 4_000, executor: undefined } });
    expect(modelRequest(d, 'planner', 'I', 'X').maxOutputTokens).toBe(4_000);
    expect(Object.keys(modelRequest(d, 'executor', 'I', 'X'))).not.toContain('maxOutputTokens');
  });

  it('journaledCall records the subtask, role and purpose of an executor call', async () => {
    const models = new ScriptedModelProvider([{ text: 'done', responseId: 'resp-x', usage: u(50, 10, 5) }]);
    const d = await setup(models);
    const req = modelRequest(d, 'executor', 'I', 'X');
    const { callId, response } = await journaledCall(d, { workflowId: 'wf-2', subtaskId: 's3', purpose: 'execute', role: 'executor' }, req, {});
    expect([callId, response]).toEqual([1, { responseId: 'resp-x', text: 'done', usage: u(50, 10, 5) }]);
    expect((await d.store.calls.list('wf-2'))).toEqual([
      journalRow({
        workflowId: 'wf-2',
        subtaskId: 's3',
        role: 'executor',
        purpose: 'execute',
        model: 'gpt-5.4-mini',
        responseId: 'resp-x',
        usage: u(50, 10, 5),
        startedAt: 1_000,
        endedAt: 1_001,
      }),
    ]);
    expect((await d.store.calls.list('wf-1'))).toEqual([]);
  });

  it('sumUsage adds the usage of each response and counts the calls', async () => {
    expect(sumUsage([])).toEqual({ calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 });
    expect(
      sumUsage([u(100, 20, 5), u(300, 0, 7)]),
    ).toEqual({ calls: 2, input_tokens: 400, cached_tokens: 20, output_tokens: 12 });
  });
});
