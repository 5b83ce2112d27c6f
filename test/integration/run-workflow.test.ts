// run_workflow, cancel_workflow, progress, wait:false and MCP tasks through a real MCP Client.
// Overlap and ordering are read from the stand-in's recorded request start and end times.
import { CallToolResultSchema, CreateTaskResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import type { StandinRequest } from '../support/openai-standin.js';
import { reviewedIn, subtaskOf, THREE_WAVES, until, workflowResponder } from '../support/responders.js';

let h: Harness;
let h2: Harness | undefined;
afterEach(async () => {
  await h2?.close();
  h2 = undefined;
  await h.close();
});

const executorRequests = () => h.standin.requests.filter((r) => r.schemaName === null);
const reviewRequests = () => h.standin.requests.filter((r) => r.schemaName === 'review');
const deps = Object.fromEntries(THREE_WAVES.subtasks.map((s) => [s.id, s.depends_on]));

/** The most requests in flight at one moment. */
function maxOverlap(requests: StandinRequest[]): number {
  const events = requests.flatMap((r) => [
    { t: r.startedAt, d: 1 },
    { t: r.endedAt ?? Infinity, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

/** Completed execute calls per subtask, from the journal. */
async function executions(workflowId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const c of (await h.store.calls.list(workflowId))) {
    if (c.purpose === 'execute' && c.status === 'completed') counts[c.subtaskId!] = (counts[c.subtaskId!] ?? 0) + 1;
  }
  return counts;
}

const ONCE_EACH = Object.fromEntries(THREE_WAVES.subtasks.map((s) => [s.id, 1]));

describe('run_workflow', () => {
  it('executes independent subtasks in parallel, never before their dependencies, and reviews once per wave', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executorDelayMs: 150 }) } });
    const status = await h.ok<any>('run_workflow', { request: 'Build it in three waves', concurrency: 6 });
    expect(status.phase).toBe('completed');
    expect(status.subtasks.every((s: any) => s.status === 'approved')).toBe(true);

    const execs = executorRequests();
    expect(execs.map(subtaskOf).sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1']);
    expect(maxOverlap(execs)).toBe(3);
    const byId = new Map(execs.map((r) => [subtaskOf(r)!, r]));
    for (const r of execs) {
      for (const dep of deps[subtaskOf(r)!]!) expect(r.startedAt).toBeGreaterThanOrEqual(byId.get(dep)!.endedAt!);
    }
    expect(reviewRequests().map((r) => reviewedIn(r).sort())).toEqual([['a1', 'a2', 'a3'], ['b1', 'b2'], ['c1']]);
    // A wave is reviewed before the next starts, so dependents build on approved work.
    expect(byId.get('b1')!.startedAt).toBeGreaterThanOrEqual(reviewRequests()[0]!.endedAt!);
  });

  it('never runs more subtasks at once than its concurrency', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executorDelayMs: 60 }) } });
    await h.ok('run_workflow', { request: 'Build it', concurrency: 2 });
    expect(maxOverlap(executorRequests())).toBe(2);
  });

  it('stops on a model error with the workflow failed, keeps completed work, and resumes without redoing it', async () => {
    let broken = true;
    h = await startHarness({
      standin: {
        responder: workflowResponder(THREE_WAVES, {
          executor: (id) => (id === 'b1' && broken ? { error: { status: 500, message: 'boom' }, headers: { 'retry-after-ms': '0' } } : undefined),
        }),
      },
    });
    const failed = await h.call('run_workflow', { request: 'Build it' });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/Workflow wf-\w+ stopped: .*HTTP 500.*resume with run_workflow/s);
    const workflow_id = /Workflow (wf-\w+) stopped/.exec(textOf(failed))![1]!;
    const stopped = await h.ok<any>('workflow_status', { workflow_id });
    expect(stopped.phase).toBe('failed');
    expect(stopped.last_error).toMatch(/HTTP 500/);
    expect(stopped.subtasks.find((s: any) => s.id === 'a1').status).toBe('approved');

    broken = false;
    const resumed = await h.ok<any>('run_workflow', { workflow_id });
    expect(resumed.phase).toBe('completed');
    expect(resumed.last_error).toBeNull();
    expect(await executions(workflow_id)).toEqual(ONCE_EACH);
  });
});

