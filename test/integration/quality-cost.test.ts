// Quality and cost control through a real MCP Client: the escalation ladder, a human in the loop
// (elicitation and decisions), versioned plans, budgets, compaction, prompt caching and the
// auditable context packet. Models are checked on the stand-in's recorded requests.
import { createHash } from 'node:crypto';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTOR_INSTRUCTIONS, PLANNER_INSTRUCTIONS } from '../../src/core/prompts.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, reviewedIn, subtaskOf, workflowResponder } from '../support/responders.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const executorCallsOf = (id: string) => h.standin.requests.filter((r) => r.schemaName === null && subtaskOf(r) === id);
const ONE = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }]);

describe('the escalation ladder', () => {
  it('runs a revised subtask again on the executor, then on the planner model, then asks a human', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE, { verdict: (id) => (id === 's1' ? 'revise' : 'approve') }) } });
    const status = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(status.phase).toBe('needs_human');
    const s1 = status.subtasks.find((s: any) => s.id === 's1');
    expect(s1).toMatchObject({ status: 'needs_human', attempts: 4 });
    expect(s1.runs).toEqual([
      { attempt: 1, role: 'executor', model: 'gpt-5.4-mini' },
      { attempt: 2, role: 'executor', model: 'gpt-5.4-mini' },
      { attempt: 3, role: 'planner', model: 'gpt-5.4' },
    ]);
    const calls = executorCallsOf('s1');
    expect(calls.map((r) => r.model)).toEqual(['gpt-5.4-mini', 'gpt-5.4-mini', 'gpt-5.4']);
    expect(calls[0]!.inputText).not.toContain('Review feedback');
    for (const r of calls.slice(1)) expect(r.inputText).toContain('## Review feedback on your previous attempt\nFeedback on s1.');
    // Even on the planner model, a subtask gets only its own narrow context.
    expect(calls[2]!.instructions).toBe(EXECUTOR_INSTRUCTIONS);
    expect(calls[2]!.previousResponseId).toBeNull();
    expect(executorCallsOf('s2')).toHaveLength(0);
    expect(status.next).toContain('"decisions"');
  });

  it('follows a configured ladder, and starts complex subtasks on the planner model', async () => {
    const twoRungs = plan([{ id: 'r1' }, { id: 'c1', complexity: 'complex' }]);
    h = await startHarness({
      env: { PLANEXEC_LADDER: 'executor,planner' },
      standin: { responder: workflowResponder(twoRungs, { verdict: (id) => (id === 'r1' ? 'revise' : 'approve') }) },
    });
    const status = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(executorCallsOf('r1').map((r) => r.model)).toEqual(['gpt-5.4-mini', 'gpt-5.4']);
    expect(executorCallsOf('c1').map((r) => r.model)).toEqual(['gpt-5.4']);
    expect(status.subtasks.find((s: any) => s.id === 'r1')).toMatchObject({ status: 'needs_human', attempts: 3 });
  });

  it('moves a subtask the planner escalates straight to needs_human', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE, { verdict: (id) => (id === 's1' ? 'escalate' : 'approve') }) } });
    const status = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(status.phase).toBe('needs_human');
    expect(executorCallsOf('s1')).toHaveLength(1);
  });
});

