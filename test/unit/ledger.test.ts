// The ledger: workflows record who asked for them, and workflow_status without an id lists and
// totals them (all, or one requester's) with the per-workflow cost rules. Over the pure core: a
// scripted provider, a real SQLite store in memory.
import { afterEach, describe, expect, it } from 'vitest';
import type { PlanexecError } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/plan.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { workflowStatus } from '../../src/core/usecases/workflow-status.js';
import { loadWorkflow } from '../../src/core/workflow.js';
import { planned } from './builders.js';
import { makeDeps, type TestDeps } from './core-deps.js';

const open: TestDeps[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function setup(): Promise<TestDeps> {
  const d = await makeDeps();
  open.push(d);
  return d;
}

const PLAN: Plan = { subtasks: [planned('s1'), planned('s2', ['s1'], { complexity: 'complex' })], coordination_notes: 'Two steps.' };

/** A workflow of `requester`: its plan call, and `executions` subtasks run (s1 on the executor, s2 on the planner). */
async function workflowOf(d: TestDeps, requester: string | null, executions = 0, usage = { input_tokens: 1_000, cached_tokens: 200, output_tokens: 100 }): Promise<string> {
  d.scripted.push({ text: JSON.stringify(PLAN), usage });
  const { workflow_id } = await planTask(d, { request: `Work for ${requester ?? 'nobody'}`, requester });
  for (let i = 0; i < executions; i++) {
    d.scripted.push({ text: `output ${i}`, usage: { input_tokens: 3_000 + i, cached_tokens: 1_000, output_tokens: 400 + i } });
    await executeSubtask(d, { workflow_id, subtask_id: `s${i + 1}` });
  }
  return workflow_id;
}

async function rejection(promise: Promise<unknown>): Promise<PlanexecError> {
  try {
    await promise;
  } catch (error) {
    return error as PlanexecError;
  }
  throw new Error('expected the promise to reject');
}

describe('the requester of a workflow', () => {
  it('planTask records the requester it is given, and null when it is given none', async () => {
    const d = await setup();
    const ada = await workflowOf(d, 'ada');
    d.scripted.push({ text: JSON.stringify(PLAN) });
    const anonymous = (await planTask(d, { request: 'No name' })).workflow_id;
    expect((await loadWorkflow(d, ada)).workflow.requester).toBe('ada');
    expect((await loadWorkflow(d, anonymous)).workflow.requester).toBeNull();
    expect((await workflowStatus(d, {})).workflows?.map((w) => [w.workflow_id, w.requester])).toEqual([
      [anonymous, null],
      [ada, 'ada'],
    ]);
  });
});

describe('workflowStatus without an id: the ledger', () => {
  it("lists only the requester's workflows, and totals every one of them, not only the 20 listed", async () => {
    const d = await setup();
    for (let i = 0; i < 22; i++) await workflowOf(d, 'ada', 0, { input_tokens: 100, cached_tokens: 0, output_tokens: 10 });
    const bob = await workflowOf(d, 'bob', 1);
    const ada = await workflowStatus(d, { requester: 'ada' });
    expect(ada.workflows).toHaveLength(20);
    expect(new Set(ada.workflows?.map((w) => w.requester))).toEqual(new Set(['ada']));
    expect(ada.totals).toMatchObject({ workflows: 22, calls: 22, input_tokens: 2_200, cached_tokens: 0, output_tokens: 220 });
    expect(ada.totals?.cost).toMatchObject({ quota_units: 22, baseline_quota_units: 22, savings_pct: 0 });
    const bobs = await workflowStatus(d, { requester: 'bob' });
    expect(bobs.workflows?.map((w) => w.workflow_id)).toEqual([bob]);
    expect(bobs.totals).toMatchObject({ workflows: 1, calls: 2 });
    const all = await workflowStatus(d, {});
    expect(all.workflows?.[0]?.workflow_id).toBe(bob);
    expect(all.totals).toMatchObject({ workflows: 23, calls: 24 });
  });

  it('totals equal the sum of the per-workflow usage and cost', async () => {
    const d = await setup();
    const ids = [await workflowOf(d, 'ada', 2), await workflowOf(d, 'ada', 1, { input_tokens: 7_000, cached_tokens: 5_000, output_tokens: 900 }), await workflowOf(d, 'ada', 0)];
    await workflowOf(d, 'bob', 2);
    const each = await Promise.all(ids.map((workflow_id) => workflowStatus(d, { workflow_id })));
    const totals = (await workflowStatus(d, { requester: 'ada' })).totals!;
    const sum = (f: (s: (typeof each)[number]) => number) => each.reduce((n, s) => n + f(s), 0);
    const roles = (s: (typeof each)[number], key: 'calls' | 'input_tokens' | 'cached_tokens' | 'output_tokens') => s.usage!.planner[key] + s.usage!.executor[key];
    expect([totals.workflows, totals.calls, totals.input_tokens, totals.cached_tokens, totals.output_tokens]).toEqual([
      3,
      sum((s) => roles(s, 'calls')),
      sum((s) => roles(s, 'input_tokens')),
      sum((s) => roles(s, 'cached_tokens')),
      sum((s) => roles(s, 'output_tokens')),
    ]);
    expect(totals.calls).toBe(6);
    expect(totals.cost.quota_units).toBeCloseTo(sum((s) => s.cost!.quota_units!), 2);
    expect(totals.cost.baseline_quota_units).toBeCloseTo(sum((s) => s.cost!.baseline_quota_units!), 2);
    expect(totals.cost.usd).toBeCloseTo(sum((s) => s.cost!.usd!), 8);
    expect(totals.cost.baseline_usd).toBeCloseTo(sum((s) => s.cost!.baseline_usd!), 8);
    // Plans 3 x 1, executions: s1 x2 on the executor (0.3), s2 x1 on the planner: 4.6 of 6 units.
    expect([totals.cost.quota_units, totals.cost.baseline_quota_units, totals.cost.savings_pct]).toEqual([4.6, 6, 23.3]);
    expect(totals.cost.usd_savings_pct).toBeGreaterThan(0);
  });

  it('names a model missing from the price table, leaves its calls out of quota units and USD, and warns', async () => {
    const d = await setup();
    const id = await workflowOf(d, 'ada');
    // A model used earlier and no longer configured (nor priced): its tokens count, its cost cannot.
    const call = await d.store.calls.begin({ workflowId: id, subtaskId: 's1', role: 'executor', purpose: 'execute', model: 'retired-model', provider: 'chat', owner: 'test-owner', startedAt: 5 });
    await d.store.calls.finish(call, { status: 'completed', responseId: null, usage: { input_tokens: 50, cached_tokens: 0, output_tokens: 5 }, endedAt: 6 });
    const status = await workflowStatus(d, { requester: 'ada' });
    expect(status.totals).toMatchObject({ calls: 2, input_tokens: 1_050, output_tokens: 105 });
    expect(status.totals?.cost).toMatchObject({ unpriced_models: ['retired-model'], quota_units: 1, baseline_quota_units: 2 });
    expect(status.warnings).toEqual([expect.stringContaining("Model 'retired-model' is not in the price table")]);
    expect((await workflowStatus(d, { requester: 'bob' })).warnings).toBeUndefined();
  });

  it('answers a requester with no workflows with zero totals and says how to see everyone', async () => {
    const d = await setup();
    await workflowOf(d, 'ada');
    const none = await workflowStatus(d, { requester: 'carol' });
    expect([none.workflows, none.totals?.workflows, none.totals?.calls, none.totals?.cost.quota_units]).toEqual([[], 0, 0, 0]);
    expect(none.next).toBe("No workflows of requester 'carol': leave out requester to list everyone's.");
  });

  it('shows calls of plans that never became a workflow only without a requester (they have none)', async () => {
    const d = await setup();
    await workflowOf(d, 'ada');
    const orphan = await d.store.calls.begin({ workflowId: 'wf-never', subtaskId: null, role: 'planner', purpose: 'plan', model: 'gpt-5.4', provider: 'responses', owner: 'test-owner', startedAt: 5 });
    await d.store.calls.finish(orphan, { status: 'completed', responseId: null, usage: { input_tokens: 70, cached_tokens: 0, output_tokens: 7 }, endedAt: 6 });
    expect((await workflowStatus(d, {})).unattached_usage).toEqual({ calls: 1, input_tokens: 70, cached_tokens: 0, output_tokens: 7 });
    expect((await workflowStatus(d, {})).totals?.calls).toBe(1);
    expect((await workflowStatus(d, { requester: 'ada' })).unattached_usage).toBeUndefined();
  });

  it('refuses a requester together with a workflow_id, naming what to do', async () => {
    const d = await setup();
    const id = await workflowOf(d, 'ada');
    const e = await rejection(workflowStatus(d, { workflow_id: id, requester: 'ada' }));
    expect([e.code, e.message]).toEqual(['invalid_input', 'requester filters the list of workflows, not one workflow.']);
  });
});