describe('cancellation', () => {
  it('a client abort stops the run, aborts in-flight calls and returns running subtasks to pending; a resume finishes the work once', async () => {
    let hang = true;
    h = await startHarness({
      standin: { responder: workflowResponder(THREE_WAVES, { executor: (id) => (hang && id !== 'a1' ? { hang: true } : undefined) }) },
    });
    const controller = new AbortController();
    const run = h.client.callTool({ name: 'run_workflow', arguments: { request: 'Build it', concurrency: 3 } }, undefined, { signal: controller.signal });
    await until(async () => executorRequests().filter((r) => r.endedAt === null).length === 2, 'two hanging executor calls');
    const workflow_id = (await h.store.workflows.list(1))[0]!.workflow.id;
    await until(async () => (await h.store.workflows.listSubtasks(workflow_id)).find((s) => s.id === 'a1')!.status === 'completed', 'a1 completed');
    controller.abort();
    await expect(run).rejects.toThrow();
    await until(async () => (await h.store.workflows.get(workflow_id))!.phase === 'cancelled' && !(await h.store.workflows.listSubtasks(workflow_id)).some((s) => s.status === 'running'), 'cancelled');

    const statuses = Object.fromEntries((await h.store.workflows.listSubtasks(workflow_id)).map((s) => [s.id, s.status]));
    expect(statuses).toMatchObject({ a1: 'completed', a2: 'pending', a3: 'pending' });
    // The provider sees the connections of the two hanging calls closed (a moment after the client's side).
    await until(async () => executorRequests().filter((r) => subtaskOf(r) !== 'a1').every((r) => r.aborted), 'the hanging calls aborted at the provider');
    const execCalls = (await h.store.calls.list(workflow_id)).filter((c) => c.purpose === 'execute');
    expect(execCalls.filter((c) => c.status === 'failed').map((c) => c.error)).toEqual([expect.stringMatching(/cancel/), expect.stringMatching(/cancel/)]);

    hang = false;
    const resumed = await h.ok<any>('run_workflow', { workflow_id });
    expect(resumed.phase).toBe('completed');
    expect(await executions(workflow_id)).toEqual(ONCE_EACH);
  });

  it('cancel_workflow stops a run in flight; the run answers with the cancelled state and a resume finishes the work once', async () => {
    let hang = true;
    h = await startHarness({
      standin: { responder: workflowResponder(THREE_WAVES, { executor: (id) => (hang && id !== 'a1' ? { hang: true } : undefined) }) },
    });
    const run = h.call('run_workflow', { request: 'Build it', concurrency: 3 });
    await until(async () => executorRequests().filter((r) => r.endedAt === null).length === 2, 'two hanging executor calls');
    const workflow_id = (await h.store.workflows.list(1))[0]!.workflow.id;
    await until(async () => (await h.store.workflows.listSubtasks(workflow_id)).find((s) => s.id === 'a1')!.status === 'completed', 'a1 completed');

    const cancelled = await h.ok<any>('cancel_workflow', { workflow_id });
    expect(cancelled.phase).toBe('cancelled');
    expect(cancelled.subtasks.filter((s: any) => s.status === 'running')).toEqual([]);
    expect(cancelled.next).toContain('run_workflow');
    const answer = await run;
    expect(answer.isError).toBeFalsy();
    expect((answer.structuredContent as any).phase).toBe('cancelled');
    expect((await h.call('execute_subtask', { workflow_id, subtask_id: 'a2' })).isError).toBe(true);

    hang = false;
    expect((await h.ok<any>('run_workflow', { workflow_id })).phase).toBe('completed');
    expect(await executions(workflow_id)).toEqual(ONCE_EACH);
  });

  it('cancel_workflow refuses a completed workflow', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES) } });
    const { workflow_id } = await h.ok<any>('run_workflow', { request: 'Build it' });
    const result = await h.call('cancel_workflow', { workflow_id });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/already completed/);
  });
});