describe('a human in the loop', () => {
  it('asks through an elicitation form when the client supports it, and applies the answer', async () => {
    let reviews = 0;
    h = await startHarness({
      clientCapabilities: { capabilities: { elicitation: {} } },
      standin: { responder: workflowResponder(ONE, { verdict: (id) => (id === 's1' && reviews++ === 0 ? 'escalate' : 'approve') }) },
    });
    const asked: any[] = [];
    h.client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { decision: 'revise', notes: 'Use bcrypt, not md5.' } };
    });
    const status = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(status.phase).toBe('completed');
    expect(asked).toHaveLength(1);
    expect(asked[0].message).toMatch(/subtask s1 "Title s1" of workflow wf-\w+ needs your decision/);
    expect(asked[0].message).toContain('Feedback on s1.');
    expect(asked[0].requestedSchema.properties.decision.enum).toEqual(['approve', 'revise', 'cancel']);
    expect(executorCallsOf('s1').at(-1)!.inputText).toContain('## Review feedback on your previous attempt\nUse bcrypt, not md5.');
    const rows = h.db.prepare('SELECT subtask_id, verdict, feedback, via FROM decisions').all();
    expect(rows).toEqual([{ subtask_id: 's1', verdict: 'revise', feedback: 'Use bcrypt, not md5.', via: 'elicitation' }]);
  });

  it('cancels the workflow when the human chooses cancel, and leaves it waiting when the form is declined', async () => {
    h = await startHarness({
      clientCapabilities: { capabilities: { elicitation: {} } },
      standin: { responder: workflowResponder(ONE, { verdict: () => 'escalate' }) },
    });
    let answer: 'decline' | 'cancel' = 'decline';
    h.client.setRequestHandler(ElicitRequestSchema, async () => (answer === 'decline' ? { action: 'decline' } : { action: 'accept', content: { decision: 'cancel' } }));
    const waiting = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(waiting.phase).toBe('needs_human');
    answer = 'cancel';
    const { workflow_id } = waiting;
    await h.ok('review_results', { workflow_id, decisions: [{ subtask_id: 's1', verdict: 'revise', feedback: 'again' }] });
    const cancelled = await h.ok<any>('run_workflow', { workflow_id });
    expect(cancelled.phase).toBe('cancelled');
  });

  it('without elicitation, the phase is needs_human and review_results takes the decisions from the host', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE, { verdict: (id) => (id === 's1' ? 'escalate' : 'approve') }) } });
    const waiting = await h.ok<any>('run_workflow', { request: 'Build it' });
    expect(waiting.phase).toBe('needs_human');
    const { workflow_id } = waiting;
    const planner = h.standin.requests.length;

    const bad = await h.call('review_results', { workflow_id, decisions: [{ subtask_id: 's2', verdict: 'approve' }] });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/'s2' is pending; only a subtask that needs a human/);

    const decided = await h.ok<any>('review_results', { workflow_id, decisions: [{ subtask_id: 's1', verdict: 'approve' }] });
    expect(decided).toMatchObject({ verdict: 'approve', phase: 'executing', decisions: [{ subtask_id: 's1', verdict: 'approve', feedback: '' }] });
    expect(h.standin.requests.length).toBe(planner); // no model call
    const done = await h.ok<any>('run_workflow', { workflow_id });
    expect(done.phase).toBe('completed');
    expect(h.db.prepare('SELECT via FROM decisions').all()).toEqual([{ via: 'host' }]);
  });
});

