// A refused call writes nothing at all: no task row, no workflow row, not even a lock taken and
// released. Watched from a second connection through SQLite's data_version, which moves with every
// committed change to the file, so a write that was undone in a later transaction still shows.
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

const QUIET = { PLANEXEC_LEASE_MS: '600000' }; // no heartbeat write during a test
const TWO = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }]);

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** Calls a tool that must be refused; returns its text after checking that nothing was written or sent. */
async function refused(name: string, args: Record<string, unknown>, pattern: RegExp): Promise<string> {
  const requests = h.standin.requests.length;
  const watch = h.watchWrites();
  try {
    const result = await h.call(name, args);
    expect(result.isError, `${name} ${JSON.stringify(args)} should be refused`).toBe(true);
    expect(textOf(result)).toMatch(pattern);
    expect(watch.wrote(), `${name} ${JSON.stringify(args)} wrote to the database`).toBe(false);
    expect(h.standin.requests.length).toBe(requests);
    return textOf(result);
  } finally {
    watch.close();
  }
}

describe('the write watch', () => {
  it('sees a call that writes, and does not see one that only reads', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    const reads = h.watchWrites();
    await h.ok('workflow_status', {});
    expect(reads.wrote()).toBe(false);
    reads.close();
    const writes = h.watchWrites();
    await h.ok('plan_task', { request: 'Do two things.' });
    expect(writes.wrote()).toBe(true);
    writes.close();
  });
});

describe('run_workflow refused before anything is stored', () => {
  it('an unknown workflow_id: not_found, and no task row', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    await refused('run_workflow', { workflow_id: 'wf-000000000000' }, /not_found.*wf-000000000000/s);
    expect(await h.store.tasks.list(10)).toEqual([]);
  });

  it('an unknown workflow_id in a task request (params.task): refused, and no task row', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    const watch = h.watchWrites();
    // The SDK answers a refusal before the task exists with an isError CallToolResult (as it does
    // for input that fails the schema), which the SDK's client rejects as not a CreateTaskResult.
    const reply = h.client.request(
      { method: 'tools/call', params: { name: 'run_workflow', arguments: { workflow_id: 'wf-000000000000' }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    await expect(reply).rejects.toThrow();
    expect(watch.wrote()).toBe(false);
    watch.close();
    expect(await h.store.tasks.list(10)).toEqual([]);
  });

  it('both request and workflow_id, or neither', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do two things.' });
    await refused('run_workflow', { request: 'Another thing.', workflow_id }, /invalid_input.*either/s);
    await refused('run_workflow', {}, /invalid_input.*either/s);
  });

  it('a file that does not exist, or one outside the root', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    await refused('run_workflow', { request: 'Read it.', files: ['missing.txt'] }, /file_unreadable.*missing\.txt/s);
    await refused('run_workflow', { request: 'Read it.', files: ['../outside.txt'] }, /\.\./);
  });

  it('a plan call that cannot fit its budget', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    await refused('run_workflow', { request: 'Do two things.', budget: { planner_tokens: 10 } }, /budget_exceeded/);
  });

  it('no API key', async () => {
    h = await startHarness({ env: { ...QUIET, OPENAI_API_KEY: '' }, standin: { responder: workflowResponder(TWO) } });
    await refused('run_workflow', { request: 'Do two things.' }, /OPENAI_API_KEY/);
  });
});

describe('plan_task confirm_plan_version refused before the workflow lock is taken', () => {
  it('a version that does not exist, and one that is not a proposal', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do two things.' });
    await refused('plan_task', { workflow_id, confirm_plan_version: 999 }, /not_found.*999/s);
    await h.ok('plan_task', { workflow_id, feedback: 'Keep it as it is.' }); // v2, applied: it drops nothing
    await refused('plan_task', { workflow_id, confirm_plan_version: 2 }, /invalid_transition.*active, not proposed/s);
    await refused('review_results', { workflow_id }, /nothing_to_do/);
  });
});

describe('a review or a revision that cannot fit the planner budget is refused before the lock', () => {
  it('budget_exceeded, and nothing written or sent', async () => {
    h = await startHarness({ env: QUIET, standin: { responder: workflowResponder(TWO) } });
    // The plan's own need, from its refusal; a budget just above it lets the plan through and no more.
    const tooSmall = await h.call('plan_task', { request: 'Do two things.', budget: { planner_tokens: 10 } });
    const need = Number(/this call needs about ([\d,]+)/.exec(textOf(tooSmall))![1]!.replace(/,/g, ''));
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do two things.', budget: { planner_tokens: need + 50 } });
    await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
    await refused('review_results', { workflow_id }, /budget_exceeded/);
    await refused('plan_task', { workflow_id, feedback: 'Split s2 in two.' }, /budget_exceeded/);
  });
});