describe('progress notifications', () => {
  it('reach a real Client at each step and as heartbeats while a model call is slow, always increasing', async () => {
    h = await startHarness({
      env: { PLANEXEC_PROGRESS_INTERVAL_MS: '40' },
      standin: { responder: workflowResponder(THREE_WAVES, { executor: (id) => (id === 'a1' ? { text: 'slow', delayMs: 400 } : undefined) }) },
    });
    const seen: Progress[] = [];
    const result = await h.client.callTool({ name: 'run_workflow', arguments: { request: 'Build it', concurrency: 1 } }, undefined, {
      onprogress: (p) => seen.push(p),
    });
    expect((result.structuredContent as any).phase).toBe('completed');
    const messages = seen.map((p) => p.message ?? '');
    expect(messages[0]).toMatch(/^planning on gpt-5\.4/);
    expect(messages).toContainEqual(expect.stringMatching(/^executing a1 on gpt-5\.4-mini \(attempt 1\), 0 of 6 done$/));
    expect(messages).toContainEqual(expect.stringMatching(/^executing a1 on gpt-5\.4-mini \(attempt 1\), 0 of 6 done \(still working, \d+ s\)$/));
    expect(messages).toContainEqual(expect.stringMatching(/^reviewing a1, a2, a3 on gpt-5\.4, 3 of 6 done$/));
    expect(seen.filter((p) => p.total === 6).length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
  });

  it('are sent by the single-step tools too, and not at all without a progress token', async () => {
    h = await startHarness({ env: { PLANEXEC_PROGRESS_INTERVAL_MS: '40' }, standin: { responder: workflowResponder(THREE_WAVES, { plannerDelayMs: 200 }) } });
    const seen: Progress[] = [];
    await h.client.callTool({ name: 'plan_task', arguments: { request: 'Build it' } }, undefined, { onprogress: (p) => seen.push(p) });
    expect(seen[0]!.message).toBe('planning on gpt-5.4');
    expect(seen.some((p) => /still working/.test(p.message ?? ''))).toBe(true);

    const notifications: unknown[] = [];
    h.client.fallbackNotificationHandler = async (n) => void notifications.push(n);
    await h.call('plan_task', { request: 'Build it again' });
    expect(notifications).toEqual([]);
  });
});

describe('wait: false', () => {
  it('run_workflow answers at once with the workflow id, and the work lands in the database', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executorDelayMs: 50 }) } });
    const started = await h.ok<any>('run_workflow', { request: 'Build it', wait: false });
    expect(['planning', 'executing']).toContain(started.phase);
    expect(started.workflow_id).toMatch(/^wf-/);
    await until(async () => (await h.store.workflows.get(started.workflow_id))?.phase === 'completed', 'the background run to complete');
    expect(await executions(started.workflow_id)).toEqual(ONCE_EACH);
  });

  it('execute_subtask answers with the subtask running, and workflow_status shows it until it completes', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executor: () => ({ text: 'late', delayMs: 300 }) }) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    const answer = await h.ok<any>('execute_subtask', { workflow_id, subtask_id: 'a1', wait: false });
    expect(answer.status).toBe('running');
    expect(answer.output).toBe('');
    expect((await h.ok<any>('workflow_status', { workflow_id })).subtasks.find((s: any) => s.id === 'a1').status).toBe('running');
    await until(async () => (await h.store.workflows.listSubtasks(workflow_id)).find((s) => s.id === 'a1')!.status === 'completed', 'a1 to complete');
    expect((await h.store.workflows.listSubtasks(workflow_id)).find((s) => s.id === 'a1')!.output).toBe('late');
  });

  it('execute_subtask still refuses bad input at once', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES) } });
    const { workflow_id } = await h.ok<any>('plan_task', { request: 'Build it' });
    const result = await h.call('execute_subtask', { workflow_id, subtask_id: 'c1', wait: false });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/dependencies_incomplete/);
  });
});

describe('run_workflow as an MCP task', () => {
  async function createTask(args: Record<string, unknown>) {
    const created = await h.client.request({ method: 'tools/call', params: { name: 'run_workflow', arguments: args, task: { ttl: 600_000 } } }, CreateTaskResultSchema);
    return created.task;
  }

  it('is created at once, polled to completion, and its result survives a server restart', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executorDelayMs: 30 }) } });
    const { tools } = await h.client.listTools();
    expect(tools.find((t) => t.name === 'run_workflow')!.execution).toEqual({ taskSupport: 'optional' });

    const task = await createTask({ request: 'Build it' });
    expect(task.status).toBe('working');
    let polled = task;
    for (let i = 0; i < 400 && polled.status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      polled = await h.client.experimental.tasks.getTask(task.taskId);
    }
    expect(polled.status).toBe('completed');
    const result = await h.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect((result.structuredContent as any).phase).toBe('completed');

    // Restart: a new server on the same database still knows the task and its result.
    const dir = h.dir;
    h2 = await startHarness({ dir, sharedStandin: h.standin });
    expect((await h2.client.experimental.tasks.getTask(task.taskId)).status).toBe('completed');
    const again = await h2.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(again.structuredContent).toEqual(result.structuredContent);
  });

  it('keeps a task for its ttl (24 hours unless asked otherwise), then forgets it', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES) } });
    await h.ok('run_workflow', { request: 'Build it' });
    expect((await h.store.tasks.list(10)).map((t) => t.ttl)).toEqual([24 * 60 * 60_000]);
    const created = await h.client.request(
      { method: 'tools/call', params: { name: 'run_workflow', arguments: { request: 'Build it' }, task: { ttl: 100 } } },
      CreateTaskResultSchema,
    );
    await until(async () => (await h.store.tasks.get(created.task.taskId))?.status === 'completed', 'the task to complete');
    await new Promise((r) => setTimeout(r, 150));
    await expect(h.client.experimental.tasks.getTask(created.task.taskId)).rejects.toThrow(/not found/i);
    expect((await h.store.tasks.get(created.task.taskId))).not.toBeNull(); // polling never writes; a later create purges it
  });

  it('tasks/cancel cancels the workflow behind the task', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(THREE_WAVES, { executor: () => ({ hang: true }) }) } });
    const task = await createTask({ request: 'Build it' });
    await until(async () => executorRequests().length === 3, 'the first wave in flight');
    await h.client.experimental.tasks.cancelTask(task.taskId);
    const workflow_id = (await h.store.tasks.get(task.taskId))!.workflowId!;
    await until(async () => (await h.store.workflows.get(workflow_id))!.phase === 'cancelled' && !(await h.store.workflows.listSubtasks(workflow_id)).some((s) => s.status === 'running'), 'the workflow to be cancelled');
    expect((await h.client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
  });
});