describe('versioned plans', () => {
  const V1 = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }, { id: 's3', depends_on: ['s1'] }]);

  async function withApprovedS1(): Promise<string> {
    h = await startHarness({ standin: { responder: workflowResponder(V1) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    await h.ok('review_results', { workflow_id });
    return workflow_id;
  }

  it('stores a revision as plan version 2, keeps the work of subtasks it keeps, and shows the changes', async () => {
    const workflow_id = await withApprovedS1();
    const v2 = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }, { id: 's4', depends_on: ['s2'] }]);
    h.standin.script({ json: v2 });
    const revised = await h.ok<any>('plan_task', { workflow_id, feedback: 'Replace s3 by s4, after s2.' });
    expect(revised).toMatchObject({ plan_version: 2, requires_confirmation: false, proposed_version: null });
    expect(revised.plan_changes).toEqual({ added: ['s4'], removed: ['s3'], changed: [], kept: ['s1', 's2'], drops_work: [] });
    const replan = h.standin.requests.at(-1)!;
    expect(replan.inputText).toMatch(/^Task: replan\n/);
    expect(replan.inputText).toContain('- s1 [approved] Title s1: Do s1.');
    expect(replan.inputText).toContain('Replace s3 by s4, after s2.');
    expect(replan.previousResponseId).toBe(h.standin.requests.find((r) => r.schemaName === 'review')!.responseId);

    const status = await h.ok<any>('workflow_status', { workflow_id, subtask_id: 's1' });
    expect(status.plan_version).toBe(2);
    expect(status.plan_changes.removed).toEqual(['s3']);
    expect(status.subtasks.map((s: any) => [s.id, s.status])).toEqual([
      ['s1', 'approved'],
      ['s2', 'pending'],
      ['s4', 'pending'],
    ]);
    expect(status.subtask.output).toBe('OUTPUT-OF-s1');
    // Nothing is deleted: the dropped subtask and the first plan are still in the database.
    expect((await h.store.workflows.listAllSubtasks(workflow_id)).find((s) => s.id === 's3')).toMatchObject({ removedIn: 2 });
    expect((await h.store.workflows.listPlans(workflow_id)).map((p) => [p.version, p.status])).toEqual([
      [1, 'superseded'],
      [2, 'active'],
    ]);
    // The list of workflows counts the subtasks of the current plan only.
    expect((await h.ok<any>('workflow_status', {})).workflows[0]).toMatchObject({ workflow_id, subtasks: 3, done: 1 });
  });

  it('only proposes a revision that would drop completed work, until confirm_plan_version applies it', async () => {
    const workflow_id = await withApprovedS1();
    const rewritten = plan([{ id: 's2' }]);
    rewritten.subtasks[0]!.description = 'Do s2 without s1.';
    const before = h.snapshot();
    h.standin.script({ json: { ...rewritten, subtasks: [{ ...rewritten.subtasks[0]!, id: 's1', description: 'Do s1 differently.' }] } });
    const proposal = await h.ok<any>('plan_task', { workflow_id, feedback: 'Redo s1 differently; drop the rest.' });
    expect(proposal).toMatchObject({ requires_confirmation: true, proposed_version: 2, plan_version: 1 });
    expect(proposal.plan_changes.drops_work).toEqual(['s1']);
    expect(proposal.next).toContain('"confirm_plan_version":2');
    const after = h.snapshot();
    expect(after.subtasks).toEqual(before.subtasks);
    expect((await h.ok<any>('workflow_status', { workflow_id })).proposed_plan).toMatchObject({ version: 2, changes: { drops_work: ['s1'] } });

    // The planner thread moves on after the proposal (a review); confirming must not rewind it.
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's2' });
    await h.ok('review_results', { workflow_id });
    const head = (await h.store.workflows.get(workflow_id))!.plannerResponseId;
    expect(head).toBe(h.standin.requests.at(-1)!.responseId);
    const applied = await h.ok<any>('plan_task', { workflow_id, confirm_plan_version: 2 });
    expect((await h.store.workflows.get(workflow_id))!.plannerResponseId).toBe(head);
    expect(applied).toMatchObject({ plan_version: 2, requires_confirmation: false });
    expect(applied.subtasks.map((s: any) => [s.id, s.status, s.description])).toEqual([['s1', 'pending', 'Do s1 differently.']]);
    expect(applied.plan_changes).toEqual({ added: [], removed: ['s2', 's3'], changed: ['s1'], kept: [], drops_work: ['s1', 's2'] });
    expect((await h.store.workflows.listExecutions(workflow_id, 's1')).map((e) => e.output)).toEqual(['OUTPUT-OF-s1']);
    const again = await h.call('plan_task', { workflow_id, confirm_plan_version: 2 });
    expect(textOf(again)).toMatch(/is active, not proposed/);
  });

  it('refuses a revision without feedback, or while a subtask runs', async () => {
    const workflow_id = await withApprovedS1();
    expect(textOf(await h.call('plan_task', { workflow_id }))).toMatch(/feedback is empty/);
    expect(textOf(await h.call('plan_task', { workflow_id, feedback: 'x', request: 'y' }))).toMatch(/takes feedback, not a new request/);
    h.standin.setResponder(workflowResponder(V1, { executor: () => ({ hang: true }) }));
    expect((await h.ok<any>('execute_subtask', { workflow_id, subtask_id: 's2', wait: false })).status).toBe('running');
    const plans = () => h.standin.requests.filter((r) => r.schemaName === 'plan').length;
    const before = plans();
    expect(textOf(await h.call('plan_task', { workflow_id, feedback: 'Split s3.' }))).toMatch(/Subtasks s2 are running; the plan cannot change under them/);
    expect(plans()).toBe(before);
  });
});

describe('budgets', () => {
  it('stops a run with an error that names the budget, what is used and how to raise it; a raised budget resumes it', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE) } });
    // Each executor call needs its input (~200 tokens) plus 4,096 reserved for the answer: the first fits, the second does not.
    const failed = await h.call('run_workflow', { request: 'Build it', budget: { executor_tokens: 4_400 } });
    expect(failed.isError).toBe(true);
    const text = textOf(failed);
    expect(text).toMatch(/budget_exceeded/);
    expect(text).toMatch(/The executor token budget of workflow wf-\w+ would be exceeded: [\d,]+ of 4,400 tokens used/);
    expect(text).toMatch(/run_workflow \{"workflow_id":"wf-\w+","budget":\{"executor_tokens":\d+\}\}/);
    const workflow_id = /workflow (wf-\w+) would/.exec(text)![1]!;
    const status = await h.ok<any>('workflow_status', { workflow_id });
    expect(status.phase).toBe('failed');
    expect(status.budget.executor.limit).toBe(4_400);
    expect(status.subtasks.map((s: any) => s.status)).toEqual(['approved', 'pending']);
    expect(status.budget.executor.used).toBeGreaterThan(0);
    expect(status.budget.executor.used).toBe(status.usage.executor.input_tokens + status.usage.executor.output_tokens);
    expect(status.budget.planner).toEqual({ used: expect.any(Number), limit: null });

    const resumed = await h.ok<any>('run_workflow', { workflow_id, budget: { executor_tokens: 100_000 } });
    expect(resumed.phase).toBe('completed');
    expect(resumed.budget.executor.limit).toBe(100_000);
  });

  it('takes its default from PLANEXEC_EXECUTOR_TOKEN_BUDGET and refuses before anything is sent or changed', async () => {
    h = await startHarness({ env: { PLANEXEC_EXECUTOR_TOKEN_BUDGET: '100' }, standin: { responder: workflowResponder(ONE) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    const before = h.snapshot();
    const requests = h.standin.requests.length;
    const refused = await h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(textOf(refused)).toMatch(/budget_exceeded.*0 of 100 tokens used/s);
    expect(h.snapshot()).toEqual(before);
    expect(h.standin.requests.length).toBe(requests);
  });
});

describe('compaction', () => {
  it('has the planner summarise its thread when it passes the threshold; the next review starts a new thread from the summary and every subtask state', async () => {
    const chain = plan([{ id: 'c1' }, { id: 'c2', depends_on: ['c1'] }, { id: 'c3', depends_on: ['c2'] }, { id: 'c4', depends_on: ['c3'] }]);
    h = await startHarness({ env: { PLANEXEC_PLANNER_CONTEXT_LIMIT: '1780', PLANEXEC_COMPACT_AT: '0.8' }, standin: { responder: workflowResponder(chain) } });
    const status = await h.ok<any>('run_workflow', { request: 'Build it in a chain' });
    expect(status.phase).toBe('completed');

    const planner = h.standin.requests.filter((r) => r.schemaName !== null);
    const compactions = planner.filter((r) => r.schemaName === 'compaction');
    expect(compactions.length).toBeGreaterThanOrEqual(1);
    const first = planner.indexOf(compactions[0]!);
    const after = planner[first + 1]!;
    expect(compactions[0]!.inputText).toMatch(/^Task: compact/);
    expect(compactions[0]!.previousResponseId).toBe(planner[first - 1]!.responseId);
    expect(after.schemaName).toBe('review');
    expect(after.previousResponseId).toBeNull();
    expect(after.instructions).toBe(PLANNER_INSTRUCTIONS);
    expect(after.inputText).toContain('The earlier conversation was compacted. State summary:\nState summary:');
    for (const id of ['c1', 'c2', 'c3', 'c4']) expect(after.inputText).toMatch(new RegExp(`- ${id} \\[\\w+, attempt 1\\]`));
    const journal = (await h.store.calls.list(status.workflow_id)).filter((c) => c.purpose === 'compact');
    expect(journal).toHaveLength(compactions.length);
    expect(journal.every((c) => c.status === 'completed' && c.role === 'planner')).toBe(true);
  });
});

describe('compaction that fails', () => {
  it('keeps the planner thread as it was when the planner cannot write a summary', async () => {
    const chain = plan([{ id: 'c1' }, { id: 'c2', depends_on: ['c1'] }, { id: 'c3', depends_on: ['c2'] }, { id: 'c4', depends_on: ['c3'] }]);
    const base = workflowResponder(chain);
    h = await startHarness({
      env: { PLANEXEC_PLANNER_CONTEXT_LIMIT: '1780' },
      standin: { responder: (req) => (req.schemaName === 'compaction' ? { json: { summary: '  ' } } : base(req)) },
    });
    const failed = await h.call('run_workflow', { request: 'Build it in a chain' });
    expect(textOf(failed)).toMatch(/could not write a state summary/);
    const workflow = (await h.store.workflows.list(1))[0]!.workflow;
    expect(workflow.plannerSummary).toBeNull();
    const lastReview = h.standin.requests.filter((r) => r.schemaName === 'review').at(-1)!;
    expect(workflow.plannerResponseId).toBe(lastReview.responseId);
    expect(h.standin.requests.filter((r) => r.schemaName === 'compaction')).toHaveLength(2); // with its repair round
  });
});

describe('prompt caching', () => {
  it('sets prompt_cache_key per prompt family and prompt_cache_retention only for the models in the table', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1' }, { id: 's2', complexity: 'complex' }])) } });
    await h.ok('run_workflow', { request: 'Build it' });
    for (const r of h.standin.requests) {
      const role = r.instructions === PLANNER_INSTRUCTIONS ? 'planner' : 'executor';
      expect(r.body.prompt_cache_key).toBe(`planexec-${role}`);
      if (r.model === 'gpt-5.4') expect(r.body.prompt_cache_retention).toBe('24h');
      else expect(r.body).not.toHaveProperty('prompt_cache_retention');
    }
    expect(new Set(h.standin.requests.map((r) => r.model))).toEqual(new Set(['gpt-5.4', 'gpt-5.4-mini']));
  });

  it('follows PLANEXEC_EXTENDED_CACHE_MODELS', async () => {
    h = await startHarness({ env: { PLANEXEC_EXTENDED_CACHE_MODELS: 'gpt-5.4-mini' }, standin: { responder: workflowResponder(ONE) } });
    await h.ok('run_workflow', { request: 'Build it' });
    for (const r of h.standin.requests) expect(r.body.prompt_cache_retention).toBe(r.model === 'gpt-5.4-mini' ? '24h' : undefined);
  });

  it('runs subtasks that share files back to back, the first alone, so the others hit the prefix cache; cached tokens show per role', async () => {
    const shared = plan([
      { id: 'f1', relevant_files: ['src/big.ts'] },
      { id: 'f2', relevant_files: ['src/big.ts'] },
      { id: 'f3', relevant_files: ['src/big.ts', 'src/other.ts'] },
      { id: 'solo' },
    ]);
    h = await startHarness({ standin: { responder: workflowResponder(shared, { executorDelayMs: 80 }) } });
    h.writeFile('src/big.ts', Array.from({ length: 300 }, (_, i) => `export const constant${i} = ${i * 7};`).join('\n'));
    h.writeFile('src/other.ts', 'export const other = 1;\n');
    const status = await h.ok<any>('run_workflow', { request: 'Use the constants', concurrency: 4 });

    const [f1, f2, f3, solo] = ['f1', 'f2', 'f3', 'solo'].map((id) => executorCallsOf(id)[0]!);
    expect(solo!.startedAt).toBeLessThan(f1!.endedAt!); // other work does not wait
    for (const sibling of [f2!, f3!]) {
      expect(sibling.startedAt).toBeGreaterThanOrEqual(f1!.endedAt!);
      expect(sibling.usage!.cachedTokens).toBeGreaterThanOrEqual(1024);
    }
    expect(f1!.usage!.cachedTokens).toBe(0);
    expect(status.usage.executor.cached_tokens).toBe(f2!.usage!.cachedTokens + f3!.usage!.cachedTokens + solo!.usage!.cachedTokens);
  });

  it('with PLANEXEC_CACHE_PRIMING=off runs them all at once', async () => {
    const shared = plan([{ id: 'f1', relevant_files: ['a.ts'] }, { id: 'f2', relevant_files: ['a.ts'] }]);
    h = await startHarness({ env: { PLANEXEC_CACHE_PRIMING: 'off' }, standin: { responder: workflowResponder(shared, { executorDelayMs: 80 }) } });
    h.writeFile('a.ts', 'export const a = 1;\n');
    await h.ok('run_workflow', { request: 'Go', concurrency: 4 });
    const [f1, f2] = ['f1', 'f2'].map((id) => executorCallsOf(id)[0]!);
    expect(f2!.startedAt).toBeLessThan(f1!.endedAt!);
  });
});

describe('the auditable context packet', () => {
  it('records what each execution saw: files with byte ranges and sha256, dependencies, tokens, truncations', async () => {
    const p = plan([{ id: 'd1' }, { id: 'd2', depends_on: ['d1'], relevant_files: ['src/a.ts', 'src/big.txt', 'src/none.ts'] }]);
    h = await startHarness({ env: { PLANEXEC_MAX_FILE_BYTES: '100' }, standin: { responder: workflowResponder(p) } });
    h.writeFile('src/a.ts', 'export const a = 1;\n');
    h.writeFile('src/big.txt', 'x'.repeat(500));
    const { workflow_id } = await h.ok<any>('run_workflow', { request: 'Go' });
    const status = await h.ok<any>('workflow_status', { workflow_id, subtask_id: 'd2' });
    const ctx = status.subtask.context;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(ctx.files).toEqual([
      { path: 'src/a.ts', bytes: 20, sent_bytes: 20, range: [0, 20], truncated: false, missing: false, sha256: sha('export const a = 1;\n'), note: null },
      { path: 'src/big.txt', bytes: 500, sent_bytes: 100, range: [0, 100], truncated: true, missing: false, sha256: sha('x'.repeat(100)), note: null },
      { path: 'src/none.ts', bytes: 0, sent_bytes: 0, range: [0, 0], truncated: false, missing: true, sha256: null, note: null },
    ]);
    expect(ctx.dependencies).toEqual([{ subtask_id: 'd1', chars: 'OUTPUT-OF-d1'.length, truncated: false }]);
    expect(ctx.tokens).toBe(executorCallsOf('d2')[0]!.usage!.inputTokens);
    expect(status.subtask.executions).toEqual([{ attempt: 1, role: 'executor', model: 'gpt-5.4-mini', tokens: ctx.tokens, created_at: expect.any(String) }]);
    expect(status.subtask.output).toBe('OUTPUT-OF-d2');
  });
});

describe('reviews per wave', () => {
  it('review only the wave just executed', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE) } });
    await h.ok('run_workflow', { request: 'Build it' });
    expect(h.standin.requests.filter((r) => r.schemaName === 'review').map(reviewedIn)).toEqual([['s1'], ['s2']]);
  });
});
